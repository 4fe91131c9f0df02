use rand::{Rng, SeedableRng};

use super::*;

/// A record as coldlink writes it (the synthetic benchmark's shape).
const PLAIN: &str = r#"{"v":1,"run":"0123456789abcdef","target":"custom-domain","url":"https://api.example.com/header","seq":1,"at":"2026-09-21T14:13:20.000499Z","scheduled_at":"2026-09-21T14:13:20.000499Z","remote":"203.0.113.5:443","family":"ipv4","conn":{"id":1,"reused":true,"idle_ms":0.5,"age_ms":1000.0,"requests":2,"reconnected":false,"stale_idle_ms":null},"phases_ms":{"queue":0.01,"dns":null,"connect":null,"tls":null,"send":0.05,"ttfb":29.690936847100833,"body":0.3},"total_ms":30.050936847100832,"status":200,"http":"1.1","tls":{"version":"TLSv1.3","resumed":false,"alpn":"http/1.1"},"trace_id":"1-6ab13b80-000000000000000000000001","headers":{"via":"1.1 abc.cloudfront.net (CloudFront)","x-amz-cf-pop":"FRA56-P1","x-amzn-requestid":"00000001-aaaa-bbbb-cccc-0123456789ab","x-cache":"Miss from cloudfront"},"body_bytes":120,"error":null}"#;

/// Every field the view reads, set: an error, a lab, the kernel's SYN
/// settings, a vantage point, an ALB's answer.
const FULL: &str = r#"{"v":1,"run":"r1","target":"t","url":"https://a.example/p","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":"[::1]:443","family":"ipv6","conn":{"id":3,"reused":false,"idle_ms":null,"age_ms":100.0,"requests":2,"reconnected":true},"phases_ms":{"queue":0,"dns":1.25,"connect":-0.0,"tls":12,"send":0.2,"ttfb":20.0,"body":0.3},"total_ms":1e2,"status":502,"http":"HTTP/1.1","tls":{"version":"TLSv1.3","resumed":true,"alpn":null},"trace_id":"Root=1-5f84c7a9-0123456789abcdef01234567","headers":{"via":"1.1 x.cloudfront.net (CloudFront)","x-cache":"Error from cloudfront","x-amz-cf-pop":"FRA56-P1","x-amzn-errortype":"InternalServerErrorException","server":"awselb/2.0","x-amzn-remapped-server":null},"body_bytes":10,"error":{"kind":"status","phase":"ttfb","message":"502 \"bad\""},"lab":{"scenario":"s","speed":10.0},"syn_sysctls":{"tcp_syn_retries":6,"tcp_syn_linear_timeouts":4},"vantage":"eu-west-1a","extra":[1,{"a":[true,false,null]},"x",-1.5e-3]}"#;

/// The fewest fields: no headers, nothing optional, space around tokens.
const SPARSE: &str = " { \"target\" : \"t\" , \"url\":\"u\",\"at\":\"2026-11-21T10:00:00Z\",\r\n\t\"scheduled_at\":\"2026-11-21T10:00:00+01:00\",\"phases_ms\":{},\"total_ms\":0.1,\"x-unicode\":\"é ✓\"} ";

fn serde(line: &str) -> Option<RecordView<'_>> {
    serde_json::from_str(line).ok()
}

