//! Probe records on disk: NDJSON, one record a line, flushed as written so
//! that a killed run loses at most the probe in flight.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// Read records from a reader; bad lines are collected, never fatal.
pub fn read_records<R: BufRead>(path: &Path, reader: R) -> io::Result<(Vec<ProbeRecord>, Vec<BadLine>)> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ProbeRecord>(&line) {
            Ok(r) => records.push(r),
            Err(e) => bad.push(BadLine {
                path: path.to_path_buf(),
                line: i + 1,
                reason: e.to_string(),
            }),
        }
    }
    Ok((records, bad))
}
