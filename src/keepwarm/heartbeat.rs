//! `--heartbeat-url`: after each round, a GET to the URL when every target
//! was ok, to `URL/fail` when one was not — the convention of
//! cron-monitoring services (healthchecks.io, Cronitor, …), which then alert
//! when the pings stop or fail. A failing heartbeat is logged, never fatal,
//! at most once every [`OUTAGE_LOG_EVERY`] (the publishers' outage log).

use std::time::Duration;

use crate::publish::{OutageLog, OUTAGE_LOG_EVERY};

/// A heartbeat that gets no answer within this is given up (and logged).
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Heartbeat {
    client: reqwest::Client,
    url: url::Url,
}

impl Heartbeat {
    pub fn new(url: url::Url) -> Heartbeat {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("coldlink/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with a timeout and a user agent builds");
        Heartbeat { client, url }
    }

    /// The URL for a round's outcome: the URL itself, or `URL/fail`.
    pub fn url_for(&self, ok: bool) -> url::Url {
        if ok {
            return self.url.clone();
        }
        let mut url = self.url.clone();
        let path = format!("{}/fail", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// Send it; `Err` is the line to log. The URL is named by its host and
    /// port only: a monitoring service's ping URL is a credential.
    pub async fn send(&self, ok: bool) -> Result<(), String> {
        let url = self.url_for(ok);
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let shown = format!("{}://{}{port}/…", url.scheme(), url.host_str().unwrap_or("?"));
        match self.client.get(url).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("heartbeat to {shown}: HTTP {}", r.status().as_u16())),
            Err(e) => Err(format!("heartbeat to {shown} failed: {}", without_url(&e))),
        }
    }
}

/// What the heartbeats' outcomes are worth a line: failures and
/// recoveries together at most once every [`OUTAGE_LOG_EVERY`], the
/// failures held back counted ([`OutageLog`]'s rules, CloudWatch's too).
pub struct HeartbeatLog {
    log: OutageLog,
}

impl HeartbeatLog {
    pub fn new() -> HeartbeatLog {
        HeartbeatLog {
            log: OutageLog::new(OUTAGE_LOG_EVERY),
        }
    }

    /// One heartbeat's outcome ([`Heartbeat::send`]'s): the line to say
    /// now, if any.
    pub fn outcome(&mut self, sent: Result<(), String>) -> Option<String> {
        self.log
            .outcome(sent.as_ref().map(|_| ()).map_err(String::as_str), |failed| {
                format!("heartbeats go through again, after {failed} failed")
            })
    }
}

impl Default for HeartbeatLog {
    fn default() -> Self {
        HeartbeatLog::new()
    }
}

/// reqwest's error text without the URL (which may hold a token).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "no answer within 10 s"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    match std::error::Error::source(e) {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A monitor down for many rounds: its failure said at once, then once
    /// every 5 minutes with the rounds held back counted; its recovery
    /// said; after an outage that long, the next failure said at once.
    /// (Every round's failure was a line before.)
    #[tokio::test(start_paused = true)]
    async fn failing_heartbeats_are_said_once_every_five_minutes() {
        let mut log = HeartbeatLog::new();
        let failed = || Err("heartbeat to http://127.0.0.1:9/… failed: could not connect".to_string());
        let mut said = Vec::new();
        // A round a minute, ten minutes down.
        for _ in 0..11 {
            said.extend(log.outcome(failed()));
            tokio::time::advance(Duration::from_secs(60)).await;
        }
        assert_eq!(
            said,
            [
                "heartbeat to http://127.0.0.1:9/… failed: could not connect",
                "heartbeat to http://127.0.0.1:9/… failed: could not connect (4 more failures since the last line)",
                "heartbeat to http://127.0.0.1:9/… failed: could not connect (4 more failures since the last line)",
            ]
        );
        assert_eq!(
            log.outcome(Ok(())).as_deref(),
            Some("heartbeats go through again, after 11 failed")
        );
        assert_eq!(log.outcome(Ok(())), None);
        assert!(log.outcome(failed()).is_some(), "a new failure, at once");
    }

    /// A monitor that fails and answers in turn, a round a minute: each
    /// recovery said at once and reset the limit, a line a minute.
    #[tokio::test(start_paused = true)]
    async fn a_flapping_monitor_is_at_most_a_line_every_five_minutes() {
        let mut log = HeartbeatLog::new();
        let mut said = Vec::new();
        for round in 0..10 {
            let sent = if round % 2 == 0 {
                Err("heartbeat to http://127.0.0.1:9/… failed: could not connect".to_string())
            } else {
                Ok(())
            };
            said.extend(log.outcome(sent));
            tokio::time::advance(Duration::from_secs(60)).await;
        }
        assert_eq!(
            said,
            [
                "heartbeat to http://127.0.0.1:9/… failed: could not connect",
                "heartbeats go through again, after 3 failed",
            ]
        );
    }

    #[test]
    fn a_failed_round_goes_to_url_slash_fail() {
        let h = Heartbeat::new("https://hc-ping.com/5b0c/".parse().unwrap());
        assert_eq!(h.url_for(true).as_str(), "https://hc-ping.com/5b0c/");
        assert_eq!(h.url_for(false).as_str(), "https://hc-ping.com/5b0c/fail");
        let h = Heartbeat::new("https://example.com/ping?key=1".parse().unwrap());
        assert_eq!(h.url_for(false).as_str(), "https://example.com/ping/fail?key=1");
    }
}
