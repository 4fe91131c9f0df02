//! X-Ray trace ids that the probe sets itself, so that it can look up the
//! very traces its requests created.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// The header API Gateway reads and X-Ray keys traces by.
pub const TRACE_HEADER: &str = "x-amzn-trace-id";

thread_local! {
    /// State of the generator of ids' random parts: seeded from the
    /// system's randomness once per thread.
    static RANDOM: Cell<u64> = Cell::new(rand::random());
}

/// 64 random bits (wyrand). An id needs to be unique, not secret: this
/// costs a few instructions where the cryptographic generator, reseeding
/// itself, cost hundreds per probe (issue 20).
fn random_u64() -> u64 {
    RANDOM.with(|state| {
        let x = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(x);
        let t = u128::from(x).wrapping_mul(u128::from(x ^ 0xe703_7ed1_a0b4_28db));
        ((t >> 64) ^ t) as u64
    })
}

/// The eight lower-case hex digits of `x`, most significant first: each
/// nibble spread into a byte of its own, then all eight turned into digits
/// at once (issue 20: a digit at a time was a third of the id's cost).
fn hex8(x: u32) -> [u8; 8] {
    let x = u64::from(x);
    let v = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    let v = ((v & 0x0000_ff00_0000_ff00) << 8) | (v & 0x0000_00ff_0000_00ff);
    let v = ((v & 0x00f0_00f0_00f0_00f0) << 4) | (v & 0x000f_000f_000f_000f);
    // 1 in each byte whose nibble is 10 or more (nibble + 6 reaches 16).
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    // '0' + nibble, and 'a' - '0' - 10 more for a letter.
    (v + 0x3030_3030_3030_3030 + letters * 0x27).to_be_bytes()
}

/// The length of a root id [`new_root_id`] makes.
pub const ROOT_ID_LEN: usize = 35;

/// A root trace id: `1-{8 hex digits of epoch seconds}-{24 hex random}`.
pub fn new_root_id(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as u32;
    let (high, low) = (random_u64(), random_u64());
    let mut id: [u8; ROOT_ID_LEN] = *b"1-00000000-000000000000000000000000";
    id[2..10].copy_from_slice(&hex8(secs));
    id[11..19].copy_from_slice(&hex8((high >> 32) as u32));
    id[19..27].copy_from_slice(&hex8(high as u32));
    id[27..35].copy_from_slice(&hex8(low as u32));
    String::from_utf8(id.to_vec()).expect("hex digits are ASCII")
}

/// What a header value puts before its root id, and what after it
/// (sampled, so that a traced stage records it).
const ROOT_KEY: &str = "Root=";
const SAMPLED: &str = ";Sampled=1";

/// The length of [`header_value`] for a root id [`new_root_id`] makes.
pub const HEADER_VALUE_LEN: usize = ROOT_KEY.len() + ROOT_ID_LEN + SAMPLED.len();

/// [`header_value`]'s text with the root id's place blank: built once, at
/// compile time, from the same pieces.
const HEADER_TEMPLATE: [u8; HEADER_VALUE_LEN] = {
    let mut text = [b'0'; HEADER_VALUE_LEN];
    let (key, sampled) = (ROOT_KEY.as_bytes(), SAMPLED.as_bytes());
    let mut i = 0;
    while i < key.len() {
        text[i] = key[i];
        i += 1;
    }
    let mut i = 0;
    while i < sampled.len() {
        text[key.len() + ROOT_ID_LEN + i] = sampled[i];
        i += 1;
    }
    text
};

/// The header value for a root id: sampled, so that a traced stage records it.
pub fn header_value(root: &str) -> String {
    // Once per probe: three pushes cost less than the format machinery.
    let mut value = String::with_capacity(root.len() + ROOT_KEY.len() + SAMPLED.len());
    value.push_str(ROOT_KEY);
    value.push_str(root);
    value.push_str(SAMPLED);
    value
}

/// [`header_value`] of a root id of [`new_root_id`]'s length, in a fixed
/// text on the stack: one copy into a template, no heap `String` (the
/// probe's own ids, once per request; issue 20).
#[inline]
pub fn header_value_fixed(root: &[u8; ROOT_ID_LEN]) -> [u8; HEADER_VALUE_LEN] {
    let mut text = HEADER_TEMPLATE;
    text[ROOT_KEY.len()..ROOT_KEY.len() + ROOT_ID_LEN].copy_from_slice(root);
    text
}

