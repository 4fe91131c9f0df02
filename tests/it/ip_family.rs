//! Issue 16, IPv4 and IPv6: `-4`, `-6`, `--ip-family both` and a profile's
//! `ip_family` on probe, run, keepwarm and diagnose, against the lab (its
//! names have an A record, 127.0.0.1, and an AAAA record, ::1; its gateway
//! and edge listen on both), and the `ipv6-path` scenario that breaks only
//! ::1. Every test needs IPv6 on loopback and says so when it skips. (A
//! little over 500 lines: one test per command and per refusal, each
//! standing alone.)

use crate::common::{coldlink, text};
use std::collections::BTreeMap;
use std::path::Path;

use coldlink::lab::{listener, Lab, Scenario};
use coldlink::probe::{ErrorKind, IpFamily, Phase, ProbeRecord};

/// False (and a line saying why) when this machine cannot listen on ::1.
fn ipv6_here() -> bool {
    let ok = listener::has_ipv6_loopback();
    if !ok {
        println!("skipped: no IPv6 on loopback here ([::1]:0 cannot be bound)");
    }
    ok
}

fn records(path: &Path) -> Vec<ProbeRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Records per (target, family).
fn by_family(rs: &[ProbeRecord]) -> BTreeMap<(String, Option<IpFamily>), usize> {
    let mut n = BTreeMap::new();
    for r in rs {
        *n.entry((r.target.to_string(), r.family)).or_default() += 1;
    }
    n
}

/// Each record's `family` is the family of the address it connected to.
fn family_matches_remote(rs: &[ProbeRecord]) {
    for r in rs {
        let remote = r.remote.unwrap_or_else(|| panic!("connected: {r:?}"));
        assert_eq!(r.family, Some(IpFamily::of_addr(remote)), "{r:?}");
    }
}

