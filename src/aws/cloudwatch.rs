//! CloudWatch metrics of the minutes the probes ran in: the NLB's flows,
//! resets and target health, the ALB's own answers, target errors, target
//! response time and target health, and the API's request count, latencies
//! and errors, by `GetMetricData` at a 60 s period.
//!
//! Which series to ask for comes from the profile's `[aws]`: the NLB
//! (`net/NAME/ID`), the ALB (`app/NAME/ID`), their target groups, and the
//! REST or HTTP API with its stage (the two publish under different metric
//! names and dimensions).
//! Health per Availability Zone needs the zones' names, and health of
//! target groups not named in the profile their ids, which only
//! `ListMetrics` tells; without that permission the health is read for the
//! named target groups alone, and the report says so.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use aws_sdk_cloudwatch::Client;

/// Every series is read at one-minute resolution: a probe maps to its minute.
pub const PERIOD_SECS: i64 = 60;
/// `GetMetricData` takes at most this many queries a call.
const QUERIES_PER_CALL: usize = 500;

pub const NLB_NAMESPACE: &str = "AWS/NetworkELB";
pub const ALB_NAMESPACE: &str = "AWS/ApplicationELB";
pub const API_NAMESPACE: &str = "AWS/ApiGateway";

/// The NLB's own series (dimension `LoadBalancer`) and the statistic that
/// reads each: counts are summed over the minute, flows averaged.
/// `RejectedFlowCount` counts flows the NLB turned away, which matters once
/// its idle timeout is raised and flows stay in its table longer; AWS's
/// page of NLB metrics gives `Average`, `Maximum` and `Minimum` as its
/// useful statistics and `Sum` only for metrics aggregated across the
/// load balancer's nodes, so it is read at its `Maximum` (docs/aws.md).
pub const NLB_METRICS: [(&str, &str); 7] = [
    ("ActiveFlowCount", "Average"),
    ("NewFlowCount", "Sum"),
    ("TCP_Client_Reset_Count", "Sum"),
    ("TCP_Target_Reset_Count", "Sum"),
    ("TCP_ELB_Reset_Count", "Sum"),
    ("UnhealthyRoutingFlowCount", "Sum"),
    ("RejectedFlowCount", "Maximum"),
];

/// The ALB's own series (dimension `LoadBalancer`): counts summed over the
/// minute; `TargetResponseTime` (seconds, the target's own time) averaged
/// and at its worst. No percentiles: LocalStack's core computes none, and
/// the average weighted by `RequestCount` is what the evidence compares.
pub const ALB_METRICS: [(&str, &str); 7] = [
    ("RequestCount", "Sum"),
    ("HTTPCode_ELB_502_Count", "Sum"),
    ("HTTPCode_ELB_504_Count", "Sum"),
    ("HTTPCode_Target_5XX_Count", "Sum"),
    ("TargetConnectionErrorCount", "Sum"),
    ("TargetResponseTime", "Average"),
    ("TargetResponseTime", "Maximum"),
];

/// The resets an NLB counts; a rise in the minutes of slow probes after
/// quiet gaps is an idle timer firing.
pub const RESET_METRICS: [&str; 3] = [
    "TCP_Client_Reset_Count",
    "TCP_Target_Reset_Count",
    "TCP_ELB_Reset_Count",
];

/// Target health, read for its worst value in the minute.
pub const HEALTH_METRICS: [(&str, &str); 2] =
    [("HealthyHostCount", "Minimum"), ("UnHealthyHostCount", "Maximum")];

/// What to read: from the profile's `[aws]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// `net/NAME/ID`, the NLB's `LoadBalancer` dimension.
    pub nlb: Option<String>,
    /// `app/NAME/ID`, the ALB's `LoadBalancer` dimension.
    pub alb: Option<String>,
    /// `targetgroup/NAME/ID`; empty means every target group found.
    pub target_groups: Vec<String>,
    pub api: Option<Api>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.nlb.is_none() && self.alb.is_none() && self.api.is_none()
    }

    /// Each load balancer named, with the namespace it publishes under.
    fn load_balancers(&self) -> impl Iterator<Item = (&'static str, &String)> {
        let nlb = self.nlb.iter().map(|n| (NLB_NAMESPACE, n));
        nlb.chain(self.alb.iter().map(|a| (ALB_NAMESPACE, a)))
    }
}

/// The API in front: REST APIs publish by name, HTTP APIs by id.
#[derive(Debug, Clone, PartialEq)]
pub enum Api {
    Rest { name: String, stage: String },
    Http { id: String, stage: String },
}

impl Api {
    /// `(dimensions, [(metric, stat)])` as API Gateway publishes them.
    fn metrics(&self) -> (BTreeMap<String, String>, [(&'static str, &'static str); 7]) {
        let (dims, e5, e4) = match self {
            Api::Rest { name, stage } => ([("ApiName", name), ("Stage", stage)], "5XXError", "4XXError"),
            Api::Http { id, stage } => ([("ApiId", id), ("Stage", stage)], "5xx", "4xx"),
        };
        let dims = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        (
            dims,
            [
                ("Count", "Sum"),
                ("Latency", "Average"),
                ("Latency", "Maximum"),
                ("IntegrationLatency", "Average"),
                ("IntegrationLatency", "Maximum"),
                (e5, "Sum"),
                (e4, "Sum"),
            ],
        )
    }
}