/// The header value for a root id with the probe's own client segment as
/// the parent (`--xray-segments`): `Root=…;Parent=…;Sampled=1`, so that API
/// Gateway's stage segment hangs under the segment the probe puts.
pub fn header_value_with_parent(root: &str) -> String {
    let mut value = String::with_capacity(root.len() + ROOT_KEY.len() + SAMPLED.len() + 24);
    value.push_str(ROOT_KEY);
    value.push_str(root);
    value.push_str(";Parent=");
    value.push_str(&client_segment_id(root));
    value.push_str(SAMPLED);
    value
}

/// The id of the client segment a probe puts to X-Ray (`--xray-segments`):
/// 16 hex digits derived from its root id (FNV-1a), so that the request's
/// `Parent=` is known before it is sent and the publisher finds it again
/// from the record's `trace_id` alone: no field in the record, no state.
pub fn client_segment_id(root: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hex8((h >> 32) as u32));
    id[8..].copy_from_slice(&hex8(h as u32));
    String::from_utf8(id.to_vec()).expect("hex digits are ASCII")
}

/// The root id in a header value such as `Root=1-…;Parent=…;Sampled=1`.
pub fn root_of(value: &str) -> Option<String> {
    field_of(value, "Root=")
}

/// The parent segment's id in a trace header value, if it names one.
pub fn parent_of(value: &str) -> Option<String> {
    field_of(value, "Parent=")
}

fn field_of(value: &str, key: &str) -> Option<String> {
    value
        .split(';')
        .find_map(|part| part.trim().strip_prefix(key))
        .map(str::to_string)
}

/// A root trace id in 16 bytes (`1-` + 32 hex digits), for keeping one per
/// probe in memory without a string each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceKey([u8; 16]);

impl TraceKey {
    /// `1-{8 hex}-{24 hex}`, lower or upper case; anything else is `None`.
    pub fn parse(id: &str) -> Option<TraceKey> {
        let b: &[u8; 35] = id.as_bytes().try_into().ok()?;
        if &b[..2] != b"1-" || b[10] != b'-' {
            return None;
        }
        // Read once per stored record by `diagnose --from`: no allocation,
        // and a table look-up per digit (`char::to_digit` cost about 370
        // instructions a record).
        let mut out = [0u8; 16];
        let mut seen = 0u8;
        for (i, byte) in out.iter_mut().enumerate() {
            // The time's 4 bytes from 2, the random 12 from 11.
            let at = if i < 4 { 2 + 2 * i } else { 3 + 2 * i };
            let (high, low) = (HEX[usize::from(b[at])], HEX[usize::from(b[at + 1])]);
            seen |= high | low;
            *byte = high << 4 | low;
        }
        // A byte that is no hex digit shows as a bit above the low four.
        (seen < 16).then_some(TraceKey(out))
    }
}

/// Each byte's value as a hex digit, `0xff` for a byte that is none.
const HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 16 {
        let d = i as u8;
        if i < 10 {
            t[(b'0' + d) as usize] = d;
        } else {
            t[(b'a' + d - 10) as usize] = d;
            t[(b'A' + d - 10) as usize] = d;
        }
        i += 1;
    }
    t
};

