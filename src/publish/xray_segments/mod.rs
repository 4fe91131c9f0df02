//! `--xray-segments`: each probe's own client segment, sent to X-Ray with
//! `PutTraceSegments` under the trace id the probe set, so that X-Ray's
//! trace view and map show the caller, then API Gateway (whose stage
//! segment names the client segment as its parent: the probe's trace
//! header carries `Parent=`, see `probe::trace::client_segment_id`), then
//! the integration and the app.
//!
//! The probes are never held up: [`SegmentSink::offer`] copies what a
//! segment needs into a bounded queue (full: dropped and counted), and a
//! thread of its own, with its own runtime, makes the documents and sends
//! them in batches (`sender`), so no AWS call ever runs on the thread that
//! times the probes.

mod document;
mod sender;

pub use document::{document, ClientProbe, Failure, MAX_DOCUMENT, MAX_TEXT, SEGMENT_NAME};
pub use sender::{GaveUp, Publisher, Totals};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::aws::AwsOptions;
use crate::probe::{ProbeRecord, Target};

/// Where to send the segments, and as whom (built by `config`).
#[derive(Debug, Clone, PartialEq)]
pub struct XraySegments {
    pub aws: AwsOptions,
    /// The lab's emulator: static credentials, no AWS account involved.
    pub lab: bool,
}

/// The publisher for `cfg`, if the flag is on; a thread that cannot be
/// started is a warning, never a reason not to probe.
pub fn start(cfg: Option<&XraySegments>, targets: &[Target]) -> Option<Publisher> {
    start_counting(cfg, targets, Arc::new(|| {}))
}

/// [`start`], telling `gave_up` of each batch of segments given up on.
pub fn start_counting(cfg: Option<&XraySegments>, targets: &[Target], gave_up: GaveUp) -> Option<Publisher> {
    let cfg = cfg?;
    match Publisher::start_counting(cfg, targets, gave_up) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("--xray-segments: cannot start the sending thread: {e}; no segments are sent");
            None
        }
    }
}

/// Send what is left, and say on `stderr` what was lost, if anything.
pub async fn finish(publisher: Option<Publisher>, stderr: &mut dyn std::io::Write) {
    let Some(p) = publisher else { return };
    let totals = p.finish(super::background::STOP_DEADLINE).await;
    tracing::info!("--xray-segments: {totals:?}");
    if let Some(line) = totals.lost_line() {
        let _ = writeln!(stderr, "coldlink: {line}");
    }
}

/// The X-Ray client for `cfg` (the lab's gateway sends its segments
/// through one too).
pub async fn client(cfg: &XraySegments) -> aws_sdk_xray::Client {
    aws_sdk_xray::Client::new(&crate::aws::sdk_config(&cfg.aws, cfg.lab).await)
}

/// Counts kept as the segments go; read by [`Publisher::finish`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Taken by X-Ray.
    pub sent: AtomicU64,
    /// Not queued: the queue was full (X-Ray slower than the probes), or
    /// still queued when the shutdown's deadline passed.
    pub dropped: AtomicU64,
    /// Sent and refused, or never delivered after the retries.
    pub failed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Where the probe loop hands its records; cheap to clone.
#[derive(Debug, Clone)]
pub struct SegmentSink {
    queue: mpsc::Sender<ClientProbe>,
    counters: Arc<Counters>,
    /// Target name → its request's method; absent: a target whose trace
    /// header is the user's own (their trace, not one to put a segment in).
    methods: Arc<HashMap<String, Arc<str>>>,
}

impl SegmentSink {
    pub(crate) fn new(
        queue: mpsc::Sender<ClientProbe>,
        counters: Arc<Counters>,
        targets: &[Target],
    ) -> SegmentSink {
        let methods = targets
            .iter()
            .filter(|t| t.prepared.user_trace().is_none())
            .map(|t| (t.name.to_string(), Arc::from(t.request.method.as_str())))
            .collect();
        SegmentSink {
            queue,
            counters,
            methods: Arc::new(methods),
        }
    }

    /// Queue `record`'s segment; never waits. A full queue drops it, counted.
    pub fn offer(&self, record: &ProbeRecord) {
        let Some(method) = self.methods.get(&*record.target) else {
            return;
        };
        let Some(probe) = ClientProbe::of(record, method.clone()) else {
            return;
        };
        if self.queue.try_send(probe).is_err() {
            Counters::add(&self.counters.dropped, 1);
        }
    }
}