/// One series to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricSpec {
    pub namespace: String,
    pub name: String,
    pub stat: String,
    pub dimensions: BTreeMap<String, String>,
}

impl MetricSpec {
    fn new(namespace: &str, name: &str, stat: &str, dimensions: &BTreeMap<String, String>) -> MetricSpec {
        MetricSpec {
            namespace: namespace.into(),
            name: name.into(),
            stat: stat.into(),
            dimensions: dimensions.clone(),
        }
    }
}

/// A series as read: one value per minute that had data, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub spec: MetricSpec,
    /// Start of each minute, seconds since the Unix epoch.
    pub minutes: Vec<i64>,
    pub values: Vec<f64>,
}

/// What the lookup found.
#[derive(Debug, Default)]
pub struct Metrics {
    pub series: Vec<Series>,
    /// The window asked for, whole minutes (Unix seconds).
    pub window: (i64, i64),
    /// Something left out, with the reason (e.g. no per-AZ health).
    pub notes: Vec<String>,
    /// The call that failed, if one did; what was read before it is kept.
    pub error: Option<String>,
}

/// The whole minutes covering `from..=to`.
pub fn window(from: SystemTime, to: SystemTime) -> (i64, i64) {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs() as i64;
    let start = secs(from) / PERIOD_SECS * PERIOD_SECS;
    let end = (secs(to) / PERIOD_SECS + 1) * PERIOD_SECS;
    (start, end)
}

/// The series for `resources`: health only for the target groups named
/// (see [`health_series`] for the rest).
pub fn specs(resources: &Resources) -> Vec<MetricSpec> {
    let mut out = Vec::new();
    for (namespace, name) in resources.load_balancers() {
        let lb: BTreeMap<String, String> = [("LoadBalancer".to_string(), name.clone())].into();
        let own: &[(&str, &str)] = match namespace {
            NLB_NAMESPACE => &NLB_METRICS,
            _ => &ALB_METRICS,
        };
        for (metric, stat) in own {
            out.push(MetricSpec::new(namespace, metric, stat, &lb));
        }
        // A target group belongs to one load balancer; with both named,
        // CloudWatch has its health under the one it belongs to (the
        // other's series stay empty).
        for tg in &resources.target_groups {
            let mut dims = lb.clone();
            dims.insert("TargetGroup".into(), tg.clone());
            for (metric, stat) in HEALTH_METRICS {
                out.push(MetricSpec::new(namespace, metric, stat, &dims));
            }
        }
    }
    if let Some(api) = &resources.api {
        let (dims, metrics) = api.metrics();
        for (name, stat) in metrics {
            out.push(MetricSpec::new(API_NAMESPACE, name, stat, &dims));
        }
    }
    out
}

/// Health per target group, and per Availability Zone and target group:
/// the dimension sets CloudWatch has for each named load balancer's
/// `HealthyHostCount` (NLB and ALB alike), found by `ListMetrics`; only the
/// named target groups when any are.
pub async fn health_series(client: &Client, resources: &Resources) -> Result<Vec<MetricSpec>, String> {
    let mut specs = Vec::new();
    for (namespace, lb) in resources.load_balancers() {
        let mut pages = client
            .list_metrics()
            .namespace(namespace)
            .metric_name("HealthyHostCount")
            .dimensions(DimensionFilter::builder().name("LoadBalancer").value(lb).build())
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| super::describe("cloudwatch:ListMetrics", &e))?;
            found.extend(page.metrics().iter().filter_map(dimensions_of));
        }
        specs.extend(
            found
                .into_iter()
                .filter(|dims| {
                    dims.get("TargetGroup").is_some_and(|tg| {
                        resources.target_groups.is_empty() || resources.target_groups.contains(tg)
                    })
                })
                .flat_map(|dims| {
                    HEALTH_METRICS.map(|(name, stat)| MetricSpec::new(namespace, name, stat, &dims))
                }),
        );
    }
    specs.sort();
    specs.dedup();
    Ok(specs)
}

fn dimensions_of(metric: &Metric) -> Option<BTreeMap<String, String>> {
    metric
        .dimensions()
        .iter()
        .map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
        .collect()
}

