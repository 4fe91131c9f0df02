//! When the kernel resends a SYN that got no answer: read from the sysctls
//! of the network namespace the probe runs in, carried in the records of
//! probes that opened a connection, and turned into the times the
//! retransmitted SYNs leave, so that `diagnose` (here or on another machine)
//! can tell a connect stall that sits on one of them.

use serde::{Deserialize, Serialize};

/// The kernel's settings that fix a connect's SYN schedule, as read where
/// the probe ran. One fact: the schedule follows from it ([`SynSysctls::schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynSysctls {
    /// `net.ipv4.tcp_syn_retries` (IPv6 connects follow it too).
    pub tcp_syn_retries: u8,
    /// `net.ipv4.tcp_syn_linear_timeouts`: how many retransmissions keep the
    /// first 1 s timeout before it doubles. Absent on kernels without it,
    /// which back off exponentially from the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_syn_linear_timeouts: Option<u8>,
}

/// Linux's first SYN retransmission timeout (`TCP_TIMEOUT_INIT`, 1 s since
/// 3.1; a BPF `sockops` program can change it, which nothing here can see).
pub const FIRST_RTO_MS: f64 = 1_000.0;

/// `TCP_RTO_MAX`: no timeout grows past 120 s.
const RTO_MAX_MS: f64 = 120_000.0;

/// The SYN retransmissions of one connect that gets no answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SynSchedule {
    /// When each retransmitted SYN leaves, ms after the first SYN.
    pub marks_ms: Vec<f64>,
    /// When connect gives up (ETIMEDOUT), ms after the first SYN.
    pub give_up_ms: f64,
}

impl SynSysctls {
    /// This process's network namespace's settings; `None` where they
    /// cannot be read (not Linux, no /proc).
    pub fn read() -> Option<SynSysctls> {
        let read = |name: &str| -> Option<u8> {
            std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some(SynSysctls {
            tcp_syn_retries: read("tcp_syn_retries")?,
            tcp_syn_linear_timeouts: read("tcp_syn_linear_timeouts"),
        })
    }

    /// The schedule these settings give, from a 1 s first timeout.
    pub fn schedule(&self) -> SynSchedule {
        SynSchedule::linux(
            FIRST_RTO_MS,
            self.tcp_syn_linear_timeouts.unwrap_or(0),
            self.tcp_syn_retries,
        )
    }

    /// `tcp_syn_linear_timeouts 4, tcp_syn_retries 6`.
    pub fn describe(&self) -> String {
        match self.tcp_syn_linear_timeouts {
            Some(l) => format!(
                "tcp_syn_linear_timeouts {l}, tcp_syn_retries {}",
                self.tcp_syn_retries
            ),
            None => format!(
                "tcp_syn_retries {}, no tcp_syn_linear_timeouts",
                self.tcp_syn_retries
            ),
        }
    }
}

impl SynSchedule {
    /// Linux's SYN_SENT timer (net/ipv4/tcp_timer.c): the timeout starts at
    /// `first_rto_ms` and stays there for the first `linear + 1` timeouts,
    /// then doubles (at most 120 s) each time. Connect gives up at the
    /// timeout after `retries + linear` retransmissions, or at the first
    /// timeout at or past the time `retries` exponential timeouts would take
    /// (`tcp_model_timeout`), whichever is first.
    ///
    /// Checked against this machine's kernel (6.18) with SYNs dropped by
    /// nftables in a namespace, tcpdump timing the SYNs: linear 4, retries 6
    /// resent after 1, 2, 3, 4, 5, 7, 11, 19, 35 s (the capture ended at
    /// 40 s); linear 0, retries 6: 1, 3, 7, 15, 31 s; linear 4, retries 2:
    /// 1 … 5 s, ETIMEDOUT at 7.1 s; linear 2, retries 3: 1, 2, 3, 5, 9 s,
    /// ETIMEDOUT at 17.4 s.
    pub fn linux(first_rto_ms: f64, linear: u8, retries: u8) -> SynSchedule {
        let most = retries as usize + linear as usize;
        let limit = model_timeout_ms(first_rto_ms, retries);
        let mut marks = Vec::new();
        let mut rto = first_rto_ms;
        let mut at = 0.0;
        loop {
            at += rto;
            if marks.len() >= most || at >= limit {
                return SynSchedule {
                    marks_ms: marks,
                    give_up_ms: at,
                };
            }
            marks.push(at);
            if marks.len() > linear as usize {
                rto = (rto * 2.0).min(RTO_MAX_MS);
            }
        }
    }
}

/// `tcp_model_timeout`: how long `boundary` exponential timeouts from
/// `rto_base` take, the growth stopping at 120 s.
fn model_timeout_ms(rto_base_ms: f64, boundary: u8) -> f64 {
    let thresh = (RTO_MAX_MS / rto_base_ms).log2().floor() as u32;
    let b = boundary as u32;
    if b <= thresh {
        ((2u64 << b) - 1) as f64 * rto_base_ms
    } else {
        ((2u64 << thresh) - 1) as f64 * rto_base_ms + (b - thresh) as f64 * RTO_MAX_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &SynSchedule) -> (Vec<f64>, f64) {
        (
            s.marks_ms.iter().map(|m| m / 1000.0).collect(),
            s.give_up_ms / 1000.0,
        )
    }

    fn sysctls(retries: u8, linear: Option<u8>) -> SynSysctls {
        SynSysctls {
            tcp_syn_retries: retries,
            tcp_syn_linear_timeouts: linear,
        }
    }

    #[test]
    fn linear_first_is_what_this_kernel_does() {
        assert_eq!(
            secs(&sysctls(6, Some(4)).schedule()),
            (vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0], 131.0)
        );
    }

