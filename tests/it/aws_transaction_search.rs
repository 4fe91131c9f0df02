//! Issue #17 §4: X-Ray with CloudWatch Transaction Search. No emulator has
//! `GetTraceSegmentDestination`, `StartTraceRetrieval` or
//! `ListRetrievedTraces` (moto 5.2.5 answers 404, LocalStack's free core has
//! no X-Ray), so these answers are the SDK's own types through
//! aws-smithy-mocks. `diagnose --xray` asks where spans go first, and reads
//! the probes' traces from there; when they cannot be read it says why.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_xray::error::ErrorMetadata;
use aws_sdk_xray::operation::batch_get_traces::BatchGetTracesOutput;
use aws_sdk_xray::operation::get_trace_segment_destination::{
    GetTraceSegmentDestinationError, GetTraceSegmentDestinationOutput,
};
use aws_sdk_xray::operation::get_trace_summaries::GetTraceSummariesOutput;
use aws_sdk_xray::operation::list_retrieved_traces::ListRetrievedTracesOutput;
use aws_sdk_xray::operation::start_trace_retrieval::{StartTraceRetrievalError, StartTraceRetrievalOutput};
use aws_sdk_xray::types::{
    RetrievalStatus, RetrievedTrace, Segment, Span, Trace, TraceFormatType, TraceSegmentDestination,
    TraceSegmentDestinationStatus, TraceSummary,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use coldlink::diagnose::dataset::{Builder, Dataset, Observation};
use coldlink::diagnose::xray::{look_up, stage_filter, Lookup, XrayEvidence};

fn trace_id(n: u32) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    format!("1-{secs:08x}-{n:024x}")
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The stage segment (gateway_s long) with its integration call, and the
/// app's segment under it: the documents X-Ray's format holds.
fn documents(trace: &str, start: f64, gateway_s: f64, integration_s: f64, app_s: f64) -> [String; 2] {
    [
        serde_json::json!({
            "id": "1111111111111111", "trace_id": trace, "name": "abc123/test",
            "origin": "AWS::ApiGateway::Stage",
            "start_time": start, "end_time": start + gateway_s,
            "http": {"response": {"status": 200}},
            "subsegments": [{
                "id": "2222222222222222", "name": "backend", "namespace": "remote",
                "start_time": start + 0.001, "end_time": start + 0.001 + integration_s
            }]
        })
        .to_string(),
        serde_json::json!({
            "id": "3333333333333333", "trace_id": trace, "name": "orders-app",
            "parent_id": "2222222222222222",
            "start_time": start + 0.002, "end_time": start + 0.002 + app_s
        })
        .to_string(),
    ]
}

fn retrieved(id: &str, gateway_s: f64) -> RetrievedTrace {
    let [stage, app] = documents(id, now_s() - 5.0, gateway_s, gateway_s - 0.01, 0.1);
    RetrievedTrace::builder()
        .id(id)
        .spans(Span::builder().id("1111111111111111").document(stage).build())
        .spans(Span::builder().id("3333333333333333").document(app).build())
        .build()
}

fn batch_trace(id: &str, gateway_s: f64) -> Trace {
    let [stage, app] = documents(id, now_s() - 5.0, gateway_s, gateway_s - 0.01, 0.1);
    Trace::builder()
        .id(id)
        .segments(Segment::builder().id("1111111111111111").document(stage).build())
        .segments(Segment::builder().id("3333333333333333").document(app).build())
        .build()
}

/// Probes that carried `ids`, 40 ms each.
fn dataset(ids: &[String]) -> Dataset {
    let now = SystemTime::now();
    let mut b = Builder::new();
    for (i, id) in ids.iter().enumerate() {
        b.add(&Observation {
            target: "execute-api",
            url: "https://abc123.execute-api.eu-west-1.amazonaws.com/test/",
            at: Some(now - Duration::from_secs(10 - i as u64)),
            total_ms: 40.0,
            status: Some(200),
            trace_id: Some(id),
            ..Observation::default()
        });
    }
    b.build(1.0, None)
}

fn destination(d: TraceSegmentDestination, status: TraceSegmentDestinationStatus) -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_xray::Client::get_trace_segment_destination).then_output(move || {
        GetTraceSegmentDestinationOutput::builder()
            .destination(d.clone())
            .status(status.clone())
            .build()
    })
}

