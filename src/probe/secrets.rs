//! Which parts of a request are secrets: header names and query parameters
//! whose values are sent but never shown, and the URL as it may be shown.
//! Below both the target (which hides its URL once) and the redaction of
//! responses (which must not show the same secrets back).

use http::HeaderName;
use url::Url;

/// Request headers whose values are secrets by nature; they are sent but
/// never written to a record, a log or the screen. `x-amz-security-token`
/// is the session token of temporary AWS credentials (SigV4).
pub const ALWAYS_SECRET: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "x-amz-security-token",
];

/// Query parameters whose values are secrets by nature (compared without
/// case): API keys, tokens, passwords and request signatures, such as a
/// presigned URL's. Their values are sent but shown as [`REDACTED`].
pub const SECRET_QUERY_PARAMS: [&str; 18] = [
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "auth",
    "authorization",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "signature",
    "sig",
    "x-amz-signature",
    "x-amz-security-token",
];

/// What a secret query value is shown as.
pub const REDACTED: &str = "REDACTED";

/// The URL as a record, a log or the screen may show it: the value of every
/// query parameter named in [`SECRET_QUERY_PARAMS`] or in `extra` replaced
/// by [`REDACTED`]; everything else exactly as sent.
pub fn shown_url(url: &Url, extra: &[String]) -> String {
    let Some(query) = url.query() else {
        return url.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name, extra) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    let mut shown = url.clone();
    shown.set_query(Some(&pairs.join("&")));
    shown.to_string()
}

/// The values [`shown_url`] hides, as sent and as decoded: a response that
/// echoes one must not show it either.
pub fn secret_query_values(url: &Url, extra: &[String]) -> Vec<String> {
    let Some(query) = url.query() else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for pair in query.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if is_secret_param(name, extra) {
                values.push(value.to_string());
                if let Some((_, meant)) = url::form_urlencoded::parse(pair.as_bytes()).next() {
                    values.push(meant.into_owned());
                }
            }
        }
    }
    values
}

/// True when the query parameter's value is hidden: its name, as written or
/// as meant, is in [`SECRET_QUERY_PARAMS`] or `extra` (`*`: every name).
fn is_secret_param(name: &str, extra: &[String]) -> bool {
    let secret = |name: &str| {
        SECRET_QUERY_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name))
            || extra.iter().any(|s| s == "*" || s.eq_ignore_ascii_case(name))
    };
    secret(name) || secret(&decoded(name))
}

/// A query parameter's name as meant (`api%5Fkey` is `api_key`).
fn decoded(name: &str) -> String {
    url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(n, _)| n.into_owned())
        .unwrap_or_default()
}

/// True when a header's value must never be shown.
pub fn is_secret(name: &HeaderName, extra: &[HeaderName]) -> bool {
    ALWAYS_SECRET.contains(&name.as_str()) || extra.contains(name)
}

/// A URL as typed, which may not parse, as an error message may show it:
/// the userinfo's password (or a lone user name, which may be a token)
/// replaced by `***`, and the values of secret query parameters by
/// [`REDACTED`], by the rule of [`shown_url`]; the fragment, which can
/// carry a token too (`#access_token=…`), is read as a query.
pub fn shown_typed_url(text: &str) -> String {
    let (head, fragment) = match text.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (text, None),
    };
    let (before_query, query) = match head.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (head, None),
    };
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, before_query),
    };
    let authority_end = rest.find(['/', '\\']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_string(),
    };
    let mut shown = scheme.map(|s| format!("{s}://")).unwrap_or_default();
    shown.push_str(&authority);
    shown.push_str(path);
    for (mark, part) in [('?', query), ('#', fragment)] {
        if let Some(part) = part {
            shown.push(mark);
            shown.push_str(&shown_pairs(part));
        }
    }
    shown
}

/// `a=1&key=s3cret` with the secret parameters' values [`REDACTED`].
fn shown_pairs(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name, &[]) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_url_shows_no_credentials_and_no_secret_query_value() {
        let cases = [
            (
                "https://user:pass@127.0.0.1:1/x",
                "https://user:***@127.0.0.1:1/x",
            ),
            ("https://ghp_TOKEN@host/x", "https://***@host/x"),
            ("user:pass@host/x?a=1", "user:***@host/x?a=1"),
            ("localhost:1/?api_key=QSEKRIT", "localhost:1/?api_key=REDACTED"),
            (
                "h/x?a=1&Token=T0K&sig=S#access_token=AT",
                "h/x?a=1&Token=REDACTED&sig=REDACTED#access_token=REDACTED",
            ),
            ("http://h/p@q:r", "http://h/p@q:r"),
            ("not a url", "not a url"),
        ];
        for (typed, shown) in cases {
            assert_eq!(shown_typed_url(typed), shown, "{typed}");
        }
    }
}
