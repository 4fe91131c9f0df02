//! Reading stored records: plain or gzip NDJSON, cut into blocks of whole
//! lines, every line that is not a record counted (and the first few kept
//! with file and line), a file that yields no record named. One reader, two
//! ways to drive it: [`for_each_record`] streams whole [`ProbeRecord`]s in
//! file order on the caller's thread (`report`); [`read_observations`]
//! parses [`RecordView`]s on every core into [`Observation`]s, for the
//! million-record `diagnose --from` (docs/performance.md).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::Deserialize;

use super::observation::Observation;
use super::view::RecordView;
use crate::probe::ProbeRecord;

/// How many unreadable lines are kept with their reasons.
pub const BAD_SAMPLES: usize = 20;

/// Longest line read as a record; a longer one is skipped as unreadable
/// (a file without newlines must not be read into memory whole).
pub const MAX_LINE: usize = 1 << 20;

/// Bytes of whole lines handed to a parser at once.
const CHUNK_BYTES: usize = 4 << 20;

// A block with no newline holds a line too long to read.
const _: () = assert!(CHUNK_BYTES >= MAX_LINE);

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

impl ReadReport {
    fn bad(&mut self, path: &Path, line: usize, reason: String) {
        self.bad_lines += 1;
        if self.bad_samples.len() < BAD_SAMPLES {
            self.bad_samples.push(BadLine {
                path: path.to_path_buf(),
                line,
                reason,
            });
        }
    }
}

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

/// Stream the records of `reader` into `each`, one at a time and in file
/// order (memory stays flat whatever the file size). Bad lines — not JSON,
/// not a record, not UTF-8, too long — are counted, never fatal; an I/O
/// error (a truncated gzip stream, say) ends the file and is counted too.
pub fn for_each_record<R: BufRead>(
    path: &Path,
    reader: R,
    report: &mut ReadReport,
    mut each: impl FnMut(ProbeRecord),
) {
    let records_before = report.records;
    // One block read while the last is parsed: the same two buffers.
    let spare = std::cell::Cell::new(None);
    let block = || spare.take().unwrap_or_else(new_block);
    split_into_chunks(reader, 0, path, report, block, |chunk, report| {
        each_line(&chunk, path, report, |line| {
            each(line.parse()?);
            Ok(())
        });
        spare.set(Some(chunk.buf));
        true
    });
    if report.records == records_before {
        report.files_without_records.push(path.to_path_buf());
    }
}

/// Read every file on every core into observations: `new_sink` makes one
/// sink per parsing thread, `add` puts an observation (and the file it
/// came from) into it; the sinks come back in no particular order, for
/// the caller to merge. A file that cannot be opened is an error (bad
/// input); unreadable lines are counted in the report, never fatal.
pub fn read_observations<S: Send>(
    paths: &[PathBuf],
    new_sink: impl Fn() -> S + Sync,
    add: impl Fn(&mut S, &Observation<'_>, &Path) + Sync,
) -> io::Result<(Vec<S>, ReadReport)> {
    let mut readers = Vec::new();
    for p in paths {
        readers.push(open(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?);
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    // Bounded: the file is read no further ahead of the parsers than this.
    let (tx, rx) = crossbeam_channel::bounded::<Chunk>(workers * 2);
    // Parsed blocks' buffers go back to be read into again: no more of
    // them than are in flight, each faulted in once.
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let (new_sink, add) = (&new_sink, &add);
    let (parsed, mut report) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (rx, done) = (rx.clone(), done_tx.clone());
                scope.spawn(move || {
                    let mut sink = new_sink();
                    let mut report = ReadReport::default();
                    // Records per file, to name a file that yields none.
                    let mut per_file = vec![0u64; paths.len()];
                    for chunk in rx {
                        let path = &paths[chunk.file];
                        let before = report.records;
                        each_line(&chunk, path, &mut report, |line| {
                            let view = line.view()?;
                            add(&mut sink, &view.observation()?, path);
                            Ok(())
                        });
                        per_file[chunk.file] += report.records - before;
                        // The reader may be gone (an error); then it is freed.
                        let _ = done.send(chunk.buf);
                    }
                    (sink, report, per_file)
                })
            })
            .collect();
        drop((rx, done_tx));
        let mut io_report = ReadReport::default();
        let block = || done_rx.try_recv().unwrap_or_else(|_| new_block());
        for (file, reader) in readers.into_iter().enumerate() {
            split_into_chunks(reader, file, &paths[file], &mut io_report, block, |chunk, _| {
                tx.send(chunk).is_ok()
            });
        }
        drop(tx);
        let parsed: Vec<_> = handles.into_iter().map(|h| h.join().expect("parser")).collect();
        (parsed, io_report)
    });
    let mut per_file = vec![0u64; paths.len()];
    let mut sinks = Vec::with_capacity(parsed.len());
    for (sink, r, counts) in parsed {
        sinks.push(sink);
        report.records += r.records;
        report.bad_lines += r.bad_lines;
        report.bad_samples.extend(r.bad_samples);
        per_file.iter_mut().zip(counts).for_each(|(total, n)| *total += n);
    }
    report.files_without_records = paths
        .iter()
        .zip(per_file)
        .filter(|(_, n)| *n == 0)
        .map(|(p, _)| p.clone())
        .collect();
    // Each parser kept its own first few; the first few of all, in order.
    report
        .bad_samples
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report.bad_samples.truncate(BAD_SAMPLES);
    Ok((sinks, report))
}

