//! The lab speaks CloudWatch: its NLB's flow and reset counts and its
//! targets' health as `AWS/NetworkELB` metrics, on an ALB path its ALB's
//! requests, own 502/504 pages, target 5xx, target connection errors,
//! target response time and its targets' health as `AWS/ApplicationELB`
//! metrics, and its gateway's requests,
//! latencies and errors as a REST API's `AWS/ApiGateway` metrics, under the
//! dimensions AWS uses, published with `PutMetricData` to the endpoint
//! given (LocalStack in the tests). Latencies are in scenario milliseconds,
//! like everything else the lab reports; timestamps are real.
//!
//! Target `i` stands in its own Availability Zone (`us-east-1a`, `…b`, …),
//! as one target per zone with cross-zone load balancing off: a target that
//! fails its health check leaves its zone with no healthy host, which is
//! what `bad-path` looks like in CloudWatch.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_sdk_cloudwatch::Client;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::alb::AlbStats;
use super::gateway::GatewayRecord;
use super::nlb::NlbStats;
use crate::aws::cloudwatch::{ALB_NAMESPACE, API_NAMESPACE, NLB_NAMESPACE};

/// The names a lab's metrics are published under. Each lab has its own
/// ids, as each real load balancer does, so that two labs publishing to
/// one emulator in the same minute never mix their counts.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsNames {
    /// The NLB's `LoadBalancer` dimension: `net/coldlink-lab-RUN/ID`
    /// (the name is the run's own too: `--aws-config` seeds it into an
    /// emulator, where target group names must be unique).
    pub nlb: String,
    /// The ALB's `LoadBalancer` dimension on an ALB path:
    /// `app/coldlink-lab-RUN/ID`.
    pub alb: String,
    /// Its one target group's `TargetGroup` dimension.
    pub target_group: String,
    /// The REST API's `ApiName` dimension.
    pub api_name: String,
}

impl AwsNames {
    pub fn new() -> AwsNames {
        let id: u64 = rand::random();
        AwsNames {
            nlb: format!("net/coldlink-lab-{:08x}/{id:016x}", id >> 32),
            alb: format!("app/coldlink-lab-{:08x}/{id:016x}", id >> 32),
            target_group: format!(
                "targetgroup/coldlink-lab-{:08x}/{:016x}",
                id >> 32,
                id.rotate_left(32)
            ),
            api_name: format!("coldlink-lab-{:08x}", id >> 32),
        }
    }
}

impl Default for AwsNames {
    fn default() -> Self {
        AwsNames::new()
    }
}

/// The region the lab says it is in.
pub const REGION: &str = "us-east-1";

/// The Availability Zone of target `i`.
pub fn zone(target: usize) -> String {
    format!("{REGION}{}", (b'a' + (target % 26) as u8) as char)
}

/// Asks the publisher to send what it has counted so far, and waits until
/// it has: so that a lookup right after a run sees the run's last counts.
#[derive(Clone)]
pub struct MetricsFlush(mpsc::Sender<oneshot::Sender<()>>);

impl MetricsFlush {
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.send(tx).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// The counters as last published (each publication sends the difference).
#[derive(Default)]
struct Last {
    new_flows: u64,
    elb_resets: u64,
    target_resets: u64,
    client_resets: u64,
    alb: [u64; 7],
}

/// What the publisher reads.
pub struct Sources {
    pub nlb: Arc<NlbStats>,
    /// The ALB's counters on an ALB path (`Lab.alb_stats`), else `None`.
    pub alb: Option<Arc<AlbStats>>,
    /// Per NLB target: whether it passes a health check.
    pub healthy: Vec<bool>,
    /// Every request the gateway handles.
    pub gateway: mpsc::Receiver<GatewayRecord>,
    pub stage: String,
    pub names: AwsNames,
    /// The lab's speed: real milliseconds × speed = scenario milliseconds.
    pub speed: f64,
}

/// Publish every `every` (and on each flush) until `cancel`: counts as sums
/// since the last publication, flows and health as they are now.
pub fn publish(
    client: Client,
    mut sources: Sources,
    every: Duration,
    cancel: CancellationToken,
) -> (impl std::future::Future<Output = ()>, MetricsFlush) {
    let (tx, mut rx) = mpsc::channel::<oneshot::Sender<()>>(8);
    let task = async move {
        let mut last = Last::default();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let waiting = tokio::select! {
                _ = tick.tick() => None,
                Some(reply) = rx.recv() => Some(reply),
                _ = cancel.cancelled() => return,
            };
            let now = SystemTime::now();
            let mut handled = Vec::new();
            while let Ok(r) = sources.gateway.try_recv() {
                handled.push(r);
            }
            let batches = [
                (
                    NLB_NAMESPACE,
                    datums(&sources.nlb, &sources.healthy, &sources.names, &mut last, now),
                ),
                (
                    ALB_NAMESPACE,
                    match &sources.alb {
                        Some(alb) => alb_datums(
                            alb,
                            &sources.healthy,
                            &sources.names,
                            sources.speed,
                            &mut last.alb,
                            now,
                        ),
                        None => Vec::new(),
                    },
                ),
                (
                    API_NAMESPACE,
                    api_datums(
                        &handled,
                        &sources.names.api_name,
                        &sources.stage,
                        sources.speed,
                        now,
                    ),
                ),
            ];
            for (namespace, data) in batches {
                if data.is_empty() {
                    continue;
                }
                if let Err(e) = client
                    .put_metric_data()
                    .namespace(namespace)
                    .set_metric_data(Some(data))
                    .send()
                    .await
                {
                    tracing::warn!("lab: {}", crate::aws::describe("cloudwatch:PutMetricData", &e));
                }
            }
            if let Some(reply) = waiting {
                let _ = reply.send(());
            }
        }
    };
    (task, MetricsFlush(tx))
}

