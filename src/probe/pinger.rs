//! The keep-warm loop's plan, one for `coldlink keepwarm --interval` and
//! for `coldlink watch --keep-warm`: every target once every `interval`, the
//! targets spread across it, each ping later by up to `jitter`, on
//! kept-alive connections (a ping keeps warm the connections it uses, the
//! client's among them).

use std::time::Duration;

use tokio::time::Instant;

use super::plan::schedule_in_flight;
use super::{ConnectionPolicy, ProbeSettings, SchedulePlan};

/// What the engine runs for keep-warm: settings, plan, and how many pings
/// may be in flight (enough for every target to answer only at its
/// timeout without holding up the others').
pub struct Pings {
    pub settings: ProbeSettings,
    pub plan: SchedulePlan,
    pub in_flight: usize,
}

pub fn pings(targets: usize, interval: Duration, jitter: Duration, settings: &ProbeSettings) -> Pings {
    let mut settings = settings.clone();
    settings.connections = ConnectionPolicy::Reuse;
    Pings {
        in_flight: schedule_in_flight(targets, interval, settings.timeouts.total),
        plan: SchedulePlan::new(targets, interval, jitter, Instant::now(), None, rand::random()),
        settings,
    }
}
