//! Lost SYNs on the real kernel: a throw-away network namespace
//! (`scripts/lib/netns.sh`) where nftables drops a fixed pattern of SYNs to
//! a local HTTP server, `coldlink probe` run inside it, and `diagnose
//! --from` reading the records. The records must carry the namespace's own
//! SYN settings (set apart from the machine's here), and the stalls must be
//! read against the schedule those settings give.
//!
//! Needs root and nft; prints a line saying it skipped without them.

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::{bin, read_until_line, text};

const NETNS_LIB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/netns.sh");

/// Run `script` in bash with netns.sh sourced; its stdout.
fn netns(script: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e; . {NETNS_LIB}; {script}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// The namespaces of one owner: a `cat` of our own, so that teardown
/// touches only these (the test process's pid may own other tests'
/// namespaces). Its stdin is a pipe only this process holds: if the test
/// process dies however it dies (a panic, SIGKILL), the pipe closes, `cat`
/// exits, and the namespaces and the server in them are stale at once for
/// `netns_reap_stale`.
struct Namespaces {
    owner: Child,
}

impl Namespaces {
    fn new() -> Self {
        let owner = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Namespaces { owner }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        netns(&format!("netns_teardown {}", self.owner.id()));
        let _ = self.owner.kill();
        let _ = self.owner.wait();
    }
}

fn skip_reason() -> Option<&'static str> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    if !root {
        return Some("needs root (network namespaces, nftables)");
    }
    let nft = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
        .iter()
        .any(|p| Path::new(p).exists());
    if !nft {
        return Some("`nft` is not installed (apt-get install nftables)");
    }
    None
}

/// With the 1st–4th SYN of one connect dropped and the 1st–5th of the
/// next, the connects finish at the kernel's 4th and 5th retransmission:
/// 4 s and 5 s on a linear-first kernel, which the exponential marks
/// (1, 3, 7 s) do not have. The records say the namespace's settings
/// (`tcp_syn_retries` 5 here, where the machine has its own), and the
/// finding is `syn-loss` on those marks.
#[test]
fn lost_syns_are_read_on_the_schedule_of_the_namespace_they_ran_in() {
    if let Some(why) = skip_reason() {
        println!("skipped lost_syns_are_read_on_the_schedule_of_the_namespace_they_ran_in: {why}");
        return;
    }
    let guard = Namespaces::new();
    let id = guard.owner.id();
    let ns = netns(&format!("netns_reap_stale; netns_new {id} syn"));
    let linear: u8 = netns(&format!(
        "ip netns exec {ns} cat /proc/sys/net/ipv4/tcp_syn_linear_timeouts"
    ))
    .parse()
    .unwrap_or(0);
    if linear < 4 {
        println!("skipped lost_syns_are_read_on_the_schedule_of_the_namespace_they_ran_in: this kernel has no tcp_syn_linear_timeouts ≥ 4 by default");
        return;
    }
    // SYN n (counting from 0, modulo 13) to port 8080 is dropped for n in
    // 0–3 and 5–9: connects lose 4 SYNs, then 5, then none, then none.
    netns(&format!(
        "ip netns exec {ns} sysctl -qw net.ipv4.tcp_syn_retries=5
         ip netns exec {ns} nft -f - <<'EOF'
table inet clk {{
  chain input {{
    type filter hook input priority 0;
    tcp dport 8080 tcp flags syn numgen inc mod 13 {{ 0-3, 5-9 }} drop
  }}
}}
EOF"
    ));
    let mut server = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-u", "-m", "http.server", "8080"])
        .args(["--bind", "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    read_until_line(&mut stdout, "Serving HTTP");

    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            bin(),
            "probe",
            "-n",
            "4",
            "--connections",
            "fresh",
        ])
        .args(["--connect-timeout", "15s", "--format", "ndjson"])
        .arg("http://127.0.0.1:8080/")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let records: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let connects: Vec<f64> = records
        .iter()
        .map(|r| r["phases_ms"]["connect"].as_f64().unwrap())
        .collect();
    // The retransmission timer fires late by a few jiffies, never early.
    let near = |ms: f64, mark: f64| ms >= mark && ms < mark + 400.0;
    assert!(
        near(connects[0], 4_000.0) && near(connects[1], 5_000.0),
        "{connects:?}"
    );
    assert!(connects[2] < 100.0 && connects[3] < 100.0, "{connects:?}");
    for r in &records {
        assert_eq!(
            r["syn_sysctls"],
            serde_json::json!({"tcp_syn_retries": 5, "tcp_syn_linear_timeouts": linear}),
            "the namespace's settings, not the machine's"
        );
    }

    // Read elsewhere (`--from`, outside the namespace), the records still
    // say which marks count.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.ndjson");
    std::fs::write(&file, &stdout).unwrap();
    let out = Command::new(bin())
        .args(["diagnose", "--from"])
        .arg(&file)
        .args(["--format", "json"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let findings = report["findings"].as_array().expect("findings");
    let syn = findings
        .iter()
        .find(|f| f["cause"] == "syn-loss")
        .unwrap_or_else(|| panic!("no syn-loss finding: {report:#}"));
    let evidence = syn["evidence"][0].as_str().unwrap();
    let expected = format!("2 of 2 stalls sit near the SYN retransmission marks of the kernel the probes ran on, 1, 2, 3, 4, 5, 7, 11 s … (tcp_syn_linear_timeouts {linear}, tcp_syn_retries 5)");
    assert!(evidence.starts_with(&expected), "{evidence}");
    assert!(syn["title"].as_str().unwrap().contains("lost SYNs"), "{syn:#}");
}
