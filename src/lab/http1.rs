//! The lab's hand-written HTTP/1.1 request reader, shared by the backend
//! and the ALB (both written out by hand so that their idle closes and
//! races are exactly the scenario's).

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// A request body kept at most: the lab's requests are small; the rest of
/// a longer one is read and dropped, so that it is not taken for the next
/// request.
pub const MAX_BODY: usize = 1 << 20;

/// One request as read.
pub struct Request {
    pub method: String,
    pub path: String,
    /// Every header but `content-length` and `connection`, names
    /// lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// `connection: close`.
    pub close: bool,
    /// The body, at most [`MAX_BODY`].
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The next request on `stream`, or `None` when the peer closed (before or
/// within a request).
pub async fn read_request<R: AsyncBufRead + Unpin>(stream: &mut R) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let (mut headers, mut len, mut close) = (Vec::new(), 0usize, false);
    loop {
        let mut h = String::new();
        if stream.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            match k.as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => headers.push((k, v)),
            }
        }
    }
    let mut body = vec![0; len.min(MAX_BODY)];
    stream.read_exact(&mut body).await?;
    if len > MAX_BODY {
        let rest = (len - MAX_BODY) as u64;
        let dropped = tokio::io::copy(&mut (&mut *stream).take(rest), &mut tokio::io::sink()).await?;
        if dropped < rest {
            return Ok(None);
        }
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        close,
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_over_the_limit_is_read_to_its_end_not_taken_for_the_next_request() {
        let big = MAX_BODY + 10;
        let mut wire = format!("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: {big}\r\n\r\n").into_bytes();
        wire.extend(std::iter::repeat_n(b'x', big));
        wire.extend_from_slice(b"GET /b HTTP/1.1\r\nConnection: close\r\n\r\n");
        let mut r = tokio::io::BufReader::new(&wire[..]);
        let first = read_request(&mut r).await.unwrap().unwrap();
        assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/a"));
        assert_eq!(first.body.len(), MAX_BODY);
        assert_eq!(first.header("host"), Some("h"));
        let second = read_request(&mut r).await.unwrap().unwrap();
        assert_eq!(
            (second.method.as_str(), second.path.as_str(), second.close),
            ("GET", "/b", true)
        );
        assert!(read_request(&mut r).await.unwrap().is_none());
    }
}
