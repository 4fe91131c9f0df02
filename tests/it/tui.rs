//! The dashboard without a terminal: every region and the whole screen
//! drawn on ratatui's TestBackend from fixed records (insta snapshots at
//! 80×24 and 160×48), every key's update, and resizes down to nothing.
//!
//! Long (over 800 lines) because insta names its 17 snapshot files after
//! this module (`it__tui__*.snap`): splitting it would rename every one.

use std::time::{Duration, SystemTime};

use crate::common::record::probe_record;
use coldlink::probe::record::CapturedHeaders;
use coldlink::probe::{
    ConnInfo, ErrorKind, Phase, Phases, ProbeError, ProbeRecord, TargetKind, Timestamp, TlsInfo,
};
use coldlink::tui::live::{Command, Note, Source};
use coldlink::tui::state::{Focus, Meta, Mode, State, TargetMeta};
use coldlink::tui::theme::Theme;
use coldlink::tui::view as render;
use coldlink::tui::{update, Action, Effect};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// 2026-09-21T14:13:20Z: a fixed start, so every time on screen is fixed.
fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

fn meta() -> Meta {
    Meta {
        name: "orders-api".into(),
        targets: vec![
            TargetMeta {
                name: "execute-api".into(),
                url: "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header".into(),
                kind: TargetKind::ExecuteApi,
            },
            TargetMeta {
                name: "custom-domain".into(),
                url: "https://api.example.com/header".into(),
                kind: TargetKind::CustomDomain,
            },
        ],
        plan: "every 10s ±1s, new connections".into(),
        scale: 1.0,
        lab: None,
        slow_ms: None,
        keep_warm_every: Duration::from_secs(60),
        out: None,
    }
}

/// One probe: `target` 0 or 1, starting `at_s` after [`t0`].
fn record(
    seq: u64,
    target: usize,
    at_s: f64,
    reused: bool,
    ttfb: f64,
    error: Option<(ErrorKind, Phase)>,
) -> ProbeRecord {
    let (name, url, remote) = match target {
        0 => (
            "execute-api",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/test/header",
            "52.95.112.10:443",
        ),
        _ => (
            "custom-domain",
            "https://api.example.com/header",
            "18.66.2.41:443",
        ),
    };
    let at = t0() + Duration::from_secs_f64(at_s);
    let phases = if reused {
        Phases {
            queue: Some(0.05),
            send: Some(0.1),
            ttfb: Some(ttfb),
            body: Some(0.2),
            ..Phases::default()
        }
    } else {
        Phases {
            queue: Some(0.05),
            dns: Some(1.2 + (seq % 3) as f64 * 0.1),
            connect: Some(11.0 + (seq % 5) as f64),
            tls: Some(24.0 + (seq % 4) as f64),
            send: Some(0.1),
            ttfb: Some(ttfb),
            body: Some(0.2),
        }
    };
    let (status, error) = match error {
        None => (Some(200), None),
        Some((ErrorKind::Status, phase)) => (
            Some(504),
            Some(ProbeError {
                kind: ErrorKind::Status,
                phase,
                message: "status 504".into(),
            }),
        ),
        Some((kind, phase)) => (
            None,
            Some(ProbeError {
                kind,
                phase,
                message: format!("{kind} after 29 s"),
            }),
        ),
    };
    let phases = match &error {
        Some(e) if e.kind != ErrorKind::Status => Phases {
            ttfb: Some(29_000.0),
            body: None,
            ..phases
        },
        _ => phases,
    };
    let trace = format!("1-6b02{:04x}-{:024x}", seq, seq * 7919);
    let mut headers = CapturedHeaders::new();
    headers.insert(
        "x-amzn-requestid".into(),
        format!("{:08x}-0000-4000-8000-{:012x}", seq, seq * 31),
    );
    headers.insert("x-amzn-trace-id".into(), format!("Root={trace};Sampled=1"));
    ProbeRecord {
        run: Some("fixture".into()),
        target: name.into(),
        url: url.into(),
        seq,
        at: Timestamp(at),
        scheduled_at: Timestamp(at),
        remote: Some(remote.parse().unwrap()),
        local: Some("10.0.0.5:50000".parse().unwrap()),
        conn: Some(ConnInfo {
            id: if reused { 1000 + target as u64 } else { seq },
            reused,
            idle_ms: reused.then_some(40.0 + (seq % 7) as f64 * 10.0),
            age_ms: 100.0,
            requests: if reused { seq } else { 1 },
            reconnected: false,
            stale_idle_ms: None,
        }),
        total_ms: phases.sum(),
        phases_ms: phases,
        status,
        http: Some("1.1".into()),
        tls: Some(TlsInfo {
            version: "TLSv1.3".into(),
            resumed: false,
            alpn: Some("http/1.1".into()),
        }),
        trace_id: Some(trace),
        headers,
        body_bytes: Some(43),
        error,
        ..probe_record()
    }
}

