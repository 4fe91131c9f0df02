//! Write N synthetic probe records (NDJSON, the real schema) to stdout: two
//! targets probed in bursts and after quiet gaps, with an idle timer at
//! 350 s. Used by scripts/bench-diagnose.sh to time `diagnose --from`.
//!
//!     cargo run --release --example synth_records -- 1000000 > records.ndjson

use std::io::{BufWriter, Write};
use std::time::{Duration, SystemTime};

use coldlink::probe::record::CapturedHeaders;
use coldlink::probe::{ConnInfo, Phases, ProbeRecord, Timestamp, TlsInfo};
use rand::{Rng, SeedableRng};

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let out = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, out.lock());
    let mut now = 1_790_000_000.0f64;
    let mut last_end = now;
    for seq in 1..=n {
        // Bursts of 50 back to back, then a quiet gap of up to 10 minutes.
        let gap = if seq % 50 == 0 {
            rng.random_range(1.0..600.0)
        } else {
            0.0005
        };
        now = last_end + gap;
        let target = (seq % 2) as usize;
        let fresh = seq % 10 == 0;
        let mut ttfb = rng.random_range(18.0..30.0);
        if gap > 350.0 {
            ttfb += 6000.0;
        }
        let phases = Phases {
            queue: Some(0.01),
            dns: fresh.then_some(1.2),
            connect: fresh.then_some(10.5),
            tls: fresh.then_some(12.0),
            send: Some(0.05),
            ttfb: Some(ttfb),
            body: Some(0.3),
        };
        let total = phases.sum();
        let at = Timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(now));
        let mut headers = CapturedHeaders::new();
        headers.insert(
            "x-amzn-requestid".into(),
            format!("{seq:08x}-aaaa-bbbb-cccc-0123456789ab"),
        );
        if target == 1 {
            headers.insert("via".into(), "1.1 abc.cloudfront.net (CloudFront)".to_string());
            headers.insert("x-amz-cf-pop".into(), "FRA56-P1".to_string());
            headers.insert("x-cache".into(), "Miss from cloudfront".to_string());
        }
        let record = ProbeRecord {
            v: 1,
            run: Some("0123456789abcdef".into()),
            target: ["execute-api", "custom-domain"][target].into(),
            url: [
                "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header",
                "https://api.example.com/header",
            ][target]
                .into(),
            seq,
            at,
            scheduled_at: at,
            remote: Some("203.0.113.5:443".parse().expect("an address")),
            local: None,
            family: Some(coldlink::probe::IpFamily::Ipv4),
            conn: Some(ConnInfo {
                id: seq / 10 * 2 + target as u64,
                reused: !fresh,
                idle_ms: (!fresh).then_some(gap * 1000.0),
                age_ms: 1000.0,
                requests: seq % 10 + 1,
                reconnected: false,
                stale_idle_ms: None,
            }),
            phases_ms: phases,
            total_ms: total,
            status: Some(200),
            http: Some("1.1".into()),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                resumed: false,
                alpn: Some("http/1.1".into()),
            }),
            trace_id: Some(format!("1-{:08x}-{:024x}", now as u64, seq)),
            headers,
            body_bytes: Some(120),
            error: None,
            lab: None,
            syn_sysctls: None,
            vantage: None,
        };
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        last_end = now + total / 1000.0;
    }
    out.flush()
}
