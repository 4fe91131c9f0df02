//! A real terminal for tests: a tmux server of the test's own (a socket in
//! a temporary folder, no user configuration), one detached 160×48 session
//! named `t`, keys typed with send-keys and the screen read back with
//! capture-pane. scripts/test.sh installs tmux when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const COLS: u16 = 160;
pub const ROWS: u16 = 48;

/// The session's name, for the tmux commands a test gives itself.
pub const SESSION: &str = "t";

/// A tmux server of the test's own, killed when dropped.
pub struct Tmux {
    dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Tmux {
    /// Start `command` (a shell command line, given the test's folder) in a
    /// detached 160×48 session. Panes stay after their process exits, so
    /// its status can be read.
    pub fn start(command: impl FnOnce(&Path) -> String) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        let conf = dir.path().join("tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let line = command(dir.path());
        let t = Tmux { dir, socket };
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&t.socket)
            .arg("-f")
            .arg(&conf)
            .args([
                "new-session",
                "-d",
                "-s",
                SESSION,
                "-x",
                &COLS.to_string(),
                "-y",
                &ROWS.to_string(),
            ])
            .arg(line)
            .env("TERM", "xterm-256color")
            .env_remove("TMUX")
            .output()
            .expect("tmux runs (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    /// The test's folder (where the command line may write its files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", SESSION])
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    pub fn pane(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", SESSION, format])
            .trim()
            .to_string()
    }

    /// Poll the screen until `done` holds (or fail after `limit`, showing it).
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {limit:?}; the screen:\n{screen}\nstderr:\n{}",
                self.file("stderr")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Wait for the command to end; its exit status (the shell writes it to
    /// the file `code`: tmux 3.3 does not always know a dead pane's status).
    pub fn exit_status(&self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(code) = self.file("code").trim().parse() {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A file in the test's folder ("" when there is none yet).
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// A shell command line that runs `command`, then writes its exit status
/// to `DIR/code` at once (through a temporary file, so that a reader never
/// sees half of it) and exits with it.
pub fn and_save_status(command: &str, dir: &Path) -> String {
    let d = dir.display();
    format!("{command}; code=$?; echo $code > '{d}/code.part'; mv '{d}/code.part' '{d}/code'; exit $code")
}
