//! `coldlink watch` in a real terminal: tmux runs it on a lab scenario, the
//! test types keys and reads the screen back with capture-pane, then checks
//! that the process exited 0 and left the terminal as it found it (normal
//! screen, canonical mode, echo on).
//!
//! tmux is a test dependency: scripts/test.sh installs it (apt-get) when it
//! is missing. Each test runs its own tmux server on a socket in a temporary
//! folder, with no user configuration.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::bin;
use common::tmux::{Tmux, COLS, SESSION};

/// `coldlink watch ARGS` in the pane, stderr to a file; after it, the
/// shell saves the terminal's modes (`stty -a`) and coldlink's exit status.
fn watch(args: &str) -> Tmux {
    watch_with(
        "",
        &format!("{args} --out '{{dir}}/records.ndjson' 2>'{{dir}}/stderr'"),
    )
}

/// As [`watch`], with `env` (`NAME=value …`) before the command and `rest`
/// after `watch`, as written (`{dir}` is the test's folder).
fn watch_with(env: &str, rest: &str) -> Tmux {
    Tmux::start(|dir| {
        let d = dir.display();
        let rest = rest.replace("{dir}", &d.to_string());
        format!(
            "{env} '{}' watch {rest}; code=$?; stty -a > '{d}/stty'; echo $code > '{d}/code.part'; mv '{d}/code.part' '{d}/code'; exit $code",
            bin()
        )
    })
}

/// The lines of the findings panel (the bottom left box).
fn findings_panel(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("┌ findings"))
        .expect("a findings panel");
    lines[top..]
        .iter()
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.chars().take(COLS as usize * 2 / 5).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_terminal_restored(t: &Tmux) {
    assert_eq!(t.pane("#{alternate_on}"), "0", "left the alternate screen");
    let stty = t.file("stty");
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            stty.split_whitespace().any(|w| w == mode),
            "{mode} restored:\n{stty}"
        );
    }
}

fn probes_said(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("coldlink watch: "))
        .unwrap_or_else(|| panic!("a closing line on stderr:\n{stderr}"));
    line["coldlink watch: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The end-to-end test: panels, `b`, the cause named, `q`.
#[test]
fn watch_on_the_bad_path_lab_names_the_cause_and_quits_cleanly() {
    let t = watch("--lab bad-path");
    t.wait_for("panels", Duration::from_secs(60), |s| {
        s.contains("latency over time") && s.contains("┌ phases") && s.contains("┌ findings")
    });
    t.keys(&["b"]);
    let screen = t.wait_for(
        "the burst done and bad-path in the findings panel",
        Duration::from_secs(90),
        |s| s.contains("burst done") && findings_panel(s).contains("bad-path"),
    );
    assert!(
        screen.contains("custom-domain") && screen.contains("execute-api"),
        "{screen}"
    );
    t.keys(&["q"]);
    assert_eq!(t.exit_status(Duration::from_secs(30)), 0, "{}", t.file("stderr"));
    assert_terminal_restored(&t);

    // Nothing lost: every probe counted is in the records file, and parses.
    let records = t.file("records.ndjson");
    let parsed: Vec<coldlink::probe::ProbeRecord> = records
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect();
    assert_eq!(parsed.len(), probes_said(&t.file("stderr")));
    assert!(
        parsed.len() >= 60,
        "the burst's 60 probes and the schedule's: {}",
        parsed.len()
    );
    let mut seqs: Vec<u64> = parsed.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=parsed.len() as u64).collect::<Vec<_>>(),
        "one sequence"
    );
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let t = watch("--lab healthy");
    t.wait_for("panels", Duration::from_secs(60), |s| s.contains("┌ findings"));
    t.keys(&["C-c"]);
    assert_eq!(t.exit_status(Duration::from_secs(30)), 0, "{}", t.file("stderr"));
    assert_terminal_restored(&t);
}

