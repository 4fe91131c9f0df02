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
    /// Files that yielded no record at all (empty, garbage, a gzip stream
    /// that breaks before the first): bad input, named in the error.
    pub files_without_records: Vec<PathBuf>,
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

/// Longest line read as a record; a longer one is skipped as unreadable
/// (a file without newlines must not be read into memory whole).
pub const MAX_LINE: usize = 1 << 20;

/// Stream the records of `reader` into `each`, one at a time (memory stays
/// flat whatever the file size). Bad lines — not JSON, not a record, not
/// UTF-8, too long — are counted, never fatal; an I/O error (a truncated
/// gzip stream, say) ends the file and is counted too.
pub fn for_each_record<R: BufRead>(
    path: &Path,
    mut reader: R,
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
    let records_before = report.records;
    let mut buf = Vec::with_capacity(1024);
    let mut number = 0;
    loop {
        buf.clear();
        number += 1;
        match read_line_capped(&mut reader, &mut buf) {
            Ok(None) => break,
            Ok(Some(false)) => {
                bad(number, format!("longer than {MAX_LINE} bytes"), report);
                continue;
            }
            Ok(Some(true)) => {}
            Err(e) => {
                bad(number, format!("unreadable: {e}"), report);
                break;
            }
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<ProbeRecord>(&buf) {
            Ok(r) => {
                report.records += 1;
                each(r);
            }
            Err(e) => bad(number, e.to_string(), report),
        }
    }
    if report.records == records_before {
        report.files_without_records.push(path.to_path_buf());
    }
}

/// One line into `buf` (without its newline). `None` at the end of the
/// input; `Some(false)` when the line was too long (the rest of it is
/// skipped).
pub(crate) fn read_line_capped<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    let mut read_any = false;
    let mut fits = true;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(read_any.then_some(fits));
        }
        read_any = true;
        let (line, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if fits && buf.len() + line.len() <= MAX_LINE {
            buf.extend_from_slice(line);
        } else {
            fits = false;
            buf.clear();
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Some(fits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_of_every_kind_are_counted_and_reading_goes_on() {
        let good = r#"{"v":1,"target":"t","url":"u","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":null,"conn":null,"phases_ms":{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null},"total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null}"#;
        let mut input = Vec::new();
        input.extend_from_slice(good.as_bytes());
        input.extend_from_slice(b"\n\xff\xfe not utf-8\n");
        input.extend_from_slice(good.as_bytes());
        input.extend_from_slice(b"\n");
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend_from_slice(b"\n\n");
        input.extend_from_slice(good.as_bytes()); // no final newline
        let mut report = ReadReport::default();
        let mut seen = 0;
        for_each_record(
            Path::new("f"),
            io::BufReader::with_capacity(64, &input[..]),
            &mut report,
            |_| seen += 1,
        );
        assert_eq!(seen, 3);
        assert_eq!(report.records, 3);
        assert_eq!(report.bad_lines, 2);
        let lines: Vec<usize> = report.bad_samples.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 4]);
    }
}
