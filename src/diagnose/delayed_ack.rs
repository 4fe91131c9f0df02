//! A remark, not a cause: latency in two modes about 40 ms apart, far below
//! what any detector calls slow. It is the shape of Nagle's algorithm
//! meeting a delayed ACK: a small second write (headers, then the body) is
//! held until the first is acknowledged, and the peer holds that ACK for
//! its delayed-ACK timer (40 ms on Linux). Worth a line, not a verdict.

use super::dataset::Dataset;
use super::num::quantiles;
use crate::format::human_ms;

/// Linux's minimum delayed-ACK time, and the window around it in which the
/// extra time of the slow mode must fall (real ms).
const DELAYED_ACK_MS: (f64, f64) = (30.0, 60.0);

/// The fast mode must be well below the extra 40 ms to tell them apart.
const FAST_MODE_MAX_MS: f64 = 20.0;

/// The slow mode's share: more than chance, less than the rule.
const SHARE: (f64, f64) = (0.05, 0.6);

const MIN_SLOW: usize = 3;

/// One line per target whose successful probes fall in two such modes.
pub fn remarks(ds: &Dataset) -> Vec<String> {
    let mut out = Vec::new();
    for (t, info) in ds.targets.iter().enumerate() {
        let totals: Vec<f64> = ds
            .of_target(t as u16)
            .filter(|(_, s)| s.ok())
            .map(|(_, s)| ds.real_ms(s.total_ms))
            .collect();
        if totals.len() < 10 {
            continue;
        }
        // Medians by selection: a million totals are not sorted for one value.
        let fast_mode = quantiles(totals.iter().copied(), &[0.5])[0];
        if fast_mode > FAST_MODE_MAX_MS {
            continue;
        }
        let slow: Vec<f64> = totals
            .iter()
            .copied()
            .filter(|v| (DELAYED_ACK_MS.0..=DELAYED_ACK_MS.1).contains(&(v - fast_mode)))
            .collect();
        let share = slow.len() as f64 / totals.len() as f64;
        if slow.len() < MIN_SLOW || !(SHARE.0..=SHARE.1).contains(&share) {
            continue;
        }
        let slow_mode = quantiles(slow.iter().copied(), &[0.5])[0];
        out.push(format!(
            "{}: {} of {} answers took about {} and the rest about {}: two modes {} apart, the shape of Nagle's algorithm meeting a delayed ACK (40 ms); too small to be a finding, but a request that writes its headers and body separately pays it. Check that the app and nginx set TCP_NODELAY (nginx: `tcp_nodelay on`, its default)",
            info.name,
            slow.len(),
            totals.len(),
            human_ms(slow_mode),
            human_ms(fast_mode),
            human_ms(slow_mode - fast_mode),
        ));
    }
    out
}