fn access_denied(action: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("AccessDeniedException")
        .message(format!(
            "User: arn:aws:iam::123456789012:user/probe is not authorized to perform: {action}"
        ))
        .build()
}

async fn run(client: &aws_sdk_xray::Client, ds: &Dataset, wait: Duration) -> XrayEvidence {
    let how = Lookup {
        wait,
        search_filter: None,
    };
    look_up(client, ds, &how, &|_| {}).await
}

fn gateway_p50(ev: &XrayEvidence) -> f64 {
    ev.breakdown_ms.gateway.expect("a gateway part").p50
}

/// Spans go to X-Ray: `BatchGetTraces` as before, no retrieval started.
#[tokio::test]
async fn destination_xray_reads_with_batch_get_traces() {
    let ids = [trace_id(1), trace_id(2)];
    let dest = destination(
        TraceSegmentDestination::XRay,
        TraceSegmentDestinationStatus::Active,
    );
    let batch = {
        let ids = ids.clone();
        mock!(aws_sdk_xray::Client::batch_get_traces).then_output(move || {
            BatchGetTracesOutput::builder()
                .traces(batch_trace(&ids[0], 0.5))
                .traces(batch_trace(&ids[1], 0.5))
                .build()
        })
    };
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval)
        .then_output(|| StartTraceRetrievalOutput::builder().retrieval_token("t").build());
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &batch, &start]);
    let ev = run(&client, &dataset(&ids), Duration::ZERO).await;
    assert_eq!(
        (ev.traces_found, ev.missing, ev.error.clone()),
        (2, 0, None),
        "{ev:?}"
    );
    assert_eq!(ev.destination.as_deref(), Some("XRay"));
    assert!(ev.notes.is_empty(), "{:?}", ev.notes);
    assert!((gateway_p50(&ev) - 500.0).abs() < 1.0, "{ev:?}");
    assert_eq!(start.num_calls(), 0, "no retrieval when spans are in X-Ray");
}

/// Spans go to CloudWatch Logs: one retrieval for the probes' ids over
/// their seconds, asked until COMPLETE (RUNNING first), read in two pages
/// in X-Ray's format; the breakdown comes from the retrieved spans, and
/// `BatchGetTraces` (which would find nothing) is not called.
#[tokio::test(start_paused = true)]
async fn destination_cloudwatch_logs_retrieves_running_then_complete_in_two_pages() {
    let ids = [trace_id(1), trace_id(2), trace_id(3)];
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Active,
    );
    let start = {
        let ids = ids.clone();
        mock!(aws_sdk_xray::Client::start_trace_retrieval)
            .match_requests(move |r| {
                let mut asked = r.trace_ids().to_vec();
                asked.sort();
                let (from, to) = (r.start_time().unwrap().secs(), r.end_time().unwrap().secs());
                let sent = i64::from_str_radix(&ids[0][2..10], 16).unwrap();
                asked == ids && from <= sent && sent <= to
            })
            .then_output(|| {
                StartTraceRetrievalOutput::builder()
                    .retrieval_token("tok-1")
                    .build()
            })
    };
    let polls = Arc::new(AtomicUsize::new(0));
    let list = {
        let (ids, polls) = (ids.clone(), polls.clone());
        mock!(aws_sdk_xray::Client::list_retrieved_traces).then_compute_output(move |r| {
            assert_eq!(r.retrieval_token(), Some("tok-1"));
            assert_eq!(r.trace_format(), Some(&TraceFormatType::Xray));
            let out = ListRetrievedTracesOutput::builder().trace_format(TraceFormatType::Xray);
            match r.next_token() {
                None if polls.fetch_add(1, Ordering::SeqCst) == 0 => {
                    out.retrieval_status(RetrievalStatus::Running).build()
                }
                None => out
                    .retrieval_status(RetrievalStatus::Complete)
                    .traces(retrieved(&ids[0], 0.3))
                    .traces(retrieved(&ids[1], 0.3))
                    .next_token("page-2")
                    .build(),
                Some("page-2") => out
                    .retrieval_status(RetrievalStatus::Complete)
                    .traces(retrieved(&ids[2], 0.9))
                    .build(),
                Some(other) => panic!("unexpected page {other}"),
            }
        })
    };
    let batch =
        mock!(aws_sdk_xray::Client::batch_get_traces).then_output(|| BatchGetTracesOutput::builder().build());
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &start, &list, &batch]);
    let began = tokio::time::Instant::now();
    let ev = run(&client, &dataset(&ids), Duration::from_secs(20)).await;
    assert_eq!(
        (ev.traces_found, ev.missing, ev.error.clone()),
        (3, 0, None),
        "{ev:?}"
    );
    assert_eq!(ev.destination.as_deref(), Some("CloudWatchLogs"));
    assert_eq!(start.num_calls(), 1);
    assert_eq!(list.num_calls(), 3, "RUNNING, then two pages of COMPLETE");
    assert_eq!(batch.num_calls(), 0);
    let gateway = ev.breakdown_ms.gateway.unwrap();
    assert_eq!(gateway.n, 3);
    assert!((gateway.p50 - 300.0).abs() < 1.0, "{gateway:?}");
    let app = ev.breakdown_ms.app.expect("the app's segment was retrieved too");
    assert!((app.p50 - 100.0).abs() < 1.0, "{app:?}");
    assert!(ev.breakdown_ms.integration.is_some());
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "done once complete, not at the wait"
    );
}

