//! AWS answers no emulator here gives, fed to the real SDK clients through
//! the SDK's own test utilities (aws-smithy-mocks): X-Ray's
//! `GetTraceSummaries` (moto's breaks the Rust SDK's parser), refused
//! permissions (`AccessDenied`), and throttling. The outputs and errors are
//! the SDK's own types, so the code under test parses and classifies them
//! as it would AWS's.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::error::ErrorMetadata;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsError;
use aws_sdk_cloudwatch::primitives::DateTime as CwDateTime;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_sdk_xray::operation::batch_get_traces::BatchGetTracesOutput;
use aws_sdk_xray::operation::get_trace_summaries::GetTraceSummariesOutput;
use aws_sdk_xray::types::{Segment, Trace, TraceSummary};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use coldlink::aws::cloudwatch::{fetch, health_series, specs, Resources};
use coldlink::diagnose::dataset::{Builder, Observation};
use coldlink::diagnose::xray::{look_up, stage_filter, Lookup};

fn trace_id(n: u32) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    format!("1-{secs:08x}-{n:024x}")
}

/// A stage segment of `gateway_s` with an integration subsegment of
/// `integration_s`, as API Gateway writes them.
fn stage_document(trace: &str, start: f64, gateway_s: f64, integration_s: f64) -> String {
    serde_json::json!({
        "id": "1111111111111111", "trace_id": trace, "name": "abc123/test",
        "origin": "AWS::ApiGateway::Stage",
        "start_time": start, "end_time": start + gateway_s,
        "subsegments": [{
            "id": "2222222222222222", "name": "backend", "namespace": "remote",
            "start_time": start + 0.001, "end_time": start + 0.001 + integration_s
        }]
    })
    .to_string()
}

fn trace(id: &str, document: String) -> Trace {
    Trace::builder()
        .id(id)
        .segments(
            Segment::builder()
                .id("1111111111111111")
                .document(document)
                .build(),
        )
        .build()
}

/// `GetTraceSegmentDestination`: the account's spans go to X-Ray, as
/// before Transaction Search (whose path is in `aws_transaction_search`).
fn spans_to_xray() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_xray::Client::get_trace_segment_destination).then_output(|| {
        aws_sdk_xray::operation::get_trace_segment_destination::GetTraceSegmentDestinationOutput::builder()
            .destination(aws_sdk_xray::types::TraceSegmentDestination::XRay)
            .build()
    })
}

/// The probes' ids never come back (an edge rewrote the header, say); the
/// stage's traces in the run's window do, and their split is reported.
#[tokio::test]
async fn missing_ids_fall_back_to_the_stages_traces_in_the_window() {
    let probe_ids = [trace_id(1), trace_id(2), trace_id(3)];
    let others = [trace_id(101), trace_id(102)];
    let now = SystemTime::now();
    let start = now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() - 5.0;
    let filter = stage_filter("abc123", "test");

    let by_id = {
        let probe_ids = probe_ids.clone();
        mock!(aws_sdk_xray::Client::batch_get_traces)
            .match_requests(move |r| r.trace_ids().iter().all(|id| probe_ids.contains(id)))
            .then_output(|| BatchGetTracesOutput::builder().build())
    };
    let expected_filter = filter.clone();
    let summaries = {
        let others = others.clone();
        mock!(aws_sdk_xray::Client::get_trace_summaries)
            .match_requests(move |r| {
                r.filter_expression() == Some(expected_filter.as_str()) && r.sampling() == Some(false)
            })
            .then_output(move || {
                GetTraceSummariesOutput::builder()
                    .set_trace_summaries(Some(
                        others
                            .iter()
                            .map(|id| TraceSummary::builder().id(id).build())
                            .collect(),
                    ))
                    .build()
            })
    };
    let window_traces = {
        let others = others.clone();
        mock!(aws_sdk_xray::Client::batch_get_traces)
            .match_requests({
                let others = others.clone();
                move |r| r.trace_ids().iter().all(|id| others.contains(id))
            })
            .then_output(move || {
                BatchGetTracesOutput::builder()
                    .traces(trace(&others[0], stage_document(&others[0], start, 0.500, 0.480)))
                    .traces(trace(&others[1], stage_document(&others[1], start, 0.300, 0.290)))
                    .build()
            })
    };
    let dest = spans_to_xray();
    let client = mock_client!(
        aws_sdk_xray,
        RuleMode::MatchAny,
        [&dest, &by_id, &summaries, &window_traces]
    );

    let mut b = Builder::new();
    for (i, id) in probe_ids.iter().enumerate() {
        b.add(&Observation {
            target: "execute-api",
            url: "https://abc123.execute-api.eu-west-1.amazonaws.com/test/",
            at: Some(now - Duration::from_secs(3 - i as u64)),
            total_ms: 40.0,
            status: Some(200),
            trace_id: Some(id),
            ..Observation::default()
        });
    }
    let ds = b.build(1.0, None);
    let how = Lookup {
        wait: Duration::ZERO,
        search_filter: Some(filter.clone()),
    };
    let ev = look_up(&client, &ds, &how, &|_| {}).await;
    assert_eq!((ev.probes_looked_up, ev.traces_found, ev.missing), (3, 0, 3));
    assert_eq!(ev.error, None);
    let w = ev.window_search.expect("a search of the window");
    assert_eq!(w.filter, filter);
    assert_eq!(w.error, None);
    assert_eq!(w.traces_found, 2);
    let gateway = w.breakdown_ms.gateway.expect("the gateway part");
    assert_eq!(gateway.n, 2);
    assert!((300.0..=500.0).contains(&gateway.p50), "{gateway:?}");
    assert!(w.breakdown_ms.integration.is_some());
    // Not matched to probes: no time before the gateway can be told.
    assert_eq!(w.breakdown_ms.before_gateway, None);
    assert_eq!(summaries.num_calls(), 1);
}

