//! What a probe is sent to: a named URL and the request to send.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use super::client_cert::ClientIdentity;
pub use super::endpoint::{Endpoint, Origin};
use super::family::IpFamily;
use super::redact::Redaction;
use super::request::PreparedRequest;
pub use super::secrets::{
    is_secret, secret_query_values, shown_url, ALWAYS_SECRET, REDACTED, SECRET_QUERY_PARAMS,
};
use super::sigv4::{Keys, Scope, Signer};
pub use super::spec::RequestSpec;

/// Which entry point a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    ExecuteApi,
    CustomDomain,
    Other,
}

impl TargetKind {
    /// `*.execute-api.REGION.amazonaws.com` is the execute-api URL; a plain
    /// DNS name is presumed a custom domain; IPs and localhost are neither.
    pub fn infer(url: &Url) -> TargetKind {
        match url.host() {
            Some(Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                // `{api}.execute-api.{region}.amazonaws.com`, its `.com.cn`
                // form, a VPC endpoint's own `vpce-….execute-api.…` name, and
                // the lab's `*.execute-api.lab.test`: no custom domain is
                // named like that.
                if d.contains(".execute-api.") {
                    TargetKind::ExecuteApi
                } else if d == "localhost" || d.ends_with(".localhost") {
                    TargetKind::Other
                } else {
                    TargetKind::CustomDomain
                }
            }
            _ => TargetKind::Other,
        }
    }
}

/// A named URL with its request.
#[derive(Debug, Clone)]
pub struct Target {
    /// Shared with every record of this target (a reference count per
    /// record, not a string copied: issue 20).
    pub name: Arc<str>,
    pub url: Url,
    pub kind: TargetKind,
    pub endpoint: Endpoint,
    /// Computed once: the pool key, looked up on every probe.
    pub origin: Origin,
    /// Computed once: the URL as written into every record and shown, its
    /// secret query values replaced (see [`shown_url`]); shared with every
    /// record of this target, as `name` is.
    pub url_text: Arc<str>,
    pub request: Arc<RequestSpec>,
    /// Computed once: the request with everything that does not change
    /// between probes.
    pub prepared: Arc<PreparedRequest>,
    /// Computed once: what the response's headers must not show back of
    /// the request's secrets.
    pub redaction: Arc<Redaction>,
    /// The client certificate its TLS connections present (`--cert`).
    pub client_cert: Option<Arc<ClientIdentity>>,
    /// `--sigv4`: signs each probe (the signature carries the time).
    pub sigv4: Option<Arc<Signer>>,
    /// Set when probes must use this family only (`-4`, `-6`, one of the
    /// targets `both` makes); `None`: what the resolver returns first.
    pub family: Option<IpFamily>,
}

impl Target {
    pub fn new(
        name: impl Into<Arc<str>>,
        url: Url,
        kind: Option<TargetKind>,
        request: Arc<RequestSpec>,
    ) -> Target {
        let endpoint = Endpoint::from_url(&url);
        Target {
            prepared: Arc::new(PreparedRequest::new(&url, &endpoint, &request)),
            redaction: Arc::new(Redaction::new(&request, secret_query_values(&url, &[]))),
            name: name.into(),
            kind: kind.unwrap_or_else(|| TargetKind::infer(&url)),
            origin: endpoint.origin(),
            url_text: shown_url(&url, &[]).into(),
            endpoint,
            url,
            request,
            client_cert: None,
            sigv4: None,
            family: None,
        }
    }

    /// Sign every probe of this target with `keys` for `scope`.
    pub fn signed(mut self, keys: Arc<Keys>, scope: Scope) -> Target {
        self.sigv4 = Some(Arc::new(Signer::new(
            keys,
            scope,
            &self.endpoint,
            &self.request.method,
            self.prepared.sent_headers(),
            &self.request.body,
        )));
        self
    }

    /// This target on `family` only, pooled apart from the others.
    pub fn with_family(mut self, family: IpFamily) -> Target {
        self.family = Some(family);
        self.origin.family = Some(family);
        self
    }
}

