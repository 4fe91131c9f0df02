//! Diagnosis of synthetic records drawn from seeded random ranges: many
//! fault set-ups no lab default describes (1–5 paths, timers from 0.5 s to
//! 350 s, stalls from 0.5 s to 10 s, base latencies from 1 to 250 ms,
//! log-normal jitter with rare spikes). The detectors are pure functions, so
//! thousands of set-ups cost a second.
//!
//! Over 500 lines: the path simulator, the set-up of every cause (`setup`,
//! one match, so that their ranges can be compared at a glance) and the
//! tests that draw from them.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::common::record::probe_record;
use coldlink::diagnose::report::{diagnose, Context};
use coldlink::diagnose::{Cause, Dataset, PathKind, PathSource, TargetPath};
use coldlink::probe::record::CapturedHeaders;
use coldlink::probe::{ConnInfo, ErrorKind, Phase, Phases, ProbeError, ProbeRecord, TargetKind, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod alb;
mod idle_clock;
mod wording;

/// How a synthetic path behaves.
#[derive(Debug, Clone)]
struct Path {
    rtt: f64,
    app: f64,
    jitter: f64,
    spike_rate: f64,
    fault: Fault,
}

#[derive(Debug, Clone)]
enum Fault {
    None,
    /// After a quiet gap > timer, the first request stalls (or fails).
    Idle {
        timer: f64,
        stall: f64,
        reset: bool,
    },
    /// One of `n` paths adds `stall`.
    BadPath {
        n: u32,
        stall: f64,
    },
    /// A fraction of SYNs lost.
    SynLoss {
        p: f64,
    },
    /// Every lookup takes `delay` (a slow resolver), or a fraction `p` lose a query (5 s).
    Dns {
        delay: f64,
        p_lost: f64,
    },
    SlowTls {
        extra: f64,
    },
    SlowBackend {
        app: f64,
    },
    Edge {
        extra: f64,
    },
    /// The edge fails a fraction of the custom domain's requests.
    EdgeErrors {
        rate: f64,
    },
    /// A fraction of requests answered 504 after `limit` ms.
    IntegrationTimeout {
        fraction: f64,
        limit: f64,
    },
    /// Requests after gaps in [timer, timer + window] fail.
    Race {
        timer: f64,
        window: f64,
    },
    Errors {
        rate: f64,
    },
    /// A fraction of requests answered 502 by the ALB itself, fast,
    /// whatever the gap (a target keep-alive shorter than the ALB's).
    AlbPages {
        fraction: f64,
    },
    /// A fraction answered 504 by the ALB after `limit` ms (its idle timeout).
    Alb504 {
        fraction: f64,
        limit: f64,
    },
    /// Streamed answers: a short first byte, then a body of `body` ms,
    /// each up to `vary` (a fraction) shorter or longer; a fraction `share`
    /// of the requests stream, the others answer at once.
    Streamed {
        body: f64,
        vary: f64,
        share: f64,
    },
    /// Probes `from..to` (by number) on reused connections stall by
    /// `stall` ms, or fail: a draining target serving pooled connections.
    Drain {
        from: u64,
        to: u64,
        stall: f64,
        fail: bool,
    },
}

struct Sim {
    rng: StdRng,
    path: Path,
    now: f64,
    last_end: f64,
    seq: u64,
    conn: u64,
    records: Vec<ProbeRecord>,
}

const T0: u64 = 1_790_000_000;

impl Sim {
    /// A path at time 0 with no probe sent, its randomness from `seed`.
    fn new(path: Path, seed: u64) -> Sim {
        Sim {
            rng: StdRng::seed_from_u64(seed),
            path,
            now: 0.0,
            last_end: 0.0,
            seq: 0,
            conn: 0,
            records: Vec::new(),
        }
    }

    fn jitter(&mut self, ms: f64) -> f64 {
        // Log-normal around `ms`.
        let z: f64 = self.rng.sample::<f64, _>(rand_distr_normal());
        ms * (self.path.jitter * z).exp()
    }

    fn probe(&mut self, target: usize, fresh: bool, conn_idle: Option<f64>) {
        let p = self.path.clone();
        let gap = self.now - self.last_end;
        let head = gap >= 0.02;
        let custom = target == 1;
        let mut ph = Phases {
            queue: Some(0.01),
            send: Some(0.05),
            body: Some(0.2),
            ..Phases::default()
        };
        let mut status = Some(200u16);
        let mut error = None;
        let mut headers = CapturedHeaders::new();
        if fresh {
            let mut dns = self.jitter(2.0 + p.rtt / 4.0);
            let mut connect = self.jitter(p.rtt);
            let mut tls = self.jitter(p.rtt * 1.2 + 1.0);
            match p.fault {
                Fault::SynLoss { p: loss } if self.rng.random::<f64>() < loss => {
                    connect += 1000.0;
                    if self.rng.random::<f64>() < loss {
                        connect += 2000.0;
                    }
                }
                Fault::Dns { delay, p_lost } => {
                    dns += delay;
                    if self.rng.random::<f64>() < p_lost {
                        dns += 5000.0;
                    }
                }
                Fault::SlowTls { extra } => tls += self.jitter(extra),
                _ => {}
            }
            ph.dns = Some(dns);
            ph.connect = Some(connect);
            ph.tls = Some(tls);
        }
        let mut ttfb = self.jitter(p.rtt + p.app);
        if self.rng.random::<f64>() < p.spike_rate {
            ttfb += self.rng.random_range(50.0..300.0);
        }
        if custom {
            if matches!(p.fault, Fault::Edge { .. } | Fault::EdgeErrors { .. })
                || self.rng.random::<f64>() < 0.3
            {
                headers.insert("via".into(), "1.1 abc.cloudfront.net (CloudFront)".into());
                headers.insert("x-amz-cf-pop".into(), "FRA56-P1".into());
                headers.insert("x-cache".into(), "Miss from cloudfront".into());
            }
            if let Fault::Edge { extra } = p.fault {
                ttfb += self.jitter(extra);
            }
            if let Fault::EdgeErrors { rate } = p.fault {
                if self.rng.random::<f64>() < rate {
                    headers.insert("x-cache".into(), "Error from cloudfront".into());
                    status = Some(502);
                }
            }
        }
        match p.fault {
            Fault::Idle { timer, stall, reset } if head && gap > timer => {
                if reset {
                    status = Some(502);
                } else {
                    ttfb += stall;
                }
            }
            Fault::BadPath { n, stall } if self.rng.random_range(0..n) == 0 => ttfb += stall,
            Fault::SlowBackend { app } => ttfb += self.jitter(app),
            Fault::IntegrationTimeout { fraction, limit } if self.rng.random::<f64>() < fraction => {
                ttfb = limit + self.rng.random_range(0.0..30.0);
                status = Some(504);
            }
            Fault::Race { timer, window }
                if head && gap > timer && gap < timer + window && self.rng.random::<f64>() < 0.8 =>
            {
                status = Some(502);
            }
            Fault::Errors { rate } if self.rng.random::<f64>() < rate => status = Some(500),
            Fault::AlbPages { fraction } if self.rng.random::<f64>() < fraction => {
                ttfb = self.jitter(p.rtt + 2.0);
                status = Some(502);
                headers.insert("server".into(), "awselb/2.0".into());
            }
            Fault::Alb504 { fraction, limit } if self.rng.random::<f64>() < fraction => {
                ttfb = limit + self.rng.random_range(0.0..30.0);
                status = Some(504);
                headers.insert("server".into(), "awselb/2.0".into());
            }
            Fault::Streamed { body, vary, share } if self.rng.random::<f64>() < share => {
                ph.body = Some(body * (1.0 + vary * self.rng.random_range(-1.0..1.0)));
            }
            Fault::Drain {
                from,
                to,
                stall,
                fail,
            } if !fresh && (from..to).contains(&self.seq) && self.rng.random::<f64>() < 0.85 => {
                if fail {
                    status = Some(502);
                } else {
                    ttfb += self.jitter(stall);
                }
            }
            _ => {}
        }
        if let Some(s) = status {
            if s >= 500 {
                error = Some(ProbeError {
                    kind: ErrorKind::Status,
                    phase: Phase::Ttfb,
                    message: format!("status {s}"),
                });
            }
        }
        ph.ttfb = Some(ttfb);
        let total = ph.iter().filter_map(|(_, v)| v).sum::<f64>();
        if fresh {
            self.conn += 1;
        }
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_secs_f64(self.now);
        self.seq += 1;
        self.records.push(ProbeRecord {
            run: Some("sim".into()),
            target: if custom { "custom-domain" } else { "execute-api" }.into(),
            url: if custom {
                "https://api.example.com/header".into()
            } else {
                "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header".into()
            },
            seq: self.seq,
            at: Timestamp(at),
            scheduled_at: Timestamp(at),
            remote: Some("203.0.113.5:443".parse().unwrap()),
            conn: Some(ConnInfo {
                id: self.conn + target as u64 * 1000,
                reused: !fresh,
                idle_ms: conn_idle,
                age_ms: 1.0,
                requests: 1,
                reconnected: false,
                stale_idle_ms: None,
            }),
            phases_ms: ph,
            total_ms: total,
            status,
            http: Some("1.1".into()),
            headers,
            body_bytes: Some(2),
            error,
            ..probe_record()
        });
        self.now += total / 1000.0;
        self.last_end = self.last_end.max(self.now);
    }

    fn quiet(&mut self, secs: f64) {
        self.now = self.last_end + secs;
    }
}

/// A standard normal sampler without another dependency (Box–Muller).
fn rand_distr_normal() -> impl rand::distr::Distribution<f64> {
    struct Normal;
    impl rand::distr::Distribution<f64> for Normal {
        fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }
    Normal
}

/// The diagnose plan: bursts on fresh and reused connections, the quick
/// gaps, then `sweep` (seconds).
fn run_plan(path: Path, seed: u64, sweep: &[f64]) -> Vec<ProbeRecord> {
    let mut sim = Sim::new(path, seed);
    for k in 0..40 {
        sim.probe(k % 2, true, None);
        sim.now = sim.last_end + 0.001;
    }
    sim.quiet(0.5);
    for k in 0..40 {
        sim.probe(k % 2, k < 2, (k >= 2).then_some(0.1));
        sim.now = sim.last_end + 0.0005;
    }
    for (k, gap) in [1.0, 3.0, 8.0].iter().chain(sweep).enumerate() {
        sim.quiet(*gap);
        sim.probe(k % 2, false, Some(gap * 1000.0));
        sim.now = sim.last_end + 0.0005;
        sim.probe((k + 1) % 2, false, Some(gap * 1000.0));
    }
    sim.records
}

fn random_path(rng: &mut StdRng, fault: Fault) -> Path {
    Path {
        rtt: rng.random_range(0.5..40.0),
        app: rng.random_range(1.0..200.0),
        jitter: rng.random_range(0.03..0.35),
        spike_rate: rng.random_range(0.0..0.02),
        fault,
    }
}

/// A sweep bracketing `timer`, as an engineer who suspects it would run.
fn sweep_around(timer: f64) -> Vec<f64> {
    [0.3, 0.6, 0.85, 1.3, 2.0].iter().map(|f| f * timer).collect()
}

fn verdict(records: &[ProbeRecord]) -> (Cause, String) {
    verdict_on(records, PathKind::Unknown)
}

/// [`verdict`] with both targets' path of the given kind (what H1's
/// resolution sets from the profile or the configuration).
fn verdict_on(records: &[ProbeRecord], kind: PathKind) -> (Cause, String) {
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let mut ds = Dataset::from_records(records, &kinds, 1.0);
    ds.paths = vec![TargetPath::new(kind, PathSource::Profile, None); ds.targets.len()];
    let (report, _) = diagnose(&ds, &Context::default());
    let titles: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {:?} {:.2}: {}", f.cause, f.severity, f.confidence, f.title))
        .collect();
    (report.verdict, titles.join("\n  "))
}

/// Run `trials` random set-ups of one fault and require at least
/// `accuracy` of them named right. The floors hold for every draw of
/// set-ups tried (COLDLINK_SEED=0…9); what is missed are the corners where
/// the fault hides in the noise (a 40 ms edge on a 200 ms API with ±30 %
/// jitter) or did not show at all (a 10 % loss over 40 new connections, a
/// race each request loses with p = 0.8). docs/accuracy.md has the rates.
fn check(cause: Cause, trials: u64, accuracy: f64) {
    let mut wrong = Vec::new();
    // Another draw of set-ups: COLDLINK_SEED=7 cargo test --test it diagnose_synthetic::
    let base: u64 = std::env::var("COLDLINK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for seed in base * trials..(base + 1) * trials {
        let mut rng = StdRng::seed_from_u64(seed * 7919 + cause as u64);
        let (fault, sweep) = setup(cause, &mut rng);
        let path = random_path(&mut rng, fault);
        let records = run_plan(path.clone(), seed, &sweep);
        let (got, findings) = verdict(&records);
        if got != expected(cause, &sweep) {
            wrong.push(format!("seed {seed}: {path:?}\n  → {got}\n  {findings}"));
        }
    }
    let right = 1.0 - wrong.len() as f64 / trials as f64;
    assert!(
        right >= accuracy,
        "{cause}: {}/{trials} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The verdict a set-up of `cause` must get: a healthy path is `healthy`
/// only when the sweep reached the idle timers, else `inconclusive`.
fn expected(cause: Cause, sweep: &[f64]) -> Cause {
    let reached = sweep.iter().any(|&g| g >= 350.0) && sweep.iter().any(|&g| (60.0..=90.0).contains(&g));
    match cause {
        Cause::Healthy if !reached => Cause::Inconclusive,
        other => other,
    }
}

/// A random set-up of `cause`: the fault, and the idle sweep an engineer
/// would run (seconds; empty for the quick plan alone).
fn setup(cause: Cause, rng: &mut StdRng) -> (Fault, Vec<f64>) {
    match cause {
        Cause::Inconclusive => (Fault::None, vec![]),
        Cause::Healthy => {
            let sweep = if rng.random_bool(0.5) {
                vec![30.0, 65.0, 80.0, 120.0, 360.0]
            } else {
                vec![]
            };
            (Fault::None, sweep)
        }
        Cause::IdleTimeout => {
            let timer = 0.5 * 700f64.powf(rng.random::<f64>());
            let fault = Fault::Idle {
                timer,
                stall: rng.random_range(500.0..10_000.0),
                reset: rng.random_bool(0.4),
            };
            (fault, sweep_around(timer))
        }
        Cause::BadPath => {
            let fault = Fault::BadPath {
                n: rng.random_range(2..=5),
                stall: rng.random_range(500.0..10_000.0),
            };
            (fault, vec![])
        }
        Cause::SynLoss => (
            Fault::SynLoss {
                p: rng.random_range(0.08..0.3),
            },
            vec![],
        ),
        Cause::DnsTimeout => {
            let fault = if rng.random_bool(0.5) {
                Fault::Dns {
                    delay: rng.random_range(500.0..10_000.0),
                    p_lost: 0.0,
                }
            } else {
                Fault::Dns {
                    delay: 0.0,
                    p_lost: rng.random_range(0.1..0.5),
                }
            };
            (fault, vec![])
        }
        Cause::SlowTls => (
            Fault::SlowTls {
                extra: rng.random_range(500.0..10_000.0),
            },
            vec![],
        ),
        Cause::SlowBackend => (
            Fault::SlowBackend {
                app: rng.random_range(500.0..10_000.0),
            },
            vec![],
        ),
        Cause::Edge => (
            Fault::Edge {
                extra: rng.random_range(30.0..400.0),
            },
            vec![],
        ),
        Cause::IntegrationTimeout => (
            Fault::IntegrationTimeout {
                fraction: rng.random_range(0.1..1.0),
                // A REST API's 29 s, an HTTP API's 30 s, or a configured timeout.
                limit: [29_000.0, 30_000.0, rng.random_range(1_000.0..28_000.0)][rng.random_range(0..3)],
            },
            vec![],
        ),
        Cause::KeepaliveRace => {
            let timer = rng.random_range(1.0..120.0);
            let window = timer * rng.random_range(0.1..0.3);
            let sweep = vec![
                timer * 0.5,
                timer * 0.8,
                timer + window * 0.3,
                timer + window * 0.7,
                timer + window * 3.0,
                timer * 3.0,
            ];
            (Fault::Race { timer, window }, sweep)
        }
        Cause::Errors => (
            Fault::Errors {
                rate: rng.random_range(0.08..0.5),
            },
            vec![],
        ),
    }
}

#[test]
fn healthy_paths_with_ordinary_jitter_raise_no_finding() {
    check(Cause::Healthy, 200, 0.99);
}

#[test]
fn idle_timers_from_half_a_second_to_350_s() {
    check(Cause::IdleTimeout, 150, 0.98);
}

#[test]
fn one_bad_path_in_two_to_five() {
    check(Cause::BadPath, 150, 0.95);
}

#[test]
fn lost_syns() {
    check(Cause::SynLoss, 150, 0.95);
}

#[test]
fn slow_or_lossy_resolvers() {
    check(Cause::DnsTimeout, 150, 0.98);
}

#[test]
fn slow_handshakes() {
    check(Cause::SlowTls, 150, 0.98);
}

#[test]
fn slow_backends() {
    check(Cause::SlowBackend, 150, 0.98);
}

#[test]
fn an_edge_in_front_of_the_custom_domain() {
    check(Cause::Edge, 150, 0.92);
}

#[test]
fn a_custom_domain_failing_at_the_edge_on_almost_every_request() {
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        let fault = Fault::EdgeErrors {
            rate: rng.random_range(0.9..1.0),
        };
        let (got, titles) = verdict(&run_plan(random_path(&mut rng, fault), seed, &[]));
        assert_eq!(got, Cause::Edge, "seed {seed}: {titles}");
    }
}

/// Issue 15 (a flaky `diagnose --lab errors`): the app fails one request in
/// five on both URLs, and CloudFront marks the custom domain's failures
/// "Error from cloudfront" as it does any origin error. After one burst of
/// five requests each, 2 of 5 against 0 of 5 is luck, not the edge.
#[test]
fn origin_errors_in_a_small_sample_are_not_blamed_on_the_edge() {
    let path = Path {
        rtt: 5.0,
        app: 20.0,
        jitter: 0.05,
        spike_rate: 0.0,
        fault: Fault::Errors { rate: 0.0 },
    };
    let mut sim = Sim::new(path, 1);
    for k in 0..10 {
        sim.probe(k % 2, true, None);
        sim.now = sim.last_end + 0.001;
    }
    let custom: Vec<usize> = (0..10)
        .filter(|&i| &*sim.records[i].target == "custom-domain")
        .collect();
    for &i in &custom[..2] {
        let r = &mut sim.records[i];
        r.status = Some(500);
        r.error = Some(ProbeError {
            kind: ErrorKind::Status,
            phase: Phase::Ttfb,
            message: "status 500".into(),
        });
        r.headers
            .insert("via".into(), "1.1 abc.cloudfront.net (CloudFront)".into());
        r.headers.insert("x-cache".into(), "Error from cloudfront".into());
    }
    let (got, titles) = verdict(&sim.records);
    assert_ne!(got, Cause::Edge, "{titles}");
    assert!(!titles.contains("failed at the edge"), "{titles}");
}

/// X-Ray's split decides where a slow backend's time is: in the app, or on
/// the way to it.
#[test]
fn xray_tells_a_slow_app_from_a_slow_path_to_it() {
    use coldlink::diagnose::xray::{Parts, Spread, XrayEvidence};
    let mut rng = StdRng::seed_from_u64(11);
    let fault = Fault::SlowBackend { app: 900.0 };
    let records = run_plan(random_path(&mut rng, fault), 11, &[]);
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let ds = Dataset::from_records(&records, &kinds, 1.0);
    let spread = |p50: f64| {
        Some(Spread {
            p50,
            p99: p50 * 1.2,
            n: 20,
        })
    };
    let with = |app: Option<f64>| {
        let xray = XrayEvidence {
            probes_looked_up: 20,
            traces_found: 20,
            breakdown_ms: Parts {
                before_gateway: spread(15.0),
                gateway: spread(960.0),
                integration: spread(950.0),
                app: app.and_then(spread),
            },
            ..XrayEvidence::default()
        };
        let ctx = Context {
            xray: Some(xray),
            ..Context::default()
        };
        let (report, _) = diagnose(&ds, &ctx);
        assert_eq!(report.verdict, Cause::SlowBackend, "{:?}", report.findings);
        assert!(report.aws.xray.is_some(), "the evidence is in the report");
        report
            .findings
            .into_iter()
            .find(|f| f.cause == Cause::SlowBackend)
            .unwrap()
    };
    let in_app = with(Some(900.0));
    assert!(
        in_app
            .evidence
            .iter()
            .any(|e| e.contains("the time is in the app")),
        "{in_app:?}"
    );
    let on_path = with(Some(40.0));
    // The path kind is unknown here: both load balancers are named.
    assert!(
        on_path.title.contains("VPC link, NLB or ALB, target"),
        "{on_path:?}"
    );
    assert!(on_path.fix[0].contains("upstream_response_time"), "{on_path:?}");
    let untraced = with(None);
    assert!(
        untraced.evidence.iter().any(|e| e.contains("trace the app")),
        "{untraced:?}"
    );
}

#[test]
fn integration_timeouts() {
    check(Cause::IntegrationTimeout, 150, 0.98);
}

#[test]
fn the_nearer_api_limit_is_named() {
    for (limit, api) in [(29_000.0, "REST API"), (30_000.0, "HTTP API")] {
        let fault = Fault::IntegrationTimeout { fraction: 0.5, limit };
        let mut rng = StdRng::seed_from_u64(7);
        let (got, titles) = verdict(&run_plan(random_path(&mut rng, fault), 7, &[]));
        assert_eq!(got, Cause::IntegrationTimeout, "{titles}");
        assert!(titles.contains(api), "{limit} ms should name the {api}: {titles}");
    }
}

#[test]
fn keepalive_races() {
    check(Cause::KeepaliveRace, 150, 0.9);
}

#[test]
fn plain_errors() {
    check(Cause::Errors, 150, 0.95);
}

/// The confusion table over many draws, for docs/accuracy.md
/// (scripts/accuracy.sh; COLDLINK_TRIALS per cause, default 1000).
#[test]
#[ignore]
fn accuracy_table() {
    let trials: u64 = std::env::var("COLDLINK_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    println!("| fault (synthetic, random parameters) | trials | named right | named instead |");
    println!("|---|---:|---:|---|");
    for cause in Cause::ALL {
        let mut right = 0;
        let mut instead: BTreeMap<String, u64> = BTreeMap::new();
        for seed in 0..trials {
            let mut rng = StdRng::seed_from_u64(seed * 104_729 + cause as u64 + 1);
            let (fault, sweep) = setup(cause, &mut rng);
            let (got, _) = verdict(&run_plan(random_path(&mut rng, fault), seed, &sweep));
            if got == expected(cause, &sweep) {
                right += 1;
            } else {
                *instead.entry(got.to_string()).or_default() += 1;
            }
        }
        let instead: Vec<String> = instead.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        println!(
            "| {cause} | {trials} | {:.1} % | {} |",
            right as f64 / trials as f64 * 100.0,
            instead.join(", ")
        );
    }
    alb::table_rows(trials);
}

/// Records of `path` probed over IPv4 (`v4`) and IPv6 (`path`) at once, as
/// two clients would: the families' probes interleave in time.
fn dual_stack(v4: Path, path: Path, seed: u64, sweep: &[f64]) -> Vec<ProbeRecord> {
    let mut records = run_plan(v4, seed, sweep);
    for r in &mut records {
        r.remote = Some("203.0.113.5:443".parse().unwrap());
    }
    for mut r in run_plan(path, seed + 10_000, sweep) {
        r.remote = Some("[2001:db8::5]:443".parse().unwrap());
        r.run = Some("sim6".into());
        records.push(r);
    }
    records
}

/// Issue 16: every fault set-up probed over both families. A fault on both
/// is not called one family's; a fault on IPv6 alone is called IPv6's when
/// the detector's probes show it beyond chance, and never IPv4's. Causes
/// whose findings account for no single probe (slow-tls, slow-backend, an
/// edge comparison) and the quiet-gap causes (too few first requests per
/// family for Fisher's test) are never called one family's.
#[test]
fn a_fault_on_one_family_is_named_and_one_on_both_is_not() {
    use coldlink::probe::IpFamily;
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let mut false_claims = Vec::new();
    let mut named = BTreeMap::new();
    // Another draw of set-ups: COLDLINK_SEED=7, as for `check`. The floors
    // hold for draws 0–5 (syn-loss is named 20–28 times in 40: a loss of
    // 8 % over 40 new connections is often within chance).
    let base: u64 = std::env::var("COLDLINK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for cause in Cause::ALL {
        for seed in base * 40..(base + 1) * 40 {
            let mut rng = StdRng::seed_from_u64(seed * 7919 + cause as u64);
            let (fault, sweep) = setup(cause, &mut rng);
            let path = random_path(&mut rng, fault);
            let clean = Path {
                fault: Fault::None,
                ..path.clone()
            };
            for v6_only in [false, true] {
                let v4 = if v6_only { clean.clone() } else { path.clone() };
                let ds = Dataset::from_records(&dual_stack(v4, path.clone(), seed, &sweep), &kinds, 1.0);
                let (report, _) = diagnose(&ds, &Context::default());
                for f in report.findings.iter().filter(|f| f.family.is_some()) {
                    if v6_only && f.cause == cause && f.family == Some(IpFamily::Ipv6) {
                        *named.entry(cause).or_insert(0) += 1;
                    } else {
                        false_claims.push(format!(
                            "{cause} seed {seed} {}: {} on {:?}: {}",
                            if v6_only { "on IPv6 only" } else { "on both" },
                            f.cause,
                            f.family,
                            f.title
                        ));
                    }
                }
            }
        }
    }
    // None in draws 0–5 (5760 diagnoses). Before `echoes`, 5 were: slow TLS
    // handshakes whose one family's tail the bad-path detector took for a
    // bad path of that family.
    assert!(false_claims.is_empty(), "{false_claims:#?}");
    let at_least = [
        (Cause::BadPath, 35),
        (Cause::SynLoss, 18),
        (Cause::DnsTimeout, 30),
        (Cause::IntegrationTimeout, 35),
        (Cause::Errors, 35),
    ];
    for (cause, floor) in at_least {
        let n = named.get(&cause).copied().unwrap_or(0);
        assert!(
            n >= floor,
            "{cause} named IPv6's in {n}/40, expected ≥ {floor}: {named:?}"
        );
    }
}

/// Errors at any gap, with an idle sweep around a timer that is not there:
/// failures that fall after a few of the sweep's gaps by chance are not a
/// keep-alive race or an idle timer when probes inside bursts fail as
/// often, and two targets' connections idle over one quiet gap are one
/// period, not two (issue 19). Over the draws COLDLINK_SEED=0…9: none of
/// 100 misread; before those two rules, 4–9.
#[test]
fn random_errors_under_an_idle_sweep_are_not_a_timer() {
    let base: u64 = std::env::var("COLDLINK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let trials = 100;
    let mut wrong = Vec::new();
    for seed in base * trials..(base + 1) * trials {
        let mut rng = StdRng::seed_from_u64(seed * 31 + 5);
        let timer = 0.5 * 700f64.powf(rng.random::<f64>());
        let fault = Fault::Errors {
            rate: rng.random_range(0.08..0.3),
        };
        let path = random_path(&mut rng, fault);
        let (got, titles) = verdict(&run_plan(path, seed, &sweep_around(timer)));
        if got != Cause::Errors {
            wrong.push(format!(
                "seed {seed}, sweep around {timer:.1} s: {got}\n  {titles}"
            ));
        }
    }
    assert!(
        wrong.len() <= 4,
        "{}/{trials} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
