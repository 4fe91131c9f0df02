//! Refused requests explained from their response: "HTTP 403" alone does
//! not say whether the signature, the credentials, the clock or the path
//! is wrong, and a client-certificate refusal comes back as an HTTP 400
//! page, not as a TLS alert. The body says which; the prober keeps the
//! first [`BODY_PREFIX`] bytes of a non-success response's body (nothing
//! on the success path) and asks [`explain`].
//!
//! Over 500 lines for its tests: every refusal is checked against the
//! real body that says it, including the ones that repeat a secret.

use std::time::SystemTime;

use http::HeaderMap;

use super::record::ErrorKind;
use super::redact::Redaction;

/// How much of a refused response's body is kept to explain it.
pub const BODY_PREFIX: usize = 1024;

/// The longest reason taken from a body: API Gateway's signature message
/// goes on with the canonical request, whose signed headers may hold the
/// session token; only its first sentence is kept.
const MAX_REASON: usize = 300;

/// Why the server refused the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: ErrorKind,
    pub reason: Reason,
    /// `HTTP {status}: {reason's label}…`: what the record's error says.
    pub message: String,
}

/// The refusals this tool names. The record keeps the message; a reader
/// (diagnose) gets the reason back from it with [`Reason::of_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Signature,
    ClockSkew,
    Credentials,
    Unsigned,
    NotAuthorized,
    IncompleteSignature,
    NoClientCertificate,
    ClientCertificateExpired,
    ClientCertificateRefused,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::Signature,
        Reason::ClockSkew,
        Reason::Credentials,
        Reason::Unsigned,
        Reason::NotAuthorized,
        Reason::IncompleteSignature,
        Reason::NoClientCertificate,
        Reason::ClientCertificateExpired,
        Reason::ClientCertificateRefused,
    ];

    /// What the message says right after `HTTP {status}: `.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Signature => "signature rejected",
            Reason::ClockSkew => "clock skew",
            Reason::Credentials => "credentials rejected",
            Reason::Unsigned => "unsigned or no such path",
            Reason::NotAuthorized => "not authorized",
            Reason::IncompleteSignature => "signature incomplete",
            Reason::NoClientCertificate => "the server requires a client certificate and none was sent",
            Reason::ClientCertificateExpired => "the server refused the client certificate: it has expired",
            Reason::ClientCertificateRefused => "the server refused the client certificate",
        }
    }

    /// The reason a record's error message names, if it is one of these.
    pub fn of_message(message: &str) -> Option<Reason> {
        let rest = message.strip_prefix("HTTP ")?.get(3..)?.strip_prefix(": ")?;
        Reason::ALL.into_iter().find(|r| rest.starts_with(r.label()))
    }
}

/// What a non-success response says of why it refused the request, when
/// it says something this tool can name; `None` for everything else
/// (the plain `HTTP 403`).
/// `signed`: the probe carried a SigV4 signature (then "Missing
/// Authentication Token" cannot mean it was unsigned). The reason taken
/// from the body never shows what [`Redaction`] hides of the request's
/// secrets, nor any part of a signature (see `scrub`).
pub fn explain(
    status: u16,
    headers: &HeaderMap,
    body_prefix: &[u8],
    signed: bool,
    redaction: &Redaction,
) -> Option<Refusal> {
    let body = String::from_utf8_lossy(body_prefix);
    match status {
        403 => aws_refusal(headers, &body, signed, redaction),
        400 => client_certificate_refusal(&body),
        _ => None,
    }
}

/// Where an AWS error message starts repeating the request's signature or
/// credentials: `IncompleteSignatureException` ends with
/// `Authorization=<the header as sent>`, a signature error with the
/// canonical request (the session token among its headers). The message
/// is cut there.
const SIGNATURE_ECHOES: [&str; 6] = [
    "Authorization=",
    "Credential=",
    "Signature=",
    "SignedHeaders=",
    "AWS4-HMAC-SHA256",
    "x-amz-security-token",
];

