//! `--heartbeat-url`: after each round, a GET to the URL when every target
//! was ok, to `URL/fail` when one was not — the convention of
//! cron-monitoring services (healthchecks.io, Cronitor, …), which then alert
//! when the pings stop or fail. A failing heartbeat is logged, never fatal.

use std::time::Duration;

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

    #[test]
    fn a_failed_round_goes_to_url_slash_fail() {
        let h = Heartbeat::new("https://hc-ping.com/5b0c/".parse().unwrap());
        assert_eq!(h.url_for(true).as_str(), "https://hc-ping.com/5b0c/");
        assert_eq!(h.url_for(false).as_str(), "https://hc-ping.com/5b0c/fail");
        let h = Heartbeat::new("https://example.com/ping?key=1".parse().unwrap());
        assert_eq!(h.url_for(false).as_str(), "https://example.com/ping/fail?key=1");
    }
}
