//! The lab: the path coldlink exists for — API Gateway → VPC link → NLB →
//! backend, plus CloudFront in front of a custom domain and a DNS server —
//! reproduced in-process on 127.0.0.1 with one fault switched on. For
//! learning what each cause looks like, for demos, and as the ground truth
//! of coldlink's own tests.

pub mod alb;
mod alb_targets;
pub mod aws_config;
pub mod backend;
pub mod cloudwatch;
pub mod dns;
pub mod edge;
pub mod fanout;
pub mod gateway;
mod gateway_body;
mod http1;
pub mod listener;
pub mod nlb;
pub mod params;
pub mod scenario;
mod segment_id;
pub mod tls;
pub mod upstream;
pub mod xray;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;
use url::Url;

pub use scenario::Scenario;

/// The execute-api host name of the lab's API.
pub const EXECUTE_API_HOST: &str = "abc123.execute-api.lab.test";
/// The lab's custom domain.
pub const CUSTOM_DOMAIN_HOST: &str = "api.lab.test";

/// A running lab. Dropping it (or `stop`) shuts every part down.
pub struct Lab {
    pub scenario: Scenario,
    /// `https://abc123.execute-api.lab.test:PORT/test/header`
    pub execute_api: Url,
    /// `https://api.lab.test:PORT/header`, through the edge.
    pub custom_domain: Url,
    /// The lab's DNS server: resolves `*.lab.test` to 127.0.0.1 (and ::1
    /// when [`Lab::ipv6`]).
    pub dns: SocketAddr,
    /// True when the gateway and the edge listen on ::1 as well, and the
    /// lab's names have AAAA records (false on a machine without IPv6 on
    /// loopback, or with `dns.aaaa=false`).
    pub ipv6: bool,
    /// PEM file of the lab's certificate, for `--cacert`.
    pub ca_file: PathBuf,
    pub gateway_log: Arc<gateway::GatewayLog>,
    /// The app's traced requests, for its X-Ray segments.
    pub app_log: Arc<backend::AppLog>,
    pub nlb_stats: Arc<nlb::NlbStats>,
    /// The ALB's counts, on an ALB path (`path = "alb"`); `None` on an NLB path.
    pub alb_stats: Option<Arc<alb::AlbStats>>,
    /// Per target of the load balancer (the NLB's, or the ALB's on an ALB
    /// path): whether it passes a health check.
    pub nlb_healthy: Vec<bool>,
    /// This lab's NLB, target group and API names in CloudWatch.
    pub aws_names: cloudwatch::AwsNames,
    pub backends: Vec<SocketAddr>,
    cancel: CancellationToken,
    /// The lab's own runtime, when started with [`Lab::start_isolated`].
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The lab API's id (the first label of its execute-api host).
pub const API_ID: &str = "abc123";
/// The integration endpoint's host, as the gateway's segments name it.
pub const INTEGRATION_HOST: &str = "backend.lab.internal";

/// A streamed response's idle timeout at API Gateway (5 min, regional).
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The longest real time between two rounds of the lab profile's schedule.
pub const MAX_INTERVAL: Duration = Duration::from_secs(1);

impl Lab {
    /// From now on, send X-Ray segments for every request the gateway
    /// handles, through `client` (`--aws-endpoint`: moto's server, say).
    pub fn publish_traces(&self, client: aws_sdk_xray::Client) {
        let gateway = self.gateway_log.subscribe(4096);
        let app = self.app_log.subscribe(4096);
        let ids = (
            API_ID.to_string(),
            self.scenario.gateway.stage.clone(),
            INTEGRATION_HOST.to_string(),
        );
        let task = xray::publish(client, gateway, app, ids, self.cancel.clone());
        match &self.runtime {
            Some(rt) => drop(rt.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// From now on, publish the NLB's flow, reset and health counts as
    /// `AWS/NetworkELB` metrics, and the gateway's as `AWS/ApiGateway`,
    /// through `client` (`--aws-endpoint`: LocalStack, say), every second
    /// of real time and on each flush.
    pub fn publish_metrics(&self, client: aws_sdk_cloudwatch::Client) -> cloudwatch::MetricsFlush {
        let sources = cloudwatch::Sources {
            nlb: self.nlb_stats.clone(),
            alb: self.alb_stats.clone(),
            healthy: self.nlb_healthy.clone(),
            gateway: self.gateway_log.subscribe(4096),
            stage: self.scenario.gateway.stage.clone(),
            names: self.aws_names.clone(),
            speed: self.scenario.speed,
        };
        let (task, flush) = cloudwatch::publish(client, sources, Duration::from_secs(1), self.cancel.clone());
        match &self.runtime {
            Some(rt) => drop(rt.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
        flush
    }

    /// Start the lab on a runtime of its own (two threads), so that its
    /// servers' work never runs on the thread that times the probes.
    pub async fn start_isolated(scenario: Scenario) -> io::Result<Lab> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("coldlink-lab")
            .enable_all()
            .build()?;
        let started = runtime.spawn(Lab::start(scenario)).await;
        match started {
            Ok(Ok(mut lab)) => {
                lab.runtime = Some(runtime);
                Ok(lab)
            }
            // Dropping a runtime inside an async context panics: shut it down.
            Ok(Err(e)) => {
                runtime.shutdown_background();
                Err(e)
            }
            Err(e) => {
                runtime.shutdown_background();
                Err(io::Error::other(e))
            }
        }
    }

    /// Start every part of `scenario` on 127.0.0.1 (port 0 each), on the
    /// current runtime (private: only a runtime of the lab's own is shut
    /// down whole when the lab is dropped).
    async fn start(scenario: Scenario) -> io::Result<Lab> {
        let cancel = CancellationToken::new();
        let dir = tempfile::Builder::new().prefix("coldlink-lab-").tempdir()?;
        let cert = tls::LabCert::generate()?;
        let ca_file = dir.path().join("lab-ca.pem");
        cert.write_pem(&ca_file)?;

        let s = &scenario;
        // The gateway and the edge listen on ::1 too when the machine can,
        // and only then do the lab's names have an AAAA record.
        let ipv6 = listener::has_ipv6_loopback();
        let backend_config = backend::BackendConfig {
            delay: s.scaled(s.backend.delay),
            jitter: s.scaled(s.backend.jitter),
            error_rate: s.backend.error_rate,
            keepalive_timeout: s.scaled_opt(s.backend.keepalive_timeout),
            close_race: s.scaled(s.backend.close_race),
            stream_chunks: s.backend.stream_chunks,
            stream_duration: s.scaled(s.backend.stream_duration),
        };
        let app_log = Arc::new(backend::AppLog::default());
        let mut backends = Vec::new();
        for id in 0..s.backend.targets {
            backends.push(backend::start(id, backend_config.clone(), app_log.clone(), cancel.clone()).await?);
        }
        let faults = s
            .nlb
            .faults
            .iter()
            .map(|f| s.fault(f).map(|fault| (f.target, fault)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io::Error::other)?;
        let nlb_healthy = (0..backends.len())
            .map(|t| !faults.iter().any(|(ft, f)| *ft == t && f.fails_health_check()))
            .collect();
        let started = Instant::now();
        let drain = s.nlb.drain.as_ref().map(|d| nlb::Drain {
            target: d.target.index(),
            deregistered: started + s.scaled(d.at),
            dies: started + s.scaled(d.at) + s.scaled(d.dies_after),
            termination: d.termination,
            slow: s.scaled(d.slow),
        });
        let (nlb_addr, nlb_stats) = nlb::start(
            nlb::NlbConfig {
                targets: backends.clone(),
                idle_timeout: s.scaled_opt(s.nlb.idle_timeout),
                idle_behaviour: s.nlb.idle_behaviour,
                faults: faults.clone(),
                drain,
            },
            cancel.clone(),
        )
        .await?;
        // On an ALB path the gateway's integration goes to the ALB (the
        // NLB is started all the same, idle: its stats stay at zero).
        let (integration_addr, alb_stats) = match s.path {
            scenario::LabPath::Nlb => (nlb_addr, None),
            scenario::LabPath::Alb => {
                let (addr, stats) = alb::start(
                    alb::AlbConfig {
                        targets: backends.clone(),
                        idle_timeout: s.scaled(s.alb.idle_timeout),
                        client_keep_alive: s.scaled(s.alb.client_keep_alive),
                        close_race: s.scaled(s.alb.close_race),
                        other_traffic: s.alb.other_traffic * s.speed,
                        connect_timeout: s.scaled(crate::duration::Dur(Duration::from_secs(10))),
                        faults,
                    },
                    cancel.clone(),
                )
                .await?;
                (addr, Some(stats))
            }
        };
        let gateway_tls =
            listener::LabTls::new(&cert, s.scaled(s.gateway.tls_delay), s.gateway.tls_resumption)?;
        let (gateway_addr, gateway_log) = gateway::start(
            gateway::GatewayConfig {
                stage: s.gateway.stage.clone(),
                integration_timeout: s.scaled(s.gateway.integration_timeout),
                upstream: s.gateway.upstream,
                retry_on_reset: s.gateway.retry_on_reset,
                stall_retry: s.scaled_opt(s.gateway.stall_retry),
                tls_delay: s.scaled(s.gateway.tls_delay),
                tls_resumption: s.gateway.tls_resumption,
                syn_loss: s.gateway.syn_loss,
                ipv6_syn_loss: s.gateway.ipv6_syn_loss,
                integration_host: INTEGRATION_HOST.into(),
                transfer_mode: s.gateway.response_transfer_mode,
                stream_idle: s.scaled(crate::duration::Dur(STREAM_IDLE_TIMEOUT)),
            },
            integration_addr,
            gateway_tls,
            cancel.clone(),
        )
        .await?;
        let edge_addr = edge::start(
            edge::EdgeConfig {
                delay: s.scaled(s.edge.delay),
                origin: s.edge.origin,
                stage: s.gateway.stage.clone(),
                pop: s.edge.pop.clone(),
                origin_host: EXECUTE_API_HOST.into(),
            },
            gateway_addr,
            listener::LabTls::new(&cert, Duration::ZERO, true)?,
            cert.client_config()?,
            cancel.clone(),
        )
        .await?;
        let dns = dns::start(
            dns::DnsConfig {
                delay: s.scaled(s.dns.delay),
                drop: s.dns.drop,
                drop_first: s.dns.drop_first,
                aaaa: s.dns.aaaa && ipv6,
            },
            cancel.clone(),
        )
        .await?;
        let url = |s: String| Url::parse(&s).expect("lab URLs are valid");
        Ok(Lab {
            execute_api: url(format!(
                "https://{EXECUTE_API_HOST}:{}/{}/header",
                gateway_addr.port(),
                scenario.gateway.stage
            )),
            custom_domain: url(format!(
                "https://{CUSTOM_DOMAIN_HOST}:{}/header",
                edge_addr.port()
            )),
            dns,
            ipv6: ipv6 && scenario.dns.aaaa,
            ca_file,
            gateway_log,
            nlb_stats,
            alb_stats,
            nlb_healthy,
            app_log,
            aws_names: cloudwatch::AwsNames::new(),
            backends,
            cancel,
            runtime: None,
            _dir: dir,
            scenario,
        })
    }

    /// A profile for this lab run: both entry points, the lab's resolver and
    /// certificate, and plans scaled to the lab's speed.
    pub fn profile_toml(&self) -> String {
        let speed = self.scenario.speed;
        let secs = |real: f64| {
            humantime::format_duration(Duration::from_millis(((real / speed) * 1000.0).max(1.0) as u64))
        };
        // Every 30 s of the scenario, but at least once a real second: a
        // lab at speed 1 would otherwise send one probe per target in a
        // 30 s `run`, and leave the dashboard empty for half a minute.
        let interval = Duration::from_millis(((30.0 / speed) * 1000.0).max(1.0) as u64).min(MAX_INTERVAL);
        let sweep: Vec<String> = [0.0, 30.0, 65.0, 80.0, 120.0, 360.0]
            .iter()
            .map(|g| format!("\"{}\"", secs(*g)))
            .collect();
        format!(
            r#"# coldlink lab: {name} — {summary}
# Valid while this lab runs (its ports and certificate are this run's own).
name = "lab-{name}"

[[target]]
name = "execute-api"
url = "{execute_api}"
kind = "execute-api"

[[target]]
name = "custom-domain"
url = "{custom_domain}"
kind = "custom-domain"

[connection]
dns_server = "{dns}"
cacert = ["{ca}"]
timeout = "{timeout}"{ip_family}

[schedule]
interval = "{interval}"
jitter = "{jitter}"
connections = "fresh"

[burst]
requests = 30
concurrency = 3

[diagnose]
idle_sweep = [{sweep}]
slow = "{slow}"

# What diagnose --xray / --cloudwatch / --aws-config read, given
# --aws-endpoint (the lab sends its traces and metrics there, and seeds its
# configuration there for --aws-config; never to AWS).
[aws]
region = "{region}"
rest_api = {{ name = "{api_name}", id = "{api_id}", stage = "{stage}" }}
{lb}
target_groups = ["{tg}"]

# The records of these targets carry this: they were measured in real time,
# and the scenario's time is {speed}× that.
[lab]
scenario = "{name}"
speed = {speed:?}
"#,
            name = self.scenario.name,
            summary = self.scenario.summary,
            execute_api = self.execute_api,
            custom_domain = self.custom_domain,
            dns = self.dns,
            ca = self.ca_file.display(),
            // 60 s scaled, but never so short that TLS on a busy machine fails.
            timeout = humantime::format_duration(Duration::from_secs_f64((60.0 / speed).max(2.0))),
            // A fault on one family is seen only by probing each.
            ip_family = if self.ipv6 && self.scenario.gateway.ipv6_syn_loss > 0.0 {
                "\n# The fault is on one address family: probe each.\nip_family = \"both\""
            } else {
                ""
            },
            interval = humantime::format_duration(interval),
            jitter = humantime::format_duration(interval / 10),
            sweep = sweep.join(", "),
            slow = secs(1.0),
            region = cloudwatch::REGION,
            api_name = self.aws_names.api_name,
            api_id = API_ID,
            stage = self.scenario.gateway.stage,
            lb = match self.scenario.path {
                scenario::LabPath::Nlb => format!("nlb = \"{}\"", self.aws_names.nlb),
                scenario::LabPath::Alb => format!("alb = \"{}\"", self.aws_names.alb),
            },
            tg = self.aws_names.target_group,
        )
    }

    /// Write [`Lab::profile_toml`] into the lab's folder and return its path.
    pub fn write_profile(&self) -> io::Result<PathBuf> {
        let path = self._dir.path().join(format!("lab-{}.toml", self.scenario.name));
        std::fs::write(&path, self.profile_toml())?;
        Ok(path)
    }

    /// Shut every part down.
    pub fn stop(self) {
        drop(self);
    }
}
