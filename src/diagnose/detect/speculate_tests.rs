//! The detectors give the same detections with those after the idle ones
//! shared by two threads (`detect_all_on`) as one after the other: when
//! the first group explains probes, the second's early answers are
//! thrown away and it runs again.

use std::time::{Duration, UNIX_EPOCH};

use rand::{Rng, SeedableRng};

use super::*;
use crate::diagnose::dataset::{Builder, Observation};
use crate::probe::record::Phases;

#[test]
fn two_threads_detect_what_one_detects() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let (mut found, mut explaining) = (0, 0);
    for _ in 0..300 {
        // Bursts and quiet gaps on an execute-api URL and a custom domain
        // (CloudFront on it, slower or not); after a gap longer than the
        // timer the first probe mostly fails or stalls; some ALB 502
        // pages, some slow answers anywhere, a window of them sometimes.
        let timer_s = rng.random_range(60.0..350.0);
        let page_rate = [0.0, 0.02, 0.2][rng.random_range(0..3)];
        let slow_rate = [0.0, 0.1, 0.3][rng.random_range(0..3)];
        let edge_extra_ms = [0.0, 40.0][rng.random_range(0..2)];
        let window = rng.random_range(0.0..1.0);
        let mut b = Builder::new();
        let mut at = 0.0;
        let n = rng.random_range(1..400);
        for k in 0..n {
            let gap = if rng.random_bool(0.2) {
                rng.random_range(1.0..600.0)
            } else {
                rng.random_range(0.01..0.5)
            };
            at += gap;
            let custom = rng.random_bool(0.5);
            let reused = rng.random_bool(0.7);
            let in_window = (k as f64 / n as f64 - window).abs() < 0.05;
            let page = rng.random_bool(page_rate);
            let failed = page || rng.random_bool(if gap > timer_s { 0.8 } else { 0.03 });
            let slow =
                !failed && (gap > timer_s || in_window || rng.random_bool(slow_rate)) && rng.random_bool(0.7);
            let ttfb = if slow {
                1_990.0
            } else {
                15.0 + rng.random_range(0.0..3.0)
            } + if custom { edge_extra_ms } else { 0.0 };
            b.add(&Observation {
                target: if custom { "custom" } else { "api" },
                url: if custom {
                    "https://api.example.com/x"
                } else {
                    "https://abc.execute-api.eu-west-1.amazonaws.com/prod/x"
                },
                at: Some(UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_secs_f64(at)),
                total_ms: ttfb + 5.0,
                phases: Phases {
                    connect: (!reused).then_some(1.0),
                    ttfb: Some(ttfb),
                    ..Phases::default()
                },
                status: Some(if failed { 502 } else { 200 }),
                reused,
                conn_idle_ms: reused.then_some(gap * 1000.0),
                via: custom.then_some("1.1 abc.cloudfront.net (CloudFront)"),
                x_cache: custom.then_some(if failed {
                    "Error from cloudfront"
                } else {
                    "Miss from cloudfront"
                }),
                cf_pop: custom.then_some(if rng.random_bool(0.5) {
                    "FRA56-P1"
                } else {
                    "CDG50-C1"
                }),
                alb_answered: page,
                ..Default::default()
            });
        }
        let ds = b.build(1.0, None);
        let aws = AwsEvidence::default();
        let one = detect_all_on(&ds, &aws, false);
        let two = detect_all_on(&ds, &aws, true);
        found += one.len();
        // The group before the split explained probes: the rerun was taken.
        let mut explained = vec![false; ds.samples.len()];
        for &d in &DETECTORS[..AFTER_IDLE] {
            if let Some(d) = d(&Input {
                ds: &ds,
                explained: &explained,
                aws: &aws,
            }) {
                mark(&mut explained, &d.explains);
            }
        }
        let before = explained.clone();
        for &d in &DETECTORS[AFTER_IDLE..ELSEWHERE] {
            if let Some(d) = d(&Input {
                ds: &ds,
                explained: &explained,
                aws: &aws,
            }) {
                mark(&mut explained, &d.explains);
            }
        }
        explaining += usize::from(explained != before);
        // Every field, to the bit as printed (`{:?}` of an f64 is exact).
        assert_eq!(format!("{one:?}"), format!("{two:?}"));
    }
    // Both ways through were taken often enough to mean something.
    assert!(
        found > 200 && explaining > 20 && explaining < 280,
        "{found} {explaining}"
    );
}