/// Read `specs` over `window` (whole minutes, Unix seconds).
pub async fn fetch(client: &Client, specs: &[MetricSpec], window: (i64, i64)) -> Metrics {
    let mut out = Metrics {
        window,
        ..Metrics::default()
    };
    for (chunk_at, chunk) in specs.chunks(QUERIES_PER_CALL).enumerate() {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, spec)| query(&format!("m{}", chunk_at * QUERIES_PER_CALL + i), spec))
            .collect();
        let mut series: Vec<Series> = chunk
            .iter()
            .map(|spec| Series {
                spec: spec.clone(),
                minutes: Vec::new(),
                values: Vec::new(),
            })
            .collect();
        let mut pages = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(DateTime::from_secs(window.0))
            .end_time(DateTime::from_secs(window.1))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        while let Some(answer) = pages.next().await {
            let page = match answer {
                Ok(page) => page,
                Err(e) => {
                    out.error = Some(super::describe("cloudwatch:GetMetricData", &e));
                    out.series.extend(series.into_iter().map(sorted));
                    return out;
                }
            };
            for m in page.messages() {
                out.notes.push(format!(
                    "GetMetricData: {}: {}",
                    m.code().unwrap_or("message"),
                    m.value().unwrap_or("")
                ));
            }
            for result in page.metric_data_results() {
                let Some(at) = result
                    .id()
                    .and_then(|id| id.strip_prefix('m'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| n.checked_sub(chunk_at * QUERIES_PER_CALL))
                    .filter(|n| *n < series.len())
                else {
                    continue;
                };
                let s = &mut series[at];
                s.minutes.extend(result.timestamps().iter().map(|t| t.secs()));
                s.values.extend_from_slice(result.values());
                // PartialData is followed by the next page; anything else
                // (Forbidden, InternalError) would read as "no data".
                if let Some(status) = result
                    .status_code()
                    .filter(|c| !matches!(c, StatusCode::Complete | StatusCode::PartialData))
                {
                    let detail: Vec<&str> = result.messages().iter().filter_map(|m| m.value()).collect();
                    out.notes.push(format!(
                        "{} ({}): {}{}",
                        s.spec.name,
                        s.spec.stat,
                        status.as_str(),
                        if detail.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", detail.join("; "))
                        }
                    ));
                }
            }
        }
        out.series.extend(series.into_iter().map(sorted));
    }
    out
}

fn query(id: &str, spec: &MetricSpec) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(&spec.namespace)
        .metric_name(&spec.name)
        .set_dimensions(Some(
            spec.dimensions
                .iter()
                .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                .collect(),
        ))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_SECS as i32)
                .stat(&spec.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// Oldest minute first, whatever order the pages came in.
fn sorted(mut s: Series) -> Series {
    let mut pairs: Vec<(i64, f64)> = s.minutes.iter().copied().zip(s.values.iter().copied()).collect();
    pairs.sort_by_key(|(m, _)| *m);
    (s.minutes, s.values) = pairs.into_iter().unzip();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_whole_minutes_around_the_run() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(window(t(125), t(170)), (120, 180));
        assert_eq!(window(t(120), t(120)), (120, 180));
    }

    #[test]
    fn rest_and_http_apis_publish_under_their_own_names() {
        let rest = specs(&Resources {
            api: Some(Api::Rest {
                name: "orders".into(),
                stage: "test".into(),
            }),
            ..Default::default()
        });
        assert!(rest
            .iter()
            .any(|s| s.name == "5XXError" && s.dimensions["ApiName"] == "orders"));
        let http = specs(&Resources {
            api: Some(Api::Http {
                id: "abc123".into(),
                stage: "$default".into(),
            }),
            ..Default::default()
        });
        assert!(http
            .iter()
            .any(|s| s.name == "5xx" && s.dimensions["ApiId"] == "abc123"));
        assert!(http.iter().all(|s| s.dimensions["Stage"] == "$default"));
    }

    #[test]
    fn the_nlb_gets_flows_resets_and_health_per_target_group() {
        let got = specs(&Resources {
            nlb: Some("net/orders/1".into()),
            target_groups: vec!["targetgroup/a/1".into(), "targetgroup/b/2".into()],
            ..Default::default()
        });
        assert_eq!(got.len(), NLB_METRICS.len() + 2 * HEALTH_METRICS.len());
        assert!(got
            .iter()
            .filter(|s| s.name == "HealthyHostCount")
            .all(|s| s.stat == "Minimum" && s.dimensions.contains_key("TargetGroup")));
        assert!(got
            .iter()
            .any(|s| s.name == "RejectedFlowCount" && s.stat == "Maximum"));
        assert!(got.iter().all(|s| s.namespace == NLB_NAMESPACE));
    }

    #[test]
    fn an_alb_alone_gets_its_answers_target_time_and_health() {
        let alb = Resources {
            alb: Some("app/orders/1".into()),
            target_groups: vec!["targetgroup/a/1".into()],
            ..Default::default()
        };
        assert!(!alb.is_empty());
        let got = specs(&alb);
        assert_eq!(got.len(), ALB_METRICS.len() + HEALTH_METRICS.len());
        assert!(got
            .iter()
            .all(|s| s.namespace == ALB_NAMESPACE && s.dimensions["LoadBalancer"] == "app/orders/1"));
        for name in [
            "HTTPCode_ELB_502_Count",
            "HTTPCode_ELB_504_Count",
            "TargetConnectionErrorCount",
        ] {
            assert!(got.iter().any(|s| s.name == name && s.stat == "Sum"), "{name}");
        }
        assert!(got
            .iter()
            .any(|s| s.name == "TargetResponseTime" && s.stat == "Average"));
    }
}
