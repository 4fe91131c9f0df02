//! `--out` for the daemon, written on a thread of its own: a slow or full
//! disk must never stall the thread that times the pings (where the wait
//! would show up inside a network phase). The queue to it is bounded; when
//! the disk falls that far behind, records are dropped and counted rather
//! than the pings held up. Failures are logged at the 1st, 2nd, 4th… loss.

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::thread::JoinHandle;

use crate::probe::ProbeRecord;
use crate::store::NdjsonWriter;

/// Records the writer may fall behind by (about ten seconds of pings at a
/// hundred a second).
const QUEUED: usize = 1024;

pub struct RecordWriter {
    to_disk: SyncSender<ProbeRecord>,
    thread: JoinHandle<u64>,
    /// Dropped because the queue was full.
    dropped: u64,
}

impl RecordWriter {
    /// Open (append) `path` now, so a bad path is bad input before anything runs.
    pub fn open(path: &Path) -> std::io::Result<RecordWriter> {
        let mut file = NdjsonWriter::append(path)?;
        let (to_disk, from_pings) = sync_channel::<ProbeRecord>(QUEUED);
        let thread = std::thread::Builder::new()
            .name("coldlink-keepwarm-out".into())
            .spawn(move || {
                let mut lost = 0u64;
                for record in from_pings {
                    if let Err(e) = file.write(&record) {
                        lost += 1;
                        if lost.is_power_of_two() {
                            eprintln!(
                                "coldlink keepwarm: --out: writing a record failed ({lost} lost so far): {e}"
                            );
                        }
                    }
                }
                lost
            })?;
        Ok(RecordWriter {
            to_disk,
            thread,
            dropped: 0,
        })
    }

    /// Hand a record over; never blocks.
    pub fn write(&mut self, record: &ProbeRecord) {
        match self.to_disk.try_send(record.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    eprintln!(
                        "coldlink keepwarm: --out: the disk is {QUEUED} records behind; {} dropped so far",
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
