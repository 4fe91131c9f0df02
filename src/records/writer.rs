//! Records to disk: NDJSON, one record a line, flushed as written so that a
//! killed run loses at most the probe in flight. [`NdjsonWriter`] writes on
//! the caller's thread; [`QueuedWriter`] on a thread of its own, for the
//! daemon, whose pings must never wait for a disk.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::thread::JoinHandle;

use crate::probe::ProbeRecord;

/// Appends records to a file.
pub struct NdjsonWriter<W: Write> {
    out: BufWriter<W>,
}

impl NdjsonWriter<File> {
    /// Open `path` for appending, creating it if needed. Called before any
    /// probe is sent, so that a bad path fails fast.
    pub fn append(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(NdjsonWriter::new(file))
    }
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W) -> Self {
        NdjsonWriter {
            out: BufWriter::new(out),
        }
    }

    /// Write one record and flush it.
    pub fn write(&mut self, record: &ProbeRecord) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Records a [`QueuedWriter`] may fall behind by (about ten seconds of
/// pings at a hundred a second).
const QUEUED: usize = 1024;

/// `--out` written on a thread of its own: a slow or full disk must never
/// stall the thread that times the probes (where the wait would show up
/// inside a network phase). The queue to it is bounded; when the disk falls
/// that far behind, records are dropped and counted rather than the probes
/// held up. Failures are logged at the 1st, 2nd, 4th… loss.
pub struct QueuedWriter {
    to_disk: SyncSender<ProbeRecord>,
    thread: JoinHandle<u64>,
    /// Dropped because the queue was full.
    dropped: u64,
    /// The command, for the log lines (`coldlink keepwarm: --out: …`).
    command: &'static str,
}

impl QueuedWriter {
    /// Open (append) `path` now, so a bad path is bad input before anything
    /// runs. `command` names the writer's thread and its log lines.
    pub fn open(path: &Path, command: &'static str) -> io::Result<QueuedWriter> {
        let mut file = NdjsonWriter::append(path)?;
        let (to_disk, from_probes) = sync_channel::<ProbeRecord>(QUEUED);
        let thread = std::thread::Builder::new()
            .name(format!("coldlink-{command}-out"))
            .spawn(move || {
                let mut lost = 0u64;
                for record in from_probes {
                    if let Err(e) = file.write(&record) {
                        lost += 1;
                        if lost.is_power_of_two() {
                            crate::say!(
                                "coldlink {command}: --out: writing a record failed ({lost} lost so far): {e}"
                            );
                        }
                    }
                }
                lost
            })?;
        Ok(QueuedWriter {
            to_disk,
            thread,
            dropped: 0,
            command,
        })
    }

    /// Hand a record over; never blocks.
    pub fn write(&mut self, record: &ProbeRecord) {
        match self.to_disk.try_send(record.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    crate::say!(
                        "coldlink {}: --out: the disk is {QUEUED} records behind; {} dropped so far",
                        self.command,
                        self.dropped
                    );
                }
            }
        }
    }

    /// Wait for the queue to reach the disk; the records lost in all.
    pub fn finish(self) -> u64 {
        drop(self.to_disk);
        self.thread.join().unwrap_or(0) + self.dropped
    }
}
