//! The fast way from a line to a [`RecordView`], for the lines coldlink
//! writes; every other line goes to `serde_json`, which stays the judge.
//! (About 600 lines: one pass over a line is one state machine, kept
//! whole so that its hot loop inlines; the key lists are in `keys.rs`,
//! the tests in `tests.rs`.)
//!
//! Why by hand: `serde_json` into the borrowed view was most of the CPU of
//! `diagnose --from` over a million records (docs/performance.md,
//! "Diagnosing stored records"). Its generic visitor tokenises each key,
//! builds each number the same slow way and goes through `Option` and `Cow`
//! shims for every field. This scanner reads one line in one pass: strings
//! eight bytes at a time, the view's numbers with `serde_json`'s own
//! arithmetic, every other value checked against JSON's grammar and
//! skipped.
//!
//! The rule that keeps it safe: [`scan`] answers only when it is sure
//! `serde_json::from_str::<RecordView>` would give the same view. Anything
//! it does not handle itself — an escape in a string, a duplicate key, a
//! number out of its simple range, a value of the wrong type, bad JSON —
//! gives `None`, and the caller asks `serde_json`, which accepts or refuses
//! the line and says why, as before. A test holds the two to each other on
//! real lines and on thousands of damaged ones.

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, Error as ValueError};
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{ConnView, HeadersView, RecordView, Stamp, TlsView};
use crate::probe::{IpFamily, Phases};

mod keys;
use keys::{Conn, Key, Top, CONN, HEADERS, PHASES, RECORD, TLS};

/// Deeper values than this (in fields the view skips) go to `serde_json`.
const MAX_DEPTH: u32 = 32;

/// The view of `line`, or `None` when `serde_json` must read it.
pub(super) fn scan(line: &str) -> Option<RecordView<'_>> {
    let mut s = Scan { text: line, at: 0 };
    let mut target = None;
    let mut url = None;
    let mut run = None;
    let mut at = None;
    let mut scheduled_at = None;
    let mut remote = None;
    let mut family = None;
    let mut conn = None;
    let mut phases_ms = None;
    let mut total_ms = None;
    let mut status = None;
    let mut tls = None;
    let mut headers = None;
    let mut error = None;
    let mut trace_id = None;
    let mut lab = None;
    let mut syn_sysctls = None;
    let mut vantage = None;
    s.fields(RECORD, Top::Other, |s, key| match key {
        Top::Target => once(&mut target, s.cow()?),
        Top::Url => once(&mut url, s.cow()?),
        Top::Run => once(&mut run, s.or_null(Scan::cow)?),
        Top::At => once(&mut at, Stamp::Text(s.cow()?)),
        Top::ScheduledAt => once(&mut scheduled_at, Stamp::Text(s.cow()?)),
        Top::Remote => once(&mut remote, s.or_null(Scan::cow)?),
        Top::Family => once(&mut family, s.or_null(|s| named::<IpFamily>(s.string()?))?),
        Top::Conn => once(&mut conn, s.or_null(Scan::conn)?),
        Top::Phases => once(&mut phases_ms, s.phases()?),
        Top::Total => once(&mut total_ms, s.f64()?),
        Top::Status => once(&mut status, s.or_null(|s| u16::try_from(s.u64()?).ok())?),
        Top::Tls => once(&mut tls, s.or_null(Scan::tls)?),
        Top::Headers => once(&mut headers, s.headers()?),
        Top::TraceId => once(&mut trace_id, s.or_null(Scan::cow)?),
        Top::Vantage => once(&mut vantage, s.or_null(Scan::cow)?),
        // Rare, and nested: found here, read by serde_json itself.
        Top::Error => once(&mut error, s.by_serde()?),
        Top::Lab => once(&mut lab, s.by_serde()?),
        Top::SynSysctls => once(&mut syn_sysctls, s.by_serde()?),
        Top::Other => s.skip(MAX_DEPTH),
    })?;
    s.ws();
    if s.at != line.len() {
        return None;
    }
    Some(RecordView {
        target: target?,
        url: url?,
        run: run.flatten(),
        at: at?,
        scheduled_at: scheduled_at?,
        remote: remote.flatten(),
        family: family.flatten(),
        conn: conn.flatten(),
        phases_ms: phases_ms?,
        total_ms: total_ms?,
        status: status.flatten(),
        tls: tls.flatten(),
        headers: headers.unwrap_or_default(),
        error: error.flatten(),
        trace_id: trace_id.flatten(),
        lab: lab.flatten(),
        syn_sysctls: syn_sysctls.flatten(),
        vantage: vantage.flatten(),
    })
}