/// Every id found: no search.
#[tokio::test]
async fn no_search_when_every_id_comes_back() {
    let id = trace_id(7);
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 2.0;
    let found = {
        let id = id.clone();
        mock!(aws_sdk_xray::Client::batch_get_traces).then_output(move || {
            BatchGetTracesOutput::builder()
                .traces(trace(&id, stage_document(&id, start, 0.1, 0.09)))
                .build()
        })
    };
    let summaries = mock!(aws_sdk_xray::Client::get_trace_summaries)
        .then_output(|| GetTraceSummariesOutput::builder().build());
    let dest = spans_to_xray();
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &found, &summaries]);
    let mut b = Builder::new();
    b.add(&Observation {
        target: "execute-api",
        url: "https://abc123.execute-api.eu-west-1.amazonaws.com/test/",
        at: Some(SystemTime::now()),
        total_ms: 150.0,
        status: Some(200),
        trace_id: Some(&id),
        ..Observation::default()
    });
    let ev = look_up(
        &client,
        &b.build(1.0, None),
        &Lookup {
            wait: Duration::ZERO,
            search_filter: Some(stage_filter("abc123", "test")),
        },
        &|_| {},
    )
    .await;
    assert_eq!((ev.traces_found, ev.missing), (1, 0));
    assert_eq!(ev.window_search, None);
    assert_eq!(summaries.num_calls(), 0);
}

fn access_denied(action: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("AccessDenied")
        .message(format!(
            "User: arn:aws:iam::123456789012:user/probe is not authorized to perform: {action} because no identity-based policy allows the {action} action"
        ))
        .build()
}

fn nlb() -> Resources {
    Resources {
        nlb: Some("net/orders/1".into()),
        target_groups: Vec::new(),
        api: None,
        alb: None,
    }
}

/// A role without `cloudwatch:GetMetricData`: one line naming it.
#[tokio::test]
async fn access_denied_names_the_missing_permission() {
    let denied = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .then_error(|| GetMetricDataError::generic(access_denied("cloudwatch:GetMetricData")));
    let list_denied = mock!(aws_sdk_cloudwatch::Client::list_metrics)
        .then_error(|| ListMetricsError::generic(access_denied("cloudwatch:ListMetrics")));
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&denied, &list_denied]);
    let got = fetch(&client, &specs(&nlb()), (0, 120)).await;
    let error = got.error.expect("an error line");
    assert!(
        error.starts_with(
            "cloudwatch:GetMetricData: AccessDenied: User: arn:aws:iam::123456789012:user/probe"
        ),
        "{error}"
    );
    assert!(
        error.ends_with("(the credentials need cloudwatch:GetMetricData)"),
        "{error}"
    );
    assert!(got.series.iter().all(|s| s.values.is_empty()), "nothing was read");
    let list = health_series(&client, &nlb()).await.expect_err("refused");
    assert!(
        list.ends_with("(the credentials need cloudwatch:ListMetrics)"),
        "{list}"
    );
}

fn throttled() -> GetMetricDataError {
    GetMetricDataError::generic(
        ErrorMetadata::builder()
            .code("ThrottlingException")
            .message("Rate exceeded")
            .build(),
    )
}

