//! `idle-timeout` against the configuration: the timer the sweep measured
//! (between the longest quiet gap the path stayed warm after and the
//! shortest it went cold after) against every idle timer configured on the
//! path: NLB TCP listeners (`tcp.idle_timeout.seconds`, 350 s by default),
//! NLB TLS listeners (350 s, fixed), ALBs (`idle_timeout.timeout_seconds`,
//! 60 s by default). nginx behind them is never read, so it stays
//! "unknown". When no configured timer fits, the timers nobody can read
//! from here are named.

use super::fixes_first;
use super::path::{timers, Timer, TimerKind};
use crate::aws::path::PathConfig;
use crate::diagnose::detect::gaps::fits;
use crate::diagnose::finding::{ConfiguredValue, Finding};
use crate::format::human_ms;

/// Timers on the path that no read API shows (scenario ms).
const UNREAD: [(f64, &str); 4] = [
    (350_000.0, "a NAT gateway on the client's side (350 s, fixed)"),
    (
        350_000.0,
        "the target's connection tracking (350 s on Nitro v6 instances, 5 days on others; tracked flows only)",
    ),
    (75_000.0, "nginx `keepalive_timeout` (75 s by default)"),
    (60_000.0, "nginx upstream `keepalive_timeout` (60 s by default)"),
];

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    let Some([lo, hi]) = f.measured.timer_ms else {
        return;
    };
    let mut found = timers(c);
    for t in &mut found {
        t.value.explains = t.seconds.is_some_and(|s| fits(lo, hi, s as f64 * 1000.0));
    }
    let between = format!("timer between {} and {}", human_ms(lo), human_ms(hi));
    let mut said: Vec<String> = found
        .iter()
        .map(|t| format!("your {}: {}", t.value.resource, t.words()))
        .collect();
    if !c.load_balancers.is_empty() {
        said.push("nginx behind it: unknown (never read)".into());
    }
    if said.is_empty() {
        f.evidence.insert(
            0,
            format!("{between} — no load balancer was read, so no configured timer to compare (name one with `[aws] nlb` or `[aws] alb`)"),
        );
        return;
    }
    f.evidence.insert(0, format!("{between} — {}", said.join("; ")));
    let matching: Vec<&Timer> = found.iter().filter(|t| t.value.explains).collect();
    if let Some(first) = matching.first() {
        f.title = format!(
            "{}; configured on the path: {}, {}",
            f.title,
            first.value.resource,
            first.words()
        );
        f.confidence = crate::diagnose::detect::raise(f.confidence, 0.05);
        fixes_first(f, matching.iter().map(|t| fix(t)).collect());
    } else {
        let fitting: Vec<&str> = UNREAD
            .iter()
            .filter(|(ms, _)| fits(lo, hi, *ms))
            .map(|(_, what)| *what)
            .collect();
        let others = if fitting.is_empty() {
            UNREAD
                .iter()
                .map(|(_, what)| *what)
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            fitting.join("; ")
        };
        let unread: Vec<&str> = found
            .iter()
            .filter(|t| t.seconds.is_none())
            .map(|t| t.value.resource.as_str())
            .collect();
        let line = if unread.is_empty() {
            format!("no configured timer on the path fits: the timer is elsewhere — {others}")
        } else {
            format!(
                "no configured timer that was read fits; {} could not be read and may be it, else the timer is elsewhere — {others}",
                unread.join(", ")
            )
        };
        f.evidence.insert(1, line);
    }
    f.configured.extend(found.into_iter().map(|t| t.value));
    if !c.load_balancers.is_empty() {
        f.configured.push(ConfiguredValue {
            resource: "nginx behind the load balancer".into(),
            arn: None,
            setting: "keepalive_timeout".into(),
            value: "unknown".into(),
            default: false,
            explains: false,
        });
    }
}

