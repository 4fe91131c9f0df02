//! Value parsers for flags and profile keys. Each error says what was wrong
//! and what would be valid; clap (or the profile's error) adds the flag or
//! key.
//!
//! Just over 500 lines with its tests (about 400 without): every value the
//! command line and the profiles take is read here, once, with one error
//! type, and the clap error shown without the secrets it repeats.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::error::{ContextKind, ContextValue};
use http::{HeaderName, HeaderValue, Method};
use url::Url;

use crate::duration::{is_negative, DurationError};
use crate::probe::secrets::shown_typed_url;
use crate::probe::vantage::{self, VANTAGE_VALID};
use crate::probe::{FamilyChoice, IpFamily, ResolvePin};

/// Why a flag's or key's value was refused; the text says what is valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidValue {
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("must be positive; expected {}", count_range(*min, *max))]
    NegativeCount { min: u64, max: u64 },
    #[error("{value} is out of range; expected {}", count_range(*min, *max))]
    CountOutOfRange { value: u64, min: u64, max: u64 },
    #[error("not a whole number; expected {}", count_range(*min, *max))]
    NotACount { min: u64, max: u64 },
    #[error("not a URL ({source}); expected a URL with http:// or https://, e.g. {example}")]
    NotAUrl {
        #[source]
        source: url::ParseError,
        example: &'static str,
    },
    #[error("scheme '{scheme}' is not supported; expected a URL with http:// or https://, e.g. {example}")]
    Scheme { scheme: String, example: &'static str },
    /// `localhost:8080/x`: the url crate reads `localhost` as a scheme; the
    /// user left the scheme out.
    #[error("no scheme; expected a URL with http:// or https://, e.g. {example}")]
    NoScheme { example: &'static str },
    #[error("the URL has no host; expected e.g. {example}")]
    NoHost { example: &'static str },
    #[error("credentials in the URL are not supported (they would end up in records); send them with -H 'authorization: …' instead")]
    Credentials,
    #[error("not an HTTP method; expected e.g. GET, HEAD, POST")]
    Method,
    #[error("'{name}' is not a valid header name")]
    HeaderName { name: String },
    #[error("expected 'Name: value' (a colon between name and value)")]
    HeaderShape,
    /// The value itself is never part of the error: it may be a secret.
    #[error("the value of header '{name}' has characters not allowed in a header")]
    HeaderValue { name: HeaderName },
    #[error("{}", resolve_problem(problem))]
    Resolve { problem: ResolveProblem },
    #[error("expected an IP address with an optional port, e.g. 10.0.0.2 or 127.0.0.1:5353")]
    DnsServer,
    #[error("expected a positive number, e.g. 10 or 0.5")]
    Speed,
    #[error("'{code}' is not an HTTP status (100–599)")]
    Status { code: String },
    #[error(
        "'{value}' is not an API id; expected the API's 10 lowercase letters and digits, e.g. a1b2c3d4e5"
    )]
    ApiId { value: String },
    #[error("'{value}' is not an AWS service name; expected lowercase letters, digits and hyphens, e.g. execute-api or lambda")]
    Sigv4Service { value: String },
    #[error("'{value}' is not an AWS region; expected e.g. eu-west-1")]
    Region { value: String },
    #[error("'{value}' is not an address family; expected 4, 6 or both")]
    IpFamily { value: String },
    #[error("'{value}' is not a vantage name; expected {VANTAGE_VALID}")]
    Vantage { value: String },
}

/// What is wrong with a `--resolve HOST:PORT:ADDR`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveProblem {
    Shape,
    EmptyHost,
    Port(String),
    Addr(String),
}

const RESOLVE_SHAPE: &str = "expected HOST:PORT:ADDR, e.g. api.example.com:443:203.0.113.5";

fn resolve_problem(p: &ResolveProblem) -> String {
    match p {
        ResolveProblem::Shape => RESOLVE_SHAPE.to_string(),
        ResolveProblem::EmptyHost => format!("empty HOST; {RESOLVE_SHAPE}"),
        ResolveProblem::Port(port) => format!("'{port}' is not a port (0–65535); {RESOLVE_SHAPE}"),
        ResolveProblem::Addr(addr) => format!("'{addr}' is not an IP address; {RESOLVE_SHAPE}"),
    }
}

fn count_range(min: u64, max: u64) -> String {
    if max == u64::MAX {
        format!("a whole number from {min}, e.g. {}", min.max(10))
    } else {
        format!("a whole number from {min} to {max}")
    }
}

/// A humantime duration: `250ms`, `5s`, `6m`, `1h 30m`.
pub fn duration(s: &str) -> Result<Duration, InvalidValue> {
    Ok(crate::duration::parse(s)?)
}