/// A reason fit for a record: cut before any echo of the signature, and
/// withheld whole when it still holds one of the request's secrets (a
/// bearer token, an API key) that the target's [`Redaction`] knows.
fn scrub(message: String, redaction: &Redaction) -> String {
    let lower = message.to_ascii_lowercase();
    let cut = SIGNATURE_ECHOES
        .iter()
        .filter_map(|echo| lower.find(&echo.to_ascii_lowercase()))
        .min();
    let message = match cut {
        Some(at) => format!("{}…", message[..at].trim_end()),
        None => message,
    };
    if redaction.hides("x-error-message", &message) {
        "(the server's message repeats a secret of the request; not kept)".to_string()
    } else {
        message
    }
}

/// `Signature expired: 20231114T221320Z is now earlier than
/// 20231114T222820Z (20231114T223320Z - 5 min.)`: AWS's message repeats
/// the request's `x-amz-date`, which no record keeps; what matters is how
/// far this host's clock is from AWS's, measured from the two.
fn clock_offset(message: &str) -> Option<String> {
    let stamps: Vec<SystemTime> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(amz_date)
        .collect();
    let (signed, aws_now) = (*stamps.first()?, *stamps.last()?);
    let (words, by) = match aws_now.duration_since(signed) {
        Ok(d) => ("behind", d),
        Err(e) => ("ahead of", e.duration()),
    };
    let minutes = by.as_secs_f64() / 60.0;
    Some(format!("this host's clock is {minutes:.1} min {words} AWS's"))
}

/// `20231114T221320Z` as a time.
fn amz_date(token: &str) -> Option<SystemTime> {
    let b = token.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &token[0..4],
        &token[4..6],
        &token[6..8],
        &token[9..11],
        &token[11..13],
        &token[13..15]
    );
    humantime::parse_rfc3339(&rfc3339).ok()
}

/// API Gateway's and IAM's refusals: `x-amzn-errortype` names the error,
/// the JSON body's `message` (or `Message`) says it in words.
fn aws_refusal(headers: &HeaderMap, body: &str, signed: bool, redaction: &Redaction) -> Option<Refusal> {
    let errortype = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        // `InvalidSignatureException:http://internal.amazon.com/...`
        .map(|v| v.split(':').next().unwrap_or(v).trim().to_string())
        .unwrap_or_default();
    let message = scrub(json_message(body).unwrap_or_else(|| first_line(body)), redaction);
    let status = |reason: Reason| {
        Some(Refusal {
            kind: ErrorKind::Status,
            reason,
            message: match reason {
                // The clock of this host and AWS's disagree by more than 5 minutes.
                Reason::ClockSkew => format!(
                    "HTTP 403: clock skew ({}): {}",
                    clock_offset(&message)
                        .unwrap_or_else(|| "this host's clock is off by more than 5 minutes".to_string()),
                    // The times in AWS's words are the request's x-amz-date.
                    message.split(':').next().unwrap_or_default()
                ),
                Reason::Unsigned if signed => format!(
                    "HTTP 403: unsigned or no such path: {message} (the probe was signed: no such path or method, or a stage or resource policy that refuses it)"
                ),
                Reason::Unsigned => format!(
                    "HTTP 403: unsigned or no such path: {message} (the API wants SigV4 signing (--sigv4), or no such path or method)"
                ),
                _ => format!("HTTP 403: {}: {message}", reason.label()),
            },
        })
    };
    let says = |text: &str| message.contains(text);
    if says("Signature expired") || says("Signature not yet current") {
        return status(Reason::ClockSkew);
    }
    if errortype == "InvalidSignatureException" || says("The request signature we calculated does not match")
    {
        return status(Reason::Signature);
    }
    if errortype == "UnrecognizedClientException"
        || errortype == "ExpiredTokenException"
        || says("security token included in the request is invalid")
        || says("security token included in the request is expired")
    {
        return status(Reason::Credentials);
    }
    if errortype == "MissingAuthenticationTokenException" || says("Missing Authentication Token") {
        return status(Reason::Unsigned);
    }
    if errortype == "AccessDeniedException" || (says("User: ") && says("is not authorized")) {
        return status(Reason::NotAuthorized);
    }
    if errortype == "IncompleteSignatureException" {
        return status(Reason::IncompleteSignature);
    }
    None
}