fn one_minute_of_resets() -> GetMetricDataOutput {
    GetMetricDataOutput::builder()
        .metric_data_results(
            MetricDataResult::builder()
                .id("m2") // TCP_Client_Reset_Count, the third NLB series
                .timestamps(CwDateTime::from_secs(60))
                .values(4.0)
                .build(),
        )
        .build()
}

/// Throttling is retried with backoff (the SDK's standard retry, as every
/// coldlink client has it); what succeeds in the end is read in full.
#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .error(throttled)
        .times(2)
        .output(one_minute_of_resets)
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule], fast_retries);
    let got = fetch(&client, &specs(&nlb()), (0, 120)).await;
    assert_eq!(got.error, None);
    assert_eq!(rule.num_calls(), 3, "two throttled attempts, then the answer");
    let resets = got
        .series
        .iter()
        .find(|s| s.spec.name == "TCP_Client_Reset_Count")
        .unwrap();
    assert_eq!(
        (resets.minutes.clone(), resets.values.clone()),
        (vec![60], vec![4.0])
    );
    let names: BTreeSet<&str> = got.series.iter().map(|s| s.spec.name.as_str()).collect();
    assert_eq!(
        names.len(),
        coldlink::aws::cloudwatch::NLB_METRICS.len(),
        "every NLB series is in the result, with or without data"
    );
}

/// Throttled on every attempt: the line says so.
#[tokio::test]
async fn throttling_that_never_ends_is_one_line() {
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .error(throttled)
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule], fast_retries);
    let got = fetch(&client, &specs(&nlb()), (0, 120)).await;
    let error = got.error.expect("an error line");
    assert!(error.contains("ThrottlingException"), "{error}");
    assert!(
        error.contains("throttled, still after the SDK's retries with backoff"),
        "{error}"
    );
    assert_eq!(rule.num_calls(), 3, "the standard retry's three attempts");
}

/// The standard retry policy with its backoff shortened, so the test does
/// not wait seconds; the attempts and the classification are the SDK's.
fn fast_retries(b: aws_sdk_cloudwatch::config::Builder) -> aws_sdk_cloudwatch::config::Builder {
    b.retry_config(
        aws_sdk_cloudwatch::config::retry::RetryConfig::standard()
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(5)),
    )
}

/// More series than one call takes (500), and answers in pages: every
/// value lands in its own series, oldest minute first.
#[tokio::test]
async fn many_series_are_read_in_calls_of_500_and_pages() {
    use coldlink::aws::cloudwatch::MetricSpec;
    let wanted: Vec<MetricSpec> = (0..501)
        .map(|i| MetricSpec {
            namespace: "AWS/NetworkELB".into(),
            name: format!("Metric{i}"),
            stat: "Sum".into(),
            dimensions: [("LoadBalancer".to_string(), "net/x/1".to_string())].into(),
        })
        .collect();
    let point = |id: &str, minute: i64, value: f64| {
        MetricDataResult::builder()
            .id(id)
            .timestamps(CwDateTime::from_secs(minute))
            .values(value)
            .build()
    };
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(move |req| {
        let first_id = req.metric_data_queries()[0].id().unwrap_or("").to_string();
        let queries = req.metric_data_queries().len();
        match (first_id.as_str(), req.next_token()) {
            // First call: ids m0..m499, answered in two pages, newest first.
            ("m0", None) => {
                assert_eq!(queries, 500);
                GetMetricDataOutput::builder()
                    .metric_data_results(point("m0", 120, 2.0))
                    .next_token("page-2")
                    .build()
            }
            ("m0", Some("page-2")) => GetMetricDataOutput::builder()
                .metric_data_results(point("m0", 60, 1.0))
                .metric_data_results(point("m499", 60, 9.0))
                .build(),
            // Second call: m500 alone.
            ("m500", None) => {
                assert_eq!(queries, 1);
                GetMetricDataOutput::builder()
                    .metric_data_results(point("m500", 60, 5.0))
                    .build()
            }
            other => panic!("unexpected call {other:?}"),
        }
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
    let got = fetch(&client, &wanted, (0, 180)).await;
    assert_eq!(got.error, None);
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(got.series.len(), 501);
    let of = |i: usize| (got.series[i].minutes.clone(), got.series[i].values.clone());
    assert_eq!(got.series[0].spec.name, "Metric0");
    assert_eq!(of(0), (vec![60, 120], vec![1.0, 2.0]));
    assert_eq!(of(499), (vec![60], vec![9.0]));
    assert_eq!(of(500), (vec![60], vec![5.0]));
    assert_eq!(of(1), (vec![], vec![]));
}