/// A positive duration.
pub fn positive_duration(s: &str) -> Result<Duration, InvalidValue> {
    Ok(crate::duration::positive(s)?)
}

/// A whole number in `min..=max`, for counts such as `-n` and `-c`.
pub fn count_in(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<u64, InvalidValue> + Clone + Send + Sync + 'static {
    move |s: &str| {
        if is_negative(s) {
            return Err(InvalidValue::NegativeCount { min, max });
        }
        match s.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(value) => Err(InvalidValue::CountOutOfRange { value, min, max }),
            Err(_) => Err(InvalidValue::NotACount { min, max }),
        }
    }
}

/// A command-line error as clap made it, without the secrets of the values
/// it repeats: every value in it shown as [`shown_typed_url`] shows a URL.
/// clap repeats a refused value ("invalid value '…' for '--timeout'") and
/// an unexpected argument ("unexpected argument '…' found", "to pass '…'
/// as a value, use '-- …'"), and either may be a URL with a password or a
/// key. Text with no `@` before its path and no secret query parameter is
/// shown as it is.
pub fn without_secrets(mut e: clap::Error) -> clap::Error {
    // Only what masking changes is replaced: a value rebuilt from its text
    // would lose its colours (the usage line's, say).
    let changed = |text: String| {
        let shown = shown_typed_url(&text);
        (shown != text).then_some(shown)
    };
    let masked: Vec<(ContextKind, ContextValue)> = e
        .context()
        .filter_map(|(kind, value)| {
            let shown = match value {
                ContextValue::String(s) => ContextValue::String(changed(s.clone())?),
                ContextValue::StyledStr(s) => ContextValue::StyledStr(changed(s.to_string())?.into()),
                ContextValue::Strings(all) => {
                    all.iter().find_map(|s| changed(s.clone()))?;
                    ContextValue::Strings(all.iter().map(|s| shown_typed_url(s)).collect())
                }
                ContextValue::StyledStrs(all) => {
                    all.iter().find_map(|s| changed(s.to_string()))?;
                    ContextValue::StyledStrs(
                        all.iter()
                            .map(|s| shown_typed_url(&s.to_string()).into())
                            .collect(),
                    )
                }
                _ => return None,
            };
            Some((kind, shown))
        })
        .collect();
    for (kind, value) in masked {
        e.insert(kind, value);
    }
    e
}

/// An http or https URL with a host and no credentials.
pub fn url(s: &str) -> Result<Url, InvalidValue> {
    url_like(
        s,
        "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header",
    )
}

/// `--aws-endpoint`: an http or https URL of an AWS API (or an emulator's).
pub fn endpoint_url(s: &str) -> Result<Url, InvalidValue> {
    url_like(s, "http://127.0.0.1:5000")
}

/// An http or https URL with a host and no credentials; `example` shows
/// what a valid one looks like for the flag at hand.
fn url_like(s: &str, example: &'static str) -> Result<Url, InvalidValue> {
    let u = http_url(s, example)?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err(InvalidValue::Credentials);
    }
    Ok(u)
}

/// `--heartbeat-url`: an http or https URL; `user:password@` in it is sent
/// as basic authentication (and, like the rest of the URL but its host,
/// never shown).
pub fn heartbeat_url(s: &str) -> Result<Url, InvalidValue> {
    http_url(s, "https://hc-ping.com/YOUR-UUID")
}

/// An http or https URL with a host; `example` is named when it is not a URL.
fn http_url(s: &str, example: &'static str) -> Result<Url, InvalidValue> {
    let u = Url::parse(s.trim()).map_err(|source| InvalidValue::NotAUrl { source, example })?;
    match u.scheme() {
        "http" | "https" => {}
        _ if !s.contains("://") => return Err(InvalidValue::NoScheme { example }),
        other => {
            return Err(InvalidValue::Scheme {
                scheme: other.to_string(),
                example,
            })
        }
    }
    // The url crate reads `http:///path` as host `path`: judge the text.
    if u.host_str().is_none_or(str::is_empty) || !names_a_host(s.trim()) {
        return Err(InvalidValue::NoHost { example });
    }
    Ok(u)
}

/// `scheme://HOST…` as written: two slashes after the scheme, then a host.
fn names_a_host(s: &str) -> bool {
    let after_scheme = s.split_once(':').map_or("", |(_, rest)| rest);
    after_scheme
        .strip_prefix("//")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '\\', '?', '#']))
}

pub fn method(s: &str) -> Result<Method, InvalidValue> {
    Method::from_bytes(s.trim().to_ascii_uppercase().as_bytes()).map_err(|_| InvalidValue::Method)
}

