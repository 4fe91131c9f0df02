//! The real runner and prober over a plan, every record collected.

use std::sync::Arc;

use coldlink::config::targets_from;
use coldlink::probe::{runner, CountPlan, ProbeRecord, ProbeSettings, Prober, RequestSpec};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Every record of `plan` over `urls` with at most `workers` probes at
/// once, in the order they arrive; the records' channel holds `capacity`.
pub async fn collect(
    settings: ProbeSettings,
    urls: &[url::Url],
    plan: CountPlan,
    workers: usize,
    capacity: usize,
) -> Vec<ProbeRecord> {
    let targets = Arc::new(targets_from(urls, &Arc::new(RequestSpec::default())));
    let prober = Arc::new(Prober::new(settings).unwrap());
    let (tx, mut rx) = mpsc::channel(capacity);
    let run = tokio::spawn(runner::run(
        prober,
        targets,
        Box::new(plan),
        workers,
        tx,
        CancellationToken::new(),
    ));
    let mut out = Vec::new();
    while let Some(r) = rx.recv().await {
        out.push(r);
    }
    run.await.unwrap();
    out
}