    #[test]
    fn without_linear_timeouts_the_backoff_is_exponential() {
        let classic = (vec![1.0, 3.0, 7.0, 15.0, 31.0, 63.0], 127.0);
        assert_eq!(secs(&sysctls(6, None).schedule()), classic);
        assert_eq!(secs(&sysctls(6, Some(0)).schedule()), classic);
    }

    #[test]
    fn few_retries_cut_the_linear_steps_short() {
        // Measured: ETIMEDOUT at 7.1 s and at 17.4 s.
        assert_eq!(
            secs(&sysctls(2, Some(4)).schedule()),
            (vec![1.0, 2.0, 3.0, 4.0, 5.0], 7.0)
        );
        assert_eq!(
            secs(&sysctls(3, Some(2)).schedule()),
            (vec![1.0, 2.0, 3.0, 5.0, 9.0], 17.0)
        );
    }

    #[test]
    fn an_old_kernel_starts_at_three_seconds() {
        assert_eq!(
            secs(&SynSchedule::linux(3_000.0, 0, 5)),
            (vec![3.0, 9.0, 21.0, 45.0, 93.0], 189.0)
        );
    }

    #[test]
    fn the_timeout_stops_growing_at_two_minutes() {
        let s = sysctls(10, Some(0)).schedule();
        let gaps: Vec<f64> = s.marks_ms.windows(2).map(|w| (w[1] - w[0]) / 1000.0).collect();
        assert_eq!(gaps, [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 120.0, 120.0, 120.0]);
    }

    #[test]
    fn the_settings_say_what_they_are() {
        assert_eq!(
            sysctls(6, Some(4)).describe(),
            "tcp_syn_linear_timeouts 4, tcp_syn_retries 6"
        );
        let json = serde_json::to_string(&sysctls(6, None)).unwrap();
        assert_eq!(json, r#"{"tcp_syn_retries":6}"#);
        let back: SynSysctls = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sysctls(6, None));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_namespace() {
        let s = SynSysctls::read().expect("Linux has /proc/sys/net/ipv4/tcp_syn_retries");
        assert!(s.tcp_syn_retries >= 1);
    }
}