/// Whole lines from one file, as read, with the number of the first.
struct Chunk {
    file: usize,
    first_line: usize,
    /// A block buffer ([`new_block`]), of which the first `len` bytes are
    /// the lines; it goes back to the reader to be read into again.
    buf: Vec<u8>,
    len: usize,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A block buffer: `CHUNK_BYTES` long and initialised once, so that the
/// file is read straight into it (no copy through a `BufReader`'s 8 KiB)
/// and, recycled, it is not faulted in again for every block.
fn new_block() -> Vec<u8> {
    vec![0; CHUNK_BYTES]
}

/// Cut the file into blocks of whole lines for `send` (which says whether
/// to go on, and is lent the report to count what it finds); `block` gives
/// an empty buffer to read into (a recycled one, or [`new_block`]). A line
/// longer than `MAX_LINE` is counted and skipped without being held in
/// memory; an I/O error is counted at the line it broke and ends the file,
/// and that partial line is dropped.
fn split_into_chunks(
    mut reader: impl Read,
    file: usize,
    path: &Path,
    report: &mut ReadReport,
    mut block: impl FnMut() -> Vec<u8>,
    mut send: impl FnMut(Chunk, &mut ReadReport) -> bool,
) {
    let mut line = 1;
    let mut buf = block();
    // Bytes of `buf` read and not yet sent (a partial line carried over
    // from the last block comes first).
    let mut filled = 0;
    let mut skipping = false;
    loop {
        let mut eof = false;
        let mut broken = false;
        while filled < buf.len() {
            let n = match reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = line + memchr::memchr_iter(b'\n', &buf[..filled]).count();
                    report.bad(path, at, format!("unreadable: {e}"));
                    (eof, broken) = (true, true);
                    break;
                }
            };
            if skipping {
                // The rest of a too-long line: drop up to its newline.
                if let Some(i) = memchr::memchr(b'\n', &buf[filled..filled + n]) {
                    buf.copy_within(filled + i + 1..filled + n, filled);
                    filled += n - (i + 1);
                    skipping = false;
                    line += 1;
                }
                continue;
            }
            filled += n;
        }
        // Whole lines go now; a partial last line waits for the next block
        // (or, at the end of the file, is the last line; after a read error,
        // is lost with the rest).
        let whole = memchr::memrchr(b'\n', &buf[..filled]).map(|i| i + 1);
        let cut = match (eof, broken, whole) {
            (true, false, _) => filled,
            (true, true, whole) => whole.unwrap_or(0),
            (false, _, Some(cut)) => cut,
            (false, _, None) => {
                // A whole block (at least `MAX_LINE`) without a newline.
                report.bad(path, line, format!("longer than {MAX_LINE} bytes"));
                skipping = true;
                filled = 0;
                continue;
            }
        };
        // The partial last line starts the next block.
        let next = (!eof).then(|| {
            let mut next = block();
            next[..filled - cut].copy_from_slice(&buf[cut..filled]);
            next
        });
        if cut > 0 {
            let first = line;
            line += memchr::memchr_iter(b'\n', &buf[..cut]).count();
            let chunk = Chunk {
                file,
                first_line: first,
                buf,
                len: cut,
            };
            if !send(chunk, report) {
                return;
            }
        }
        match next {
            Some(next) => (buf, filled) = (next, filled - cut),
            None => return,
        }
    }
}

/// One line of a chunk, checked as UTF-8 with the whole chunk if it could be.
enum Line<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Line<'a> {
    fn parse<T: Deserialize<'a>>(self) -> Result<T, String> {
        match self {
            Line::Text(s) => serde_json::from_str(s),
            Line::Bytes(b) => serde_json::from_slice(b),
        }
        .map_err(|e| e.to_string())
    }

    /// The line as a [`RecordView`]: valid UTF-8 by the fast path (or
    /// `serde_json`, [`RecordView::from_line`]), else by `serde_json`.
    #[inline]
    fn view(self) -> Result<RecordView<'a>, String> {
        match self {
            Line::Text(s) => RecordView::from_line(s),
            Line::Bytes(b) => serde_json::from_slice(b),
        }
        .map_err(|e| e.to_string())
    }

    fn bytes(&self) -> &'a [u8] {
        match self {
            Line::Text(s) => s.as_bytes(),
            Line::Bytes(b) => b,
        }
    }
}

