//! `keepalive-race` against the configuration: the timers on the
//! gateway → backend leg that set where a race can happen, cited beside
//! the window the sweep measured (the close lies between the longest gap
//! that was fine and the shortest after which requests failed).
//!
//! - An ALB (`idle_timeout.timeout_seconds`, 60 s by default) is a proxy:
//!   at its idle timeout it closes the gateway's connection with a FIN, so
//!   a request sent just then fails: a race that lands on that timer. When
//!   the window lies below it, the race is behind the ALB: a target whose
//!   keep-alive is shorter than the ALB's idle timeout closes connections
//!   the ALB still reuses, and the ALB answers 502 itself (DOMAIN.md, "The
//!   ALB path").
//! - An NLB listener's idle timeout (`tcp.idle_timeout.seconds`, 350 s by
//!   default; TLS listeners fixed at 350 s) forgets flows, it closes
//!   nothing: context, the bound the backend's keep-alive stays below.
//! - nginx `keepalive_timeout` behind them is never readable: "unknown".

use super::fixes_first;
use super::path::{timers, Timer, TimerKind};
use crate::aws::path::PathConfig;
use crate::diagnose::detect::gaps::{fits, ALB_TIMER, ALB_TIMER_DEFAULT};
use crate::diagnose::detect::words::{ALB_IDLE_RAISE_FIX, TARGET_KEEPALIVE_FIX};
use crate::diagnose::finding::{ConfiguredValue, Finding};
use crate::format::human_ms;