/// The lines coldlink writes take the fast path, and it reads them as
/// serde_json does.
#[test]
fn written_records_are_scanned_as_serde_json_reads_them() {
    for line in [PLAIN, FULL, SPARSE] {
        let fast = scan(line).unwrap_or_else(|| panic!("not scanned: {line}"));
        assert_eq!(Some(&fast), serde(line).as_ref(), "{line}");
    }
    let full = scan(FULL).unwrap();
    assert_eq!(full.vantage.as_deref(), Some("eu-west-1a"));
    assert!(full.headers.errortype.is_some() && full.conn.as_ref().is_some_and(|c| c.reconnected));
    assert_eq!(
        full.error.as_ref().and_then(|e| e.message.as_deref()),
        Some("502 \"bad\"")
    );
    let null_errortype = FULL.replace(r#""InternalServerErrorException""#, "null");
    assert!(scan(&null_errortype).unwrap().headers.errortype.is_none());
}

/// What the fast path leaves to serde_json: it says "not sure", and
/// `from_line` still reads or refuses the line as serde_json does.
#[test]
fn lines_it_does_not_handle_go_to_serde_json() {
    let cases = [
        // An escape in a string the view reads, and in one it skips.
        PLAIN.replace("custom-domain", r"custom\u002ddomain"),
        PLAIN.replace("Miss from", r"Miss\tfrom"),
        // A duplicate field: serde_json refuses the line.
        PLAIN.replace(r#""seq":1,"#, r#""target":"again","#),
        PLAIN.replace(r#""send":0.05"#, r#""send":0.05,"send":1"#),
        // Numbers out of the simple range, or of the wrong kind.
        PLAIN.replace("\"status\":200", "\"status\":200.0"),
        PLAIN.replace("\"status\":200", "\"status\":70000"),
        PLAIN.replace("\"id\":1,", "\"id\":-1,"),
        PLAIN.replace("\"idle_ms\":0.5", "\"idle_ms\":1e400"),
        PLAIN.replace("\"total_ms\":30.050936847100832", "\"total_ms\":null"),
        // Wrong types, missing fields, trailing text, not an object.
        PLAIN.replace("\"headers\":{", "\"headers\":null,\"h\":{"),
        PLAIN.replace("\"reused\":true", "\"reused\":1"),
        PLAIN.replace("\"family\":\"ipv4\"", "\"family\":\"ipv5\""),
        PLAIN.replace("\"url\":", "\"uri\":"),
        format!("{PLAIN}x"),
        "[1,2]".to_string(),
    ];
    for line in &cases {
        assert!(scan(line).is_none(), "scanned: {line}");
        assert_eq!(
            RecordView::from_line(line).map_err(|e| e.to_string()),
            serde_json::from_str::<RecordView>(line).map_err(|e| e.to_string()),
        );
    }
    // The escaped target is a record all the same.
    assert_eq!(RecordView::from_line(&cases[0]).unwrap().target, "custom-domain");
}

/// The numbers the view reads come out bit for bit as serde_json's: the
/// digits that fit are done here with its arithmetic, longer ones by
/// `str::parse`, numbers with an exponent by serde_json itself.
#[test]
fn numbers_are_serde_jsons_to_the_bit() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut texts: Vec<String> = [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "1",
        "12",
        "1.5",
        "29.690936847100833",
        "30.050936847100832",
        "0.000001",
        "9999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "12345678901234567890.5",
        "1.0000000000000000000001",
        "1e5",
        "1E-7",
        "-2.5e+3",
        "123456789.123456789",
        "0.1234567890123456789",
    ]
    .map(String::from)
    .to_vec();
    for _ in 0..20_000 {
        let x: f64 = match rng.random_range(0..3) {
            0 => rng.random_range(0.0..100.0),
            1 => rng.random_range(0.0..1e7),
            _ => f64::from_bits(rng.random::<u64>() >> 2),
        };
        texts.push(serde_json::to_string(&x).unwrap());
        texts.push(format!("{x:.3}"));
    }
    // Longer than 15 digits (`str::parse` against serde_json's own
    // correctly rounded parsing): the synthetic records' 16–17 digits,
    // random digit strings of up to 40 with the point anywhere (rounding
    // near a halfway point), integers past 2^53 and 2^64, negatives.
    for _ in 0..20_000 {
        let x: f64 = rng.random_range(0.0..1e4);
        texts.push(format!("{x:.13}"));
        texts.push(format!("-{x:.14}"));
        let len = rng.random_range(16..=40);
        let mut digits: String = (0..len)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        if digits.starts_with('0') {
            digits.replace_range(..1, "1");
        }
        if rng.random_bool(0.8) {
            digits.insert(rng.random_range(1..len), '.');
        }
        texts.push(digits);
    }
    texts.extend(
        [
            "9007199254740993",
            "-9007199254740993",
            "9007199254740992.5",
            "2.2250738585072011e-308",
            "0.0000000000000000000000000000001",
            "-0.00000000000000000",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531306505620699314454555",
        ]
        .map(String::from),
    );
    // Too large for an f64: serde_json refuses it, and so does the scanner.
    texts.push(format!("1{}", "0".repeat(400)));
    for text in &texts {
        let mut s = Scan { text, at: 0 };
        let fast = s.f64();
        let slow: Option<f64> = serde_json::from_str(text).ok();
        assert_eq!(fast.map(f64::to_bits), slow.map(f64::to_bits), "{text}");
        let mut s = Scan { text, at: 0 };
        if let Some(n) = s.u64().filter(|_| s.at == text.len()) {
            assert_eq!(Some(n), serde_json::from_str::<u64>(text).ok(), "{text}");
        }
    }
}

/// Damaged lines — a byte dropped, changed or put in, a piece repeated —
/// are either left to serde_json or read exactly as it reads them: the
/// fast path never accepts what serde_json would refuse.
#[test]
fn damaged_lines_are_never_read_otherwise_than_by_serde_json() {
    const PUT: &[u8] = b"\"{}[],:\\ \t\n-.eE01a\x01nt";
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (mut scanned, mut refused) = (0, 0);
    for base in [PLAIN, FULL, SPARSE] {
        for _ in 0..20_000 {
            let mut line = base.as_bytes().to_vec();
            for _ in 0..rng.random_range(1..=2) {
                let i = rng.random_range(0..line.len());
                let c = PUT[rng.random_range(0..PUT.len())];
                match rng.random_range(0..4) {
                    0 => {
                        line.remove(i);
                    }
                    1 => line[i] = c,
                    2 => line.insert(i, c),
                    _ => {
                        let j = (i + rng.random_range(1..40)).min(line.len());
                        let piece = line[i..j].to_vec();
                        line.splice(j..j, piece);
                    }
                }
            }
            let Ok(line) = String::from_utf8(line) else {
                continue;
            };
            let slow = serde(&line);
            match scan(&line) {
                Some(fast) => {
                    scanned += 1;
                    assert_eq!(Some(fast), slow, "{line}");
                }
                None => refused += usize::from(slow.is_none()),
            }
        }
    }
    // Both ways were taken many times.
    assert!(scanned > 5_000 && refused > 5_000, "{scanned} {refused}");
}

/// `{"k":v,...}` from `entries`, in their order.
fn object_text(entries: &[(String, String)]) -> String {
    let fields: Vec<String> = entries.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
    format!("{{{}}}", fields.join(","))
}

/// The entries of `value` (an object) as texts, each nested object also
/// shuffled and with some of its optional entries dropped.
fn shuffled(value: &serde_json::Value, rng: &mut rand::rngs::StdRng, drop: &[&str]) -> String {
    use rand::seq::SliceRandom;
    let mut entries = Vec::new();
    for (k, v) in value.as_object().unwrap() {
        if drop.contains(&k.as_str()) && rng.random_bool(0.5) {
            continue;
        }
        let text = match v {
            serde_json::Value::Object(_) => shuffled(v, rng, drop),
            _ => v.to_string(),
        };
        entries.push((k.clone(), text));
    }
    entries.shuffle(rng);
    object_text(&entries)
}

/// The key prediction only saves work: records whose keys come in any
/// other order, at every level, or without their optional fields, are
/// still scanned, and read as serde_json reads them.
#[test]
fn keys_in_any_order_and_missing_optional_fields_are_read_as_serde_json_does() {
    // Optional in the view: absent, they are `None` (or a default).
    const OPTIONAL: &[&str] = &[
        "v",
        "run",
        "seq",
        "remote",
        "family",
        "conn",
        "status",
        "http",
        "tls",
        "trace_id",
        "headers",
        "body_bytes",
        "error",
        "lab",
        "syn_sysctls",
        "vantage",
        "idle_ms",
        "reconnected",
        "age_ms",
        "queue",
        "dns",
        "connect",
        "send",
        "ttfb",
        "body",
        "via",
        "x-cache",
        "x-amz-cf-pop",
        "x-amzn-errortype",
        "server",
        "x-amzn-requestid",
        "alpn",
        "version",
        "extra",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut reordered = 0;
    for base in [PLAIN, FULL] {
        let value: serde_json::Value = serde_json::from_str(base).unwrap();
        for _ in 0..2_000 {
            let line = shuffled(&value, &mut rng, OPTIONAL);
            let fast = scan(&line).unwrap_or_else(|| panic!("not scanned: {line}"));
            assert_eq!(Some(fast), serde(&line), "{line}");
            reordered += usize::from(!base.starts_with(&line[..line.find(',').unwrap()]));
        }
    }
    assert!(reordered > 3_000, "{reordered}");
}

/// A key confirmed by its bytes is the whole key, quotes included: one
/// that only begins with the name expected next (or is cut short of it)
/// is another key, skipped, and the field is still found where it is.
#[test]
fn a_key_that_begins_like_the_expected_one_is_another_key() {
    let cases = [
        // Put just before the key they look like, where it is expected.
        PLAIN.replace(r#""target":"#, r#""targets":"x","target":"#),
        PLAIN.replace(r#""target":"#, r#""targe":"x","target":"#),
        PLAIN.replace(r#""status":"#, r#""status_x":1,"status":"#),
        PLAIN.replace(r#""queue":"#, r#""queued":7,"queue":"#),
        PLAIN.replace(r#""via":"#, r#""viax":"y","via":"#),
        PLAIN.replace(r#""id":1"#, r#""idx":2,"id":1"#),
        // Whitespace where the prediction expects the closing quote's colon.
        PLAIN.replace(r#""url":"#, r#""url" :"#),
    ];
    for line in &cases {
        let fast = scan(line).unwrap_or_else(|| panic!("not scanned: {line}"));
        assert_eq!(Some(&fast), serde(line).as_ref(), "{line}");
        assert_eq!(fast.target, "custom-domain");
        assert_eq!(fast.status, Some(200));
    }
    // Only the look-alike, the field itself missing: serde_json's to refuse.
    let renamed = PLAIN.replace(r#""url":"#, r#""urls":"#);
    assert!(scan(&renamed).is_none() && serde(&renamed).is_none());
}

/// A predicted key is confirmed by every byte of its name and by its
/// closing quote, whatever its length (one word, several, the last
/// overlapping), with the line's end anywhere after it.
#[test]
fn a_key_is_confirmed_by_every_byte() {
    for k in RECORD
        .iter()
        .map(|k| k.name)
        .chain(HEADERS.iter().map(|k| k.name))
    {
        let exact = format!("{k}\":1}}");
        assert!(key(k, ()).begins(exact.as_bytes()), "{k}");
        assert!(key(k, ()).begins(format!("{k}\"").as_bytes()), "{k} at the end");
        for i in 0..=k.len() {
            // One byte changed: in the name, or the closing quote.
            let mut other = exact.clone().into_bytes();
            other[i] ^= 0x01;
            assert!(!key(k, ()).begins(&other), "{k}, byte {i}");
        }
        assert!(!key(k, ()).begins(&k.as_bytes()[..k.len() - 1]), "{k} cut");
    }
}

/// A JSON value with its objects' keys in the order written
/// (`serde_json::Value` sorts them without its `preserve_order` feature).
#[derive(Debug)]
enum Written {
    Object(Vec<(String, Written)>),
    Other,
}

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Written;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Written::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Written::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_unit<E>(self) -> Result<Written, E> {
                Ok(Written::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Written {
    fn keys(&self) -> Vec<&str> {
        match self {
            Written::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            Written::Other => panic!("not an object"),
        }
    }
    fn get(&self, key: &str) -> &Written {
        match self {
            Written::Object(entries) => &entries.iter().find(|(k, _)| k == key).unwrap().1,
            Written::Other => panic!("not an object"),
        }
    }
}

/// The predicted key order is the order coldlink writes: a record read
/// back and written again by `ProbeRecord` itself gives its keys as
/// subsequences of `keys.rs`'s lists. A field added to the record (or
/// moved) without its key here would not break reading, only slow it
/// down (every line off the prediction): this test says so instead.
#[test]
fn the_predicted_key_order_is_the_order_probe_records_are_written_in() {
    // The view tolerates a null header value; a record holds strings.
    let full = FULL.replace(
        r#""x-amzn-remapped-server":null"#,
        r#""x-amzn-remapped-server":"nginx""#,
    );
    let record: crate::probe::ProbeRecord = serde_json::from_str(&full).expect("FULL is a record");
    let written: Written = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
    fn in_order<F>(what: &str, object: &Written, listed: &[Key<F>]) {
        let keys = object.keys();
        let mut rest = listed.iter().map(|k| k.name);
        for key in &keys {
            assert!(
                rest.any(|listed| listed == *key),
                "{what}: `{key}` is written out of the predicted order (or not listed); written: {keys:?}"
            );
        }
    }
    in_order("record", &written, RECORD);
    in_order("conn", written.get("conn"), CONN);
    in_order("phases_ms", written.get("phases_ms"), PHASES);
    in_order("tls", written.get("tls"), TLS);
    in_order("headers", written.get("headers"), HEADERS);
}