/// Two minutes of a schedule every 10 s over a path where one NLB node in
/// three is a dead end (2 s), then a burst on kept-alive connections, one
/// integration timeout and one 504.
fn fixture_records() -> Vec<ProbeRecord> {
    let mut out = Vec::new();
    let mut seq = 0;
    let mut next = |target, at, reused, ttfb, error| {
        seq += 1;
        record(seq, target, at, reused, ttfb, error)
    };
    for round in 0..12u64 {
        for target in 0..2 {
            let at = 1.0 + round as f64 * 10.0 + target as f64 * 5.0;
            let bad = (round + target as u64) % 3 == 0;
            let ttfb = if bad {
                2_020.0 + round as f64
            } else {
                18.0 + (round % 6) as f64
            };
            out.push(next(target, at, false, ttfb, None));
        }
    }
    for k in 0..20u64 {
        let target = (k % 2) as usize;
        out.push(next(
            target,
            121.0 + k as f64 * 0.05,
            true,
            15.0 + (k % 4) as f64,
            None,
        ));
    }
    out.push(next(
        0,
        33.0,
        false,
        29_000.0,
        Some((ErrorKind::Timeout, Phase::Ttfb)),
    ));
    out.push(next(1, 88.0, false, 3.0, Some((ErrorKind::Status, Phase::Ttfb))));
    out
}

/// The dashboard after the fixture, with the detectors run.
fn state() -> State {
    let mut s = State::new(meta(), t0());
    s.on_note(Note::Schedule { running: true });
    let records = fixture_records();
    // First half, look, second half: thresholds exist when the slow ones land.
    let half = records.len() / 2;
    let (mut a, mut b) = (records[..half].to_vec(), records[half..].to_vec());
    s.number(&mut a);
    s.ingest(Source::Schedule, a);
    s.analyse();
    s.number(&mut b);
    s.ingest(Source::Schedule, b);
    s.analyse();
    s.elapsed = Duration::from_secs(128);
    s.status = None;
    s
}

fn draw(width: u16, height: u16, f: impl FnOnce(&mut ratatui::Frame)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(f).unwrap();
    terminal
}

fn screen(state: &State, width: u16, height: u16) -> Terminal<TestBackend> {
    draw(width, height, |f| render::draw(f, state, Theme::MONO))
}

#[test]
fn the_fixture_shows_a_bad_path() {
    let s = state();
    assert_eq!(
        s.findings.first().map(|f| f.cause.as_str()),
        Some("bad-path"),
        "{:#?}",
        s.findings
    );
    assert!(s.slow.iter().any(|r| r.error.is_some()));
    assert!(
        s.slow.len() >= 6,
        "the dead end's probes are listed: {}",
        s.slow.len()
    );
}

#[test]
fn whole_screen_at_160x48() {
    insta::assert_snapshot!(screen(&state(), 160, 48).backend());
}

#[test]
fn whole_screen_at_80x24() {
    insta::assert_snapshot!(screen(&state(), 80, 24).backend());
}

#[test]
fn region_header() {
    let s = state();
    insta::assert_snapshot!(draw(160, 2, |f| render::header::render(f, f.area(), &s, Theme::MONO)).backend());
}