#[test]
fn sigterm_quits_and_restores_the_terminal() {
    let t = watch("--lab healthy");
    t.wait_for("panels", Duration::from_secs(60), |s| s.contains("┌ findings"));
    let shell = t.pane("#{pane_pid}");
    let out = Command::new("pkill")
        .args(["-TERM", "-P", &shell, "-f", "coldlink"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pkill found coldlink under the pane's shell"
    );
    assert_eq!(t.exit_status(Duration::from_secs(30)), 0, "{}", t.file("stderr"));
    assert_terminal_restored(&t);
}

/// The keys an SRE presses first do what the help says, on a real screen.
#[test]
fn help_pause_and_keep_warm_show_on_screen() {
    let t = watch("--lab healthy");
    t.wait_for("panels", Duration::from_secs(60), |s| {
        s.contains("schedule running")
    });
    t.keys(&["?"]);
    t.wait_for("the help", Duration::from_secs(10), |s| {
        s.contains("keys · Esc close")
    });
    // Esc alone: Esc and a key in one write read as Alt+key.
    t.keys(&["Escape"]);
    t.wait_for("the help closed", Duration::from_secs(10), |s| {
        !s.contains("keys · Esc close")
    });
    t.keys(&["p"]);
    t.wait_for("the schedule paused", Duration::from_secs(10), |s| {
        s.contains("schedule paused")
    });
    t.keys(&["k"]);
    t.wait_for("keep-warm on", Duration::from_secs(10), |s| {
        s.contains("keep-warm every")
    });
    t.keys(&["q"]);
    assert_eq!(t.exit_status(Duration::from_secs(30)), 0, "{}", t.file("stderr"));
}

/// Log lines (here hickory's and rustls's at debug level) never draw over
/// the dashboard: with stderr on the terminal, they are held, the footer
/// says so, and they are written to the terminal once it is given back.
#[test]
fn log_lines_wait_for_the_terminal_to_be_given_back() {
    let t = watch_with("RUST_LOG=debug", "--lab healthy");
    // Held lines announced (in full first, then counted), and a probe done:
    // its DNS lookup's lines (hickory) are among the held ones.
    let probes = |s: &str| -> u64 {
        s.split_once(" probes, ")
            .and_then(|(before, _)| before.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    };
    let screen = t.wait_for(
        "held log lines announced, and a probe",
        Duration::from_secs(60),
        |s| {
            (s.contains("log lines are held until you quit; the first:") || s.contains(" log lines held · "))
                && probes(s) >= 1
        },
    );
    let lines: Vec<&str> = screen.lines().collect();
    let footer = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .expect("a non-empty screen");
    for line in &lines[..footer] {
        assert!(
            !line.contains("DEBUG") && !line.contains("hickory"),
            "a log line on the dashboard:\n{screen}"
        );
    }
    assert!(
        screen.starts_with("coldlink watch"),
        "the header is the first line:\n{screen}"
    );
    t.keys(&["q"]);
    assert_eq!(t.exit_status(Duration::from_secs(30)), 0);
    let after = t.tmux(&["capture-pane", "-p", "-S", "-", "-t", SESSION]);
    assert!(
        after.contains("DEBUG") && after.contains("hickory"),
        "the held lines, once the terminal is back:\n{after}"
    );
}

/// With stderr sent to a file, log lines go there as they come: nothing is
/// held, nothing said in the footer.
#[test]
fn log_lines_go_to_a_file_as_they_come() {
    let t = watch_with("RUST_LOG=debug", "--lab healthy 2>'{dir}/stderr'");
    t.wait_for("panels", Duration::from_secs(60), |s| s.contains("┌ findings"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !t.file("stderr").contains("hickory") {
        assert!(
            Instant::now() < deadline,
            "no DNS log line in the file while running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = t.screen();
    assert!(!screen.contains("log lines"), "{screen}");
    t.keys(&["q"]);
    assert_eq!(t.exit_status(Duration::from_secs(30)), 0);
}

/// The example that stands in for a panicking dashboard (built by `cargo
/// test`; a filtered run builds it here).
fn panic_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/watch_panic");
    if !example.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(cargo)
            .args(["build", "--example", "watch_panic"])
            .status()
            .unwrap();
        assert!(built.success() && example.exists(), "{}", example.display());
    }
    example
}

fn run_panic_example(arg: &str) -> Tmux {
    let example = panic_example();
    Tmux::start(|dir| {
        let d = dir.display();
        format!(
            "'{}' {arg} 2>'{d}/stderr'; code=$?; stty -a > '{d}/stty'; echo $code > '{d}/code.part'; mv '{d}/code.part' '{d}/code'",
            example.display()
        )
    })
}

/// A panic on the screen's thread restores the terminal (ratatui's hook).
/// examples/watch_panic.rs enters the screen as watch does and panics.
#[test]
fn a_panic_restores_the_terminal() {
    let t = run_panic_example("");
    assert_eq!(t.exit_status(Duration::from_secs(30)), 101, "a panic's exit code");
    assert!(
        t.file("stderr").contains("on purpose"),
        "the panic message is printed: {}",
        t.file("stderr")
    );
    assert_terminal_restored(&t);
}

/// A panic on another thread (a probe task) leaves the screen up and is
/// kept for the dashboard's error line; the screen is restored when the
/// dashboard ends.
#[test]
fn a_panic_off_the_screens_thread_is_kept_for_the_dashboard_to_end_with() {
    let t = run_panic_example("off-thread");
    assert_eq!(t.exit_status(Duration::from_secs(30)), 3, "{}", t.file("stderr"));
    let stderr = t.file("stderr");
    assert!(
        stderr.contains("a panic on thread probe-task") && stderr.contains("off the screen's thread"),
        "{stderr}"
    );
    assert_terminal_restored(&t);
}