/// The exact setting behind a timer that fits, and the command.
fn fix(t: &Timer) -> String {
    let arn = t.value.arn.as_deref().unwrap_or("ARN");
    // A margin below the timer, in whole tens of seconds: 350 s → 300 s.
    let below = format!(
        "{} s",
        ((t.seconds.unwrap_or(350) as f64 * 0.86 / 10.0).floor() * 10.0).max(1.0)
    );
    match t.kind {
        TimerKind::NlbTcp => format!(
            "{}: raise `tcp.idle_timeout.seconds` (60–6000 s, now {}) above the backend's keep-alive: `aws elbv2 modify-listener-attributes --listener-arn {arn} --attributes Key=tcp.idle_timeout.seconds,Value=N`; or lower nginx `keepalive_timeout` (and the app's) below it, e.g. {below}, so that the backend closes first; or keep the path warm with a request more often than the timer.",
            t.value.resource,
            t.words()
        ),
        TimerKind::NlbTls => format!(
            "{}: a TLS listener's idle timeout is fixed at 350 s: lower nginx `keepalive_timeout` (and the app's) below it, e.g. {below}; or terminate TLS behind a TCP listener, whose `tcp.idle_timeout.seconds` can be raised (`aws elbv2 modify-listener-attributes --listener-arn ARN --attributes Key=tcp.idle_timeout.seconds,Value=N`).",
            t.value.resource
        ),
        TimerKind::Alb => format!(
            "{}: set `idle_timeout.timeout_seconds` (1–4000 s, now {}) and keep the target's keep-alive longer than it: `aws elbv2 modify-load-balancer-attributes --load-balancer-arn {arn} --attributes Key=idle_timeout.timeout_seconds,Value=N`.",
            t.value.resource,
            t.words()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, attrs, LISTENER_ARN};
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding(lo_s: f64, hi_s: f64) -> Finding {
        let mut f = Finding::new(
            Cause::IdleTimeout,
            Severity::Critical,
            0.8,
            "Requests after ≥ 6 min idle stall",
        );
        f.measured.timer_ms = Some([lo_s * 1000.0, hi_s * 1000.0]);
        f
    }

    #[test]
    fn a_default_tcp_listener_explains_a_timer_near_350_s() {
        let mut f = finding(300.0, 360.0);
        join(&mut f, &fixtures::path());
        assert_eq!(
            f.evidence[0],
            "timer between 300 s and 360 s — your NLB edge-nlb, listener TCP:443: 350 s (default); nginx behind it: unknown (never read)"
        );
        assert!(
            f.title
                .ends_with("; configured on the path: NLB edge-nlb, listener TCP:443, 350 s (default)"),
            "{}",
            f.title
        );
        assert!(f.fix[0].contains(&format!(
            "aws elbv2 modify-listener-attributes --listener-arn {LISTENER_ARN} --attributes Key=tcp.idle_timeout.seconds,Value=N"
        )));
        let listener = &f.configured[0];
        assert_eq!(listener.setting, "tcp.idle_timeout.seconds");
        assert_eq!(listener.value, "350");
        assert!(listener.default && listener.explains);
        assert_eq!(f.configured[1].value, "unknown");
        assert_eq!(f.confidence, 0.85);
    }

    #[test]
    fn a_raised_listener_timeout_points_elsewhere() {
        let mut c = fixtures::path();
        c.load_balancers[0].listeners[0].attributes = attrs(&[("tcp.idle_timeout.seconds", "600")]);
        let mut f = finding(300.0, 360.0);
        join(&mut f, &c);
        assert!(f.evidence[0].contains("TCP:443: 600 s;"), "{}", f.evidence[0]);
        assert_eq!(
            f.evidence[1],
            "no configured timer on the path fits: the timer is elsewhere — a NAT gateway on the client's side (350 s, fixed); the target's connection tracking (350 s on Nitro v6 instances, 5 days on others; tracked flows only)"
        );
        assert!(!f.configured[0].explains && !f.configured[0].default);
        assert_eq!(f.title, "Requests after ≥ 6 min idle stall");
    }

    /// A failed attribute read is not the default: nothing is claimed.
    #[test]
    fn an_unread_listener_is_not_the_default() {
        let mut c = fixtures::path();
        c.load_balancers[0].listeners[0].attributes_unread = true;
        let mut f = finding(300.0, 360.0);
        join(&mut f, &c);
        assert!(
            f.evidence[0].contains("listener TCP:443: not read;"),
            "{}",
            f.evidence[0]
        );
        assert!(!f.configured[0].explains && !f.configured[0].default);
        assert!(
            f.evidence[1].starts_with("no configured timer that was read fits; NLB edge-nlb, listener TCP:443 could not be read and may be it"),
            "{}",
            f.evidence[1]
        );
    }

    #[test]
    fn a_tls_listener_is_fixed_and_says_so() {
        let mut c = fixtures::path();
        c.load_balancers[0].listeners[0].protocol = "TLS".into();
        let mut f = finding(300.0, 360.0);
        join(&mut f, &c);
        assert!(
            f.evidence[0].contains("listener TLS:443: 350 s (fixed)"),
            "{}",
            f.evidence[0]
        );
        assert!(f.fix[0].contains("fixed at 350 s"), "{}", f.fix[0]);
        assert!(f.fix[0].contains("below it, e.g. 300 s"), "{}", f.fix[0]);
    }

    #[test]
    fn an_alb_without_the_attribute_has_60_s() {
        let mut c = fixtures::path();
        c.load_balancers[0].kind = "application".into();
        c.load_balancers[0].name = "web".into();
        c.load_balancers[0].listeners[0].protocol = "HTTP".into();
        let mut f = finding(50.0, 70.0);
        join(&mut f, &c);
        assert!(
            f.evidence[0].contains("your ALB web: 60 s (default)"),
            "{}",
            f.evidence[0]
        );
        assert!(
            f.fix[0].contains("Key=idle_timeout.timeout_seconds,Value=N"),
            "{}",
            f.fix[0]
        );
        assert_eq!(f.configured[0].setting, "idle_timeout.timeout_seconds");
    }

    #[test]
    fn nothing_but_an_api_read_says_there_is_nothing_to_compare() {
        let mut c = fixtures::path();
        c.load_balancers.clear();
        let mut f = finding(300.0, 360.0);
        join(&mut f, &c);
        assert!(
            f.evidence[0].contains("no load balancer was read"),
            "{}",
            f.evidence[0]
        );
        assert!(f.configured.is_empty());
    }
}