/// Hand each line of `chunk` to `take`, which says why it is no record if
/// it is not one; blank lines are skipped, the rest counted.
fn each_line<'a>(
    chunk: &'a Chunk,
    path: &Path,
    report: &mut ReadReport,
    mut take: impl FnMut(Line<'a>) -> Result<(), String>,
) {
    let mut one = |line: Line<'a>, number: usize| {
        let bytes = line.bytes();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if bytes.len() > MAX_LINE {
            report.bad(path, number, format!("longer than {MAX_LINE} bytes"));
            return;
        }
        match take(line) {
            Ok(()) => report.records += 1,
            Err(reason) => report.bad(path, number, reason),
        }
    };
    // One UTF-8 check for the whole block is much cheaper than one per
    // string; a block with a bad byte falls back to line by line. Lines
    // are cut with memchr's vector search (`str::split` looked for each
    // newline a few bytes at a time: 0.9 of every 20 instructions a record).
    let bytes = chunk.bytes();
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut start = 0;
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            for (k, end) in ends.enumerate() {
                // Cut at newlines (ASCII): on character boundaries.
                one(Line::Text(&text[start..end]), chunk.first_line + k);
                start = end + 1;
            }
        }
        Err(_) => {
            for (k, end) in ends.enumerate() {
                one(Line::Bytes(&bytes[start..end]), chunk.first_line + k);
                start = end + 1;
            }
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

    const GOOD: &str = r#"{"v":1,"target":"t","url":"u","seq":1,"at":"2026-11-21T10:00:00.000001Z","scheduled_at":"2026-11-21T10:00:00Z","remote":null,"conn":null,"phases_ms":{"queue":0.1,"dns":null,"connect":null,"tls":null,"send":null,"ttfb":null,"body":null},"total_ms":0.1,"status":null,"http":null,"tls":null,"trace_id":null,"error":null}"#;

    /// A line longer than a whole block is skipped in pieces, never held.
    #[test]
    fn a_line_longer_than_a_block_is_one_bad_line() {
        let mut input = format!("{GOOD}\n").into_bytes();
        input.extend(std::iter::repeat_n(b'x', CHUNK_BYTES + 100));
        input.extend_from_slice(format!("\n{GOOD}\n").as_bytes());
        let mut report = ReadReport::default();
        for_each_record(Path::new("f"), &input[..], &mut report, |_| {});
        assert_eq!((report.records, report.bad_lines), (2, 1));
        assert_eq!(report.bad_samples[0].line, 2);
    }

    /// A stream that breaks (a truncated gzip file) ends the file: the whole
    /// lines before the break are read, the broken one is counted once, at
    /// its own line number.
    #[test]
    fn a_read_error_is_one_bad_line_where_it_broke() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("corrupt deflate stream"))
            }
        }
        let text = format!("{GOOD}\n\n{GOOD}\n{{\"v\":1,\"tru");
        let reader = io::BufReader::new(io::Read::chain(text.as_bytes(), Broken));
        let mut report = ReadReport::default();
        for_each_record(Path::new("f"), reader, &mut report, |_| {});
        assert_eq!((report.records, report.bad_lines), (2, 1));
        assert_eq!(report.bad_samples[0].line, 4);
        assert!(report.bad_samples[0].reason.starts_with("unreadable: "));
    }

    /// Lines cut across several blocks (the buffers recycled between the
    /// reader and the parsers) are each read once, and a bad line far into
    /// the file is named at its own number.
    #[test]
    fn lines_across_many_recycled_blocks_are_each_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ndjson");
        let n = 3 * CHUNK_BYTES / GOOD.len() + 7;
        let mut text = String::with_capacity((n + 1) * (GOOD.len() + 1));
        for _ in 0..n {
            text.push_str(GOOD);
            text.push('\n');
        }
        text.push_str("not json\n");
        text.push_str(GOOD); // no final newline
        std::fs::write(&a, &text).unwrap();
        let (sinks, report) =
            read_observations(std::slice::from_ref(&a), || 0u64, |n, _, _| *n += 1).unwrap();
        assert_eq!(sinks.iter().sum::<u64>(), n as u64 + 1);
        assert_eq!((report.records, report.bad_lines), (n as u64 + 1, 1));
        assert_eq!(report.bad_samples[0].line, n + 1);
        let mut seen = 0u64;
        let mut one = ReadReport::default();
        for_each_record(&a, open(&a).unwrap(), &mut one, |_| seen += 1);
        assert_eq!((seen, one.bad_samples[0].line), (n as u64 + 1, n + 1));
    }

    /// The parallel reader counts alike, and names a file with no record.
    #[test]
    fn observations_from_several_files_with_their_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ndjson");
        let empty = dir.path().join("empty.ndjson");
        std::fs::write(&a, format!("{GOOD}\nnot json\n{GOOD}\n")).unwrap();
        std::fs::write(&empty, "").unwrap();
        let paths = [a.clone(), empty.clone()];
        let (sinks, report) =
            read_observations(&paths, || 0u64, |n, o, _| *n += u64::from(o.target == "t")).unwrap();
        assert_eq!(sinks.iter().sum::<u64>(), 2);
        assert_eq!((report.records, report.bad_lines), (2, 1));
        assert_eq!((&report.bad_samples[0].path, report.bad_samples[0].line), (&a, 2));
        assert_eq!(report.files_without_records, vec![empty]);
    }
}