#[test]
fn region_header_with_a_burst_and_a_sweep_running() {
    let mut s = state();
    s.on_note(Note::BurstStarted { probes: 60 });
    s.ingest(Source::Burst, fixture_records()[..12].to_vec());
    s.on_note(Note::SweepStep {
        step: 3,
        of: 6,
        gap: Duration::from_secs(65),
    });
    s.on_note(Note::KeepWarm { on: true });
    insta::assert_snapshot!(draw(160, 2, |f| render::header::render(f, f.area(), &s, Theme::MONO)).backend());
}

#[test]
fn region_latency_over_time() {
    let s = state();
    insta::assert_snapshot!(draw(80, 16, |f| render::latency::render(
        f,
        f.area(),
        &s,
        &s.targets[0],
        Theme::MONO
    ))
    .backend());
}

#[test]
fn region_phase_table() {
    let s = state();
    insta::assert_snapshot!(draw(render::phases::WIDTH, render::phases::HEIGHT, |f| {
        render::phases::render(f, f.area(), &s.targets[0], Theme::MONO)
    })
    .backend());
}

#[test]
fn region_histogram() {
    let s = state();
    insta::assert_snapshot!(draw(42, 9, |f| render::histogram::render(
        f,
        f.area(),
        &s.targets[0],
        Theme::MONO
    ))
    .backend());
}

#[test]
fn region_idle_age() {
    let s = state();
    insta::assert_snapshot!(draw(80, 12, |f| render::idle::render(
        f,
        f.area(),
        &s.targets[1],
        Theme::MONO
    ))
    .backend());
}

#[test]
fn region_findings() {
    let s = state();
    insta::assert_snapshot!(
        draw(64, 8, |f| render::findings::render(f, f.area(), &s, Theme::MONO)).backend()
    );
}

/// Issue 14: fast, healthy probes that never sat quiet long enough for an
/// idle timer are not "healthy": the panel says what was not tested, and the
/// key that tests it.
#[test]
fn no_finding_without_a_long_quiet_period_is_inconclusive() {
    let mut s = State::new(meta(), t0());
    let mut records: Vec<ProbeRecord> = (0..40)
        .map(|k| record(k + 1, (k % 2) as usize, k as f64 * 0.5, k >= 2, 20.0, None))
        .collect();
    s.number(&mut records);
    s.ingest(Source::Schedule, records);
    s.analyse();
    assert!(s.findings.is_empty(), "{:?}", s.findings);
    let text = draw(120, 8, |f| render::findings::render(f, f.area(), &s, Theme::MONO))
        .backend()
        .to_string();
    assert!(text.contains("inconclusive"), "{text}");
    assert!(text.contains("idle-timeout (s: idle sweep)"), "{text}");
    assert!(!text.contains("healthy"), "{text}");
}

#[test]
fn region_slow_probes() {
    let s = state();
    insta::assert_snapshot!(draw(96, 12, |f| render::slow::render(f, f.area(), &s, Theme::MONO)).backend());
}

#[test]
fn region_probe_detail() {
    let s = state();
    let r = &s.slow[0];
    insta::assert_snapshot!(
        draw(110, 36, |f| render::detail::probe(f, f.area(), r, 0, Theme::MONO)).backend()
    );
}

#[test]
fn region_finding_detail() {
    let s = state();
    insta::assert_snapshot!(draw(110, 30, |f| render::detail::finding(
        f,
        f.area(),
        &s.findings[0],
        0,
        Theme::MONO
    ))
    .backend());
}

#[test]
fn region_help() {
    let s = state();
    insta::assert_snapshot!(draw(96, 24, |f| render::help::render(f, f.area(), &s, Theme::MONO)).backend());
}

#[test]
fn region_footer_keys_and_status() {
    let mut s = state();
    let keys = draw(120, 1, |f| render::footer::render(f, f.area(), &s, Theme::MONO));
    s.status = Some("exported 102 records to coldlink-watch-20260921T073520Z.ndjson".into());
    let status = draw(120, 1, |f| render::footer::render(f, f.area(), &s, Theme::MONO));
    insta::assert_snapshot!(format!("{}\n{}", keys.backend(), status.backend()));
}