pub fn header_name(s: &str) -> Result<HeaderName, InvalidValue> {
    HeaderName::from_bytes(s.trim().as_bytes()).map_err(|_| InvalidValue::HeaderName {
        name: s.trim().to_string(),
    })
}

/// `-H 'Name: value'` as typed. Validated later, in `config`, because clap
/// repeats a rejected value in its error message and the value may be a
/// secret. Its `Debug` shows the name only.
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderArg(pub String);

impl std::fmt::Debug for HeaderArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.0.split(':').next().unwrap_or_default();
        write!(f, "HeaderArg({name:?}: <redacted>)")
    }
}

/// Never fails; see [`HeaderArg`].
pub fn header_arg(s: &str) -> Result<HeaderArg, std::convert::Infallible> {
    Ok(HeaderArg(s.to_string()))
}

/// `Name: value`. The value is kept out of the error message: it may be a secret.
pub fn header(s: &str) -> Result<(HeaderName, HeaderValue), InvalidValue> {
    let (name, value) = s.split_once(':').ok_or(InvalidValue::HeaderShape)?;
    let name = header_name(name)?;
    match HeaderValue::from_str(value.trim()) {
        Ok(value) => Ok((name, value)),
        Err(_) => Err(InvalidValue::HeaderValue { name }),
    }
}

/// `HOST:PORT:ADDR`, ADDR an IPv4 or IPv6 address (brackets optional).
pub fn resolve(s: &str) -> Result<ResolvePin, InvalidValue> {
    let refuse = |problem| InvalidValue::Resolve { problem };
    let (host, rest) = s.split_once(':').ok_or(refuse(ResolveProblem::Shape))?;
    let (port, addr) = rest.split_once(':').ok_or(refuse(ResolveProblem::Shape))?;
    if host.is_empty() {
        return Err(refuse(ResolveProblem::EmptyHost));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| refuse(ResolveProblem::Port(port.to_string())))?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| refuse(ResolveProblem::Addr(addr.to_string())))?;
    Ok(ResolvePin {
        host: host.to_string(),
        port,
        addr,
    })
}

/// A DNS server: `IP` (port 53) or `IP:PORT` / `[IPv6]:PORT`.
pub fn dns_server(s: &str) -> Result<SocketAddr, InvalidValue> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| InvalidValue::DnsServer)
}

/// An address family choice (`--ip-family`, `connection.ip_family`): `4`,
/// `6` or `both`; `ipv4` and `ipv6` are taken too, in any case.
pub fn ip_family(s: &str) -> Result<FamilyChoice, InvalidValue> {
    match s.trim().to_ascii_lowercase().as_str() {
        "4" | "ipv4" => Ok(FamilyChoice::Only(IpFamily::Ipv4)),
        "6" | "ipv6" => Ok(FamilyChoice::Only(IpFamily::Ipv6)),
        "both" => Ok(FamilyChoice::Both),
        _ => Err(InvalidValue::IpFamily {
            value: s.trim().to_string(),
        }),
    }
}

/// A lab's time compression: a positive number.
pub fn speed(s: &str) -> Result<f64, InvalidValue> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| *x > 0.0 && x.is_finite())
        .ok_or(InvalidValue::Speed)
}

/// An API Gateway API id (`--api-id`, `connection.api_id`): the 10
/// lowercase letters and digits API Gateway gives every API, as sent in
/// `x-apigw-api-id`.
pub fn api_id(s: &str) -> Result<HeaderValue, InvalidValue> {
    let id = s.trim();
    let valid = id.len() == 10 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    match valid {
        true => Ok(HeaderValue::from_str(id).expect("ASCII letters and digits")),
        false => Err(InvalidValue::ApiId {
            value: id.to_string(),
        }),
    }
}

/// Where probes run from (`--vantage`, `connection.vantage`): a name of
/// [`VANTAGE_VALID`], written into every record as it is.
pub fn vantage(s: &str) -> Result<std::sync::Arc<str>, InvalidValue> {
    let name = s.trim();
    match vantage::is_valid(name) {
        true => Ok(name.into()),
        false => Err(InvalidValue::Vantage {
            value: name.to_string(),
        }),
    }
}

/// The service a SigV4 signature is for (`--sigv4-service`,
/// `sigv4_service`): `execute-api`, `lambda`, …
pub fn sigv4_service(s: &str) -> Result<String, InvalidValue> {
    let name = s.trim();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match valid {
        true => Ok(name.to_string()),
        false => Err(InvalidValue::Sigv4Service {
            value: name.to_string(),
        }),
    }
}

/// An AWS region (`--region`), e.g. `eu-west-1`: lowercase letters,
/// digits and hyphens.
pub fn region(s: &str) -> Result<String, InvalidValue> {
    let name = s.trim();
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match valid {
        true => Ok(name.to_string()),
        false => Err(InvalidValue::Region {
            value: name.to_string(),
        }),
    }
}

