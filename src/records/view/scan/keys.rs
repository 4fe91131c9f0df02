//! The keys of the objects the scanner reads, in the order coldlink
//! writes them, and how one is confirmed (see `Scan::fields`).

/// A record's keys in the order coldlink writes them (the field order of
/// `ProbeRecord`, `src/probe/record.rs`), each with the field of the view
/// it fills; the keys the view skips are here too, so that the prediction
/// stays in step (see `Scan::fields`).
pub(super) const RECORD: &[Key<Top>] = &[
    key("v", Top::Other),
    key("run", Top::Run),
    key("target", Top::Target),
    key("url", Top::Url),
    key("seq", Top::Other),
    key("at", Top::At),
    key("scheduled_at", Top::ScheduledAt),
    key("remote", Top::Remote),
    key("local", Top::Other),
    key("family", Top::Family),
    key("conn", Top::Conn),
    key("phases_ms", Top::Phases),
    key("total_ms", Top::Total),
    key("status", Top::Status),
    key("http", Top::Other),
    key("tls", Top::Tls),
    key("trace_id", Top::TraceId),
    key("headers", Top::Headers),
    key("body_bytes", Top::Other),
    key("error", Top::Error),
    key("lab", Top::Lab),
    key("syn_sysctls", Top::SynSysctls),
    key("vantage", Top::Vantage),
];

/// The fields of a record the view reads.
#[derive(Clone, Copy)]
pub(super) enum Top {
    Target,
    Url,
    Run,
    At,
    ScheduledAt,
    Remote,
    Family,
    Conn,
    Phases,
    Total,
    Status,
    Tls,
    Headers,
    TraceId,
    Vantage,
    Error,
    Lab,
    SynSysctls,
    /// A key the view skips.
    Other,
}

/// `conn`'s keys as written (`ConnInfo`).
pub(super) const CONN: &[Key<Conn>] = &[
    key("id", Conn::Id),
    key("reused", Conn::Reused),
    key("idle_ms", Conn::IdleMs),
    key("age_ms", Conn::Other),
    key("requests", Conn::Other),
    key("reconnected", Conn::Reconnected),
    key("stale_idle_ms", Conn::Other),
];

#[derive(Clone, Copy)]
pub(super) enum Conn {
    Id,
    Reused,
    IdleMs,
    Reconnected,
    Other,
}

/// `tls`'s keys as written (`TlsInfo`): only `resumed` is read.
pub(super) const TLS: &[Key<bool>] = &[key("version", false), key("resumed", true), key("alpn", false)];

/// `phases_ms`'s keys as written (`Phases`), each with its bit in the
/// record of those seen.
pub(super) const PHASES: &[Key<Option<u8>>] = &[
    key("queue", Some(0)),
    key("dns", Some(1)),
    key("connect", Some(2)),
    key("tls", Some(3)),
    key("send", Some(4)),
    key("ttfb", Some(5)),
    key("body", Some(6)),
];

/// The headers the view reads, in the order written (a `BTreeMap`'s,
/// sorted), each with its bit; `x-amzn-requestid` is skipped but listed,
/// being in nearly every record.
pub(super) const HEADERS: &[Key<Option<u8>>] = &[
    key("server", Some(4)),
    key("via", Some(0)),
    key("x-amz-cf-pop", Some(2)),
    key("x-amzn-errortype", Some(3)),
    key("x-amzn-remapped-server", Some(5)),
    key("x-amzn-requestid", None),
    key("x-cache", Some(1)),
];

/// A key of an object the view reads, and what it fills: its name's
/// first eight bytes are kept as a word, so that confirming a predicted
/// key is a comparison of words, not a call to `memcmp` (which a slice
/// comparison of a length unknown when compiling becomes, and which cost
/// as much as the key's other work).
pub(super) struct Key<F> {
    pub(super) name: &'static str,
    /// The name's first bytes (up to eight), little-endian, zero above.
    head: u64,
    /// The bits of `head` that are the name's.
    mask: u64,
    pub(super) field: F,
}

pub(super) const fn key<F>(name: &'static str, field: F) -> Key<F> {
    let b = name.as_bytes();
    let (mut head, mut mask, mut i) = (0u64, 0u64, 0);
    while i < b.len() && i < 8 {
        head |= (b[i] as u64) << (8 * i);
        mask |= 0xff << (8 * i);
        i += 1;
    }
    Key {
        name,
        head,
        mask,
        field,
    }
}

impl<F> Key<F> {
    /// Whether `rest` (the line after a key's opening quote) is this key
    /// and its closing quote.
    // Inlined into `Scan::fields`: called for every key of every line,
    // and out of line it cost 13 M instructions more over 100 000 records.
    #[inline]
    pub(super) fn begins(&self, rest: &[u8]) -> bool {
        let name = self.name.as_bytes();
        let n = name.len();
        // Most misses are keys of another length: the quote says so.
        if rest.get(n) != Some(&b'"') {
            return false;
        }
        let word = |b: &[u8], i: usize| {
            b.get(i..i + 8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        };
        let Some(first) = word(rest, 0) else {
            // Fewer than eight bytes left in the line (`rest` holds the
            // closing quote past the name): a short key at the very end.
            return rest.starts_with(name);
        };
        if first & self.mask != self.head {
            return false;
        }
        // The rest of a longer name, eight bytes at a time, the last word
        // overlapping the one before.
        let mut i = 8;
        while i < n {
            let at = i.min(n - 8);
            if word(rest, at) != word(name, at) {
                return false;
            }
            i += 8;
        }
        true
    }
}
