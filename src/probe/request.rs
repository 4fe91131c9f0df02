//! The HTTP request a probe sends, prepared once per target, and what is
//! read back from the response's headers. (About 650 lines with its
//! tests, 370 without: the tests pin each header the probe sends.)
//!
//! Building a request from the target on every probe (parse the URI, insert
//! and hash each header) was a tenth of the probe loop's instructions in a
//! keep-alive burst; now a probe clones a prepared header map and adds only
//! what changes per probe: the trace header and `Connection: close`.
//!
//! Issue 20: the header maps a probe clones already hold those per-probe
//! headers (a placeholder for the trace value), so a probe's map is a clone
//! and at most one in-place replacement: no growth, no header name parsed
//! per probe. The response's head is read in one pass over its headers.
//!
//! Over 500 lines with its tests: the templates and the head reader
//! are the two ends of one exchange, kept beside the tests that pin their
//! byte order and header names.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONNECTION, HOST, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, HeaderName, Request, Uri};
use http_body_util::Full;

use super::conn::HttpVersion;
use super::endpoint::Endpoint;
use super::record::{CapturedHeaders, CapturedName};
use super::redact::{Redaction, REMAPPED_PREFIX};
use super::spec::RequestSpec;
use super::trace;

/// Response headers worth keeping: they identify the request at API Gateway
/// and CloudFront, and tell how the server treats keep-alive.
pub const CAPTURED_HEADERS: [&str; 12] = [
    "x-amzn-requestid",
    "x-amz-apigw-id",
    "apigw-requestid",
    "x-amzn-errortype",
    "x-amzn-trace-id",
    "via",
    "x-amz-cf-pop",
    "x-amz-cf-id",
    "x-cache",
    "server",
    "connection",
    "keep-alive",
];

/// A response header a record keeps: one of [`CAPTURED_HEADERS`] or one an
/// integration passed through. Asked of every header of every response: a
/// match on the name's text costs a length test and at most a compare or
/// two, where comparing header names one by one cost a dozen.
///
/// Returns the name as the record keeps it: one of ours is a static
/// string, not a copy made and freed per probe (issue 20); a passed-through
/// one is copied.
fn captured_name(name: &str) -> Option<CapturedName> {
    let known = match name {
        "x-amzn-requestid" => "x-amzn-requestid",
        "x-amz-apigw-id" => "x-amz-apigw-id",
        "apigw-requestid" => "apigw-requestid",
        "x-amzn-errortype" => "x-amzn-errortype",
        "x-amzn-trace-id" => "x-amzn-trace-id",
        "via" => "via",
        "x-amz-cf-pop" => "x-amz-cf-pop",
        "x-amz-cf-id" => "x-amz-cf-id",
        "x-cache" => "x-cache",
        "server" => "server",
        "connection" => "connection",
        "keep-alive" => "keep-alive",
        _ if name.starts_with(REMAPPED_PREFIX) => return Some(Cow::Owned(name.to_string())),
        _ => return None,
    };
    Some(Cow::Borrowed(known))
}

/// The trace header as a name, made once.
static TRACE_NAME: HeaderName = HeaderName::from_static(trace::TRACE_HEADER);

/// A target's request with everything that does not change between probes
/// already built.
#[derive(Debug)]
pub struct PreparedRequest {
    body: Bytes,
    /// Host (HTTP/1.1 only), User-Agent, Accept, then the user's headers,
    /// which replace ours of the same name; repeated ones are all sent.
    h1_headers: HeaderMap,
    /// What a probe clones: the request heads `[h1, h1 + Connection:
    /// close, h2]` (HTTP/1.1 sends the origin form; HTTP/2 needs scheme and
    /// authority), each with the trace header last (an empty placeholder,
    /// replaced per probe) unless the user sends their own, and
    /// `Connection: close` only if the user sends no `Connection` of their
    /// own. Whole heads, so that a probe's request is one clone, not an
    /// empty request whose default URI and headers are then replaced.
    heads: [Parts; 3],
    /// The user sets the trace header; the probe does not add its own.
    user_sets_trace: bool,
    /// The root id of the user's own trace header, if it has one.
    user_trace_root: Option<String>,
}