pub(super) fn join(f: &mut Finding, c: &PathConfig) {
    let mut found = timers(c);
    if found.is_empty() {
        return;
    }
    let window = f.measured.timer_ms;
    for t in &mut found {
        t.value.explains = t.kind == TimerKind::Alb
            && matches!((window, t.seconds), (Some([lo, hi]), Some(s)) if fits(lo, hi, s as f64 * 1000.0));
    }
    let head = match window {
        Some([lo, hi]) => format!("race between {} and {}", human_ms(lo), human_ms(hi)),
        None => "the race".to_string(),
    };
    // Behind an ALB stand its targets (any server); behind an NLB, nginx.
    let on_alb = !found.is_empty() && found.iter().all(|t| t.kind == TimerKind::Alb);
    let behind = if on_alb {
        "the targets' keep-alive"
    } else {
        "nginx behind it"
    };
    let said: Vec<String> = found
        .iter()
        .map(|t| format!("your {}: {}", t.value.resource, t.words()))
        .collect();
    f.evidence.insert(
        0,
        format!(
            "{head} — timers on the gateway → backend leg: {}; {behind}: unknown (never read)",
            said.join("; ")
        ),
    );
    let mut fixes = Vec::new();
    let mut replaced: Vec<&str> = Vec::new();
    let mut lines = Vec::new();
    for t in &found {
        match (t.kind, window, t.seconds) {
            (TimerKind::Alb, _, Some(_)) if t.value.explains => {
                lines.push(format!(
                    "{} closes connections idle for {} with a FIN: a request the gateway sends on one as it closes fails, so the race lands on the ALB's idle timeout",
                    t.value.resource,
                    t.words()
                ));
                fixes.push(format!(
                    "{}: the race sits at its `idle_timeout.timeout_seconds` ({}): raise it (1–4000 s) above the longest quiet gap your traffic leaves, so that a race needs a longer silence: `aws elbv2 modify-load-balancer-attributes --load-balancer-arn {} --attributes Key=idle_timeout.timeout_seconds,Value=N`.",
                    t.value.resource,
                    t.words(),
                    arn(t)
                ));
                // The detector's general words for the same fix give way.
                replaced.push(ALB_IDLE_RAISE_FIX);
            }
            (TimerKind::Alb, Some([_, hi]), Some(s)) if hi < s as f64 * 1000.0 * 0.95 => {
                lines.push(format!(
                    "the race lies below {}'s idle timeout {}: a target whose keep-alive is shorter than that closes connections the ALB still reuses, and the ALB answers 502 itself (`server: awselb/2.0`)",
                    t.value.resource,
                    t.words()
                ));
                fixes.push(format!(
                    "Targets behind {} (its `idle_timeout.timeout_seconds` is {}): {TARGET_KEEPALIVE_FIX} To lower the ALB's: `aws elbv2 modify-load-balancer-attributes --load-balancer-arn {} --attributes Key=idle_timeout.timeout_seconds,Value=N`.",
                    t.value.resource,
                    t.words(),
                    arn(t)
                ));
                replaced.push(TARGET_KEEPALIVE_FIX);
            }
            _ => {}
        }
    }
    let nlb: Vec<&Timer> = found.iter().filter(|t| t.kind != TimerKind::Alb).collect();
    if !nlb.is_empty() {
        lines.push(format!(
            "an NLB forgets idle flows, it closes nothing, so its idle timeout ({}) is not where a race happens: it is the bound the backend's keep-alive must stay below (gateway reuse window < backend keep-alive < NLB idle timeout)",
            nlb.iter()
                .map(|t| format!("{} {}", t.value.resource, t.words()))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for (k, line) in lines.into_iter().enumerate() {
        f.evidence.insert(1 + k, line);
    }
    f.fix.retain(|x| !replaced.contains(&x.as_str()));
    fixes_first(f, fixes);
    // The timer table's "(…, default)" is the detector's guess; the
    // configuration read the value (cited above).
    let read_alb = found
        .iter()
        .any(|t| t.kind == TimerKind::Alb && t.seconds.is_some());
    if read_alb {
        for e in &mut f.evidence {
            *e = e.replace(ALB_TIMER_DEFAULT, ALB_TIMER);
        }
    }
    f.configured.extend(found.into_iter().map(|t| t.value));
    f.configured.push(ConfiguredValue {
        resource: if on_alb {
            "the targets behind the ALB".into()
        } else {
            "nginx behind the load balancer".into()
        },
        arn: None,
        setting: "keepalive_timeout".into(),
        value: "unknown".into(),
        default: false,
        explains: false,
    });
}

fn arn(t: &Timer) -> &str {
    t.value.arn.as_deref().unwrap_or("ARN")
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::diagnose::finding::{Cause, Severity};

    fn finding(lo_s: f64, hi_s: f64) -> Finding {
        let mut f = Finding::new(
            Cause::KeepaliveRace,
            Severity::Critical,
            0.75,
            "Requests after 63–67 s idle fail, before and after that they succeed: a keep-alive race near 63 s",
        );
        f.measured.timer_ms = Some([lo_s * 1000.0, hi_s * 1000.0]);
        f
    }

    fn alb(c: &mut PathConfig) {
        let lb = &mut c.load_balancers[0];
        lb.kind = "application".into();
        lb.name = "web".into();
        lb.attributes.clear();
        lb.listeners[0].protocol = "HTTP".into();
    }

    #[test]
    fn an_alb_idle_timeout_in_the_window_explains_the_race() {
        let mut c = fixtures::path();
        alb(&mut c);
        let mut f = finding(58.0, 63.0);
        join(&mut f, &c);
        assert_eq!(
            f.evidence[0],
            "race between 58 s and 63 s — timers on the gateway → backend leg: your ALB web: 60 s (default); the targets' keep-alive: unknown (never read)"
        );
        assert!(
            f.evidence[1].contains("closes connections idle for 60 s (default) with a FIN"),
            "{}",
            f.evidence[1]
        );
        assert!(
            f.fix[0].contains("Key=idle_timeout.timeout_seconds,Value=N"),
            "{}",
            f.fix[0]
        );
        assert!(f.configured[0].explains && f.configured[0].default);
        assert_eq!(f.configured[1].value, "unknown");
        assert_eq!(f.configured[1].resource, "the targets behind the ALB");
    }

    #[test]
    fn the_read_timer_replaces_the_detector_s_default_and_its_general_fix() {
        let mut c = fixtures::path();
        alb(&mut c);
        c.load_balancers[0]
            .attributes
            .insert("idle_timeout.timeout_seconds".into(), "60".into());
        let mut f = finding(58.0, 63.0)
            .evidence(format!("the close lands near 60 s: {ALB_TIMER_DEFAULT}"))
            .fixes(&[ALB_IDLE_RAISE_FIX, "Retry idempotent requests once on a 502."]);
        join(&mut f, &c);
        let close = f
            .evidence
            .iter()
            .find(|e| e.starts_with("the close lands"))
            .unwrap();
        assert!(!close.contains("default"), "{close}");
        assert!(!f.fix.iter().any(|x| x == ALB_IDLE_RAISE_FIX), "{:?}", f.fix);
        let raises = f.fix.iter().filter(|x| x.contains("(1–4000 s)")).count();
        let retries = f
            .fix
            .iter()
            .filter(|x| x.to_lowercase().contains("retry idempotent"))
            .count();
        assert_eq!((raises, retries), (1, 1), "{:?}", f.fix);
    }

    #[test]
    fn a_race_below_the_alb_s_timeout_is_the_target_s_keep_alive() {
        let mut c = fixtures::path();
        alb(&mut c);
        let mut f = finding(4.0, 6.0);
        join(&mut f, &c);
        assert!(
            f.evidence[1].contains("the ALB answers 502 itself"),
            "{}",
            f.evidence[1]
        );
        assert!(
            f.fix[0].starts_with("Targets behind ALB web (its `idle_timeout.timeout_seconds` is 60 s (default)): Keep the targets' keep-alive longer"),
            "{}",
            f.fix[0]
        );
        assert!(!f.configured[0].explains);
    }

    #[test]
    fn an_nlb_listener_is_context_never_the_race() {
        let mut f = finding(58.0, 63.0);
        join(&mut f, &fixtures::path());
        assert!(
            f.evidence[0].contains("your NLB edge-nlb, listener TCP:443: 350 s (default)"),
            "{}",
            f.evidence[0]
        );
        assert!(
            f.evidence[1].starts_with("an NLB forgets idle flows"),
            "{}",
            f.evidence[1]
        );
        assert!(f.fix.is_empty(), "nothing configured to change");
        assert!(!f.configured.iter().any(|v| v.explains));
    }

    #[test]
    fn no_load_balancer_adds_nothing() {
        let mut c = fixtures::path();
        c.load_balancers.clear();
        let mut f = finding(58.0, 63.0);
        let before = f.clone();
        join(&mut f, &c);
        assert_eq!(f, before);
    }
}