/// Log lines held off the screen are counted before the keys; where the
/// full keys no longer fit, the short ones.
#[test]
fn region_footer_with_held_log_lines() {
    let mut s = state();
    s.logs_held = 38;
    let wide = draw(160, 1, |f| render::footer::render(f, f.area(), &s, Theme::MONO));
    let narrow = draw(100, 1, |f| render::footer::render(f, f.area(), &s, Theme::MONO));
    let narrowest = draw(80, 1, |f| render::footer::render(f, f.area(), &s, Theme::MONO));
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        wide.backend(),
        narrow.backend(),
        narrowest.backend()
    ));
}

#[test]
fn waiting_for_the_first_probes() {
    let s = State::new(meta(), t0());
    insta::assert_snapshot!(screen(&s, 80, 24).backend());
}

/// Every size from nothing to wide, every mode: nothing panics, and the
/// regions that matter are still there at 80×24.
#[test]
fn every_size_draws_without_panicking() {
    let mut s = state();
    // Each side of every layout threshold, and the extremes.
    let widths = [0, 1, 3, 10, 37, 38, 39, 67, 68, 76, 80, 119, 120, 160, 200];
    let heights = [
        0, 1, 2, 4, 8, 9, 11, 12, 14, 17, 19, 20, 24, 29, 30, 39, 40, 48, 60,
    ];
    for (w, h) in widths.iter().flat_map(|w| heights.iter().map(move |h| (*w, *h))) {
        screen(&s, w, h);
    }
    for mode in [Mode::Help, Mode::ProbeDetail(0), Mode::FindingDetail(0)] {
        s.mode = mode;
        for (w, h) in [0, 3, 20, 80, 160]
            .iter()
            .flat_map(|w| [0, 3, 10, 24, 48].map(|h| (*w, h)))
        {
            screen(&s, w, h);
        }
    }
    s.mode = Mode::Normal;
    let text = screen(&s, 80, 24).backend().to_string();
    for region in ["orders-api", "phases", "findings", "slow or failed", "bad-path"] {
        assert!(text.contains(region), "{region} at 80×24:\n{text}");
    }
}

#[test]
fn three_targets_still_fit_and_a_fourth_is_named() {
    let mut m = meta();
    for name in ["third", "fourth"] {
        m.targets.push(TargetMeta {
            name: name.into(),
            url: format!("https://{name}.example.com/"),
            kind: TargetKind::Other,
        });
    }
    let s = State::new(m, t0());
    let text = screen(&s, 120, 30).backend().to_string();
    assert!(text.contains("third"), "{text}");
    assert!(text.contains("+1 not shown"), "{text}");
}

/// Colour says nothing under NO_COLOR: no cell has a colour, and selection
/// is still visible (reverse video).
#[test]
fn monochrome_has_no_colour_but_shows_the_selection() {
    let s = state();
    let t = screen(&s, 160, 48);
    let buffer = t.backend().buffer();
    assert!(buffer
        .content()
        .iter()
        .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset));
    assert!(buffer
        .content()
        .iter()
        .any(|c| c.modifier.contains(ratatui::style::Modifier::REVERSED)));
    let coloured = draw(160, 48, |f| render::draw(f, &s, Theme { color: true }));
    assert!(coloured
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != ratatui::style::Color::Reset));
}

// ---- update(state, action), one test per key ----

#[test]
fn b_starts_a_burst() {
    let mut s = state();
    assert_eq!(
        update(&mut s, Action::Burst),
        Some(Effect::Engine(Command::Burst))
    );
}

#[test]
fn s_starts_or_stops_the_idle_sweep() {
    let mut s = state();
    assert_eq!(
        update(&mut s, Action::Sweep),
        Some(Effect::Engine(Command::ToggleSweep))
    );
}

#[test]
fn p_pauses_or_resumes_the_schedule() {
    let mut s = state();
    assert_eq!(
        update(&mut s, Action::Pause),
        Some(Effect::Engine(Command::ToggleSchedule))
    );
    s.on_note(Note::Schedule { running: false });
    assert!(!s.activity.schedule);
    assert!(screen(&s, 160, 48)
        .backend()
        .to_string()
        .contains("schedule paused"));
}

