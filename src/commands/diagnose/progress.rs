//! `diagnose`'s progress on stderr (stdout is for the report).

use std::io::IsTerminal;
use std::time::Duration;

/// Progress on stderr (stdout is for the report): a line per stage, and on
/// a terminal a status line with the probes done and the time left.
pub struct Progress {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template("coldlink diagnose: {msg}")
                    .expect("a fixed template"),
            );
            bar
        });
        Progress { quiet, bar }
    }

    pub fn say(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let line = format!("coldlink diagnose: {}", line.as_ref());
        match &self.bar {
            Some(bar) => bar.suspend(|| crate::say!("{line}")),
            None => crate::say!("{line}"),
        }
    }

    /// The status line (a terminal only): what is running, and the time
    /// left, real seconds.
    /// `what` is only made when there is a terminal to show it on.
    pub fn status(&self, what: impl FnOnce() -> String, left: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} · about {} left",
                what(),
                crate::format::time_left(left)
            ));
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
