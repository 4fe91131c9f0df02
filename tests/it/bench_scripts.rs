//! Issue 20 §5: the burst benchmark's own machinery. Wall time is read on
//! the monotonic clock (`scripts/lib/timed.py`), instructions per request
//! are the difference of two callgrind runs (`scripts/lib/instructions.sh`),
//! and `scripts/bench-burst.sh` prints the CPU model, the rounds and their
//! summaries. Each test needs tools the suite does not (python3, valgrind,
//! oha, nginx); without them it prints one line saying why and returns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{bin, text};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(why: &str) {
    println!("bench scripts: skipped: {why}");
}

#[test]
fn timed_py_reports_monotonic_elapsed_cpu_and_exit_code() {
    if !on_path("python3") {
        return skip("no python3");
    }
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("timed");
    let outer = Instant::now();
    let status = Command::new("python3")
        .arg(repo().join("scripts/lib/timed.py"))
        .arg(&result)
        .args(["sh", "-c", "sleep 0.2; exit 3"])
        .status()
        .unwrap();
    let outer = outer.elapsed();
    assert_eq!(status.code(), Some(3), "the command's exit code passes through");
    let line = std::fs::read_to_string(&result).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f.len(), 4, "elapsed user sys code: {line:?}");
    let elapsed = Duration::from_secs_f64(f[0].parse().unwrap());
    // Inside our own window, and at least the sleep.
    assert!(elapsed >= Duration::from_millis(200), "{line:?}");
    assert!(elapsed <= outer, "{elapsed:?} > {outer:?} measured around it");
    let cpu: f64 = f[1].parse::<f64>().unwrap() + f[2].parse::<f64>().unwrap();
    assert!(
        cpu < elapsed.as_secs_f64(),
        "a sleeping shell used {cpu} s of CPU"
    );
    assert_eq!(f[3], "3");
}

/// `ir_per_request SHORT LONG CMD…` under bash, from the repository root.
fn ir_per_request(short: u32, long: u32, cmd: &str) -> std::process::Output {
    Command::new("bash")
        .current_dir(repo())
        .args([
            "-c",
            &format!(". scripts/lib/instructions.sh; ir_per_request {short} {long} sh -c '{cmd}'"),
        ])
        .output()
        .unwrap()
}

#[test]
fn instructions_per_request_are_the_difference_of_two_run_lengths() {
    if !on_path("valgrind") || !on_path("python3") {
        return skip("no valgrind or python3");
    }
    // A shell loop of {n} turns, answering like coldlink's summary: its
    // start-up cancels out, what is left is the cost of one turn.
    let looped = r#"i=0; while [ $i -lt {n} ]; do i=$((i+1)); done; echo "probes {n}  ok {n}""#;
    let per_turn = |short, long| {
        let out = ir_per_request(short, long, looped);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().parse::<f64>().unwrap()
    };
    let (a, b) = (per_turn(200, 400), per_turn(400, 800));
    // Start-up cancels: two pairs of lengths give the same cost a turn
    // (measured: 11 680 and 11 686); were start-up left in, the first pair
    // would carry twice the second's share of it.
    assert!(a > 100.0, "{a} instructions a turn");
    assert!((a - b).abs() / b < 0.02, "{a} and {b} instructions a turn");

    // A run that did not answer every request gives no number.
    let short = ir_per_request(200, 400, r#"echo "probes {n}  ok 199""#);
    assert!(!short.status.success(), "{}", text(&short.stdout));
    assert!(
        text(&short.stderr).contains("incomplete"),
        "{}",
        text(&short.stderr)
    );
}

fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn bench_burst_prints_cpu_model_rounds_and_summaries() {
    let missing: Vec<&str> = ["oha", "python3", "git"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if !missing.is_empty() || nginx().is_none() || !Path::new("/usr/bin/time").exists() {
        return skip("needs oha, python3, git, nginx and /usr/bin/time");
    }
    let out = Command::new("bash")
        .arg(repo().join("scripts/bench-burst.sh"))
        .env("COLDLINK", bin())
        .env("ROUNDS", "2")
        .env("N_KEEPALIVE", "300")
        .env("N_FRESH", "100")
        .env("N_MEMORY", "300")
        .env("INSTRUCTIONS", "0")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let machine = stdout.lines().next().unwrap();
    assert!(machine.contains(&format!("CPU: {model}")), "{machine}");

    // Two rounds of two tools on two settings, then the 300-request memory run.
    let rows = |tool: &str| {
        stdout
            .lines()
            .filter(|l| l.starts_with(&format!("| {tool} |")))
            .count()
    };
    assert_eq!(rows("coldlink"), 5, "{stdout}");
    assert_eq!(rows("oha"), 4, "{stdout}");
    for summary in [
        "coldlink / oha, median of rounds",
        "coldlink CPU µs/request (median)",
    ] {
        assert!(stdout.contains(summary), "no {summary:?} summary:\n{stdout}");
    }
    assert_eq!(
        stdout.matches("| keep-alive (50) | 2 |").count(),
        2,
        "both summaries, two rounds each:\n{stdout}"
    );
    assert!(
        stdout.contains("instructions not counted (INSTRUCTIONS=0)"),
        "{stdout}"
    );
}

/// A bad knob stops each benchmark script before it builds or starts
/// anything: exit 2, naming the script, the knob, the value and what would
/// be valid (it was a Python traceback, or a half-run benchmark).
#[test]
fn a_bad_knob_exits_2_naming_it_before_anything_starts() {
    for (script, knob, value, valid) in [
        ("bench-paced.sh", "PROBES", "abc", "a whole number of 1 or more"),
        (
            "bench-paced.sh",
            "INTERVAL",
            "50",
            "a duration above zero with its unit",
        ),
        (
            "bench-paced.sh",
            "COLDLINK",
            "/nonexistent/coldlink",
            "the path of an executable",
        ),
        (
            "bench-burst.sh",
            "IR_KEEPALIVE",
            "10000",
            "2 whole numbers of 1 or more",
        ),
        ("bench-burst.sh", "INSTRUCTIONS", "yes", "0 or 1"),
        (
            "bench-keepwarm.sh",
            "BUSY_INTERVAL",
            "0ms",
            "a duration above zero",
        ),
        ("bench-watch.sh", "BURST_CONC", "0", "a whole number of 1 or more"),
        (
            "bench-instructions.sh",
            "N_KEEPALIVE",
            "-5",
            "a whole number of 1 or more",
        ),
    ] {
        let begun = Instant::now();
        let out = Command::new("bash")
            .arg(repo().join("scripts").join(script))
            .env(knob, value)
            .output()
            .unwrap();
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{script} {knob}={value}: {said}");
        assert!(
            said.contains(&format!("{script}: {knob}='{value}': {valid}")),
            "{script} {knob}={value}: {said}"
        );
        // Refused up front: no build, no nginx, no run.
        assert!(
            begun.elapsed() < Duration::from_secs(5),
            "{script}: {:?}",
            begun.elapsed()
        );
        assert!(text(&out.stdout).is_empty(), "{script}: {}", text(&out.stdout));
    }
}