#[test]
fn k_turns_keep_warm_on_or_off() {
    let mut s = state();
    assert_eq!(
        update(&mut s, Action::KeepWarm),
        Some(Effect::Engine(Command::ToggleKeepWarm))
    );
    s.on_note(Note::KeepWarm { on: true });
    assert!(screen(&s, 160, 48)
        .backend()
        .to_string()
        .contains("keep-warm every 1m"));
}

#[test]
fn tab_moves_the_focus_between_the_lists() {
    let mut s = state();
    assert_eq!(s.focus, Focus::Slow);
    assert_eq!(update(&mut s, Action::Focus), None);
    assert_eq!(s.focus, Focus::Findings);
    update(&mut s, Action::Focus);
    assert_eq!(s.focus, Focus::Slow);
}

#[test]
fn arrows_move_in_the_focused_list_and_stop_at_its_ends() {
    let mut s = state();
    update(&mut s, Action::Up);
    assert_eq!(s.slow_selected, 0, "already at the top");
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert_eq!(s.slow_selected, 2);
    for _ in 0..1000 {
        update(&mut s, Action::Down);
    }
    assert_eq!(s.slow_selected, s.slow.len() - 1);
    update(&mut s, Action::Focus);
    for _ in 0..10 {
        update(&mut s, Action::Down);
    }
    assert_eq!(s.finding_selected, s.findings.len() - 1);
    assert_eq!(s.slow_selected, s.slow.len() - 1, "the other list stays put");
}

#[test]
fn enter_opens_the_selected_item_and_esc_closes_it() {
    let mut s = state();
    update(&mut s, Action::Down);
    update(&mut s, Action::Open);
    assert_eq!(s.mode, Mode::ProbeDetail(1));
    let text = screen(&s, 160, 48).backend().to_string();
    assert!(text.contains(&format!("probe #{}", s.slow[1].seq)), "{text}");
    update(&mut s, Action::Down);
    assert_eq!(s.mode, Mode::ProbeDetail(2), "arrows page through the details");
    update(&mut s, Action::Back);
    assert_eq!(s.mode, Mode::Normal);
    update(&mut s, Action::Focus);
    update(&mut s, Action::Open);
    assert_eq!(s.mode, Mode::FindingDetail(0));
    assert!(screen(&s, 160, 48)
        .backend()
        .to_string()
        .contains("what to change"));
}

