//! Where log lines go: stderr, except while the dashboard owns the
//! terminal. Then a line written to stderr would be drawn over the screen,
//! so lines are held (the newest [`HELD_MAX`]) and written out when the
//! terminal is given back.

/// `eprintln!` that never panics: a line for a closed stderr (the reader
/// of `2>&1 | head` gone) is dropped, where `eprintln!` would end the
/// command with a panic (exit 101) in the middle of its work.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Mutex;

/// Lines kept while held; older ones are counted, not kept.
pub const HELD_MAX: usize = 500;

#[derive(Default)]
struct Held {
    lines: VecDeque<String>,
    /// Lines held so far, including the ones no longer kept.
    count: u64,
}

/// `None`: lines go straight to stderr.
static HELD: Mutex<Option<Held>> = Mutex::new(None);

/// The `tracing` writer: one per event, which it sends on when dropped.
pub fn writer() -> LogWriter {
    LogWriter(Vec::new())
}

pub struct LogWriter(Vec<u8>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        match held.as_mut() {
            Some(held) => {
                held.count += 1;
                if held.lines.len() == HELD_MAX {
                    held.lines.pop_front();
                }
                held.lines
                    .push_back(String::from_utf8_lossy(&self.0).into_owned());
            }
            None => {
                drop(held);
                let _ = io::stderr().write_all(&self.0);
            }
        }
    }
}

/// stderr for a command's status lines, written as [`say!`](crate::say)
/// writes: a line for a closed stderr (the reader of `2>&1 | head` gone)
/// is dropped, never an error. A daemon's start line or outage line
/// returned the broken pipe, and ended the daemon.
pub fn stderr() -> Stderr {
    Stderr
}

/// See [`stderr`].
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// Hold lines from now on (the dashboard has the terminal).
pub fn hold() {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.get_or_insert_with(Held::default);
}

/// Write the held lines to stderr, and let lines through again. Safe to
/// call more than once.
pub fn release() {
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner()).take();
    let Some(held) = held else { return };
    let mut err = io::stderr().lock();
    let dropped = held.count - held.lines.len() as u64;
    if dropped > 0 {
        let _ = writeln!(
            err,
            "coldlink: {dropped} earlier log lines were not kept while the dashboard ran"
        );
    }
    for line in held.lines {
        let _ = err.write_all(line.as_bytes());
    }
}

/// How many lines have been held so far, and the oldest kept as one plain
/// line (no colours, no timestamp, its first line only), for the
/// dashboard to say so.
pub fn held() -> (u64, Option<String>) {
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    match held.as_ref() {
        Some(h) => (h.count, h.lines.front().map(|l| plain(l))),
        None => (0, None),
    }
}

/// A formatted event as one line of text: colour codes out, the leading
/// timestamp out, the first line only.
fn plain(event: &str) -> String {
    let mut text = String::with_capacity(event.len());
    let mut chars = event.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters… final letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            text.push(c);
        }
    }
    let first = text.lines().next().unwrap_or_default().trim();
    match first.split_once(' ') {
        Some((stamp, rest)) if stamp.contains('T') && stamp.ends_with('Z') => rest.trim().to_string(),
        _ => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_line_is_shown_plain() {
        let event = "\x1b[2m2026-11-22T03:57:42.907419Z\x1b[0m \x1b[34mDEBUG\x1b[0m \x1b[2mhickory_net\x1b[0m\x1b[2m:\x1b[0m response: ; header\n; query\n";
        assert_eq!(plain(event), "DEBUG hickory_net: response: ; header");
        assert_eq!(plain(" WARN lab: x\n"), "WARN lab: x");
    }

    /// One test: the state is process-wide.
    #[test]
    fn held_lines_are_kept_newest_last_and_counted_past_the_cap() {
        hold();
        for i in 0..HELD_MAX + 3 {
            let mut w = writer();
            writeln!(w, "line {i}").unwrap();
        }
        drop(writer()); // an empty event is not a line
        let (count, oldest_kept) = held();
        assert_eq!(count, (HELD_MAX + 3) as u64);
        assert_eq!(oldest_kept.as_deref(), Some("line 3"));
        {
            let guard = HELD.lock().unwrap();
            let lines = &guard.as_ref().unwrap().lines;
            assert_eq!(lines.len(), HELD_MAX);
            assert_eq!(lines.front().map(String::as_str), Some("line 3\n"));
        }
        release();
        assert_eq!(held(), (0, None));
        release();
    }
}
