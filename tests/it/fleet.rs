//! Issue #21's "Done means", end to end: two keep-warm daemons (the binary)
//! with different `--vantage`, one Prometheus server scraping both with the
//! shipped rules loaded, and LocalStack's CloudWatch; the numbers read back
//! from each engine per vantage are each daemon's own records. One
//! daemon's target answers 503, so the two vantages differ in what they
//! count, not only in their label.
//!
//! Needs Debian's `prometheus` package (the server; scripts/
//! check-prometheus-rules.sh installs it with promtool); without the
//! `prometheus` binary the test says so and passes as skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coldlink::keepwarm::metrics::outcome;
use coldlink::probe::ProbeRecord;
use serde_json::Value;

use crate::common::{self, localstack, Behavior};
use crate::publish::localstack::read;

/// keepwarm's default `--slow`, for the outcome a record counts under.
const SLOW: Duration = Duration::from_secs(1);
/// Prometheus's `scrape_timeout`: a sample exists only if the daemon
/// answered within it, so its counters were read at most this long after
/// the sample's timestamp (when the scrape started), however loaded the
/// machine.
const SCRAPE_TIMEOUT_S: f64 = 1.0;
/// Prometheus stamps a sample in whole milliseconds.
const STAMP_S: f64 = 0.001;

/// Every process the test starts, killed on every path out of it.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A child's stderr, read to the end by a thread of its own (so that it
/// never blocks on a full pipe), for the assertions' messages.
fn drain(mut from: impl Read + Send + 'static) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let log = Arc::new(Mutex::new(String::new()));
    let to = log.clone();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (log, thread)
}

struct Daemon {
    /// What it was given as `--vantage`.
    vantage: Option<&'static str>,
    /// Its index in [`Processes`].
    child: usize,
    out: PathBuf,
    /// host:port of its /metrics.
    metrics: String,
    log: Arc<Mutex<String>>,
    /// Done when its stderr closed.
    drained: std::thread::JoinHandle<()>,
}

impl Daemon {
    fn records(&self) -> Vec<ProbeRecord> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line a whole record"))
            .collect()
    }

    /// While it runs: how many of its records of each outcome are in
    /// `--out` (whole lines only), and when they had been read. The daemon
    /// counts a ping in its metrics before it queues the record for
    /// `--out`, so a scrape that starts later counts at least these.
    fn written_so_far(&self) -> Snapshot {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        let mut by_outcome = std::collections::BTreeMap::new();
        for line in whole.lines() {
            let r: ProbeRecord = serde_json::from_str(line).expect("every line a whole record");
            *by_outcome.entry(outcome(&r, SLOW).to_string()).or_insert(0) += 1;
        }
        Snapshot {
            read_by: unix(SystemTime::now()),
            by_outcome,
        }
    }
}

/// [`Daemon::written_so_far`].
struct Snapshot {
    /// Unix time when the file had been read.
    read_by: f64,
    by_outcome: std::collections::BTreeMap<String, usize>,
}

/// `coldlink keepwarm URL` every 500 ms, publishing to LocalStack.
fn keepwarm(
    procs: &mut Processes,
    dir: &Path,
    url: &str,
    vantage: Option<&'static str>,
    ns: &str,
    endpoint: &str,
) -> Daemon {
    let name = vantage.unwrap_or("host");
    let out = dir.join(format!("{name}.ndjson"));
    let mut cmd = Command::new(common::bin());
    cmd.args(["keepwarm", url, "--interval", "500ms"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args(["--cloudwatch-namespace", ns, "--aws-endpoint", endpoint])
        .arg("--lock")
        .arg(dir.join(format!("{name}.lock")))
        .arg("--out")
        .arg(&out)
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(v) = vantage {
        cmd.args(["--vantage", v]);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    procs.0.push(child);
    let said = common::read_until_line(&mut stderr, "/metrics");
    let metrics = said
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("the metrics address: {said}"))
        .to_string();
    let (log, drained) = drain(stderr);
    Daemon {
        vantage,
        child: procs.0.len() - 1,
        out,
        metrics,
        log,
        drained,
    }
}

/// The `prometheus` binary on PATH, if installed.
fn prometheus_binary() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
}

/// Prometheus scraping `targets` and evaluating the shipped rules every
/// second, on a port of its choosing: its base URL.
fn prometheus(procs: &mut Processes, binary: &Path, dir: &Path, targets: &[&str]) -> String {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/coldlink-rules.yml");
    let config = dir.join("prometheus.yml");
    let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: {SCRAPE_TIMEOUT_S}s\n  evaluation_interval: 1s\n\
             rule_files:\n  - '{}'\nscrape_configs:\n  - job_name: coldlink\n    \
             static_configs:\n      - targets: [{}]\n",
            rules.display(),
            targets.join(", ")
        ),
    )
    .unwrap();
    let mut child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    procs.0.push(child);
    // `msg="Listening on" address=127.0.0.1:PORT`, once the socket is bound
    // (an earlier line names the :0 asked for).
    let said = common::read_until_line(&mut stderr, "msg=\"Listening on\"");
    let addr = said
        .lines()
        .last()
        .and_then(|l| l.split("address=").nth(1))
        .map(|a| a.trim().to_string())
        .unwrap_or_else(|| panic!("Prometheus's address: {said}"));
    drain(stderr);
    format!("http://{addr}")
}