#[test]
fn enter_on_an_empty_list_opens_nothing() {
    let mut s = State::new(meta(), t0());
    update(&mut s, Action::Open);
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn r_forgets_every_probe_but_not_what_runs() {
    let mut s = state();
    s.on_note(Note::KeepWarm { on: true });
    assert_eq!(update(&mut s, Action::Reset), None);
    assert_eq!((s.probes, s.failed), (0, 0));
    assert!(s.window.is_empty() && s.slow.is_empty() && s.findings.is_empty());
    assert!(s
        .targets
        .iter()
        .all(|t| t.stats.probes == 0 && t.points.is_empty()));
    assert!(s.activity.schedule && s.activity.keep_warm);
    assert_eq!(s.status.as_deref(), Some("statistics reset"));
    // Sequence numbers go on: records before and after stay apart in --out.
    let mut batch = fixture_records()[..1].to_vec();
    s.number(&mut batch);
    assert_eq!(batch[0].seq, fixture_records().len() as u64 + 1);
}

#[test]
fn e_exports_the_records_held() {
    let mut s = state();
    assert_eq!(update(&mut s, Action::Export), Some(Effect::Export));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.ndjson");
    coldlink::tui::export_to(&path, &s.window).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let back: Vec<ProbeRecord> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(back, Vec::from(s.window.clone()));
    let again = coldlink::tui::export_to(&path, &s.window).unwrap_err();
    assert_eq!(
        again.kind(),
        std::io::ErrorKind::AlreadyExists,
        "never overwritten"
    );
}

#[test]
fn question_mark_toggles_help() {
    let mut s = state();
    update(&mut s, Action::Help);
    assert_eq!(s.mode, Mode::Help);
    assert!(screen(&s, 160, 48)
        .backend()
        .to_string()
        .contains("keys · Esc close"));
    update(&mut s, Action::Help);
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn q_quits() {
    let mut s = state();
    assert_eq!(update(&mut s, Action::Quit), Some(Effect::Quit));
}

/// New slow probes land at the top; the one the user selected stays selected.
#[test]
fn the_selection_stays_on_its_probe_as_new_ones_arrive() {
    let mut s = state();
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    let chosen = s.selected_probe().unwrap().seq;
    update(&mut s, Action::Open);
    let mut late = vec![record(500, 0, 127.0, false, 5_100.0, None)];
    s.number(&mut late);
    s.ingest(Source::Schedule, late);
    assert_eq!(s.selected_probe().unwrap().seq, chosen);
    assert_eq!(s.mode, Mode::ProbeDetail(s.slow_selected));
}

#[test]
fn bounded_memory_whatever_the_number_of_probes() {
    let mut s = State::new(meta(), t0());
    let one = fixture_records();
    for k in 0..250 {
        let mut batch: Vec<ProbeRecord> = one.clone();
        for r in &mut batch {
            r.at = Timestamp(r.at.0 + Duration::from_secs(130 * k));
        }
        s.number(&mut batch);
        s.ingest(Source::Schedule, batch);
    }
    assert_eq!(s.probes, 250 * one.len() as u64);
    assert_eq!(s.window.len(), coldlink::tui::state::WINDOW);
    assert_eq!(s.slow.len(), coldlink::tui::state::SLOW_KEPT);
    assert!(s
        .targets
        .iter()
        .all(|t| t.points.len() <= coldlink::tui::state::POINTS));
}

/// At 80×24 a failed probe's detail shows the error and every phase down to
/// the total without scrolling; PgDn reaches the headers.
#[test]
fn a_failed_probes_detail_fits_80x24() {
    let mut s = state();
    let failed = s
        .slow
        .iter()
        .position(|r| r.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Timeout))
        .unwrap();
    s.slow_selected = failed;
    update(&mut s, Action::Open);
    let text = screen(&s, 80, 24).backend().to_string();
    for needed in ["FAILED: timeout in ttfb", "dns", "ttfb", "body", "total"] {
        assert!(text.contains(needed), "{needed} at 80×24:\n{text}");
    }
    insta::assert_snapshot!(text);
    update(&mut s, Action::ScrollDown);
    assert_eq!(s.detail_scroll, 10);
    let scrolled = screen(&s, 80, 24).backend().to_string();
    assert!(scrolled.contains("x-amzn-requestid"), "{scrolled}");
    update(&mut s, Action::Down);
    assert_eq!(s.detail_scroll, 0, "the next probe starts at its top");
}

/// Findings are re-ranked every second: an open one stays open on the
/// same cause, and the selection follows its cause.
#[test]
fn an_open_finding_follows_its_cause_when_findings_are_reordered() {
    let mut s = state();
    assert_eq!(s.findings.len(), 1, "{:#?}", s.findings);
    // A finding ranked above bad-path a moment ago, gone at the next look.
    let mut gone = s.findings[0].clone();
    gone.cause = coldlink::diagnose::Cause::Edge;
    s.findings.insert(0, gone);
    update(&mut s, Action::Focus);
    update(&mut s, Action::Down);
    update(&mut s, Action::Open);
    let cause = s.findings[1].cause;
    assert_eq!(s.mode, Mode::FindingDetail(1));
    s.analyse();
    let Mode::FindingDetail(i) = s.mode else {
        panic!("closed: {:?}", s.mode)
    };
    assert_eq!(s.findings[i].cause, cause);
    assert_eq!(s.findings[s.finding_selected].cause, cause);
}

/// The slow list is rebuilt once thresholds are learnt: the newest stays
/// selected when it was, an open probe stays open.
#[test]
fn relisting_keeps_the_newest_selected_and_an_open_probe_open() {
    let mut s = state();
    s.stale = true;
    s.analyse();
    assert_eq!(s.slow_selected, 0);
    update(&mut s, Action::Down);
    update(&mut s, Action::Open);
    let open = s.selected_probe().unwrap().seq;
    // Thresholds so high that nothing but failures is slow any more.
    for t in &mut s.targets {
        t.slow_ms = [Some(1e9), Some(1e9)];
    }
    let mut more = fixture_records()[..2].to_vec();
    s.number(&mut more);
    s.ingest(Source::Schedule, more);
    s.analyse();
    let Mode::ProbeDetail(i) = s.mode else {
        panic!("closed: {:?}", s.mode)
    };
    assert_eq!(s.slow[i].seq, open, "the probe being read stays");
}

#[test]
fn a_status_gives_way_to_the_keys_after_a_while() {
    let mut s = state();
    s.tick(Duration::from_secs(200));
    s.say("exported 10 records");
    s.tick(Duration::from_secs(205));
    assert!(s.status.is_some());
    s.tick(Duration::from_secs(210));
    assert_eq!(s.status, None);
}

/// `r` forgets the statistics; the closing line still counts every probe
/// (what `--out` holds), and a burst's progress goes on.
#[test]
fn reset_keeps_the_run_totals_and_the_bursts_progress() {
    let mut s = state();
    s.on_note(Note::BurstStarted { probes: 60 });
    s.ingest(Source::Burst, fixture_records()[..10].to_vec());
    let total = s.total_probes;
    update(&mut s, Action::Reset);
    assert_eq!((s.probes, s.total_probes), (0, total));
    assert_eq!(s.activity.burst, Some((10, 60)));
}

#[test]
fn a_narrow_header_keeps_what_runs_first() {
    let mut s = state();
    s.on_note(Note::SweepStep {
        step: 3,
        of: 6,
        gap: Duration::from_secs(65),
    });
    let text = draw(80, 2, |f| render::header::render(f, f.area(), &s, Theme::MONO))
        .backend()
        .to_string();
    assert!(text.contains("idle sweep 3/6: quiet 1m 5s"), "{text}");
    assert!(text.contains("every 10s"), "{text}");
}

/// One probe is "1 probe" in the header, not "1 probes".
#[test]
fn the_header_counts_one_probe_in_the_singular() {
    let mut s = State::new(meta(), t0());
    let mut batch = vec![record(1, 0, 1.0, false, 20.0, None)];
    s.number(&mut batch);
    s.ingest(Source::Schedule, batch);
    let header = draw(160, 2, |f| render::header::render(f, f.area(), &s, Theme::MONO))
        .backend()
        .to_string();
    assert!(header.contains(" 1 probe, 0 failed"), "{header}");
}

/// A 502 is an answer, but a failed probe: the latency chart marks it `█`
/// (as it does a timeout), its strip bar is drawn in the failed colour, and
/// the header counts it.
#[test]
fn a_bad_status_is_drawn_and_counted_as_failed() {
    let mut s = State::new(meta(), t0());
    let mut batch = vec![
        record(1, 0, 1.0, false, 20.0, None),
        record(2, 0, 11.0, false, 25.0, Some((ErrorKind::Status, Phase::Ttfb))),
    ];
    batch[1].status = Some(502);
    s.number(&mut batch);
    s.ingest(Source::Schedule, batch);
    s.elapsed = Duration::from_secs(20);

    let header = draw(160, 2, |f| render::header::render(f, f.area(), &s, Theme::MONO))
        .backend()
        .to_string();
    assert!(header.contains("2 probes, 1 failed"), "{header}");

    let chart = draw(80, 16, |f| {
        render::latency::render(f, f.area(), &s, &s.targets[0], Theme::MONO)
    });
    // The title's key holds a `█` too: look below it.
    let plot: String = chart.backend().to_string().lines().skip(1).collect();
    assert_eq!(plot.matches('█').count(), 1, "{}", chart.backend());
    assert_eq!(plot.matches('•').count(), 1, "{}", chart.backend());

    let strip = draw(20, 3, |f| {
        render::latency::render_strip(f, f.area(), &s.targets[0], Theme { color: true })
    });
    let bars: Vec<_> = (1..3u16).map(|x| strip.backend().buffer()[(x, 1)].fg).collect();
    assert_eq!(
        bars,
        [ratatui::style::Color::Blue, ratatui::style::Color::Red],
        "{}",
        strip.backend()
    );
}