/// Fill a field met for the first time; a second one is `serde_json`'s to
/// refuse (a duplicate field).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// A unit enum variant by its name, as its own `Deserialize` reads it.
fn named<'a, T: Deserialize<'a>>(name: &'a str) -> Option<T> {
    T::deserialize(BorrowedStrDeserializer::<ValueError>::new(name)).ok()
}

/// `10^k` for the `k` at which it is exact in an `f64`: the powers
/// `serde_json` divides or multiplies by, for the numbers read here.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// A cursor over one line.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    /// Past JSON's whitespace (as `serde_json` skips it).
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not taken.
    fn next(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then(|| self.at += 1)
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        // A comparison of the word's length, known when compiling (the
        // words are literals): no slice of the rest of the line.
        (self.bytes().get(self.at..self.at + word.len()) == Some(word)).then(|| self.at += word.len())
    }

    /// A string without escapes, borrowed from the line; one with an
    /// escape (or a control character) is `serde_json`'s to read.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let end = self.to_special(start);
        if *self.bytes().get(end)? != b'"' {
            return None;
        }
        self.at = end + 1;
        // The quotes are ASCII: both ends sit on character boundaries.
        self.text.get(start..end)
    }

    /// A string passed over: escapes checked as `serde_json` checks those
    /// of a string it ignores (any four hex digits after `\u`).
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        let b = self.bytes();
        let mut i = self.at;
        loop {
            i = self.to_special(i);
            match *b.get(i)? {
                b'"' => break,
                b'\\' => match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        b.get(i + 2..i + 6)?
                            .iter()
                            .all(u8::is_ascii_hexdigit)
                            .then_some(())?;
                        i += 6;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
        self.at = i + 1;
        Some(())
    }

    /// The first quote, backslash or control character from `i` on (or
    /// the end of the line).
    fn to_special(&self, mut i: usize) -> usize {
        let b = self.bytes();
        // Eight bytes at a time (the lowest flagged byte is a true one).
        while let Some(word) = b.get(i..i + 8) {
            let found = special(u64::from_le_bytes(word.try_into().expect("8 bytes")));
            if found != 0 {
                return i + (found.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while b.get(i).is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20) {
            i += 1;
        }
        i
    }

    fn cow(&mut self) -> Option<Cow<'a, str>> {
        self.string().map(Cow::Borrowed)
    }

    /// `null` as `None`, else what `read` reads.
    fn or_null<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.next()? == b'n' {
            self.word(b"null")?;
            return Some(None);
        }
        read(self).map(Some)
    }

    fn bool(&mut self) -> Option<bool> {
        match self.next()? {
            b't' => self.word(b"true").map(|()| true),
            b'f' => self.word(b"false").map(|()| false),
            _ => None,
        }
    }

    /// A number, checked against JSON's grammar, with its digits read as
    /// one integer on the way (one pass, where the text was read twice
    /// before).
    fn number(&mut self) -> Option<Num<'a>> {
        self.ws();
        let b = self.bytes();
        let start = self.at;
        let negative = b.get(start) == Some(&b'-');
        let mut i = start + usize::from(negative);
        let mut significand = 0u64;
        let whole = match b.get(i)? {
            b'0' => {
                i += 1;
                1
            }
            b'1'..=b'9' => digits(b, &mut i, &mut significand),
            _ => return None,
        };
        let mut fraction = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            fraction = digits(b, &mut i, &mut significand);
            if fraction == 0 {
                return None;
            }
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = b.get(i) {
            exponent = true;
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let from = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == from {
                return None;
            }
        }
        self.at = i;
        Some(Num {
            text: self.text.get(start..i)?,
            negative,
            significand,
            digits: whole + fraction,
            fraction,
            exponent,
        })
    }

    /// An unsigned integer (a fraction, an exponent or a sign is for
    /// `serde_json` to judge).
    fn u64(&mut self) -> Option<u64> {
        let n = self.number()?;
        if n.negative || n.fraction > 0 || n.exponent {
            return None;
        }
        if n.digits <= 19 {
            // Below 10^19: no wrap.
            return Some(n.significand);
        }
        n.text
            .bytes()
            .try_fold(0u64, |n, c| n.checked_mul(10)?.checked_add(u64::from(c - b'0')))
    }

    /// A number as `serde_json` makes an `f64` of it. Done here when the
    /// digits make an integer below 2^53 and the power of ten is exact:
    /// then one division, correctly rounded, is what `serde_json` gives.
    /// Longer numbers without an exponent (the synthetic records' 16–17
    /// digits; coldlink writes its own to the microsecond) go to
    /// `str::parse`: correctly rounded, as `serde_json` is with its
    /// `float_roundtrip` feature, which Cargo.toml turns on for every
    /// build. An exponent, or a number too large for an `f64`
    /// (`serde_json` refuses it), is `serde_json`'s to read.
    fn f64(&mut self) -> Option<f64> {
        let n = self.number()?;
        if n.exponent {
            return serde_json::from_str(n.text).ok();
        }
        // 15 digits stay below 2^53; the fraction's length is the power.
        if n.digits > 15 {
            return n.text.parse::<f64>().ok().filter(|f| f.is_finite());
        }
        let f = n.significand as f64 / POW10[n.fraction];
        Some(if n.negative { -f } else { f })
    }

    /// A value checked and passed over: what the view does not read.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.next()? {
            b'"' => self.skip_string(),
            b'{' if depth > 0 => self.object(|s, _| s.skip(depth - 1)),
            b'[' if depth > 0 => {
                self.at += 1;
                if self.next()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth - 1)?;
                    match self.next()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    /// An object, each key handed to `field` to read its value (a key
    /// with an escape is `serde_json`'s to read: it could name a field).
    fn object(&mut self, field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.object_by(Scan::string, field)
    }

    /// An object of known keys: each key's entry in `keys` (`other` for a
    /// key not there) handed to `field` to read its value.
    ///
    /// Why: reading a key as a string and then comparing it with every
    /// name was a large part of the scanner's work. The lines coldlink
    /// writes have their keys in `keys`' order, so the key expected next
    /// is the one after the last found: one comparison of its bytes,
    /// quotes included, confirms it (an absent optional field costs a
    /// comparison more per key skipped). A key that matches none of those
    /// still ahead — keys in another order, whitespace before the colon,
    /// an unknown key — is read as a string and looked up, and the
    /// prediction carries on after it. A key matched by its bytes is the
    /// same key the string path would read: names have no escapes.
    fn fields<F: Copy>(
        &mut self,
        keys: &[Key<F>],
        other: F,
        field: impl FnMut(&mut Self, F) -> Option<()>,
    ) -> Option<()> {
        let mut next = 0;
        self.object_by(
            |s| {
                let b = s.bytes();
                let rest = b.get(s.at + 1..).unwrap_or_default();
                if b.get(s.at) == Some(&b'"') {
                    // The rest of the list as a slice (`enumerate().skip(next)`
                    // stepped through the skipped keys on every call).
                    for (k, i) in keys.get(next..).unwrap_or_default().iter().zip(next..) {
                        if k.begins(rest) {
                            s.at += k.name.len() + 2;
                            next = i + 1;
                            return Some(k.field);
                        }
                    }
                }
                let key = s.string()?;
                Some(match keys.iter().position(|k| k.name == key) {
                    Some(i) => {
                        next = i + 1;
                        keys[i].field
                    }
                    None => other,
                })
            },
            field,
        )
    }

    /// An object, each key read by `key` and handed with the cursor to
    /// `field`, which reads its value.
    fn object_by<K>(
        &mut self,
        mut key: impl FnMut(&mut Self) -> Option<K>,
        mut field: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.next()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.ws();
            let k = key(self)?;
            self.eat(b':')?;
            field(self, k)?;
            match self.next()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A value found by skipping it, then read by `serde_json` (from its
    /// own text, which reads alike: a value's meaning does not depend on
    /// what is around it).
    fn by_serde<T: Deserialize<'a>>(&mut self) -> Option<T> {
        self.ws();
        let start = self.at;
        self.skip(MAX_DEPTH)?;
        serde_json::from_str(self.text.get(start..self.at)?).ok()
    }

    fn conn(&mut self) -> Option<ConnView> {
        let (mut id, mut reused, mut idle_ms, mut reconnected) = (None, None, None, None);
        self.fields(CONN, Conn::Other, |s, key| match key {
            Conn::Id => once(&mut id, s.u64()?),
            Conn::Reused => once(&mut reused, s.bool()?),
            Conn::IdleMs => once(&mut idle_ms, s.or_null(Scan::f64)?),
            Conn::Reconnected => once(&mut reconnected, s.bool()?),
            Conn::Other => s.skip(MAX_DEPTH),
        })?;
        Some(ConnView {
            id: id?,
            reused: reused?,
            idle_ms: idle_ms.flatten(),
            reconnected: reconnected.unwrap_or(false),
        })
    }

    fn tls(&mut self) -> Option<TlsView> {
        let mut resumed = None;
        self.fields(TLS, false, |s, is_resumed| match is_resumed {
            true => once(&mut resumed, s.bool()?),
            false => s.skip(MAX_DEPTH),
        })?;
        Some(TlsView { resumed: resumed? })
    }

    fn phases(&mut self) -> Option<Phases> {
        let mut seen = 0u8;
        let mut p = Phases::default();
        self.fields(PHASES, None, |s, bit| {
            let Some(bit) = bit else {
                return s.skip(MAX_DEPTH);
            };
            let slot = match bit {
                0 => &mut p.queue,
                1 => &mut p.dns,
                2 => &mut p.connect,
                3 => &mut p.tls,
                4 => &mut p.send,
                5 => &mut p.ttfb,
                _ => &mut p.body,
            };
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
            *slot = s.or_null(Scan::f64)?;
            Some(())
        })?;
        Some(p)
    }

    fn headers(&mut self) -> Option<HeadersView<'a>> {
        let mut seen = 0u8;
        let mut h = HeadersView::default();
        self.fields(HEADERS, None, |s, bit| {
            let Some(bit) = bit else {
                return s.skip(MAX_DEPTH);
            };
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
            let slot = match bit {
                0 => &mut h.via,
                1 => &mut h.x_cache,
                2 => &mut h.cf_pop,
                4 => &mut h.server,
                5 => &mut h.remapped_server,
                _ => {
                    // Only whether it is there (and not null) matters.
                    h.errortype = s.or_null(|s| s.skip(MAX_DEPTH))?.map(|()| IgnoredAny);
                    return Some(());
                }
            };
            *slot = s.or_null(Scan::cow)?;
            Some(())
        })?;
        Some(h)
    }
}

/// A number's text as JSON's grammar has it, and its digits (point
/// left out) as one integer: exact up to 19 digits, wrapped past them.
struct Num<'a> {
    text: &'a str,
    negative: bool,
    significand: u64,
    /// Digits before and after the point (leading zeros too).
    digits: usize,
    /// Digits after the point.
    fraction: usize,
    exponent: bool,
}

/// The digits from `b[*i]` on, added to `n` (wrapping) and passed over;
/// how many. (Eight at a time, as the standard library's float parser
/// does, cost more than it saved: most numbers here are short.)
fn digits(b: &[u8], i: &mut usize, n: &mut u64) -> usize {
    let from = *i;
    while let Some(&c) = b.get(*i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        *i += 1;
    }
    *i - from
}

/// Bytes of `word` (little-endian) that are a quote, a backslash or a
/// control character, as the high bit of each: the classic "has zero
/// byte" and "has byte less than" tricks. Above the first true match a
/// borrow may flag more, but the lowest flag is always a true one.
fn special(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

#[cfg(test)]
use keys::key;

#[cfg(test)]
mod tests;