/// Debian nginx's pages for `ssl_verify_client on`: the TLS handshake
/// succeeds and the refusal is an HTTP 400 page.
fn client_certificate_refusal(body: &str) -> Option<Refusal> {
    let tls = |reason: Reason, more: &str| {
        Some(Refusal {
            kind: ErrorKind::Tls,
            reason,
            message: format!("HTTP 400: {}{more}", reason.label()),
        })
    };
    if body.contains("No required SSL certificate was sent") {
        tls(Reason::NoClientCertificate, " (--cert/--key)")
    } else if body.contains("SSL certificate has expired") {
        tls(Reason::ClientCertificateExpired, "")
    } else if body.contains("The SSL certificate error") {
        tls(
            Reason::ClientCertificateRefused,
            " (not issued by a CA it trusts, expired or revoked)",
        )
    } else {
        None
    }
}

/// The first line of a JSON body's `message` / `Message` string, decoded,
/// even from a body cut short.
fn json_message(body: &str) -> Option<String> {
    let start = ["\"message\"", "\"Message\""]
        .iter()
        .filter_map(|key| body.find(key).map(|at| at + key.len()))
        .min()?;
    let rest = body[start..].trim_start().strip_prefix(':')?.trim_start();
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let code: String = chars.by_ref().take(4).collect();
                    if let Some(c) = u32::from_str_radix(&code, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    Some(first_line(&out))
}

/// The first non-empty line, at most [`MAX_REASON`] characters.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    match line.char_indices().nth(MAX_REASON) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_secrets() -> Redaction {
        Redaction::new(&super::super::spec::RequestSpec::default(), Vec::new())
    }

    fn explained(status: u16, errortype: Option<&str>, body: &str) -> Option<Refusal> {
        let mut h = HeaderMap::new();
        if let Some(t) = errortype {
            h.insert("x-amzn-errortype", t.parse().unwrap());
        }
        explain(
            status,
            &h,
            &body.as_bytes()[..body.len().min(BODY_PREFIX)],
            false,
            &no_secrets(),
        )
    }

    /// API Gateway's real body: the message goes on with the canonical
    /// request (the session token among its headers) past 1 KiB.
    #[test]
    fn a_wrong_signature_is_named_and_the_canonical_request_is_not_kept() {
        let body = r#"{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'GET\n/test/pets\n\nhost:abc123.execute-api.eu-west-1.amazonaws.com\nx-amz-date:20231114T221320Z\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20231114T221320Z\n20231114/eu-west-1/execute-api/aws4_request\n0c0b5e0b58ff1c1c4e6ad01a1e9b9a1f6b9b1b1b1b1b1b1b1b1b1b1b1b1b1b1b'\n"}"#;
        let r = explained(403, Some("InvalidSignatureException"), body).unwrap();
        assert_eq!(r.kind, ErrorKind::Status);
        assert_eq!(
            r.message,
            "HTTP 403: signature rejected: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        );
        // Without the header (a proxy dropped it), the body still says it.
        assert!(explained(403, None, body)
            .unwrap()
            .message
            .contains("signature rejected"));
    }

    #[test]
    fn an_expired_or_future_signature_is_clock_skew() {
        let r = explained(
            403,
            Some("InvalidSignatureException"),
            r#"{"message":"Signature expired: 20231114T221320Z is now earlier than 20231114T222820Z (20231114T223320Z - 5 min.)"}"#,
        )
        .unwrap();
        // The request's x-amz-date is not kept; the offset it shows is.
        assert_eq!(
            r.message,
            "HTTP 403: clock skew (this host's clock is 20.0 min behind AWS's): Signature expired"
        );
        let r = explained(
            403,
            Some("InvalidSignatureException"),
            r#"{"message":"Signature not yet current: 20231114T224320Z is still later than 20231114T223820Z (20231114T223320Z + 5 min.)"}"#,
        )
        .unwrap();
        assert!(r.message.contains("clock skew") && r.message.contains("not yet current"));
    }

    #[test]
    fn invalid_credentials_missing_signature_and_denied_access_are_told_apart() {
        let r = explained(
            403,
            Some("UnrecognizedClientException"),
            r#"{"message":"The security token included in the request is invalid."}"#,
        )
        .unwrap();
        assert_eq!(
            r.message,
            "HTTP 403: credentials rejected: The security token included in the request is invalid."
        );
        let r = explained(
            403,
            Some("MissingAuthenticationTokenException"),
            r#"{"message":"Missing Authentication Token"}"#,
        )
        .unwrap();
        assert!(
            r.message.contains("--sigv4") && r.message.contains("no such path"),
            "{}",
            r.message
        );
        let r = explained(
            403,
            Some("AccessDeniedException"),
            r#"{"Message":"User: arn:aws:sts::123456789012:assumed-role/prober/i-0abc is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:********1234:abc123/test/GET/pets"}"#,
        )
        .unwrap();
        assert!(r
            .message
            .starts_with("HTTP 403: not authorized: User: arn:aws:sts::123456789012"));
        // A Lambda function URL's refusal.
        let r = explained(403, Some("AccessDeniedException"), r#"{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}"#).unwrap();
        assert!(r.message.starts_with("HTTP 403: not authorized: Forbidden."));
    }

    #[test]
    fn a_plain_403_or_500_is_left_alone() {
        assert_eq!(explained(403, None, r#"{"message":"Forbidden"}"#), None);
        assert_eq!(explained(403, None, ""), None);
        assert_eq!(
            explained(500, Some("InvalidSignatureException"), r#"{"message":"x"}"#),
            None
        );
    }

    /// Debian nginx 1.22's own pages (`ssl_verify_client on`).
    #[test]
    fn nginx_client_certificate_refusals_are_tls_errors() {
        let page = |title: &str| {
            format!(
                "<html>\r\n<head><title>400 {title}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>{title}</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
            )
        };
        let r = explained(400, None, &page("No required SSL certificate was sent")).unwrap();
        assert_eq!(r.kind, ErrorKind::Tls);
        assert!(r
            .message
            .contains("requires a client certificate and none was sent"));
        let r = explained(400, None, &page("The SSL certificate error")).unwrap();
        assert_eq!(r.kind, ErrorKind::Tls);
        assert!(r.message.contains("refused the client certificate"));
        let r = explained(400, None, &page("The SSL certificate has expired")).unwrap();
        assert!(r.message.contains("expired"));
        assert_eq!(explained(400, None, &page("Bad Request")), None);
    }

    #[test]
    fn the_reason_is_read_back_from_the_message() {
        let bodies = [
            (
                403,
                "InvalidSignatureException",
                r#"{"message":"The request signature we calculated does not match"}"#,
                Reason::Signature,
            ),
            (
                403,
                "InvalidSignatureException",
                r#"{"message":"Signature expired: 1 is now earlier than 2"}"#,
                Reason::ClockSkew,
            ),
            (
                403,
                "UnrecognizedClientException",
                r#"{"message":"The security token included in the request is invalid."}"#,
                Reason::Credentials,
            ),
            (
                403,
                "MissingAuthenticationTokenException",
                r#"{"message":"Missing Authentication Token"}"#,
                Reason::Unsigned,
            ),
            (
                403,
                "AccessDeniedException",
                r#"{"Message":"User: anonymous is not authorized"}"#,
                Reason::NotAuthorized,
            ),
            (
                400,
                "",
                "No required SSL certificate was sent",
                Reason::NoClientCertificate,
            ),
            (
                400,
                "",
                "The SSL certificate error",
                Reason::ClientCertificateRefused,
            ),
            (
                400,
                "",
                "The SSL certificate has expired",
                Reason::ClientCertificateExpired,
            ),
        ];
        for (status, errortype, body, reason) in bodies {
            let r = explained(status, Some(errortype).filter(|t| !t.is_empty()), body).unwrap();
            assert_eq!(r.reason, reason);
            assert_eq!(Reason::of_message(&r.message), Some(reason), "{}", r.message);
        }
        assert_eq!(Reason::of_message("HTTP 403 Forbidden"), None);
        assert_eq!(Reason::of_message("HTTP 403: something else"), None);
    }

    #[test]
    fn a_long_message_is_cut() {
        let long = format!(
            r#"{{"message":"The request signature we calculated does not match {}"}}"#,
            "x".repeat(2000)
        );
        let r = explained(403, None, &long).unwrap();
        assert!(r.message.len() < 400 && r.message.ends_with('…'));
    }

    /// IncompleteSignatureException ends with the Authorization header as
    /// sent: a bearer token, or the signature and access key id. Neither
    /// is kept; a message holding a secret of the request is withheld.
    #[test]
    fn an_echoed_authorization_or_secret_never_reaches_the_message() {
        let body = r#"{"message":"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer eyJhbGciOiJIUzI1NiJ9.SECRETPAYLOADxyz.sig"}"#;
        let r = explained(403, Some("IncompleteSignatureException"), body).unwrap();
        assert!(!r.message.contains("SECRETPAYLOAD"), "{}", r.message);
        assert!(!r.message.contains("Bearer"), "{}", r.message);
        assert!(
            r.message
                .starts_with("HTTP 403: signature incomplete: Authorization header requires"),
            "{}",
            r.message
        );
        let body = r#"{"message":"Bad header. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE1234/20231114/eu-west-1/execute-api/aws4_request, SignedHeaders=host, Signature=7619abc"}"#;
        let r = explained(403, Some("IncompleteSignatureException"), body).unwrap();
        for secret in ["AKIDEXAMPLE1234", "7619abc", "AWS4-HMAC"] {
            assert!(!r.message.contains(secret), "{}", r.message);
        }
        // A secret the request sent, echoed in other words.
        let mut spec = super::super::spec::RequestSpec::default();
        let mut v = http::HeaderValue::from_static("k3y-0f-th3-us3r-12345");
        v.set_sensitive(true);
        spec.headers.insert("x-api-key", v);
        let redaction = Redaction::new(&spec, Vec::new());
        let mut h = HeaderMap::new();
        h.insert("x-amzn-errortype", "AccessDeniedException".parse().unwrap());
        let body = br#"{"message":"User: key k3y-0f-th3-us3r-12345 is not authorized"}"#;
        let r = explain(403, &h, body, false, &redaction).unwrap();
        assert!(!r.message.contains("k3y-0f"), "{}", r.message);
    }

    #[test]
    fn a_signed_probe_is_not_told_to_sign() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amzn-errortype",
            "MissingAuthenticationTokenException".parse().unwrap(),
        );
        let body = br#"{"message":"Missing Authentication Token"}"#;
        let signed = explain(403, &h, body, true, &no_secrets()).unwrap();
        assert!(!signed.message.contains("--sigv4"), "{}", signed.message);
        assert_eq!(signed.reason, Reason::Unsigned);
        let unsigned = explain(403, &h, body, false, &no_secrets()).unwrap();
        assert!(unsigned.message.contains("--sigv4"), "{}", unsigned.message);
    }
}
