//! Value parsers for flags and profile keys. Each error says what was wrong
//! and what would be valid; clap adds the flag name.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use url::Url;

use crate::probe::ResolvePin;

/// A humantime duration: `250ms`, `5s`, `6m`, `1h 30m`.
pub fn duration(s: &str) -> Result<Duration, String> {
    if is_negative(s) {
        return Err("must be positive; expected a duration like 250ms, 5s or 6m".into());
    }
    humantime::parse_duration(s.trim()).map_err(|e| format!("{e}; expected a duration like 250ms, 5s or 6m"))
}

/// `-1s`, `-5`: a number below zero. Flags whose value may look like this
/// take hyphen values (clap would otherwise suggest `-- -1`, which turns the
/// value into a URL) and refuse it here.
fn is_negative(s: &str) -> bool {
    s.trim()
        .strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
}

/// A whole number in `min..=max`, for counts such as `-n` and `-c`.
pub fn count_in(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let valid = if max == u64::MAX {
            format!("a whole number from {min}, e.g. {}", min.max(10))
        } else {
            format!("a whole number from {min} to {max}")
        };
        if is_negative(s) {
            return Err(format!("must be positive; expected {valid}"));
        }
        match s.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(n) => Err(format!("{n} is out of range; expected {valid}")),
            Err(_) => Err(format!("not a whole number; expected {valid}")),
        }
    }
}

/// A positive duration.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.is_zero() {
        return Err("must be longer than 0".into());
    }
    Ok(d)
}

/// An http or https URL with a host and no credentials.
pub fn url(s: &str) -> Result<Url, String> {
    let u = http_url(
        s,
        "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header",
    )?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err("credentials in the URL are not supported (they would end up in records); send them with -H 'authorization: …' instead".into());
    }
    Ok(u)
}

/// `--heartbeat-url`: an http or https URL; `user:password@` in it is sent
/// as basic authentication (and, like the rest of the URL but its host,
/// never shown).
pub fn heartbeat_url(s: &str) -> Result<Url, String> {
    http_url(s, "https://hc-ping.com/YOUR-UUID")
}

/// An http or https URL with a host; `example` is named when it is not a URL.
fn http_url(s: &str, example: &str) -> Result<Url, String> {
    let u = Url::parse(s.trim()).map_err(|e| format!("not a URL ({e}); expected e.g. {example}"))?;
    match u.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "scheme '{other}' is not supported; use http:// or https://"
            ))
        }
    }
    // The url crate reads `http:///path` as host `path`: judge the text.
    if u.host_str().is_none_or(str::is_empty) || !names_a_host(s.trim()) {
        return Err(format!("the URL has no host; expected e.g. {example}"));
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

pub fn method(s: &str) -> Result<Method, String> {
    Method::from_bytes(s.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| "not an HTTP method; expected e.g. GET, HEAD, POST".into())
}

pub fn header_name(s: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(s.trim().as_bytes())
        .map_err(|_| format!("'{}' is not a valid header name", s.trim()))
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
pub fn header_arg(s: &str) -> Result<HeaderArg, String> {
    Ok(HeaderArg(s.to_string()))
}

/// `Name: value`. The value is kept out of the error message: it may be a secret.
pub fn header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected 'Name: value' (a colon between name and value)".to_string())?;
    let name = header_name(name)?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of header '{name}' has characters not allowed in a header"))?;
    Ok((name, value))
}

/// `HOST:PORT:ADDR`, ADDR an IPv4 or IPv6 address (brackets optional).
pub fn resolve(s: &str) -> Result<ResolvePin, String> {
    let shape = "expected HOST:PORT:ADDR, e.g. api.example.com:443:203.0.113.5";
    let (host, rest) = s.split_once(':').ok_or(shape)?;
    let (port, addr) = rest.split_once(':').ok_or(shape)?;
    if host.is_empty() {
        return Err(format!("empty HOST; {shape}"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("'{port}' is not a port (0–65535); {shape}"))?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("'{addr}' is not an IP address; {shape}"))?;
    Ok(ResolvePin {
        host: host.to_string(),
        port,
        addr,
    })
}

/// A DNS server: `IP` (port 53) or `IP:PORT` / `[IPv6]:PORT`.
pub fn dns_server(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| "expected an IP address with an optional port, e.g. 10.0.0.2 or 127.0.0.1:5353".into())
}

/// A lab's time compression: a positive number.
pub fn speed(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| *x > 0.0 && x.is_finite())
        .ok_or_else(|| "expected a positive number, e.g. 10 or 0.5".into())
}

/// Comma-separated status codes, e.g. `200,204`.
pub fn status_list(s: &str) -> Result<Vec<u16>, String> {
    s.split(',')
        .map(|code| {
            code.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| format!("'{}' is not an HTTP status (100–599)", code.trim()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("6m"), Ok(Duration::from_secs(360)));
        assert!(duration("5 parsecs").unwrap_err().contains("like 250ms"));
        assert!(positive_duration("0s").is_err());
        assert!(duration("-1s").unwrap_err().contains("must be positive"));
        assert!(duration("-.5s").unwrap_err().contains("must be positive"));
    }

    #[test]
    fn counts() {
        let n = count_in(1, u64::MAX);
        assert_eq!(n("5"), Ok(5));
        assert!(n("-5").unwrap_err().contains("must be positive"));
        assert!(n("0").unwrap_err().contains("from 1"));
        assert!(n("five").unwrap_err().contains("not a whole number"));
        assert!(count_in(1, 10).clone()("11")
            .unwrap_err()
            .contains("from 1 to 10"));
    }

    #[test]
    fn urls() {
        assert!(url("https://api.example.com/header").is_ok());
        assert!(url("ftp://x/").unwrap_err().contains("http:// or https://"));
        assert!(url("https://u:p@x/").unwrap_err().contains("credentials"));
        assert!(url("nonsense").unwrap_err().contains("not a URL"));
        for hostless in ["http:///path", "http:/path", "http:path", "https:///x?q"] {
            assert!(url(hostless).unwrap_err().contains("no host"), "{hostless}");
        }
        assert!(url("http://127.0.0.1:9/").is_ok());
    }

    #[test]
    fn headers_keep_secrets_out_of_errors() {
        let (n, v) = header("x-api-key: s3cr3t").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-api-key", "s3cr3t"));
        let err = header("x-api-key s3cr3t").unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = header("x-api-key: bad\u{7f}value").unwrap_err();
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
        assert!(resolve("h:99999:1.2.3.4").unwrap_err().contains("port"));
        assert!(resolve("h:443:nope").unwrap_err().contains("IP address"));
        assert!(resolve("h").unwrap_err().contains("HOST:PORT:ADDR"));
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
    fn status_lists() {
        assert_eq!(status_list("200, 204"), Ok(vec![200, 204]));
        assert!(status_list("200,abc").unwrap_err().contains("abc"));
        assert!(status_list("700").is_err());
    }
}