/// The last probe's spans land after the first retrieval ran: its id is
/// asked for again, alone, in a new retrieval within the wait.
#[tokio::test(start_paused = true)]
async fn an_id_the_retrieval_lacked_is_retrieved_again() {
    let ids = [trace_id(1), trace_id(2)];
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Active,
    );
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval).then_compute_output(|r| {
        StartTraceRetrievalOutput::builder()
            .retrieval_token(format!("tok-{}", r.trace_ids().len()))
            .build()
    });
    let list = {
        let ids = ids.clone();
        mock!(aws_sdk_xray::Client::list_retrieved_traces).then_compute_output(move |r| {
            let out = ListRetrievedTracesOutput::builder().retrieval_status(RetrievalStatus::Complete);
            match r.retrieval_token() {
                // Both asked: only the first has arrived.
                Some("tok-2") => out.traces(retrieved(&ids[0], 0.3)).build(),
                // The late one, asked alone.
                Some("tok-1") => out.traces(retrieved(&ids[1], 0.3)).build(),
                other => panic!("unexpected token {other:?}"),
            }
        })
    };
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &start, &list]);
    let ev = run(&client, &dataset(&ids), Duration::from_secs(20)).await;
    assert_eq!(
        (ev.traces_found, ev.missing, ev.error.clone()),
        (2, 0, None),
        "{ev:?}"
    );
    assert_eq!(start.num_calls(), 2, "all ids, then the one not found");
}

/// A role that may not start retrievals: the plain reason, and the actions.
#[tokio::test]
async fn access_denied_on_start_trace_retrieval_says_what_is_needed() {
    let ids = [trace_id(1)];
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Active,
    );
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval)
        .then_error(|| StartTraceRetrievalError::generic(access_denied("xray:StartTraceRetrieval")));
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &start]);
    let ev = run(&client, &dataset(&ids), Duration::from_secs(5)).await;
    let error = ev.error.clone().expect("an error line");
    assert!(
        error.starts_with(
            "traces go to CloudWatch Logs (Transaction Search); reading them needs xray:StartTraceRetrieval and xray:ListRetrievedTraces: xray:StartTraceRetrieval: AccessDeniedException"
        ),
        "{error}"
    );
    assert!(
        error.ends_with("(the credentials need xray:StartTraceRetrieval)"),
        "{error}"
    );
    assert!(!error.contains("missing"), "{error}");
    assert_eq!((ev.traces_found, ev.missing), (0, 1));
    assert_eq!(ev.destination.as_deref(), Some("CloudWatchLogs"));
}