impl PreparedRequest {
    pub fn new(url: &url::Url, endpoint: &Endpoint, spec: &RequestSpec) -> PreparedRequest {
        let h1_uri = endpoint.path.parse().unwrap_or_else(|_| Uri::from_static("/"));
        let h2_uri = h2_uri(url, spec);
        let mut ours = HeaderMap::new();
        ours.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("coldlink/", env!("CARGO_PKG_VERSION"))),
        );
        ours.insert(ACCEPT, HeaderValue::from_static("*/*"));
        let mut h1_headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&endpoint.authority) {
            h1_headers.insert(HOST, v);
        }
        h1_headers.extend(ours.clone());
        let mut h2_headers = ours;
        for name in spec.headers.keys() {
            h1_headers.remove(name);
            h2_headers.remove(name);
        }
        for (name, value) in &spec.headers {
            h1_headers.append(name.clone(), value.clone());
            if name != HOST {
                h2_headers.append(name.clone(), value.clone());
            }
        }
        let user_sets_trace = spec.headers.contains_key(trace::TRACE_HEADER);
        let user_sets_connection = spec.headers.contains_key(CONNECTION);
        let template = |base: &HeaderMap, close: bool| {
            let mut map = HeaderMap::with_capacity(base.len() + 2);
            map.extend(base.clone());
            if close && !user_sets_connection {
                // A fresh connection carries one request: say so, so that
                // the server closes first and keeps the TIME_WAIT, as it
                // would for a one-shot client (thousands of client-side
                // TIME_WAITs slow down connect()).
                map.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            if !user_sets_trace {
                map.insert(TRACE_NAME.clone(), HeaderValue::from_static(""));
            }
            map
        };
        let head = |uri: &Uri, headers: HeaderMap| {
            let (mut parts, ()) = Request::new(()).into_parts();
            parts.method = spec.method.clone();
            parts.uri = uri.clone();
            parts.headers = headers;
            parts
        };
        let heads = [
            head(&h1_uri, template(&h1_headers, false)),
            head(&h1_uri, template(&h1_headers, true)),
            head(&h2_uri, template(&h2_headers, false)),
        ];
        PreparedRequest {
            body: spec.body.clone(),
            h1_headers,
            heads,
            user_sets_trace,
            user_trace_root: spec
                .headers
                .get(trace::TRACE_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(trace::root_of),
        }
    }

    /// The user sends their own trace header: the probe records its root
    /// (`Some(None)` when it has none) and sends theirs.
    pub fn user_trace(&self) -> Option<Option<&str>> {
        self.user_sets_trace.then_some(self.user_trace_root.as_deref())
    }

    /// The headers an HTTP/1.1 request carries before the per-probe ones
    /// (Host included): what a signature covers.
    pub fn sent_headers(&self) -> &HeaderMap {
        &self.h1_headers
    }

    /// The request for one probe. `trace_root` is the probe's own root id
    /// (ignored when the user sends their own trace header); `last` asks an
    /// HTTP/1.1 server to close after this request.
    pub fn build(&self, http: HttpVersion, trace_root: Option<&str>, last: bool) -> Request<Full<Bytes>> {
        self.build_traced(http, trace_root, false, last)
    }

    /// [`PreparedRequest::build`]; `parent` also names the probe's client
    /// segment as the trace's parent (`--xray-segments`). The trace header
    /// is never signed (`probe::sigv4`), so a signed probe carries it too.
    pub fn build_traced(
        &self,
        http: HttpVersion,
        trace_root: Option<&str>,
        parent: bool,
        last: bool,
    ) -> Request<Full<Bytes>> {
        let head = match (http, last) {
            (HttpVersion::H1, false) => &self.heads[0],
            (HttpVersion::H1, true) => &self.heads[1],
            (HttpVersion::H2, _) => &self.heads[2],
        };
        let mut req = Request::from_parts(head.clone(), Full::new(self.body.clone()));
        let headers_out = req.headers_mut();
        if !self.user_sets_trace {
            let value = trace_root.and_then(|root| match parent {
                false => trace_value(root),
                // String to Bytes hands over the buffer: no copy.
                true => {
                    HeaderValue::from_maybe_shared(Bytes::from(trace::header_value_with_parent(root))).ok()
                }
            });
            match value {
                Some(v) => {
                    if let Some(slot) = trace_slot(headers_out) {
                        *slot = v;
                    }
                }
                None => {
                    headers_out.remove(&TRACE_NAME);
                }
            }
        }
        req
    }
}

