//! Probe records on disk: NDJSON, one record a line, flushed as written so
//! that a killed run loses at most the probe in flight.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

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

/// A line that is not a valid record.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

/// What reading a file found besides the records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadReport {
    pub records: u64,
    /// Every unreadable line is counted…
    pub bad_lines: u64,
    /// …and the first few are kept with their line numbers.
    pub bad_samples: Vec<BadLine>,
}

/// How many unreadable lines are kept with their reasons.
pub const BAD_SAMPLES: usize = 20;

/// Open a record file, gzip-compressed or not (told by its first bytes).
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let mut file = BufReader::new(File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// Stream the records of `reader` into `each`, one at a time (memory stays
/// flat whatever the file size). Bad lines are counted, never fatal; an I/O
/// error (a truncated gzip stream, say) ends the file and is reported as a
/// bad line too.
pub fn for_each_record<R: BufRead>(
    path: &Path,
    reader: R,
    report: &mut ReadReport,
    mut each: impl FnMut(ProbeRecord),
) {
    let bad = |line: usize, reason: String, report: &mut ReadReport| {
        report.bad_lines += 1;
        if report.bad_samples.len() < BAD_SAMPLES {
            report.bad_samples.push(BadLine {
                path: path.to_path_buf(),
                line,
                reason,
            });
        }
    };
    for (i, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                bad(i + 1, format!("unreadable: {e}"), report);
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ProbeRecord>(&line) {
            Ok(r) => {
                report.records += 1;
                each(r);
            }
            Err(e) => bad(i + 1, e.to_string(), report),
        }
    }
}
