//! SigV4 signing of probes (`--sigv4`): API Gateway's `AWS_IAM`
//! authorisation, a Lambda function URL's, any service's.
//!
//! The algorithm is smithy-rs's own (`aws-sigv4`); this module decides
//! what is signed and keeps the per-probe work small. What never changes
//! between a target's probes (method, URI, the headers to sign, the
//! payload hash, the scope) is built once, in [`Signer::new`]; a probe
//! adds only the time and the current credentials, which [`Keys`] holds
//! in memory and refreshes before they expire, so no probe waits for a
//! credentials provider (a refresh happens in one probe's `queue`, once
//! an hour or so for temporary credentials).
//!
//! The engine knows no AWS configuration: whoever builds the targets
//! hands it a credentials provider.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::header::{HeaderMap, HeaderName, HeaderValue, HOST};

use super::endpoint::Endpoint;

/// Credentials are refreshed this long before they expire, so that no
/// request is signed with credentials about to lapse in flight.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// Headers never signed: those the signer sets itself, ours that change
/// per probe (the trace id stays free to set after signing, as oha does),
/// and hop-by-hop ones, which API Gateway refuses to see signed: botocore's
/// `SIGNED_HEADERS_BLACKLIST`, the signer every AWS CLI call uses.
const UNSIGNED: [&str; 18] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "user-agent",
    "x-amzn-trace-id",
    "traceparent",
    "tracestate",
    "baggage",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// The headers signing adds to a request; all of them are secrets or
/// pieces of one and are marked sensitive.
pub const SIGNING_HEADERS: [&str; 3] = ["authorization", "x-amz-date", "x-amz-security-token"];

/// Why a probe could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("SigV4: no valid credentials: {0}")]
    Credentials(String),
    #[error("SigV4: cannot sign the request: {0}")]
    Signing(String),
}

/// What the first load of the credentials found, for the line that says
/// the tool signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The access key id, masked: `AKIA…WXYZ`.
    pub key: String,
    /// Temporary credentials (a session token) or long-term ones.
    pub temporary: bool,
    pub expiry: Option<SystemTime>,
}

/// Credentials in hand, as the signer takes them.
#[derive(Clone)]
struct Held {
    identity: Identity,
    expiry: Option<SystemTime>,
}

impl Held {
    fn fresh_at(&self, now: SystemTime) -> bool {
        self.expiry.is_none_or(|e| e > now + REFRESH_BEFORE)
    }

    fn valid_at(&self, now: SystemTime) -> bool {
        self.expiry.is_none_or(|e| e > now)
    }
}