/// A role without `xray:GetTraceSegmentDestination`: a note that names it,
/// and the traces read with `BatchGetTraces` as before.
#[tokio::test]
async fn a_denied_destination_falls_back_to_batch_get_traces_with_a_note() {
    let ids = [trace_id(1)];
    let dest = mock!(aws_sdk_xray::Client::get_trace_segment_destination).then_error(|| {
        GetTraceSegmentDestinationError::generic(access_denied("xray:GetTraceSegmentDestination"))
    });
    let batch = {
        let id = ids[0].clone();
        mock!(aws_sdk_xray::Client::batch_get_traces).then_output(move || {
            BatchGetTracesOutput::builder()
                .traces(batch_trace(&id, 0.2))
                .build()
        })
    };
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &batch]);
    let ev = run(&client, &dataset(&ids), Duration::ZERO).await;
    assert_eq!(
        (ev.traces_found, ev.missing, ev.error.clone()),
        (1, 0, None),
        "{ev:?}"
    );
    assert_eq!(ev.destination, None);
    assert_eq!(ev.notes.len(), 1, "{:?}", ev.notes);
    let note = &ev.notes[0];
    assert!(
        note.starts_with("xray:GetTraceSegmentDestination: AccessDeniedException"),
        "{note}"
    );
    assert!(
        note.contains("(the credentials need xray:GetTraceSegmentDestination)"),
        "{note}"
    );
    assert!(note.contains("read with BatchGetTraces"), "{note}");
    assert_eq!(batch.num_calls(), 1);
}

/// A retrieval that stays RUNNING: the lookup ends at the wait, on the
/// paused clock, with a line that says so and what to change.
#[tokio::test(start_paused = true)]
async fn a_retrieval_that_never_completes_ends_at_the_wait() {
    let ids = [trace_id(1), trace_id(2)];
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Active,
    );
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval).then_output(|| {
        StartTraceRetrievalOutput::builder()
            .retrieval_token("tok")
            .build()
    });
    let list = mock!(aws_sdk_xray::Client::list_retrieved_traces).then_output(|| {
        ListRetrievedTracesOutput::builder()
            .retrieval_status(RetrievalStatus::Running)
            .build()
    });
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &start, &list]);
    let began = tokio::time::Instant::now();
    let wait = Duration::from_secs(10);
    let ev = run(&client, &dataset(&ids), wait).await;
    let took = began.elapsed();
    assert!(took <= wait, "bounded by the wait: {took:?}");
    assert!(took >= wait / 2, "asked until near the wait: {took:?}");
    assert!(list.num_calls() >= 4, "polled: {}", list.num_calls());
    let error = ev.error.clone().expect("an error line");
    assert!(
        error.contains("the trace retrieval from CloudWatch Logs was still RUNNING when the wait ran out; 2 of its traces not read"),
        "{error}"
    );
    assert!(
        error.ends_with("2 of its traces not read: a longer --xray-wait than 10s may let it finish"),
        "{error}"
    );
    assert_eq!((ev.traces_found, ev.missing), (0, 2));
}

/// A change of destination to CloudWatch Logs under way: a note, the
/// retrieval, and X-Ray for what the retrieval did not have.
#[tokio::test]
async fn a_pending_change_reads_both_places() {
    let ids = [trace_id(1), trace_id(2)];
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Pending,
    );
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval).then_output(|| {
        StartTraceRetrievalOutput::builder()
            .retrieval_token("tok")
            .build()
    });
    let list = {
        let id = ids[0].clone();
        mock!(aws_sdk_xray::Client::list_retrieved_traces).then_output(move || {
            ListRetrievedTracesOutput::builder()
                .retrieval_status(RetrievalStatus::Complete)
                .traces(retrieved(&id, 0.3))
                .build()
        })
    };
    let batch = {
        let id = ids[1].clone();
        mock!(aws_sdk_xray::Client::batch_get_traces)
            .match_requests({
                let id = id.clone();
                move |r| r.trace_ids() == [id.clone()]
            })
            .then_output(move || {
                BatchGetTracesOutput::builder()
                    .traces(batch_trace(&id, 0.3))
                    .build()
            })
    };
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &start, &list, &batch]);
    let ev = run(&client, &dataset(&ids), Duration::ZERO).await;
    assert_eq!(
        (ev.traces_found, ev.missing, ev.error.clone()),
        (2, 0, None),
        "{ev:?}"
    );
    assert!(
        ev.notes
            .iter()
            .any(|n| n.contains("changing to CloudWatchLogs (status PENDING)")),
        "{:?}",
        ev.notes
    );
}

