//! A round after a quiet gap: one probe per target, one after the other.

use super::prober::Prober;
use super::record::ProbeRecord;
use super::target::Target;

/// One probe to every target in turn, starting with target `first` (mod
/// their number). After a quiet gap the first probe meets the stalest
/// connection; callers rotate `first` so that every target gets to be it.
/// Sequence numbers start at `first_seq`.
pub async fn one_each(prober: &Prober, targets: &[Target], first: usize, first_seq: u64) -> Vec<ProbeRecord> {
    let mut batch = Vec::with_capacity(targets.len());
    for j in 0..targets.len() {
        let t = &targets[(first + j) % targets.len()];
        let seq = first_seq + j as u64;
        batch.push(Box::pin(prober.probe(t, seq, std::time::Instant::now())).await);
    }
    batch
}
