//! Stored records (from `run`, `keepwarm`, `watch`, `probe --out`) into a
//! [`Dataset`](super::dataset::Dataset), fast: lines are parsed on every core into a lean view that
//! borrows from the line and skips what the detectors never read.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::dataset::{Builder, Observation};
use crate::probe::{ErrorKind, Phase, Phases};
use crate::store::{self, BadLine, ReadReport, BAD_SAMPLES, MAX_LINE};

/// Bytes of whole lines handed to a parser at once.
const CHUNK_BYTES: usize = 4 << 20;

#[derive(Deserialize)]
struct Lean<'a> {
    #[serde(borrow)]
    target: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(borrow, default)]
    run: Option<Cow<'a, str>>,
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(borrow)]
    scheduled_at: Cow<'a, str>,
    #[serde(borrow, default)]
    remote: Option<Cow<'a, str>>,
    #[serde(default)]
    conn: Option<LeanConn>,
    phases_ms: Phases,
    total_ms: f64,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    tls: Option<LeanTls>,
    #[serde(borrow, default)]
    headers: LeanHeaders<'a>,
    #[serde(default)]
    error: Option<LeanError>,
    #[serde(borrow, default)]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    lab: Option<LeanLab<'a>>,
}

#[derive(Deserialize)]
struct LeanLab<'a> {
    #[serde(borrow)]
    scenario: Cow<'a, str>,
    speed: f64,
}

#[derive(Deserialize)]
struct LeanConn {
    id: u64,
    reused: bool,
    idle_ms: Option<f64>,
    #[serde(default)]
    reconnected: bool,
}

#[derive(Deserialize)]
struct LeanTls {
    resumed: bool,
}

#[derive(Deserialize, Default)]
struct LeanHeaders<'a> {
    #[serde(borrow, default)]
    via: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "x-cache")]
    x_cache: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "x-amz-cf-pop")]
    cf_pop: Option<Cow<'a, str>>,
    #[serde(default, rename = "x-amzn-errortype")]
    errortype: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct LeanError {
    kind: ErrorKind,
    phase: Phase,
}

/// Whole lines from one file, as read, with the number of the first.
struct Chunk {
    file: usize,
    first_line: usize,
    bytes: Vec<u8>,
}

/// Read every file into one builder. An unreadable file is an error (bad
/// input); unreadable lines are counted in the report, never fatal.
pub fn read_files(paths: &[PathBuf], builder: Builder) -> std::io::Result<(Builder, ReadReport)> {
    let mut readers = Vec::new();
    for p in paths {
        readers.push(
            store::open(p).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
        );
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let (tx, rx) = mpsc::sync_channel::<Chunk>(workers * 2);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                scope.spawn(move || {
                    let mut b = Builder::new();
                    let mut report = ReadReport::default();
                    // Records per file, to name a file that yields none.
                    let mut per_file = vec![0u64; paths.len()];
                    loop {
                        let chunk = { rx.lock().expect("chunk queue").recv() };
                        let Ok(chunk) = chunk else { break };
                        let before = report.records;
                        parse_chunk(&chunk, paths, &mut b, &mut report);
                        per_file[chunk.file] += report.records - before;
                    }
                    (b, report, per_file)
                })
            })
            .collect();
        let mut io_report = ReadReport::default();
        for (file, reader) in readers.into_iter().enumerate() {
            split_into_chunks(reader, file, &paths[file], &tx, &mut io_report);
        }
        drop(tx);
        let mut out: Vec<(Builder, ReadReport, Vec<u64>)> =
            handles.into_iter().map(|h| h.join().expect("parser")).collect();
        out.push((Builder::new(), io_report, Vec::new()));
        out
    });
    let mut builder = builder;
    let mut report = ReadReport::default();
    let mut per_file = vec![0u64; paths.len()];
    for (b, r, counts) in results {
        builder.absorb(b);
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
    report
        .bad_samples
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report.bad_samples.truncate(BAD_SAMPLES);
    Ok((builder, report))
}

/// Cut the file into blocks of whole lines for the parsers. A line longer
/// than `MAX_LINE` is counted and skipped without being held in memory.
fn split_into_chunks(
    mut reader: Box<dyn std::io::BufRead>,
    file: usize,
    path: &Path,
    tx: &mpsc::SyncSender<Chunk>,
    report: &mut ReadReport,
) {
    let mut line = 1;
    let mut carry: Vec<u8> = Vec::new();
    let mut skipping = false;
    loop {
        let mut block = std::mem::take(&mut carry);
        block.reserve(CHUNK_BYTES);
        let mut eof = false;
        while block.len() < CHUNK_BYTES {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) => {
                    bad(report, path, line, format!("unreadable: {e}"));
                    eof = true;
                    break;
                }
            };
            if buf.is_empty() {
                eof = true;
                break;
            }
            let n = buf.len();
            if skipping {
                // The rest of a too-long line: drop up to its newline.
                match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        reader.consume(i + 1);
                        skipping = false;
                        line += 1;
                    }
                    None => reader.consume(n),
                }
                continue;
            }
            block.extend_from_slice(buf);
            reader.consume(n);
        }
        // Whole lines go now; a partial last line waits for the next block.
        let cut = if eof {
            block.len()
        } else {
            match memchr::memrchr(b'\n', &block) {
                Some(i) => i + 1,
                None if block.len() >= MAX_LINE => {
                    bad(report, path, line, format!("longer than {MAX_LINE} bytes"));
                    skipping = true;
                    continue;
                }
                None => {
                    carry = block;
                    continue;
                }
            }
        };
        carry = block.split_off(cut);
        if !block.is_empty() {
            let lines = memchr::memchr_iter(b'\n', &block).count();
            let first = line;
            line += lines;
            if tx
                .send(Chunk {
                    file,
                    first_line: first,
                    bytes: block,
                })
                .is_err()
            {
                return;
            }
        }
        if eof {
            return;
        }
    }
}