/// Ids missing from CloudWatch Logs: the window search's ids are retrieved
/// from there too, and a note says that GetTraceSummaries sees only the
/// spans indexed as trace summaries.
#[tokio::test]
async fn the_window_search_reads_from_cloudwatch_logs_and_says_what_it_sees() {
    let probe = [trace_id(1)];
    let other = trace_id(101);
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Active,
    );
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval).then_compute_output(|r| {
        StartTraceRetrievalOutput::builder()
            .retrieval_token(format!("tok-{}", r.trace_ids()[0]))
            .build()
    });
    let list = {
        let other = other.clone();
        mock!(aws_sdk_xray::Client::list_retrieved_traces).then_compute_output(move |r| {
            let out = ListRetrievedTracesOutput::builder().retrieval_status(RetrievalStatus::Complete);
            if r.retrieval_token() == Some(format!("tok-{other}").as_str()) {
                out.traces(retrieved(&other, 0.4)).build()
            } else {
                out.build()
            }
        })
    };
    let summaries = {
        let other = other.clone();
        mock!(aws_sdk_xray::Client::get_trace_summaries).then_output(move || {
            GetTraceSummariesOutput::builder()
                .trace_summaries(TraceSummary::builder().id(&other).build())
                .build()
        })
    };
    let client = mock_client!(
        aws_sdk_xray,
        RuleMode::MatchAny,
        [&dest, &start, &list, &summaries]
    );
    let how = Lookup {
        wait: Duration::ZERO,
        search_filter: Some(stage_filter("abc123", "test")),
    };
    let ev = look_up(&client, &dataset(&probe), &how, &|_| {}).await;
    assert_eq!(
        (ev.traces_found, ev.missing, ev.error.clone()),
        (0, 1, None),
        "{ev:?}"
    );
    let w = ev.window_search.clone().expect("a window search");
    assert_eq!((w.traces_found, w.error.clone()), (1, None), "{w:?}");
    assert!(
        ev.notes
            .iter()
            .any(|n| n.contains("sees only the spans indexed as X-Ray trace summaries")),
        "{:?}",
        ev.notes
    );
    assert_eq!(start.num_calls(), 2, "the probes' ids, then the window's");
}

/// An endpoint whose listing names the same next page forever: the pages
/// end at the repeated token with what was read, never a hang.
#[tokio::test(start_paused = true)]
async fn a_listing_that_repeats_its_page_token_ends() {
    let ids = [trace_id(1), trace_id(2)];
    let dest = destination(
        TraceSegmentDestination::CloudWatchLogs,
        TraceSegmentDestinationStatus::Active,
    );
    let start = mock!(aws_sdk_xray::Client::start_trace_retrieval).then_output(|| {
        StartTraceRetrievalOutput::builder()
            .retrieval_token("tok")
            .build()
    });
    let list = {
        let first = ids[0].clone();
        mock!(aws_sdk_xray::Client::list_retrieved_traces).then_compute_output(move |_| {
            ListRetrievedTracesOutput::builder()
                .retrieval_status(RetrievalStatus::Complete)
                .trace_format(TraceFormatType::Xray)
                .traces(retrieved(&first, 0.3))
                .next_token("same-page")
                .build()
        })
    };
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, [&dest, &start, &list]);
    let ev = tokio::time::timeout(
        Duration::from_secs(120),
        run(&client, &dataset(&ids), Duration::from_secs(10)),
    )
    .await
    .expect("the listing ends");
    assert_eq!(ev.traces_found, 1, "{ev:?}");
    assert!(
        list.num_calls() < 20,
        "a repeated token ends the pages: {} calls",
        list.num_calls()
    );
}
