//! `--format json`: the report as one JSON document (schema version 1,
//! `docs/report.schema.json`).

use std::io::{self, Write};

use crate::diagnose::report::Report;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}