/// [`trace::header_value`] of `root` as a header value. A root id of the
/// probe's own (its usual length) goes through
/// [`trace::header_value_fixed`], on the stack, where building the text as
/// a `String` cost a check and a call per piece (issue 20); any other root
/// goes the general way.
fn trace_value(root: &str) -> Option<HeaderValue> {
    let Ok(id) = <&[u8; trace::ROOT_ID_LEN]>::try_from(root.as_bytes()) else {
        // String to Bytes hands over the buffer: no copy.
        return HeaderValue::from_maybe_shared(Bytes::from(trace::header_value(root))).ok();
    };
    HeaderValue::from_bytes(&trace::header_value_fixed(id)).ok()
}

/// The trace header's value in a request cloned from a template: the
/// template's last header (see [`PreparedRequest::heads`]), reached by
/// walking the handful of headers rather than by hashing its name, which
/// cost more than the walk (issue 20). Looked up by name should the last
/// header be another (it never is).
fn trace_slot(headers: &mut HeaderMap) -> Option<&mut HeaderValue> {
    let last_is_trace = matches!(headers.iter().last(), Some((name, _)) if *name == TRACE_NAME);
    if last_is_trace {
        headers.iter_mut().last().map(|(_, value)| value)
    } else {
        headers.get_mut(&TRACE_NAME)
    }
}

/// HTTP/2's target: the URL, with a `-H 'Host: …'` of the user's as its
/// authority, since HTTP/2 carries the host in `:authority` and no Host
/// header (curl does the same); without this the override would be
/// dropped without a word.
fn h2_uri(url: &url::Url, spec: &RequestSpec) -> Uri {
    let from_url = || url.as_str().parse().unwrap_or_else(|_| Uri::from_static("/"));
    let Some(host) = spec.headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return from_url();
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    Uri::builder()
        .scheme(url.scheme())
        .authority(host)
        .path_and_query(path)
        .build()
        .unwrap_or_else(|_| from_url())
}

/// True when the server said it will close the connection after this
/// response: `Connection: close`, or HTTP/1.0 without keep-alive. Such a
/// connection is not pooled, so its closing is not mistaken for an idle timer.
pub fn will_close<B>(response: &http::Response<B>) -> bool {
    closes(response.version(), response.headers().get(CONNECTION))
}