impl Target {
    /// Hide the values of these query parameters too (names compared
    /// without case; `*` for all): a profile's URL whose value came from
    /// `${ENV}`.
    pub fn hiding_query_params(mut self, names: &[String]) -> Target {
        self.url_text = shown_url(&self.url, names).into();
        self.redaction = Arc::new(Redaction::new(
            &self.request,
            secret_query_values(&self.url, names),
        ));
        self
    }

    /// Present this client certificate; its connections are pooled apart.
    pub fn with_client_cert(mut self, identity: Option<Arc<ClientIdentity>>) -> Target {
        self.origin.client_cert = identity.as_ref().map(|i| i.paths.clone());
        self.client_cert = identity;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_inferred_from_the_host() {
        let k = |u: &str| TargetKind::infer(&Url::parse(u).unwrap());
        assert_eq!(
            k("https://abc123.execute-api.eu-west-1.amazonaws.com/test/x"),
            TargetKind::ExecuteApi
        );
        assert_eq!(
            k("https://abc123.execute-api.cn-north-1.amazonaws.com.cn/test/x"),
            TargetKind::ExecuteApi
        );
        assert_eq!(
            k("https://vpce-0123456789abcdef0-abcdefgh.execute-api.eu-west-1.vpce.amazonaws.com/test/x"),
            TargetKind::ExecuteApi
        );
        // Issue 15: the rule diagnose --from uses for stored records too.
        assert_eq!(
            k("https://abc123.execute-api.lab.test:8443/x"),
            TargetKind::ExecuteApi
        );
        assert_eq!(k("https://api.example.com/x"), TargetKind::CustomDomain);
        assert_eq!(k("http://127.0.0.1:8080/"), TargetKind::Other);
        assert_eq!(k("http://localhost:8080/"), TargetKind::Other);
    }

    #[test]
    fn secret_query_values_are_not_shown_and_the_rest_is_kept_as_sent() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            shown_url(
                &u("https://api.example.com/x?api_key=s3cr3t&page=2&API-KEY=x&a%20b=c"),
                &[]
            ),
            "https://api.example.com/x?api_key=REDACTED&page=2&API-KEY=REDACTED&a%20b=c"
        );
        // A presigned URL: the signature and the session token go, the rest stays.
        assert_eq!(
            shown_url(
                &u("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&X-Amz-Security-Token=t"),
                &[]
            ),
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED"
        );
        // An encoded name is the name it means.
        assert_eq!(
            shown_url(&u("http://h/?api%5Fkey=1"), &[]),
            "http://h/?api%5Fkey=REDACTED"
        );
        assert_eq!(
            shown_url(&u("http://h/p?tenant=acme&region=eu"), &["Tenant".to_string()]),
            "http://h/p?tenant=REDACTED&region=eu"
        );
        // Every value, when the environment supplied the query.
        assert_eq!(
            shown_url(&u("http://h/p?a=1&b=2"), &["*".to_string()]),
            "http://h/p?a=REDACTED&b=REDACTED"
        );
        // Nothing to hide: the URL as ever.
        assert_eq!(shown_url(&u("http://h/p?x"), &[]), "http://h/p?x");
        assert_eq!(shown_url(&u("http://h/p"), &[]), "http://h/p");
        let t = Target::new(
            "t",
            u("http://h/p?token=abc"),
            None,
            Arc::new(RequestSpec::default()),
        );
        assert_eq!(&*t.url_text, "http://h/p?token=REDACTED");
        // The request still carries the real value.
        assert_eq!(t.endpoint.path, "/p?token=abc");
    }

    #[test]
    fn endpoint_keeps_port_and_query() {
        let e = Endpoint::from_url(&Url::parse("http://[::1]:8080/a/b?x=1").unwrap());
        assert_eq!(e.host, "::1");
        assert!(e.ip.is_some());
        assert_eq!(e.port, 8080);
        assert_eq!(e.authority, "[::1]:8080");
        assert_eq!(e.path, "/a/b?x=1");
        let e = Endpoint::from_url(&Url::parse("https://api.example.com/").unwrap());
        assert_eq!(
            (e.port, e.authority.as_str(), e.tls),
            (443, "api.example.com", true)
        );
    }
}
