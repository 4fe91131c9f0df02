//! Map low-level failures to the record's error kinds.

use std::error::Error as StdError;
use std::io;

use super::record::ErrorKind;

/// Classify an I/O error from a socket operation.
pub fn io_kind(err: &io::Error) -> ErrorKind {
    use io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused => ErrorKind::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => ErrorKind::Reset,
        K::TimedOut => ErrorKind::Timeout,
        K::InvalidData => ErrorKind::Protocol,
        _ => ErrorKind::Io,
    }
}

/// Classify an error from the TLS handshake: socket trouble keeps its own
/// kind, anything rustls rejected is `tls`.
pub fn tls_kind(err: &io::Error) -> ErrorKind {
    if find_source::<rustls::Error>(err).is_some() {
        return ErrorKind::Tls;
    }
    match io_kind(err) {
        // tokio-rustls reports rustls errors as InvalidData.
        ErrorKind::Protocol | ErrorKind::Io => ErrorKind::Tls,
        other => other,
    }
}

/// Classify an error from hyper during the exchange.
pub fn hyper_kind(err: &hyper::Error) -> ErrorKind {
    if let Some(io_err) = find_source::<io::Error>(err) {
        return io_kind(io_err);
    }
    if err.is_parse() || err.is_parse_status() {
        return ErrorKind::Protocol;
    }
    if err.is_incomplete_message() || err.is_closed() || err.is_canceled() {
        // The peer closed the connection before the response was complete.
        return ErrorKind::Reset;
    }
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    // What is left (HTTP/2 stream errors, unexpected frames) is the peer
    // breaking the protocol.
    ErrorKind::Protocol
}

/// A TLS alert refusing the client certificate (or asking for one) is a
/// `tls` error named as such, in whatever phase it arrives: with TLS 1.3
/// the client's handshake is over before the server checks the
/// certificate, so the alert comes with the first read of the response.
/// `cert_sent`: whether the probe presented a certificate.
pub fn cert_refusal(err: &(dyn StdError + 'static), cert_sent: bool) -> Option<(ErrorKind, String)> {
    super::client_cert::refusal(err, cert_sent).map(|message| (ErrorKind::Tls, message))
}

/// A readable one-line message: the error and its causes, deduplicated.
pub fn message(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

fn find_source<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}