#[test]
fn minus_4_and_minus_6_use_one_family_of_a_dual_stack_name() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (flag, family, ip) in [
        ("-4", IpFamily::Ipv4, "127.0.0.1"),
        ("-6", IpFamily::Ipv6, "::1"),
        ("--ip-family=6", IpFamily::Ipv6, "::1"),
    ] {
        let file = dir.path().join(format!("{flag}.ndjson"));
        let out = coldlink(&[
            "probe",
            "--lab",
            "healthy",
            flag,
            "-n",
            "2",
            "-q",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", text(&out.stderr));
        let rs = records(&file);
        assert_eq!(rs.len(), 4, "{flag}");
        family_matches_remote(&rs);
        for r in &rs {
            assert_eq!(r.family, Some(family), "{flag}: {r:?}");
            assert_eq!(r.remote.unwrap().ip().to_string(), ip, "{flag}");
        }
    }
    // No flag: the resolver's first address, and the record says which.
    let file = dir.path().join("default.ndjson");
    let out = coldlink(&["probe", "--lab", "healthy", "-q", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    family_matches_remote(&records(&file));
}

#[test]
fn both_probes_every_target_on_each_family_under_its_own_name() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("both.ndjson");
    let out = coldlink(&[
        "probe",
        "--lab",
        "healthy",
        "--ip-family",
        "both",
        "-n",
        "3",
        "-q",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rs = records(&file);
    family_matches_remote(&rs);
    let expected: BTreeMap<_, _> = ["execute-api", "custom-domain"]
        .into_iter()
        .flat_map(|t| {
            [
                (t.to_string(), Some(IpFamily::Ipv4)),
                (t.to_string(), Some(IpFamily::Ipv6)),
            ]
        })
        .map(|k| (k, 3))
        .collect();
    assert_eq!(by_family(&rs), expected);
    // Reused connections never cross families: each family's pool is its own.
    for r in rs.iter().filter(|r| r.conn.as_ref().is_some_and(|c| c.reused)) {
        let first = rs
            .iter()
            .find(|o| o.conn.as_ref().map(|c| c.id) == r.conn.as_ref().map(|c| c.id))
            .unwrap();
        assert_eq!(first.family, r.family, "{r:?}");
    }
    // The written field is the documented one.
    let line = std::fs::read_to_string(&file).unwrap();
    assert!(line.contains(r#""family":"ipv6""#) && line.contains(r#""family":"ipv4""#));

    // On screen, two probes of one target differ by their family: said.
    let out = coldlink(&["probe", "--lab", "healthy", "--ip-family", "both", "-n", "2"]);
    let shown = text(&out.stdout);
    for label in [
        "execute-api over IPv4",
        "execute-api over IPv6",
        "custom-domain over IPv6",
    ] {
        assert!(shown.contains(label), "{label}: {shown}");
    }
    let out = coldlink(&["probe", "--lab", "healthy", "--ip-family", "both"]);
    assert!(
        text(&out.stdout).contains("  (execute-api over IPv6)\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_family_the_target_does_not_have_is_refused_or_a_dns_failure() {
    if !ipv6_here() {
        return;
    }
    // An IP literal of the other family: exit 2 before anything is sent,
    // naming the flag and the URL.
    let out = coldlink(&["probe", "-6", "http://127.0.0.1:9/x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("http://127.0.0.1:9/x is an IPv4 address, and --ip-family 6 asks for IPv6 only"),
        "{err}"
    );
    let out = coldlink(&["probe", "--ip-family", "4", "http://[::1]:9/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("http://[::1]:9/ is an IPv6 address"),
        "{}",
        text(&out.stderr)
    );
    // --resolve pins of the other family only.
    let out = coldlink(&[
        "probe",
        "-6",
        "--resolve",
        "api.example.com:443:127.0.0.1",
        "https://api.example.com/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--resolve pins api.example.com:443 to IPv4 addresses only"),
        "{}",
        text(&out.stderr)
    );
    // Bad values and both shorthands at once.
    let out = coldlink(&["probe", "--ip-family", "5", "http://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("'5' is not an address family; expected 4, 6 or both"));
    let out = coldlink(&["probe", "-4", "-6", "http://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );

    // A name with no AAAA record: a dns failure in the record, not a crash.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v4only.ndjson");
    let out = coldlink(&[
        "probe",
        "--lab",
        "healthy",
        "--set",
        "dns.aaaa=false",
        "-6",
        "-q",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rs = records(&file);
    assert_eq!(rs.len(), 2);
    for r in &rs {
        let e = r.error.as_ref().unwrap();
        assert_eq!((e.kind, e.phase), (ErrorKind::Dns, Phase::Dns), "{r:?}");
        assert!(e.message.starts_with("no IPv6 address for "), "{}", e.message);
        assert_eq!(r.family, Some(IpFamily::Ipv6), "the family it was fixed to");
    }

    // `both` on the same names: each is probed on the family it resolves
    // on, IPv4, and a line says why IPv6 is not; nothing fails.
    let file = dir.path().join("both.ndjson");
    let out = coldlink(&[
        "probe",
        "--lab",
        "healthy",
        "--set",
        "dns.aaaa=false",
        "--ip-family",
        "both",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "coldlink: abc123.execute-api.lab.test has no IPv6 address: execute-api is probed over IPv4 only"
        ),
        "{}",
        text(&out.stderr)
    );
    let rs = records(&file);
    assert_eq!(rs.len(), 2);
    assert!(
        rs.iter()
            .all(|r| r.error.is_none() && r.family == Some(IpFamily::Ipv4)),
        "{rs:?}"
    );

    // Diagnosed, the -6 probes' quick "no IPv6 address" answers are an
    // unreachable target, not a DNS server that stalls.
    let out = coldlink(&[
        "diagnose",
        "--lab",
        "healthy",
        "--set",
        "dns.aaaa=false",
        "-6",
        "--format",
        "json",
        "-q",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a report ({e}): {}", text(&out.stderr)));
    assert_ne!(report["verdict"], "dns-timeout", "{report:#}");
    assert_eq!(report["verdict"], "errors", "{report:#}");
}

/// `run --profile` with `[connection] ip_family`, and a bad value there
/// named with its file, line and key.
#[tokio::test]
async fn a_profiles_ip_family_applies_to_run() {
    if !ipv6_here() {
        return;
    }
    let lab = Lab::start_isolated(Scenario::load("healthy", &[]).unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    let with = |value: &str| {
        lab.profile_toml()
            .replace("[connection]\n", &format!("[connection]\nip_family = {value}\n"))
    };
    std::fs::write(&profile, with("\"6\"")).unwrap();
    let file = dir.path().join("run.ndjson");
    let (p, f) = (profile.clone(), file.clone());
    let out = tokio::task::spawn_blocking(move || {
        coldlink(&[
            "run",
            "--profile",
            p.to_str().unwrap(),
            "--duration",
            "1500ms",
            "-q",
            "--out",
            f.to_str().unwrap(),
        ])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rs = records(&file);
    assert!(rs.len() >= 2, "{rs:?}");
    family_matches_remote(&rs);
    assert!(rs.iter().all(|r| r.family == Some(IpFamily::Ipv6)), "{rs:?}");

    std::fs::write(&profile, with("\"7\"")).unwrap();
    let p = profile.clone();
    let out = tokio::task::spawn_blocking(move || {
        coldlink(&["run", "--profile", p.to_str().unwrap(), "--duration", "1s"])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("connection.ip_family: '7' is not an address family; expected 4, 6 or both"),
        "{err}"
    );
    assert!(err.contains(&format!("{}:", profile.display())), "{err}");
}

#[test]
fn keepwarm_once_gives_a_line_per_target_and_family() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kw.ndjson");
    let lock = dir.path().join("lock");
    let out = coldlink(&[
        "keepwarm",
        "--once",
        "--lab",
        "healthy",
        "--ip-family",
        "both",
        "--lock",
        lock.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .map(|l| l.split("  ").next().unwrap().trim())
        .collect();
    assert_eq!(
        names,
        [
            "execute-api IPv4",
            "execute-api IPv6",
            "custom-domain IPv4",
            "custom-domain IPv6"
        ],
        "{stdout}"
    );
    let rs = records(&file);
    family_matches_remote(&rs);
    assert_eq!(rs.len(), 4);
}

#[test]
fn diagnose_lab_live_plan_probes_the_family_asked_for() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("diag.ndjson");
    let out = coldlink(&[
        "diagnose",
        "--lab",
        "healthy",
        "--quick",
        "-6",
        "--records",
        file.to_str().unwrap(),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    let rs = records(&file);
    assert!(!rs.is_empty());
    family_matches_remote(&rs);
    assert!(rs.iter().all(|r| r.family == Some(IpFamily::Ipv6)));
}

/// The `ipv6-path` scenario: with `--ip-family both`, the IPv4 records are
/// clean and the execute-api's IPv6 records show lost SYNs (connects of
/// about 1 s, the kernel's retransmission). Probes every 250 ms for 3 s on
/// new connections: the gate drops SYNs for 0.75 s of every 2.5 s, so
/// several IPv6 connects land in a closed window, deterministically.
#[test]
fn ipv6_path_breaks_only_ipv6() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v6path.ndjson");
    let out = coldlink(&[
        "probe",
        "--lab",
        "ipv6-path",
        "--ip-family",
        "both",
        "-n",
        "12",
        "--interval",
        "250ms",
        "--connections",
        "fresh",
        "-c",
        "8",
        "-q",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    let rs = records(&file);
    family_matches_remote(&rs);
    assert_eq!(rs.len(), 48);
    let connect = |r: &ProbeRecord| r.phases_ms.connect.unwrap_or(0.0);
    let stalled = |r: &&&ProbeRecord| connect(r) >= 900.0;
    let v4: Vec<&ProbeRecord> = rs.iter().filter(|r| r.family == Some(IpFamily::Ipv4)).collect();
    let v6_gateway: Vec<&ProbeRecord> = rs
        .iter()
        .filter(|r| r.family == Some(IpFamily::Ipv6) && &*r.target == "execute-api")
        .collect();
    assert_eq!((v4.len(), v6_gateway.len()), (24, 12));
    assert!(v4.iter().all(|r| r.error.is_none()), "IPv4 is healthy");
    assert_eq!(v4.iter().filter(stalled).count(), 0, "no IPv4 SYN is lost");
    let lost = v6_gateway.iter().filter(stalled).count();
    assert!(
        lost >= 2,
        "IPv6 connects: {:?}",
        v6_gateway.iter().map(|r| connect(r)).collect::<Vec<_>>()
    );
    // A lost SYN costs one retransmission, never two.
    assert!(v6_gateway.iter().all(|r| connect(r) < 2500.0));
}

/// With the family fixed, DNS asks for that record type only (one query,
/// A), where the default asks for A and AAAA; a name without AAAA probed
/// with `-6` is a dns failure that says so. The loopback DNS server of the
/// tests answers A 127.0.0.1 and no AAAA.
#[tokio::test]
async fn a_fixed_family_asks_dns_for_its_record_type_only() {
    use std::sync::atomic::Ordering;

    use crate::common::{start, start_dns, Behavior, Dns};

    let server = start(Behavior::Ok).await;
    let url = format!("http://api.test:{}/", server.addr.port());
    let run = |dns: String, flag: &'static str, url: String| {
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["probe", "--dns-server", &dns, &url];
            if !flag.is_empty() {
                args.push(flag);
            }
            coldlink(&args)
        })
    };
    let (dns, queries) = start_dns(Dns::Loopback {
        delay: std::time::Duration::ZERO,
    })
    .await;
    let out = run(dns.to_string(), "-4", url.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(queries.load(Ordering::SeqCst), 1, "one A query");

    let (dns, queries) = start_dns(Dns::Loopback {
        delay: std::time::Duration::ZERO,
    })
    .await;
    let out = run(dns.to_string(), "", url.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(queries.load(Ordering::SeqCst) >= 2, "A and AAAA by default");

    let (dns, _) = start_dns(Dns::Loopback {
        delay: std::time::Duration::ZERO,
    })
    .await;
    let out = run(dns.to_string(), "-6", url).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("no IPv6 address for api.test"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(server.requests().len(), 2, "the -6 probe sent nothing");
}

/// `diagnose --lab ipv6-path` as it comes (its profile sets `ip_family =
/// "both"`): the verdict is the scenario's cause id, `syn-loss`, on the
/// execute-api URL, and the plan probed both families.
#[test]
fn diagnose_lab_ipv6_path_names_syn_loss() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v6.ndjson");
    let out = coldlink(&[
        "diagnose",
        "--lab",
        "ipv6-path",
        "--format",
        "json",
        "-q",
        "--records",
        file.to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a report ({e}): {}", text(&out.stderr)));
    assert_eq!(report["verdict"], "syn-loss", "{report:#}");
    assert_eq!(out.status.code(), Some(1));
    let rs = records(&file);
    family_matches_remote(&rs);
    for family in [IpFamily::Ipv4, IpFamily::Ipv6] {
        assert!(rs.iter().any(|r| r.family == Some(family)), "{family} probed");
    }
    // Only IPv6 connects to the gateway stall.
    assert!(rs
        .iter()
        .filter(|r| r.phases_ms.connect.unwrap_or(0.0) >= 900.0)
        .all(|r| r.family == Some(IpFamily::Ipv6) && &*r.target == "execute-api"));
}

/// The whole way, engine to verdict: a paced `run` over the lab's
/// `ipv6-path` (each probe lands in the ::1 gate's closed window by chance,
/// as on a lossy path), then `diagnose --from` its records names the fault
/// IPv6's alone. The quick plan of `diagnose --lab` sends its probes back to
/// back, so its few stalls stay within chance (the test above); 30 s of a
/// schedule give a dozen stalls against none on IPv4.
#[test]
fn a_paced_run_over_ipv6_path_is_diagnosed_as_ipv6s_alone() {
    if !ipv6_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v6.ndjson");
    let path = file.to_str().unwrap();
    let out = coldlink(&[
        "run",
        "--lab",
        "ipv6-path",
        "--duration",
        "30s",
        "-q",
        "--out",
        path,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = coldlink(&["diagnose", "--from", path, "--format", "json", "-q"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a report ({e}): {}", text(&out.stderr)));
    assert_eq!(report["verdict"], "syn-loss", "{report:#}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "syn-loss")
        .unwrap();
    assert_eq!(finding["family"], "ipv6", "{finding:#}");
    let title = finding["title"].as_str().unwrap();
    assert!(
        title.starts_with("The IPv6 path loses SYNs; IPv4 is clean."),
        "{title}"
    );
    assert!(
        finding["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("only IPv6 shows it: "),
        "{finding:#}"
    );
}

/// `watch` needs a terminal: its configuration shows the targets it would
/// probe, one per family under one name, and one dashboard panel for both.
#[test]
fn watch_probes_each_family_in_one_panel() {
    use clap::Parser;
    use coldlink::cli::{Cli, Command as Sub};
    use coldlink::config::{FromArgs, WatchConfig};

    let watch = |extra: &[&str]| {
        let mut argv = vec!["coldlink", "watch"];
        argv.extend_from_slice(extra);
        let Sub::Watch(args) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        WatchConfig::from_args(&args, None)
    };
    let cfg = watch(&["https://api.example.com/x", "--ip-family", "both"]).unwrap();
    let targets: Vec<_> = cfg.targets.iter().map(|t| (&*t.name, t.family)).collect();
    assert_eq!(
        targets,
        [
            ("api.example.com/x", Some(IpFamily::Ipv4)),
            ("api.example.com/x", Some(IpFamily::Ipv6))
        ]
    );
    assert_eq!(coldlink::tui::meta(&cfg).targets.len(), 1);
    let e = watch(&["http://[::1]:9/", "-4"]).unwrap_err();
    assert!(e.to_string().contains("is an IPv6 address"), "{e}");
}
