//! The idle analysis gives the same answer with its tries on one thread
//! or two (`halves`): the judging stays in the order tried.

use std::time::{Duration, UNIX_EPOCH};

use rand::{Rng, SeedableRng};

use super::*;
use crate::diagnose::dataset::{Builder, Observation};
use crate::diagnose::evidence::AwsEvidence;
use crate::probe::record::Phases;

#[test]
fn two_threads_find_what_one_finds() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut found = 0;
    for _ in 0..300 {
        // Bursts and quiet gaps on two targets; after a gap longer than
        // the timer the first probe mostly fails (or stalls), on a reused
        // connection or a new one; some failures anywhere.
        let timer_s = rng.random_range(60.0..350.0);
        let mut b = Builder::new();
        let mut at = 0.0;
        for _ in 0..rng.random_range(1..300) {
            let gap = if rng.random_bool(0.3) {
                rng.random_range(1.0..600.0)
            } else {
                rng.random_range(0.01..0.5)
            };
            at += gap;
            let reused = rng.random_bool(0.7);
            let failed = rng.random_bool(if gap > timer_s { 0.8 } else { 0.05 });
            let slow = !failed && gap > timer_s && rng.random_bool(0.5);
            b.add(&Observation {
                target: if rng.random_bool(0.5) { "a" } else { "b" },
                url: "http://a/",
                at: Some(UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_secs_f64(at)),
                total_ms: if slow { 2_000.0 } else { 20.0 },
                phases: Phases {
                    connect: (!reused).then_some(1.0),
                    ttfb: Some(if slow { 1_990.0 } else { 15.0 }),
                    ..Phases::default()
                },
                status: Some(if failed { 502 } else { 200 }),
                reused,
                conn_idle_ms: reused.then_some(gap * 1000.0),
                ..Default::default()
            });
        }
        let ds = b.build(1.0, None);
        let explained: Vec<bool> = ds.samples.iter().map(|_| rng.random_bool(0.05)).collect();
        let input = Input {
            ds: &ds,
            explained: &explained,
            aws: &AwsEvidence::default(),
        };
        for criterion in [Bad::FailedOrStalled, Bad::Failed] {
            let one = analyse_on(&input, criterion, false);
            let two = analyse_on(&input, criterion, true);
            found += usize::from(one.is_some());
            // Every field, to the bit as printed (`{:?}` of an f64 is exact).
            assert_eq!(format!("{one:?}"), format!("{two:?}"));
        }
    }
    // Patterns were found often enough for the comparison to mean something.
    assert!(found > 100, "{found}");
}