/// Comma-separated status codes, e.g. `200,204`.
pub fn status_list(s: &str) -> Result<Vec<u16>, InvalidValue> {
    s.split(',')
        .map(|code| {
            code.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| InvalidValue::Status {
                    code: code.trim().to_string(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn says(e: InvalidValue) -> String {
        e.to_string()
    }

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(says(duration("5 parsecs").unwrap_err()).contains("like 250ms"));
        assert!(positive_duration("0s").is_err());
        assert!(says(duration("-1s").unwrap_err()).contains("must be positive"));
    }

    #[test]
    fn counts() {
        let n = count_in(1, u64::MAX);
        assert_eq!(n("5"), Ok(5));
        assert!(says(n("-5").unwrap_err()).contains("must be positive"));
        assert!(says(n("0").unwrap_err()).contains("from 1"));
        assert!(says(n("five").unwrap_err()).contains("not a whole number"));
        assert!(says(count_in(1, 10).clone()("11").unwrap_err()).contains("from 1 to 10"));
    }

    #[test]
    fn urls() {
        assert!(url("https://api.example.com/header").is_ok());
        assert!(says(url("ftp://x/").unwrap_err()).contains("http:// or https://"));
        assert!(says(url("https://u:p@x/").unwrap_err()).contains("credentials"));
        assert!(says(url("nonsense").unwrap_err()).contains("not a URL"));
        for hostless in ["http:///path", "http:/path", "http:path", "https:///x?q"] {
            assert!(says(url(hostless).unwrap_err()).contains("no host"), "{hostless}");
        }
        assert!(url("http://127.0.0.1:9/").is_ok());
    }

    #[test]
    fn headers_keep_secrets_out_of_errors() {
        let (n, v) = header("x-api-key: s3cr3t").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-api-key", "s3cr3t"));
        let err = says(header("x-api-key s3cr3t").unwrap_err());
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = says(header("x-api-key: bad\u{7f}value").unwrap_err());
        assert!(!err.contains("bad"), "{err}");
    }

    #[test]
    fn header_args_do_not_show_their_value_in_debug() {
        let h = header_arg("x-api-key: s3cr3t").unwrap();
        let shown = format!("{h:?}");
        assert!(
            shown.contains("x-api-key") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn resolve_pins() {
        let p = resolve("api.example.com:443:203.0.113.5").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("api.example.com", 443));
        assert_eq!(
            resolve("h:443:[::1]").unwrap().addr,
            "::1".parse::<IpAddr>().unwrap()
        );
        assert!(says(resolve("h:99999:1.2.3.4").unwrap_err()).contains("port"));
        assert!(says(resolve("h:443:nope").unwrap_err()).contains("IP address"));
        assert!(says(resolve("h").unwrap_err()).contains("HOST:PORT:ADDR"));
    }

    #[test]
    fn dns_servers() {
        assert_eq!(dns_server("10.0.0.2").unwrap(), "10.0.0.2:53".parse().unwrap());
        assert_eq!(
            dns_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(dns_server("[::1]:53").unwrap(), "[::1]:53".parse().unwrap());
        assert!(dns_server("resolver.local").is_err());
    }

    #[test]
    fn api_ids_are_ten_lowercase_letters_and_digits() {
        assert_eq!(api_id(" a1b2c3d4e5 ").unwrap(), "a1b2c3d4e5");
        for bad in ["A1B2C3D4E5", "a1b2c3d4e", "a1b2c3d4e5f", "a1b2-3d4e5", ""] {
            let err = says(api_id(bad).unwrap_err());
            assert!(err.contains("10 lowercase letters and digits"), "{bad}: {err}");
        }
    }

    #[test]
    fn vantage_names_are_short_and_plain() {
        assert_eq!(&*vantage(" eu-west-1b ").unwrap(), "eu-west-1b");
        assert_eq!(
            &*vantage("host-7@us-east-1/az:b_1.x").unwrap(),
            "host-7@us-east-1/az:b_1.x"
        );
        assert!(vantage(&"a".repeat(64)).is_ok());
        for bad in ["", "  ", "eu west", "a\"b", "zone=1", "é", &"a".repeat(65)] {
            let err = says(vantage(bad).unwrap_err());
            assert!(
                err.contains("1 to 64 letters, digits and . _ : @ / -"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn status_lists() {
        assert_eq!(status_list("200, 204"), Ok(vec![200, 204]));
        assert!(says(status_list("200,abc").unwrap_err()).contains("abc"));
        assert!(status_list("700").is_err());
    }
}