/// The gateway's requests since the last publication, as a REST API
/// publishes them: a count, latency statistics, and 4XX/5XX counts.
fn api_datums(
    handled: &[GatewayRecord],
    api_name: &str,
    stage: &str,
    speed: f64,
    now: SystemTime,
) -> Vec<MetricDatum> {
    if handled.is_empty() {
        return Vec::new();
    }
    let dims = || {
        vec![
            Dimension::builder().name("ApiName").value(api_name).build(),
            Dimension::builder().name("Stage").value(stage).build(),
        ]
    };
    let at = DateTime::from(now);
    let ms = |from: SystemTime, to: SystemTime| {
        to.duration_since(from).unwrap_or(Duration::ZERO).as_secs_f64() * 1000.0 * speed
    };
    let count = |name: &str, n: usize| {
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims()))
            .timestamp(at)
            .value(n as f64)
            .unit(StandardUnit::Count)
            .build()
    };
    let stats = |name: &str, values: Vec<f64>| {
        let set = StatisticSet::builder()
            .sample_count(values.len() as f64)
            .sum(values.iter().sum())
            .minimum(values.iter().copied().fold(f64::INFINITY, f64::min))
            .maximum(values.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .build();
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims()))
            .timestamp(at)
            .statistic_values(set)
            .unit(StandardUnit::Milliseconds)
            .build()
    };
    let mut out = vec![
        count("Count", handled.len()),
        count("5XXError", handled.iter().filter(|r| r.status >= 500).count()),
        count(
            "4XXError",
            handled.iter().filter(|r| (400..500).contains(&r.status)).count(),
        ),
        stats(
            "Latency",
            handled.iter().map(|r| ms(r.received, r.responded)).collect(),
        ),
    ];
    // A request the stage refused never reached an integration.
    let integrated: Vec<f64> = handled
        .iter()
        .filter(|r| r.attempts > 0)
        .map(|r| ms(r.integration_start, r.integration_end))
        .collect();
    if !integrated.is_empty() {
        out.push(stats("IntegrationLatency", integrated));
    }
    out
}

fn datums(
    stats: &NlbStats,
    healthy: &[bool],
    names: &AwsNames,
    last: &mut Last,
    now: SystemTime,
) -> Vec<MetricDatum> {
    let lb = || {
        Dimension::builder()
            .name("LoadBalancer")
            .value(&names.nlb)
            .build()
    };
    let at = DateTime::from(now);
    let datum = |name: &str, value: f64, dims: Vec<Dimension>| {
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims))
            .timestamp(at)
            .value(value)
            .unit(StandardUnit::Count)
            .build()
    };
    let delta = |counter: &std::sync::atomic::AtomicU64, seen: &mut u64| {
        let now = counter.load(Ordering::Relaxed);
        let d = now.saturating_sub(*seen);
        *seen = now;
        d as f64
    };
    let mut out = vec![
        datum(
            "NewFlowCount",
            delta(&stats.new_flows, &mut last.new_flows),
            vec![lb()],
        ),
        datum(
            "ActiveFlowCount",
            stats.active_flows.load(Ordering::Relaxed) as f64,
            vec![lb()],
        ),
        datum(
            "TCP_ELB_Reset_Count",
            delta(&stats.elb_resets, &mut last.elb_resets),
            vec![lb()],
        ),
        datum(
            "TCP_Target_Reset_Count",
            delta(&stats.target_resets, &mut last.target_resets),
            vec![lb()],
        ),
        datum(
            "TCP_Client_Reset_Count",
            delta(&stats.client_resets, &mut last.client_resets),
            vec![lb()],
        ),
        datum("UnhealthyRoutingFlowCount", 0.0, vec![lb()]),
    ];
    out.extend(health(healthy, &names.nlb, &names.target_group, now));
    out
}