/// Wait for Prometheus's `/-/ready` (its storage opened after it bound
/// the socket).
async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http.get(format!("{base}/-/ready")).send().await;
        if r.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(Instant::now() < deadline, "Prometheus not ready after 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An instant query's result (or a range selector's matrix).
async fn query(http: &reqwest::Client, base: &str, q: &str) -> Vec<Value> {
    let body = http
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{q}: {body}"));
    assert_eq!(v["status"], "success", "{q}: {body}");
    v["data"]["result"].as_array().unwrap().clone()
}

/// The vantages a result has series of.
fn vantages(result: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = result
        .iter()
        .filter_map(|s| s["metric"]["vantage"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// SIGTERM the daemon and wait: its exit code and its whole log.
async fn stop(procs: &mut Processes, d: &Daemon) -> (Option<i32>, String) {
    let pid = procs.0[d.child].id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The daemon puts its last minute within 5 s, then exits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = procs.0[d.child].try_wait().unwrap() {
            if d.drained.is_finished() {
                break status.code();
            }
        }
        assert!(Instant::now() < deadline, "still running 30 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = d.log.lock().unwrap().clone();
    (code, log)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_vantages_read_back_apart_from_prometheus_and_cloudwatch() {
    let Some(prometheus_bin) = prometheus_binary() else {
        eprintln!(
            "fleet: SKIPPED, no `prometheus` on PATH (Debian's package `prometheus`, \
             which scripts/check-prometheus-rules.sh installs)"
        );
        return;
    };
    let ls = tokio::task::spawn_blocking(localstack::LocalStack::start)
        .await
        .unwrap();
    let cw = ls.cloudwatch();
    let ns = format!("ColdlinkFleet/{:08x}", rand::random::<u32>());
    // Warm LocalStack's catalogue, so that each daemon's call at the stop
    // fits its 5 s deadline.
    let _ = read(&cw, &ns, "ProbeSuccess", &[], "Sum").await;

    let healthy = common::start(Behavior::Ok).await;
    let failing = common::start(Behavior::Status(503)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let (url_a, url_b) = (healthy.url("/"), failing.url("/"));
    let a = keepwarm(
        &mut procs,
        dir.path(),
        &url_a,
        Some("eu-west-1a"),
        &ns,
        &ls.endpoint,
    );
    let b = keepwarm(
        &mut procs,
        dir.path(),
        &url_b,
        Some("eu-west-1b"),
        &ns,
        &ls.endpoint,
    );
    let base = prometheus(&mut procs, &prometheus_bin, dir.path(), &[&a.metrics, &b.metrics]);
    // Which daemon each vantage's numbers must be.
    let expected: [(&str, &Daemon); 2] = [("eu-west-1a", &a), ("eu-west-1b", &b)];
    let want: Vec<String> = expected.iter().map(|(v, _)| v.to_string()).collect();

    // Both vantages scraped a few times, and the warm share recorded for
    // both (its increase() needs two samples in the window).
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await;
    let warm_rule = "target_vantage:coldlink_warm_probes:ratio_15m";
    let deadline = Instant::now() + Duration::from_secs(60);
    // What each daemon had written to --out, read while Prometheus scrapes:
    // the lower bounds of the samples taken after each read. The wait ends
    // once a scrape of each has started after a read that saw records.
    let mut written: [Vec<Snapshot>; 2] = Default::default();
    loop {
        for (snaps, (_, d)) in written.iter_mut().zip(&expected) {
            snaps.push(d.written_so_far());
        }
        let probes = query(&http, &base, "sum by (vantage) (coldlink_probes_total) >= 4").await;
        let shares = query(&http, &base, warm_rule).await;
        let scraped_after_a_read = {
            let mut all = true;
            for (snaps, (vantage, _)) in written.iter().zip(&expected) {
                let first_seen = snaps.iter().find(|s| !s.by_outcome.is_empty());
                let last = query(
                    &http,
                    &base,
                    &format!("timestamp(coldlink_build_info{{vantage=\"{vantage}\"}})"),
                )
                .await;
                let last_ts = last
                    .first()
                    .and_then(|s| s["value"][1].as_str())
                    .map_or(0.0, |v| v.parse::<f64>().unwrap());
                all &= first_seen.is_some_and(|s| last_ts > s.read_by);
            }
            all
        };
        if vantages(&probes) == want && vantages(&shares) == want && scraped_after_a_read {
            break;
        }
        let seen = query(&http, &base, "coldlink_build_info").await;
        assert!(
            Instant::now() < deadline,
            "after 60 s, coldlink_probes_total of {:?} and {warm_rule} of {:?}, not {want:?}; \
             the daemons say they are {:?}",
            vantages(&probes),
            vantages(&shares),
            vantages(&seen)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let shares = query(&http, &base, warm_rule).await;

    for d in [&a, &b] {
        let (code, log) = stop(&mut procs, d).await;
        assert_eq!(code, Some(0), "{:?}: {log}", d.vantage);
        assert!(!log.contains("PutMetricData"), "no publishing trouble: {log}");
    }

    // Prometheus: every sample of every coldlink_probes_total series, in
    // the vantage's daemon's records, bounded by order rather than by how
    // quickly a loaded machine answers: a sample whose scrape started at ts
    // counts at least the pings whose records were in --out before ts,
    // and at most those that had begun by the end of the scrape's timeout.
    let series = query(&http, &base, "coldlink_probes_total[10m]").await;
    let (mut checked, mut bounded_below) = (0, 0);
    for ((vantage, d), snaps) in expected.iter().zip(&written) {
        let records = d.records();
        assert!(records.len() >= 4, "{vantage}: {} records", records.len());
        assert!(
            records.iter().all(|r| r.vantage.as_deref() == Some(*vantage)),
            "{vantage}: every record says where it was probed from"
        );
        let target = &records[0].target;
        let mine: Vec<&Value> = series
            .iter()
            .filter(|s| s["metric"]["vantage"] == *vantage)
            .collect();
        assert!(!mine.is_empty(), "{vantage}: no series");
        for s in mine {
            let out = s["metric"]["outcome"].as_str().unwrap();
            assert_eq!(s["metric"]["target"], &**target, "{vantage}: {s}");
            let of: Vec<&ProbeRecord> = records.iter().filter(|r| outcome(r, SLOW) == out).collect();
            for sample in s["values"].as_array().unwrap() {
                let ts = sample[0].as_f64().unwrap();
                let v: f64 = sample[1].as_str().unwrap().parse().unwrap();
                let written = snaps
                    .iter()
                    .filter(|s| s.read_by < ts)
                    .map(|s| s.by_outcome.get(out).copied().unwrap_or(0))
                    .max()
                    .unwrap_or(0);
                let begun = of
                    .iter()
                    .filter(|r| unix(r.at.0) <= ts + SCRAPE_TIMEOUT_S + STAMP_S)
                    .count();
                assert!(
                    written as f64 <= v && v <= begun as f64,
                    "{vantage} {out} at {ts}: Prometheus has {v}, the records {written}..={begun}"
                );
                checked += 1;
                bounded_below += usize::from(written > 0);
            }
        }
        // Each vantage's outcome: all ok from one, all 503 from the other.
        let outcomes: std::collections::BTreeSet<&str> = records.iter().map(|r| outcome(r, SLOW)).collect();
        let top = query(
            &http,
            &base,
            &format!("max_over_time(coldlink_probes_total{{vantage=\"{vantage}\"}}[10m]) > 0"),
        )
        .await;
        let counted: std::collections::BTreeSet<&str> = top
            .iter()
            .map(|s| s["metric"]["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(counted, outcomes, "{vantage}: outcomes counted vs recorded");

        // The recording rule, per vantage: the share of pings that found
        // the path warm, against the records' (increase() extrapolates,
        // and the window holds what was scraped, so near, not equal).
        let share = shares
            .iter()
            .find(|s| s["metric"]["vantage"] == *vantage)
            .and_then(|s| s["value"][1].as_str())
            .map(|v| v.parse::<f64>().unwrap())
            .unwrap();
        let warm = records
            .iter()
            .filter(|r| outcome(r, SLOW) == "ok" && r.conn.as_ref().is_some_and(|c| c.reused))
            .count();
        let recorded = warm as f64 / records.len() as f64;
        assert!(
            (share - recorded).abs() <= 0.3 && (warm == 0) == (share == 0.0),
            "{vantage}: {warm_rule} {share}, the records {warm} of {}",
            records.len()
        );
    }
    assert!(checked >= 8, "{checked} samples checked");
    assert!(
        bounded_below >= 2,
        "{bounded_below} samples bounded below by --out"
    );

    // CloudWatch: each vantage's whole run, put in its minutes and the
    // last at the stop, equals its records.
    for (vantage, d) in &expected {
        let records = d.records();
        let target = &*records[0].target;
        let dims = [("Target", target), ("Vantage", *vantage)];
        let count = |o: &str| records.iter().filter(|r| outcome(r, SLOW) == o).count() as f64;
        assert_eq!(count("slow"), 0.0, "loopback is never slow");
        let success = read(&cw, &ns, "ProbeSuccess", &dims, "Sum").await;
        assert_eq!(success.unwrap_or(0.0), count("ok"), "{vantage}: ProbeSuccess");
        let by_kind = [dims[0], dims[1], ("Kind", "status")];
        let failures = read(&cw, &ns, "ProbeFailure", &by_kind, "Sum").await;
        assert_eq!(
            failures.unwrap_or(0.0),
            count("status"),
            "{vantage}: ProbeFailure"
        );
        let total = [dims[0], dims[1], ("Phase", "total")];
        let answered = records.iter().filter(|r| r.got_response()).count() as f64;
        assert_eq!(
            read(&cw, &ns, "ProbeLatency", &total, "SampleCount").await,
            Some(answered),
            "{vantage}: every answered ping's latency, once"
        );
    }
    drop(procs);
}