impl std::fmt::Display for TraceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("1-")?;
        for (i, b) in self.0.iter().enumerate() {
            if i == 4 {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Issue 20: the eight digits at once are `{:08x}`'s.
    #[test]
    fn hex8_writes_what_format_does() {
        let mut x = 1u32;
        for v in [
            0,
            1,
            9,
            10,
            15,
            16,
            0x9a,
            0xdead_beef,
            0x0123_4567,
            0x89ab_cdef,
            u32::MAX,
        ] {
            assert_eq!(hex8(v), format!("{v:08x}").as_bytes(), "{v:#x}");
        }
        for _ in 0..10_000 {
            x = x.wrapping_mul(0x9e37_79b9).wrapping_add(0x7f4a_7c15);
            assert_eq!(hex8(x), format!("{x:08x}").as_bytes(), "{x:#x}");
        }
    }

    #[test]
    fn root_id_has_the_xray_shape() {
        let now = UNIX_EPOCH + Duration::from_secs(0x673f0a10);
        let id = new_root_id(now);
        assert!(id.starts_with("1-673f0a10-"), "{id}");
        let random = &id["1-673f0a10-".len()..];
        assert_eq!(random.len(), 24);
        assert!(random
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(new_root_id(now), id, "random part differs between probes");
        assert_eq!(header_value(&id), format!("Root={id};Sampled=1"));
        let fixed = header_value_fixed(id.as_bytes().try_into().unwrap());
        assert_eq!(std::str::from_utf8(&fixed), Ok(header_value(&id).as_str()));
        assert_eq!(root_of(&header_value(&id)), Some(id));
        assert_eq!(root_of("Parent=x; Root=1-a-b"), Some("1-a-b".to_string()));
        assert_eq!(root_of("Sampled=1"), None);
    }

    /// Issue 21: the parent a probe sends is its client segment's id, a
    /// 16-hex-digit X-Ray segment id known before the request goes out.
    #[test]
    fn the_parent_is_the_client_segment_id() {
        let root = "1-673f0a10-0123456789abcdef01234567";
        let id = client_segment_id(root);
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{id}"
        );
        assert_eq!(client_segment_id(root), id, "the same root, the same id");
        assert_ne!(client_segment_id("1-673f0a10-0123456789abcdef01234568"), id);
        let value = header_value_with_parent(root);
        assert_eq!(value, format!("Root={root};Parent={id};Sampled=1"));
        assert_eq!(value.len(), value.capacity(), "sized once");
        assert_eq!(root_of(&value).as_deref(), Some(root));
        assert_eq!(parent_of(&value), Some(id));
        assert_eq!(parent_of(&header_value(root)), None);
    }

    /// The table reads what `char::to_digit` read, on ids of the right
    /// shape with any bytes in them.
    #[test]
    fn trace_keys_parse_as_to_digit_would() {
        fn by_to_digit(id: &str) -> Option<TraceKey> {
            let b = id.as_bytes();
            if b.len() != 35 || &b[..2] != b"1-" || b[10] != b'-' {
                return None;
            }
            let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
            let mut out = [0u8; 16];
            let (time, random) = (&b[2..10], &b[11..]);
            for (i, pair) in time.chunks_exact(2).chain(random.chunks_exact(2)).enumerate() {
                out[i] = hex(pair[0])? << 4 | hex(pair[1])?;
            }
            Some(TraceKey(out))
        }
        let mut x = 88172645463325252u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789abcdefABCDEFgG/:-1 \xff";
        let mut parsed = 0;
        for _ in 0..50_000 {
            let mut id = *b"1-673f0a10-0123456789abcdef01234567";
            // Up to two bytes anywhere changed to one of `alphabet`.
            for _ in 0..next() % 3 {
                let at = (next() % 35) as usize;
                id[at] = alphabet[(next() % alphabet.len() as u64) as usize];
            }
            let id = String::from_utf8_lossy(&id).into_owned();
            let key = TraceKey::parse(&id);
            assert_eq!(key, by_to_digit(&id), "{id}");
            parsed += usize::from(key.is_some());
        }
        assert!(parsed > 10_000 && parsed < 50_000, "{parsed}");
        for id in [
            "",
            "1-673f0a10-0123456789abcdef0123456",
            "1-673f0a10-0123456789abcdef012345678",
            "1-673f0a10-0123456789abcdef0123456é",
        ] {
            assert_eq!(TraceKey::parse(id), by_to_digit(id), "{id}");
        }
    }

    #[test]
    fn trace_keys_round_trip() {
        let id = new_root_id(UNIX_EPOCH + Duration::from_secs(0x673f0a10));
        let key = TraceKey::parse(&id).expect("parses");
        assert_eq!(key.to_string(), id);
        assert_eq!(
            TraceKey::parse(&id.to_uppercase()).map(|k| k.to_string()),
            Some(id.clone())
        );
        for bad in [
            "",
            "1-673f0a10",
            "2-673f0a10-0123456789abcdef01234567",
            "1-673f0a1g-0123456789abcdef01234567",
        ] {
            assert_eq!(TraceKey::parse(bad), None, "{bad}");
        }
    }
}