/// Target health under load balancer `lb` and target group `tg`: the
/// group's healthy and unhealthy hosts, and each zone's (target `i` is in
/// zone `i`).
fn health(healthy: &[bool], lb: &str, tg: &str, now: SystemTime) -> Vec<MetricDatum> {
    let at = DateTime::from(now);
    let dim = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let datum = |name: &str, value: f64, zone: Option<String>| {
        let mut dims = vec![dim("LoadBalancer", lb), dim("TargetGroup", tg)];
        if let Some(z) = zone {
            dims.insert(0, dim("AvailabilityZone", &z));
        }
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims))
            .timestamp(at)
            .value(value)
            .unit(StandardUnit::Count)
            .build()
    };
    let healthy_hosts = healthy.iter().filter(|h| **h).count() as f64;
    let mut out = vec![
        datum("HealthyHostCount", healthy_hosts, None),
        datum("UnHealthyHostCount", healthy.len() as f64 - healthy_hosts, None),
    ];
    for (i, ok) in healthy.iter().enumerate() {
        let ok = f64::from(u8::from(*ok));
        out.push(datum("HealthyHostCount", ok, Some(zone(i))));
        out.push(datum("UnHealthyHostCount", 1.0 - ok, Some(zone(i))));
    }
    out
}

/// The ALB's counts since the last publication (as sums), its target
/// response time (scenario seconds, as the ALB publishes it: a statistic
/// set whose sum and count make the minute's average exact; the lab keeps
/// no per-request maximum, so each publication's minimum and maximum are
/// its own mean), and its targets' health.
fn alb_datums(
    stats: &AlbStats,
    healthy: &[bool],
    names: &AwsNames,
    speed: f64,
    last: &mut [u64; 7],
    now: SystemTime,
) -> Vec<MetricDatum> {
    let at = DateTime::from(now);
    let lb = || {
        vec![Dimension::builder()
            .name("LoadBalancer")
            .value(&names.alb)
            .build()]
    };
    let counters = [
        &stats.requests,
        &stats.elb_502,
        &stats.elb_504,
        &stats.target_5xx,
        &stats.target_connection_errors,
        &stats.target_response_us,
        &stats.target_responses,
    ];
    let mut delta = [0u64; 7];
    for (i, counter) in counters.iter().enumerate() {
        let now = counter.load(Ordering::Relaxed);
        delta[i] = now.saturating_sub(last[i]);
        last[i] = now;
    }
    let names_of = [
        "RequestCount",
        "HTTPCode_ELB_502_Count",
        "HTTPCode_ELB_504_Count",
        "HTTPCode_Target_5XX_Count",
        "TargetConnectionErrorCount",
    ];
    let mut out: Vec<MetricDatum> = names_of
        .iter()
        .zip(delta)
        .map(|(name, n)| {
            MetricDatum::builder()
                .metric_name(*name)
                .set_dimensions(Some(lb()))
                .timestamp(at)
                .value(n as f64)
                .unit(StandardUnit::Count)
                .build()
        })
        .collect();
    let (us, answered) = (delta[5], delta[6]);
    if answered > 0 {
        let sum_s = us as f64 / 1e6 * speed;
        let mean = sum_s / answered as f64;
        let set = StatisticSet::builder()
            .sample_count(answered as f64)
            .sum(sum_s)
            .minimum(mean)
            .maximum(mean)
            .build();
        out.push(
            MetricDatum::builder()
                .metric_name("TargetResponseTime")
                .set_dimensions(Some(lb()))
                .timestamp(at)
                .statistic_values(set)
                .unit(StandardUnit::Seconds)
                .build(),
        );
    }
    out.extend(health(healthy, &names.alb, &names.target_group, now));
    out
}

#[cfg(test)]
mod tests;