fn bad(report: &mut ReadReport, path: &Path, line: usize, reason: String) {
    report.bad_lines += 1;
    if report.bad_samples.len() < BAD_SAMPLES {
        report.bad_samples.push(BadLine {
            path: path.to_path_buf(),
            line,
            reason,
        });
    }
}

fn parse_chunk(chunk: &Chunk, paths: &[PathBuf], b: &mut Builder, report: &mut ReadReport) {
    let path = &paths[chunk.file];
    // One UTF-8 check for the whole block is much cheaper than one per
    // string; a block with a bad byte falls back to line by line.
    match std::str::from_utf8(&chunk.bytes) {
        Ok(text) => {
            for (k, line) in text.split('\n').enumerate() {
                parse_line(line.as_bytes(), chunk.first_line + k, path, b, report, |l| {
                    serde_json::from_str(std::str::from_utf8(l).expect("checked above"))
                });
            }
        }
        Err(_) => {
            for (k, line) in chunk.bytes.split(|&c| c == b'\n').enumerate() {
                parse_line(
                    line,
                    chunk.first_line + k,
                    path,
                    b,
                    report,
                    serde_json::from_slice,
                );
            }
        }
    }
}

fn parse_line<'a>(
    line: &'a [u8],
    number: usize,
    path: &Path,
    b: &mut Builder,
    report: &mut ReadReport,
    parse: impl Fn(&'a [u8]) -> serde_json::Result<Lean<'a>>,
) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if line.len() > MAX_LINE {
        bad(report, path, number, format!("longer than {MAX_LINE} bytes"));
        return;
    }
    match parse(line) {
        Ok(r) => match observe(&r) {
            Ok(o) => {
                b.add(&o);
                report.records += 1;
            }
            Err(reason) => bad(report, path, number, reason),
        },
        Err(e) => bad(report, path, number, e.to_string()),
    }
}

fn observe<'a>(r: &'a Lean<'a>) -> Result<Observation<'a>, String> {
    let at = parse_time(&r.at).ok_or_else(|| format!("at: not an RFC 3339 time: {}", r.at))?;
    let scheduled = parse_time(&r.scheduled_at)
        .ok_or_else(|| format!("scheduled_at: not an RFC 3339 time: {}", r.scheduled_at))?;
    Ok(Observation {
        target: &r.target,
        url: &r.url,
        run: r.run.as_deref(),
        conn_id: r.conn.as_ref().map(|c| c.id),
        scheduled_at: Some(scheduled),
        at: Some(at),
        total_ms: r.total_ms,
        phases: r.phases_ms,
        status: r.status,
        error: r.error.as_ref().map(|e| (e.kind, e.phase)),
        reused: r.conn.as_ref().is_some_and(|c| c.reused),
        conn_idle_ms: r.conn.as_ref().and_then(|c| c.idle_ms),
        reconnected: r.conn.as_ref().is_some_and(|c| c.reconnected),
        tls_resumed: r.tls.as_ref().map(|t| t.resumed),
        remote: r.remote.as_deref(),
        via: r.headers.via.as_deref(),
        x_cache: r.headers.x_cache.as_deref(),
        cf_pop: r.headers.cf_pop.as_deref(),
        errortype: r.headers.errortype.is_some(),
        trace_id: r.trace_id.as_deref(),
        lab: r.lab.as_ref().map(|l| (l.scenario.as_ref(), l.speed)),
    })
}

/// RFC 3339 in UTC as coldlink writes it (`2026-11-21T10:00:00.123456Z`),
/// parsed by hand; anything else goes to the full parser.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    fast_time(s.as_bytes()).or_else(|| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(Into::into)
    })
}

fn fast_time(b: &[u8]) -> Option<SystemTime> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i64)
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut nanos = 0u32;
    let rest = &b[19..b.len() - 1];
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let digits = &rest[1..];
        let mut n = 0u32;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + (c - b'0') as u32;
        }
        nanos = n * 10u32.pow(9 - digits.len() as u32);
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_time_parser_agrees_with_the_full_one() {
        for s in [
            "2026-11-21T10:00:00.123456Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00.000001Z",
            "2000-03-01T12:34:56.5Z",
        ] {
            let full: SystemTime =
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .unwrap()
                    .into();
            assert_eq!(fast_time(s.as_bytes()), Some(full), "{s}");
        }
        assert_eq!(fast_time(b"2026-11-21T10:00:00+01:00"), None);
        assert!(parse_time("2026-11-21T11:00:00+01:00").is_some());
    }
}