/// The credentials every signed probe of a run uses: loaded once before
/// the first probe ([`Keys::load`]), kept, and refreshed before they expire.
pub struct Keys {
    provider: SharedCredentialsProvider,
    current: RwLock<Option<Held>>,
    /// One refresh at a time; probes that find fresh credentials never touch it.
    refreshing: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Keys {
    pub fn new(provider: SharedCredentialsProvider) -> Arc<Keys> {
        Arc::new(Keys {
            provider,
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// Ask the provider now, before any probe is sent: a missing or
    /// broken credentials source is refused up front.
    pub async fn load(&self) -> Result<Loaded, SignError> {
        let creds = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| SignError::Credentials(error_chain(&e)))?;
        let loaded = Loaded {
            key: mask(creds.access_key_id()),
            temporary: creds.session_token().is_some(),
            expiry: creds.expiry(),
        };
        self.store(creds);
        Ok(loaded)
    }

    fn store(&self, creds: Credentials) {
        let held = Held {
            expiry: creds.expiry(),
            identity: creds.into(),
        };
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(held);
    }

    fn held(&self) -> Option<Held> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The credentials to sign with at `now`: those held while fresh; a
    /// refresh when they are about to expire (kept if the refresh fails
    /// and they are still valid).
    async fn identity(&self, now: SystemTime) -> Result<Identity, SignError> {
        if let Some(held) = self.held().filter(|h| h.fresh_at(now)) {
            return Ok(held.identity);
        }
        let _one = self.refreshing.lock().await;
        // Another probe may have refreshed them while this one waited.
        if let Some(held) = self.held().filter(|h| h.fresh_at(now)) {
            return Ok(held.identity);
        }
        match self.provider.provide_credentials().await {
            Ok(creds) => {
                self.store(creds);
                Ok(self.held().map(|h| h.identity).expect("just stored"))
            }
            Err(e) => match self.held().filter(|h| h.valid_at(now)) {
                Some(held) => {
                    tracing::warn!("SigV4: refreshing the credentials failed, signing with the current ones until they expire: {}", error_chain(&e));
                    Ok(held.identity)
                }
                None => Err(SignError::Credentials(error_chain(&e))),
            },
        }
    }
}

/// An access key id as it may be shown: its first and last four characters.
pub fn mask(key: &str) -> String {
    if key.len() <= 8 || !key.is_ascii() {
        return "…".to_string();
    }
    format!("{}…{}", &key[..4], &key[key.len() - 4..])
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Whose signature: the region and the service name of the credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub service: String,
}

/// Signs one target's probes: everything but the time and the credentials
/// prepared once.
pub struct Signer {
    keys: Arc<Keys>,
    scope: Scope,
    method: String,
    /// Scheme, the authority as sent and the path and query as sent.
    uri: String,
    /// The headers signed, as sent (Host first), lowercase names.
    headers: Vec<(String, String)>,
    /// SHA-256 of the body, lowercase hex.
    payload_hash: String,
    settings: SigningSettings,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scope", &self.scope)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for requests to `endpoint` with `method`, `body` and the
    /// headers `sent` (as sent on HTTP/1.1: Host included).
    pub fn new(
        keys: Arc<Keys>,
        scope: Scope,
        endpoint: &Endpoint,
        method: &http::Method,
        sent: &HeaderMap,
        body: &[u8],
    ) -> Signer {
        let scheme = if endpoint.tls { "https" } else { "http" };
        let mut headers = vec![("host".to_string(), endpoint.authority.clone())];
        for (name, value) in sent {
            if name == HOST || UNSIGNED.contains(&name.as_str()) {
                continue;
            }
            // A value that is not text cannot be signed: it is left unsigned.
            if let Ok(v) = value.to_str() {
                headers.push((name.as_str().to_string(), v.to_string()));
            }
        }
        // Ours, not smithy's defaults: the headers above are already the
        // ones to sign, and without an exclusion list a probe clones no Vec.
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        Signer {
            keys,
            scope,
            method: method.as_str().to_string(),
            uri: format!("{scheme}://{}{}", endpoint.authority, endpoint.path),
            headers,
            payload_hash: sha256_hex(body),
            settings,
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The credentials it signs with (shared by a run's signed targets).
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// The signing headers of one probe sent at `now`.
    pub async fn sign(&self, now: SystemTime) -> Result<Signature, SignError> {
        let identity = self.keys.identity(now).await?;
        self.sign_with(&identity, now)
    }

    fn sign_with(&self, identity: &Identity, now: SystemTime) -> Result<Signature, SignError> {
        let failed = |e: &dyn std::error::Error| SignError::Signing(error_chain(e));
        let params = v4::SigningParams::builder()
            .identity(identity)
            .region(&self.scope.region)
            .name(&self.scope.service)
            .time(now)
            .settings(self.settings.clone())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let request = SignableRequest::new(
            &self.method,
            Cow::Borrowed(self.uri.as_str()),
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Precomputed(self.payload_hash.clone()),
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _) = sign(request, &params).map_err(|e| failed(&e))?.into_parts();
        let (headers, _) = instructions.into_parts();
        let mut out = Vec::with_capacity(headers.len());
        for h in headers {
            let mut value = HeaderValue::from_str(h.value())
                .map_err(|e| SignError::Signing(format!("{}: {e}", h.name())))?;
            value.set_sensitive(true);
            out.push((HeaderName::from_static(h.name()), value));
        }
        Ok(Signature { headers: out })
    }
}

/// One probe's signing headers, to be set on its request.
pub struct Signature {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(..)")
    }
}

impl Signature {
    /// Set the signing headers, replacing any of their names already there.
    pub fn apply(self, headers: &mut HeaderMap) {
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
    }
}

fn sha256_hex(body: &[u8]) -> String {
    use std::fmt::Write;
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    let mut hex = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(session: Option<&str>) -> Arc<Keys> {
        Keys::new(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLEWXYZ",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session.map(str::to_string),
            None,
            "test",
        )))
    }

    fn signer(keys: Arc<Keys>, url: &str, sent: &[(&str, &str)]) -> Signer {
        let url = url::Url::parse(url).unwrap();
        let endpoint = Endpoint::from_url(&url);
        let mut headers = HeaderMap::new();
        for (k, v) in sent {
            headers.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        Signer::new(
            keys,
            Scope {
                region: "eu-west-1".into(),
                service: "execute-api".into(),
            },
            &endpoint,
            &http::Method::GET,
            &headers,
            b"",
        )
    }

    #[tokio::test]
    async fn signs_host_and_the_users_headers_but_not_ours_that_change() {
        let keys = keys(Some("token"));
        keys.load().await.unwrap();
        let s = signer(
            keys,
            "https://abc.execute-api.eu-west-1.amazonaws.com/test/x?b=2&a=1",
            &[
                ("host", "abc.execute-api.eu-west-1.amazonaws.com"),
                ("user-agent", "coldlink"),
                ("accept", "*/*"),
                ("connection", "close"),
                ("x-amzn-trace-id", "Root=1-5f000000-000000000000000000000001"),
                ("x-api-key", "k"),
            ],
        );
        let mut headers = HeaderMap::new();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        s.sign(at).await.unwrap().apply(&mut headers);
        let auth = headers["authorization"].to_str().unwrap();
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLEWXYZ/20231114/eu-west-1/execute-api/aws4_request, SignedHeaders=accept;host;x-amz-date;x-amz-security-token;x-api-key, Signature="
        ), "{auth}");
        assert_eq!(headers["x-amz-date"], "20231114T221320Z");
        assert_eq!(headers["x-amz-security-token"], "token");
        assert!(SIGNING_HEADERS.iter().all(|h| headers[*h].is_sensitive()));
        assert!(!format!("{headers:?}").contains("Signature="));
    }

    #[tokio::test]
    async fn credentials_are_refreshed_only_near_their_expiry() {
        #[derive(Debug)]
        struct Counting(std::sync::atomic::AtomicU32, SystemTime);
        impl ProvideCredentials for Counting {
            fn provide_credentials<'a>(
                &'a self,
            ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                    format!("AKIDEXAMPLE000{n}"),
                    "secret",
                    Some("t".into()),
                    Some(self.1),
                    "test",
                )))
            }
        }
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let provider = Arc::new(Counting(0.into(), t0 + Duration::from_secs(3600)));
        let keys = Keys::new(SharedCredentialsProvider::new(CountingRef(provider.clone())));
        #[derive(Debug)]
        struct CountingRef(Arc<Counting>);
        impl ProvideCredentials for CountingRef {
            fn provide_credentials<'a>(
                &'a self,
            ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                self.0.provide_credentials()
            }
        }
        let loaded = keys.load().await.unwrap();
        assert_eq!((loaded.key.as_str(), loaded.temporary), ("AKID…0000", true));
        for minute in 0..50 {
            keys.identity(t0 + Duration::from_secs(60 * minute))
                .await
                .unwrap();
        }
        assert_eq!(
            provider.0.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "no call per probe"
        );
        keys.identity(t0 + Duration::from_secs(3600) - REFRESH_BEFORE)
            .await
            .unwrap();
        assert_eq!(
            provider.0.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "refreshed before expiry"
        );
    }

    #[test]
    fn the_access_key_is_shown_masked() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask("short"), "…");
    }
}