/// [`will_close`] from the version and the `Connection` header's value.
fn closes(version: http::Version, connection: Option<&HeaderValue>) -> bool {
    let connection = connection.map(|v| v.as_bytes()).unwrap_or_default();
    // What nearly every keep-alive response says, answered without
    // splitting the value into tokens (issue 20); as servers write it, in
    // one compare, before the byte-by-byte case-blind one.
    if connection == b"keep-alive" || connection.eq_ignore_ascii_case(b"keep-alive") {
        return false;
    }
    let says = |token: &[u8]| {
        connection
            .split(|b| *b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    };
    says(b"close") || (version == http::Version::HTTP_10 && !says(b"keep-alive"))
}

/// What a probe keeps of a response's head: [`captured_headers`], and
/// whether the server will close the connection after it ([`will_close`]).
/// One pass over the headers, no lookup by name.
pub fn read_head<B>(response: &http::Response<B>, redaction: &Redaction) -> (CapturedHeaders, bool) {
    let mut connection = None;
    let captured = capture(response.headers(), redaction, |name, value| {
        if name == CONNECTION && connection.is_none() {
            connection = Some(value);
        }
    });
    (captured, closes(response.version(), connection))
}

/// The response headers a record keeps: [`CAPTURED_HEADERS`] and those an
/// integration passed through (`x-amzn-remapped-*`), with every value that
/// would show one of the request's secrets replaced (see [`Redaction`]).
pub fn captured_headers(headers: &http::HeaderMap, redaction: &Redaction) -> CapturedHeaders {
    capture(headers, redaction, |_, _| {})
}

/// [`captured_headers`], showing `seen` every header on the way. A header
/// map yields the values of one name one after the other, so repeats are
/// joined as they come: the readable values, `, `-separated.
fn capture<'h>(
    headers: &'h http::HeaderMap,
    redaction: &Redaction,
    mut seen: impl FnMut(&HeaderName, &'h HeaderValue),
) -> CapturedHeaders {
    let mut out = CapturedHeaders::new();
    let mut keep = |name: CapturedName, joined: Option<String>| {
        let value = redaction.shown(&name, joined.unwrap_or_default());
        out.insert(name, value);
    };
    // The captured header being gathered: its name in the map, its name
    // as the record keeps it, and its values so far.
    let mut open: Option<(&HeaderName, CapturedName, Option<String>)> = None;
    for (name, value) in headers {
        seen(name, value);
        match open.take() {
            Some((open_name, kept, mut joined)) if open_name == name => {
                if let Ok(v) = value.to_str() {
                    match joined.as_mut() {
                        Some(j) => {
                            j.push_str(", ");
                            j.push_str(v);
                        }
                        None => joined = Some(v.to_string()),
                    }
                }
                open = Some((open_name, kept, joined));
                continue;
            }
            Some((_, kept, joined)) => keep(kept, joined),
            None => {}
        }
        if let Some(kept) = captured_name(name.as_str()) {
            open = Some((name, kept, value.to_str().ok().map(str::to_string)));
        }
    }
    if let Some((_, kept, joined)) = open {
        keep(kept, joined);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderName;

    fn prepared(url: &str, headers: &[(&str, &str)]) -> PreparedRequest {
        let url = url::Url::parse(url).unwrap();
        let mut spec = RequestSpec::default();
        for (k, v) in headers {
            spec.headers
                .append(HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        PreparedRequest::new(&url, &Endpoint::from_url(&url), &spec)
    }

    #[test]
    fn http1_sends_origin_form_with_host_and_our_trace() {
        let p = prepared("http://api.example.com:8080/a?b=1", &[]);
        let req = p.build(HttpVersion::H1, Some("1-5f000000-000000000000000000000001"), true);
        assert_eq!(req.uri(), "/a?b=1");
        assert_eq!(req.headers()[HOST], "api.example.com:8080");
        assert_eq!(req.headers()[CONNECTION], "close");
        assert_eq!(
            req.headers()[trace::TRACE_HEADER],
            "Root=1-5f000000-000000000000000000000001;Sampled=1"
        );
        let again = p.build(HttpVersion::H1, None, false);
        assert!(again.headers().get(CONNECTION).is_none());
        assert!(again.headers().get(trace::TRACE_HEADER).is_none());
    }

    /// Issue 20, seventh pass: the trace value made on the stack is the
    /// text `trace::header_value` makes, for the probe's own ids and for
    /// roots of other lengths; the value lands in the trace header's slot
    /// whatever the user's headers are (repeated ones included), and the
    /// other headers keep theirs.
    #[test]
    fn the_trace_value_is_the_one_header_value_makes_and_lands_in_its_slot() {
        for root in [
            trace::new_root_id(std::time::SystemTime::now()),
            "1-5f000000-000000000000000000000001".to_string(),
            "1-a-b".to_string(),
            String::new(),
        ] {
            let made = trace_value(&root).expect("a readable value");
            assert_eq!(made.as_bytes(), trace::header_value(&root).as_bytes(), "{root}");
        }
        assert!(trace_value("1-5f000000-00000000000000000000000\n").is_none());
        let root = "1-5f000000-000000000000000000000001";
        for headers in [
            &[][..],
            &[("x-a", "1"), ("x-a", "2")][..],
            &[("accept", "text/plain"), ("x-b", "3"), ("x-b", "4")][..],
        ] {
            let p = prepared("http://h/", headers);
            for (http, last) in [
                (HttpVersion::H1, false),
                (HttpVersion::H1, true),
                (HttpVersion::H2, false),
            ] {
                let req = p.build(http, Some(root), last);
                let mut expected = p.heads[usize::from(last) + 2 * usize::from(http == HttpVersion::H2)]
                    .headers
                    .clone();
                expected.insert(trace::TRACE_HEADER, trace::header_value(root).parse().unwrap());
                assert_eq!(req.headers(), &expected, "{headers:?} {http:?} {last}");
            }
        }
    }

    /// Issue 21: with `--xray-segments` the trace header names the probe's
    /// client segment as the parent; without it, nothing changes.
    #[test]
    fn the_parent_is_sent_only_when_asked() {
        let p = prepared("http://h/", &[]);
        let root = "1-5f000000-000000000000000000000001";
        let with = p.build_traced(HttpVersion::H1, Some(root), true, false);
        assert_eq!(
            with.headers()[trace::TRACE_HEADER],
            format!("Root={root};Parent={};Sampled=1", trace::client_segment_id(root)).as_str()
        );
        let without = p.build_traced(HttpVersion::H2, Some(root), false, false);
        assert_eq!(
            without.headers()[trace::TRACE_HEADER],
            trace::header_value(root).as_str()
        );
        assert!(p
            .build_traced(HttpVersion::H1, None, true, false)
            .headers()
            .get(trace::TRACE_HEADER)
            .is_none());
        // The user's own trace header is theirs: no parent of ours in it.
        let theirs = prepared("http://h/", &[("x-amzn-trace-id", "Root=1-a-b;Sampled=1")]);
        assert_eq!(
            theirs
                .build_traced(HttpVersion::H1, Some(root), true, false)
                .headers()[trace::TRACE_HEADER],
            "Root=1-a-b;Sampled=1"
        );
    }

    #[test]
    fn http2_sends_the_full_uri_without_host() {
        let p = prepared("https://api.example.com/a?b=1", &[]);
        let req = p.build(HttpVersion::H2, None, true);
        assert_eq!(req.uri(), "https://api.example.com/a?b=1");
        assert!(req.headers().get(HOST).is_none());
        assert!(req.headers().get(CONNECTION).is_none());
    }

    #[test]
    fn http2_carries_a_host_override_as_its_authority() {
        let p = prepared("https://api.example.com/a?b=1", &[("host", "other.example.com")]);
        let req = p.build(HttpVersion::H2, None, true);
        assert_eq!(req.uri(), "https://other.example.com/a?b=1");
        assert!(req.headers().get(HOST).is_none(), "no Host header in HTTP/2");
    }

    #[test]
    fn user_headers_replace_ours_and_repeat() {
        let p = prepared(
            "http://h/",
            &[
                ("user-agent", "mine"),
                ("x-a", "1"),
                ("x-a", "2"),
                ("x-amzn-trace-id", "Root=1-5f000000-000000000000000000000002"),
            ],
        );
        let req = p.build(
            HttpVersion::H1,
            Some("1-5f000000-000000000000000000000001"),
            false,
        );
        let h = req.headers();
        assert_eq!(h.get_all(USER_AGENT).iter().collect::<Vec<_>>(), ["mine"]);
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(
            h.get_all(trace::TRACE_HEADER).iter().collect::<Vec<_>>(),
            ["Root=1-5f000000-000000000000000000000002"]
        );
    }

    #[test]
    fn close_is_read_case_blind_from_any_token() {
        let resp = |version, connection: Option<&str>| {
            let mut r = http::Response::builder().version(version);
            if let Some(c) = connection {
                r = r.header(CONNECTION, c);
            }
            r.body(()).unwrap()
        };
        assert!(will_close(&resp(
            http::Version::HTTP_11,
            Some("Keep-Alive, CLOSE")
        )));
        assert!(!will_close(&resp(http::Version::HTTP_11, Some("keep-alive"))));
        assert!(!will_close(&resp(http::Version::HTTP_11, None)));
        assert!(will_close(&resp(http::Version::HTTP_10, None)));
        assert!(!will_close(&resp(http::Version::HTTP_10, Some(" keep-alive "))));
    }

    /// Issue 20: the names matched per probe are the documented list.
    #[test]
    fn the_names_matched_are_the_captured_headers() {
        for name in CAPTURED_HEADERS {
            // Kept as the static name itself, not a copy.
            assert!(
                matches!(captured_name(name), Some(Cow::Borrowed(kept)) if kept == name),
                "{name}"
            );
        }
        assert_eq!(
            captured_name("x-amzn-remapped-authorization").as_deref(),
            Some("x-amzn-remapped-authorization")
        );
        for name in [
            "date",
            "content-type",
            "x-amzn",
            "vi",
            "servers",
            "x-amzn-remapped",
        ] {
            assert!(captured_name(name).is_none(), "{name}");
        }
    }

    /// Issue 20: the per-probe headers come from templates; what goes on
    /// the wire, and in which order, is what it was.
    #[test]
    fn per_probe_headers_keep_their_order_and_vanish_when_unset() {
        let p = prepared("http://h/", &[("x-a", "1")]);
        let names = |req: &Request<Full<Bytes>>| {
            req.headers()
                .keys()
                .map(|k| k.as_str().to_string())
                .collect::<Vec<_>>()
        };
        let root = "1-5f000000-000000000000000000000001";
        assert_eq!(
            names(&p.build(HttpVersion::H1, Some(root), true)),
            [
                "host",
                "user-agent",
                "accept",
                "x-a",
                "connection",
                "x-amzn-trace-id"
            ]
        );
        assert_eq!(
            names(&p.build(HttpVersion::H1, Some(root), false)),
            ["host", "user-agent", "accept", "x-a", "x-amzn-trace-id"]
        );
        // No trace root (--no-trace-header): no empty placeholder is sent.
        assert_eq!(
            names(&p.build(HttpVersion::H1, None, false)),
            ["host", "user-agent", "accept", "x-a"]
        );
        assert_eq!(
            names(&p.build(HttpVersion::H2, Some(root), true)),
            ["user-agent", "accept", "x-a", "x-amzn-trace-id"]
        );
        // A user's own Connection header is not doubled.
        let theirs = prepared("http://h/", &[("connection", "keep-alive")]);
        let req = theirs.build(HttpVersion::H1, None, true);
        assert_eq!(
            req.headers().get_all(CONNECTION).iter().collect::<Vec<_>>(),
            ["keep-alive"]
        );
        assert_eq!(theirs.user_trace(), None);
        let traced = prepared("http://h/", &[("x-amzn-trace-id", "Root=1-a-b;Sampled=1")]);
        assert_eq!(traced.user_trace(), Some(Some("1-a-b")));
    }

    /// Issue 20: read in one pass, as the lookups by name read them: the
    /// readable values of a repeated header joined, an unreadable one
    /// skipped (even the first), `Connection` read for closing.
    #[test]
    fn one_pass_reads_the_head_as_the_lookups_did() {
        let mut r = http::Response::builder()
            .header("via", HeaderValue::from_bytes(b"\xff").unwrap())
            .header("via", "b")
            .header("via", "c")
            .header("connection", "close")
            .header("x-amzn-remapped-x", "")
            .body(())
            .unwrap();
        let redaction = Redaction::new(&RequestSpec::default(), Vec::new());
        let (got, closes) = read_head(&r, &redaction);
        assert!(closes);
        assert_eq!(got.get("via").map(String::as_str), Some("b, c"));
        assert_eq!(got.get("connection").map(String::as_str), Some("close"));
        assert_eq!(got.get("x-amzn-remapped-x").map(String::as_str), Some(""));
        assert_eq!(got, captured_headers(r.headers(), &redaction));
        r.headers_mut().remove(CONNECTION);
        assert!(!read_head(&r, &redaction).1);
    }

    #[test]
    fn captured_headers_join_repeats_and_redact_remapped_secrets() {
        let mut h = HeaderMap::new();
        h.append("via", "a".parse().unwrap());
        h.append("via", "b".parse().unwrap());
        h.append("x-amzn-remapped-authorization", "secret".parse().unwrap());
        h.append("x-amzn-remapped-date", "d".parse().unwrap());
        h.append("content-type", "text/plain".parse().unwrap());
        let got = captured_headers(&h, &Redaction::new(&RequestSpec::default(), Vec::new()));
        assert_eq!(got.get("via").map(String::as_str), Some("a, b"));
        assert_eq!(got.get("x-amzn-remapped-date").map(String::as_str), Some("d"));
        assert_eq!(
            got.get("x-amzn-remapped-authorization").map(String::as_str),
            Some("REDACTED")
        );
        assert_eq!(got.len(), 3);
    }
}
