//! A record's captured response headers: a small map kept as a vector
//! sorted by name.
//!
//! A record keeps two to five headers; a `BTreeMap` allocated a node of
//! eleven slots for them and walked it to drop them, about 670
//! instructions per keep-alive probe (issue 20). This map is one vector,
//! and reads and writes exactly as the `BTreeMap` did: a JSON object in
//! name order (`{}` when empty), a repeated name on input keeping its last
//! value.

use std::borrow::Cow;
use std::fmt;
use std::ops::Index;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A captured response header's name as a record keeps it: the engine's
/// own names are static strings, so a record carries no copy of them
/// (issue 20); names read back from stored records, and headers an
/// integration passed through, are owned. Written as the string it holds.
pub type CapturedName = Cow<'static, str>;

/// Lower-case name → value, in name order, each name once. Looked up by
/// `&str` (`headers.get("server")`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CapturedHeaders(Vec<(CapturedName, String)>);

/// The headers in name order, as `(&name, &value)`.
pub type Iter<'a> = std::iter::Map<
    std::slice::Iter<'a, (CapturedName, String)>,
    fn(&'a (CapturedName, String)) -> (&'a CapturedName, &'a String),
>;

/// Headers a first insert makes room for: what `Vec` gives its first
/// growth for elements of this size.
const FIRST_ROOM: usize = 4;

impl CapturedHeaders {
    /// No headers.
    pub const fn new() -> CapturedHeaders {
        CapturedHeaders(Vec::new())
    }

    /// Where `name` is, or where it would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(name))
    }

    /// The value of `name`, if captured.
    pub fn get(&self, name: &str) -> Option<&String> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Whether `name` was captured.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`; the value it had before, if any (the name
    /// already kept stays, as in a `BTreeMap`).
    pub fn insert(&mut self, name: CapturedName, value: String) -> Option<String> {
        // Room for a response's usual few at the first insert, made
        // directly: growing an empty vector goes through `Vec`'s general
        // path, dearer than the allocation itself (issue 20). The same
        // room `Vec` would have given.
        if self.0.capacity() == 0 {
            self.0 = Vec::with_capacity(FIRST_ROOM);
        }
        // Names mostly come in order (stored records): append without a search.
        if self.0.last().is_none_or(|(last, _)| *last < name) {
            self.0.push((name, value));
            return None;
        }
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// How many headers were captured.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The headers in name order.
    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a> IntoIterator for &'a CapturedHeaders {
    type Item = (&'a CapturedName, &'a String);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for CapturedHeaders {
    type Item = (CapturedName, String);
    type IntoIter = std::vec::IntoIter<(CapturedName, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(CapturedName, String)> for CapturedHeaders {
    fn from_iter<I: IntoIterator<Item = (CapturedName, String)>>(iter: I) -> CapturedHeaders {
        let mut out = Collecting::default();
        for (name, value) in iter {
            out.push(name, value);
        }
        out.finish()
    }
}

/// Entries as they come, put in order once at the end: inserting each
/// into place would move the ones after it, quadratic in a stored line's
/// headers, and a line of up to 1 MiB (the longest read as a record) can
/// name a hundred thousand out of order.
#[derive(Default)]
struct Collecting {
    entries: Vec<(CapturedName, String)>,
    /// Every name so far came after the one before it.
    in_order: bool,
}

impl Collecting {
    fn with_capacity(n: usize) -> Collecting {
        Collecting {
            entries: Vec::with_capacity(n),
            in_order: true,
        }
    }

    fn push(&mut self, name: CapturedName, value: String) {
        if self.entries.is_empty() {
            self.in_order = true;
        } else if self.entries.last().is_some_and(|(last, _)| *last >= name) {
            self.in_order = false;
        }
        self.entries.push((name, value));
    }

    /// In name order, each name once with its last value (as a `BTreeMap`
    /// keeps it).
    fn finish(mut self) -> CapturedHeaders {
        if !self.in_order {
            // Stable: a repeated name's entries stay in the order given.
            self.entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            self.entries.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(&mut later.1, &mut kept.1);
                }
                same
            });
        }
        CapturedHeaders(self.entries)
    }
}

impl Index<&str> for CapturedHeaders {
    type Output = String;

    /// The value of `name`; panics when it was not captured.
    fn index(&self, name: &str) -> &String {
        self.get(name)
            .unwrap_or_else(|| panic!("no captured header {name:?}"))
    }
}

impl fmt::Debug for CapturedHeaders {
    /// As a map: `{"server": "nginx"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for CapturedHeaders {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for CapturedHeaders {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CapturedHeaders, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = CapturedHeaders;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CapturedHeaders, A::Error> {
        let mut out = Collecting::with_capacity(map.size_hint().unwrap_or(0).min(16));
        while let Some((name, value)) = map.next_entry::<CapturedName, String>()? {
            out.push(name, value);
        }
        Ok(out.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Header sets of 0–7 names from a small alphabet (so that repeats
    /// happen), some static, some owned, some values with characters JSON
    /// escapes.
    fn random_sets() -> impl Iterator<Item = Vec<(CapturedName, String)>> {
        const NAMES: [&str; 9] = [
            "server",
            "via",
            "x-cache",
            "x-amzn-requestid",
            "x-amzn-remapped-server",
            "apigw-requestid",
            "connection",
            "a",
            "x-amz-cf-pop",
        ];
        const VALUES: [&str; 6] = ["nginx", "", "REDACTED", "1.1 a, 1.1 b", "q\"u\\o\te", "é ☃"];
        let mut rng = StdRng::seed_from_u64(20);
        (0..2000).map(move |_| {
            (0..rng.random_range(0..8))
                .map(|_| {
                    let name = NAMES[rng.random_range(0..NAMES.len())];
                    let name = if rng.random_bool(0.5) {
                        Cow::Borrowed(name)
                    } else {
                        Cow::Owned(name.to_string())
                    };
                    (name, VALUES[rng.random_range(0..VALUES.len())].to_string())
                })
                .collect()
        })
    }

    #[test]
    fn written_byte_for_byte_as_the_btreemap_was() {
        for set in random_sets() {
            let ours: CapturedHeaders = set.iter().cloned().collect();
            let theirs: BTreeMap<CapturedName, String> = set.into_iter().collect();
            assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&theirs).unwrap()
            );
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
            assert_eq!(ours.len(), theirs.len());
            assert!(ours.iter().eq(theirs.iter()), "same pairs in the same order");
        }
        assert_eq!(serde_json::to_string(&CapturedHeaders::new()).unwrap(), "{}");
    }

    #[test]
    fn read_as_the_btreemap_read_them_and_back() {
        for set in random_sets() {
            // Written in the order given, repeats included: last one wins.
            let mut text = String::from("{");
            for (i, (k, v)) in set.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&serde_json::to_string(k).unwrap());
                text.push(':');
                text.push_str(&serde_json::to_string(v).unwrap());
            }
            text.push('}');
            let ours: CapturedHeaders = serde_json::from_str(&text).unwrap();
            let theirs: BTreeMap<CapturedName, String> = serde_json::from_str(&text).unwrap();
            assert!(ours.iter().eq(theirs.iter()), "{text}");
            let again: CapturedHeaders =
                serde_json::from_str(&serde_json::to_string(&ours).unwrap()).unwrap();
            assert_eq!(again, ours);
        }
    }

    #[test]
    fn looked_up_by_name() {
        let mut h = CapturedHeaders::new();
        assert_eq!(h.insert("via".into(), "1".into()), None);
        assert_eq!(h.insert("server".into(), "nginx".into()), None);
        assert_eq!(h.insert("x-cache".into(), "Hit".into()), None);
        assert_eq!(h.insert("via".into(), "2".into()), Some("1".to_string()));
        assert_eq!(h.get("via").map(String::as_str), Some("2"));
        assert_eq!(h["server"], "nginx");
        assert!(h.contains_key("x-cache") && !h.contains_key("x-amzn-requestid"));
        assert!(h.get("").is_none() && !h.is_empty());
        let names: Vec<_> = h.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(names, ["server", "via", "x-cache"]);
        assert_eq!(
            h.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            ["server=nginx", "via=2", "x-cache=Hit"]
        );
    }

    /// Many headers named out of order are read in time that grows with
    /// n log n: inserted one by one into place, 100 000 descending names
    /// took 4.4 s in a debug build (about 10¹¹ bytes moved), 400 000 over
    /// two minutes.
    #[test]
    fn many_names_out_of_order_are_read_at_once() {
        let n = 400_000;
        let mut text = String::from("{");
        for i in (0..n).rev() {
            text.push_str(&format!("\"h{i:06}\":\"v\","));
        }
        text.push_str("\"h000007\":\"last\"}");
        let started = std::time::Instant::now();
        let h: CapturedHeaders = serde_json::from_str(&text).unwrap();
        // Ample for a debug build on a loaded machine; the quadratic
        // insertion needs over ten times this.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(h.len(), n);
        assert_eq!(h.iter().next().map(|(k, _)| k.as_ref()), Some("h000000"));
        assert!(h.iter().map(|(k, _)| k).is_sorted());
        assert_eq!(h["h000007"], "last");
        assert_eq!(h["h000008"], "v");
    }

    #[test]
    fn not_a_map_is_an_error() {
        assert!(serde_json::from_str::<CapturedHeaders>("[]").is_err());
        assert!(serde_json::from_str::<CapturedHeaders>(r#"{"a":1}"#).is_err());
    }
}
