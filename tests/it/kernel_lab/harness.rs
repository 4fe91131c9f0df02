//! One kernel lab per test: `scripts/kernel-lab.sh up` builds it under the
//! test process's pid (so a killed run's namespaces are reaped by the next
//! one), and dropping the guard tears it down, on a panic too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::bin;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kernel-lab.sh");

/// The script, for tests that call it themselves.
pub fn script() -> &'static str {
    SCRIPT
}

/// Where each scenario's records, report and gateway log are kept, for a
/// later comparison with the in-process lab's: `target/kernel-lab/`.
pub fn kept_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target folder")
        .join("kernel-lab")
}

/// A running lab; `Drop` runs `scripts/kernel-lab.sh down`.
pub struct KernelLab {
    scenario: String,
    lab: String,
    env: HashMap<String, String>,
    dir: TempDir,
}

/// What `coldlink diagnose` said, and the records it kept.
pub struct Diagnosis {
    pub report: Value,
    pub records: Vec<Value>,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Diagnosis {
    pub fn verdict(&self) -> &str {
        self.report["verdict"].as_str().unwrap_or("")
    }

    /// The finding of this cause, if any.
    pub fn finding(&self, cause: &str) -> Option<&Value> {
        self.report["findings"]
            .as_array()?
            .iter()
            .find(|f| f["cause"] == cause)
    }

    /// Verdict, then each finding in one line: what a failing assertion shows.
    pub fn said(&self) -> String {
        let mut s = format!("verdict {}: {}\n", self.verdict(), self.report["summary"]);
        for f in self.report["findings"].as_array().into_iter().flatten() {
            s += &format!(
                "  {} {} {}: {}\n",
                f["cause"], f["severity"], f["confidence"], f["title"]
            );
            for e in f["evidence"].as_array().into_iter().flatten() {
                s += &format!("    · {e}\n");
            }
        }
        s
    }
}

/// `scripts/kernel-lab.sh check`: `None` when the lab can run here, else
/// its skip line (printed here too: the caller returns, skipped).
pub fn cannot_run() -> Option<String> {
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg("check")
        .output()
        .expect("run scripts/kernel-lab.sh check");
    if out.status.code() == Some(77) {
        let line = skip_line(&out);
        eprintln!("{line}");
        return Some(line);
    }
    assert!(
        out.status.success(),
        "kernel-lab.sh check: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    None
}

/// The network namespaces here (`ip netns list`, names only).
pub fn namespaces() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The namespaces of lab `lab` (PID-TAG).
pub fn namespaces_of(lab: &str) -> Vec<String> {
    let prefix = format!("clk-{lab}-");
    namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// Whether process PID runs (a zombie, killed and waiting for its parent
/// to reap it, does not).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Poll `done` every 50 ms until it holds or `secs` have passed; whether
/// it held.
pub fn within(secs: f64, mut done: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn skip_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find(|l| l.starts_with("kernel lab: skipped:"))
        .unwrap_or("kernel lab: skipped: scripts/kernel-lab.sh exited 77")
        .to_string()
}

impl KernelLab {
    /// Build SCENARIO's lab, or print why it cannot run here and return
    /// `None` (the caller returns: skipped, never passed silently).
    pub fn up(scenario: &str) -> Option<KernelLab> {
        KernelLab::up_tagged(scenario, scenario)
    }

    /// The same, as lab `PID-TAG`: tests running the same scenario at once
    /// need tags of their own.
    pub fn up_tagged(scenario: &str, tag: &str) -> Option<KernelLab> {
        let dir = tempfile::Builder::new().prefix("kernel-lab").tempdir().unwrap();
        let owner = std::process::id().to_string();
        let out = Command::new("bash")
            .arg(SCRIPT)
            .args(["up", scenario, "--owner", &owner, "--tag", tag, "--dir"])
            .arg(dir.path())
            .output()
            .expect("run scripts/kernel-lab.sh");
        if out.status.code() == Some(77) {
            eprintln!("{}", skip_line(&out));
            return None;
        }
        let lab = format!("{owner}-{tag}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Torn down even when the script failed part-way.
        let mut guard = KernelLab {
            scenario: scenario.to_string(),
            lab,
            env: HashMap::new(),
            dir,
        };
        assert!(
            out.status.success(),
            "kernel-lab.sh up {scenario}: {}{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{stdout}");
        let env_file = std::fs::read_to_string(guard.dir.path().join("lab.env")).unwrap();
        guard.env = env_file
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Some(guard)
    }

    fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lab.env has no {key}"))
    }

    /// The lab's files: nginx's and dnsmasq's configs and logs.
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// The pid in one of the lab's pid files (`gw.pid`, `be.pid`,
    /// `dnsmasq.pid`).
    pub fn pid(&self, file: &str) -> u32 {
        let text = self.file(file);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{file} holds no pid: {text:?}"))
    }

    /// PID-TAG, as `up` named it.
    pub fn name(&self) -> &str {
        &self.lab
    }

    /// `coldlink diagnose` in the client namespace with the scenario's plan,
    /// `--format json` and `--records`; the records, the report and the
    /// gateway's access log are kept in [`kept_dir`] under the scenario's
    /// name.
    pub fn diagnose(&self) -> Diagnosis {
        let kept = kept_dir();
        std::fs::create_dir_all(&kept).unwrap();
        let records = kept.join(format!("{}.ndjson", self.scenario));
        let _ = std::fs::remove_file(&records); // --records appends
        let out = Command::new("ip")
            .args(["netns", "exec", self.var("KLAB_NS"), bin(), "diagnose"])
            .args(self.var("KLAB_URLS").split_whitespace())
            .args(["--dns-server", self.var("KLAB_DNS")])
            .args(self.var("KLAB_PLAN").split_whitespace())
            .args(["--format", "json", "--quiet", "--records"])
            .arg(&records)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .output()
            .expect("run coldlink diagnose in the client namespace");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}), exit {}: {stderr}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            )
        });
        std::fs::write(
            kept.join(format!("{}.report.json", self.scenario)),
            serde_json::to_string_pretty(&report).unwrap(),
        )
        .unwrap();
        std::fs::write(
            kept.join(format!("{}.gateway.log", self.scenario)),
            self.file("gw-access.log"),
        )
        .unwrap();
        let text = std::fs::read_to_string(&records).unwrap_or_default();
        let records = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let d = Diagnosis {
            report,
            records,
            stderr,
            code: out.status.code(),
        };
        eprintln!(
            "kernel lab {}: records in {}\n{}",
            self.scenario,
            kept.join(format!("{}.ndjson", self.scenario)).display(),
            d.said()
        );
        d
    }
}

impl Drop for KernelLab {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(SCRIPT)
            .args(["down", &self.lab])
            .output();
        if let Ok(out) = out {
            // 2: no such lab (an `up` that failed removed what it built).
            if !out.status.success() && out.status.code() != Some(2) {
                eprintln!(
                    "kernel-lab.sh down {}: {}",
                    self.lab,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// `down LAB` on the way out, so that a failing assertion leaves no lab
/// (a hand-started one would live until `down`).
pub struct Down(pub String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(SCRIPT).args(["down", &self.0]).output();
    }
}
