//! AWS evidence from behind the gateway: X-Ray traces of the probes' own
//! trace ids (and, later, CloudWatch metrics of the minutes they ran in).
//!
//! AWS failing is data, never a crash: every call's error becomes one line
//! that names what went wrong (no credentials, a missing permission, a
//! wrong region), and the rest of the diagnosis goes on without it.

pub mod arn;
pub mod cloudwatch;
pub mod credentials;
pub mod path;
pub mod segments;
pub mod xray;
pub mod xray_retrieval;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// An SDK call's error, the type every service crate's `error::SdkError` is.
pub type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<
    E,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;
/// The service's error code and message (re-exported by every service crate).
pub use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Where and as whom to call AWS; unset fields follow the SDK's standard
/// chain (environment, shared config and credentials files, SSO, IMDS).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsOptions {
    /// An endpoint for every service (moto, LocalStack), e.g. `http://127.0.0.1:5000`.
    pub endpoint: Option<String>,
    /// A named profile of `~/.aws/config`.
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// How long one call may take, retries included: an endpoint that accepts
/// and never answers must not hold the report back (the SDK sets no limit).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// One attempt of a call, and the connection it needs.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK configuration for `options`. `lab`: the lab's own emulator,
/// called with static credentials so that no AWS account is involved.
pub async fn sdk_config(options: &AwsOptions, lab: bool) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(CALL_TIMEOUT)
            .build(),
    );
    if lab {
        // The same type every service crate re-exports.
        loader = loader.credentials_provider(aws_sdk_xray::config::Credentials::new(
            "lab",
            "lab",
            None,
            None,
            "coldlink-lab",
        ));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &options.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// One line for an SDK error: the service's error code and message when it
/// answered in its own protocol; else the HTTP status and the body's text
/// (an emulator or a proxy answering in another format); else what kept
/// the call from being made.
pub fn describe<E>(action: &str, err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let meta = e.err();
            let body = e.raw().body().bytes().unwrap_or_default();
            // An answer in another protocol (an emulator's or a proxy's XML)
            // still names its code; read it so the hints below apply alike.
            let (code, message) = match meta.code() {
                Some(code) => (code.to_string(), meta.message().unwrap_or("").to_string()),
                None => match xml_element(body, "Code") {
                    Some(code) => (
                        format!("HTTP {status}: {code}"),
                        xml_element(body, "Message").unwrap_or_default(),
                    ),
                    None => (format!("HTTP {status}"), body_text(body)),
                },
            };
            let code_id = code.rsplit(' ').next().unwrap_or("");
            let hint = match (code_id, status) {
                ("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation", _) => {
                    format!(" (the credentials need {action})")
                }
                ("ThrottlingException" | "Throttling", _) | (_, 429) => {
                    " (throttled, still after the SDK's retries with backoff)".to_string()
                }
                ("UnrecognizedClientException" | "InvalidClientTokenId" | "ExpiredTokenException", _) => {
                    " (the credentials are not valid here: expired, or for another account or partition)"
                        .to_string()
                }
                (_, 401 | 403) => format!(" (refused: invalid credentials, or they lack {action})"),
                _ => String::new(),
            };
            format!("{action}: {code}: {message}{hint}")
        }
        // The SDK reports a credential chain that found nothing as a
        // dispatch failure, with a paragraph per provider tried.
        SdkError::DispatchFailure(_) if chain(err).contains("no credentials found") => format!(
            "{action}: no AWS credentials found (tried the environment, the shared config and credentials files, SSO, web identity, ECS and IMDS): export them, or name a profile with --aws-profile or the profile's [aws] profile"
        ),
        SdkError::DispatchFailure(_) => format!("{action}: could not reach AWS: {}", chain(err)),
        SdkError::TimeoutError(_) => format!(
            "{action}: timed out: no answer in time ({} s to connect, {} s an attempt, {} s in all)",
            CONNECT_TIMEOUT.as_secs(),
            ATTEMPT_TIMEOUT.as_secs(),
            CALL_TIMEOUT.as_secs()
        ),
        SdkError::ConstructionFailure(_) => {
            format!(
                "{action}: the request could not be made (no credentials or no region?): {}",
                chain(err)
            )
        }
        other => format!("{action}: {}", chain(other)),
    }
}

/// The text of `<name>…</name>` in an XML error body.
pub(crate) fn xml_element(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    Some(text[start..end].trim().to_string())
}

/// The text of an error body on one line: markup dropped, at most 300 chars.
fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            '>' => in_tag = false,
            _ if in_tag => {}
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let out = out.trim();
    out.chars().take(300).collect()
}

/// An error and its sources on one line.
/// The error and its sources on one line (some SDK messages span several).
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = one_line(&err.to_string());
    let mut source = err.source();
    while let Some(s) = source {
        let text = one_line(&s.to_string());
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
