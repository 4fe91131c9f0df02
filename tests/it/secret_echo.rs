//! A backend that echoes the request's headers back, as API Gateway passes
//! them on (`x-amzn-remapped-<name>`), never gets a secret into any output:
//! `probe` (waterfall, lines, JSON, NDJSON), `run --out`, `report`,
//! `diagnose` in every format (live and `--from`), and the dashboard's
//! probe detail (issue #14, item 2).

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::SystemTime;

use clap::Parser;
use coldlink::cli::{Cli, Command};
use coldlink::config::{FromArgs, WatchConfig};
use coldlink::probe::{ProbeRecord, Prober};
use coldlink::tui::live::Source;
use coldlink::tui::state::State;
use coldlink::tui::theme::Theme;
use coldlink::tui::view as render;
use common::{bin, start, Behavior, Server};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Every secret value below holds this; no output may.
const MARK: &str = "sEcReT";
const ENV_NAME: &str = "COLDLINK_ECHO_TENANT";
const ENV_VALUE: &str = "sEcReT-tenant-8";

/// Secret by name (built in, or `--secret-header`), on the command line.
const CLI_SECRETS: [&str; 6] = [
    "authorization: Bearer sEcReT-bearer-token-1",
    "proxy-authorization: Basic sEcReT-proxy-2",
    "x-api-key: sEcReT-api-key-3",
    "cookie: lang=en; session=sEcReT-cookie-4",
    "x-amz-security-token: sEcReT-session-token-5",
    "x-custom: sEcReT-custom-7",
];

fn cli_args() -> Vec<String> {
    let mut args = Vec::new();
    for h in CLI_SECRETS {
        args.extend(["-H".to_string(), h.to_string()]);
    }
    args.extend(
        [
            "-H",
            "x-plain: visible-plain-value",
            "--secret-header",
            "x-custom",
        ]
        .map(String::from),
    );
    args
}

/// A profile with a secret by `connection.secret_headers` and one from
/// `${ENV}`, beside a header that is no secret.
fn write_profile(dir: &Path, server: &Server) -> String {
    let path = dir.join("echo.toml");
    std::fs::write(
        &path,
        format!(
            "[connection]\nsecret_headers = [\"x-session\"]\n\
             [[target]]\nname = \"echo\"\nurl = \"{}\"\n\
             headers = {{ \"x-session\" = \"sEcReT-session-6\", \"x-tenant\" = \"${{{ENV_NAME}}}\", \"x-plain\" = \"visible-plain-value\" }}\n\
             [burst]\nrequests = 3\nconcurrency = 1\n",
            server.url("/echo")
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn coldlink(args: &[String]) -> Output {
    std::process::Command::new(bin())
        .args(args)
        .env(ENV_NAME, ENV_VALUE)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Runs `args`, which must end in 0 or 1 (a 502 is a failed probe), and
/// returns stdout and stderr, checked for secrets.
async fn run_clean(what: &str, args: Vec<String>) -> String {
    let out = tokio::task::spawn_blocking(move || coldlink(&args))
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{what}: {:?}\n{stderr}",
        out.status
    );
    assert_no_secret(&format!("{what} (stdout)"), &stdout);
    assert_no_secret(&format!("{what} (stderr)"), &stderr);
    stdout
}

fn assert_no_secret(what: &str, text: &str) {
    if let Some(at) = text.find(MARK) {
        let from = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let line = text[from..].lines().next().unwrap_or_default();
        panic!("{what} shows a secret: {line}");
    }
}

fn read_clean(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    assert_no_secret(&path.display().to_string(), &text);
    text
}

/// The echoes are there, redacted, and what is no secret is kept.
fn assert_redacted_echoes(r: &ProbeRecord) {
    let h = |name: &str| r.headers.get(name).map(String::as_str);
    for name in [
        "x-amzn-remapped-authorization",
        "x-amzn-remapped-proxy-authorization",
        "x-amzn-remapped-x-api-key",
        "x-amzn-remapped-cookie",
        "x-amzn-remapped-x-amz-security-token",
        "x-amzn-remapped-x-custom",
        "x-amzn-remapped-x-echo-authorization",
        "via",
    ] {
        assert_eq!(h(name), Some("REDACTED"), "{name} in {:?}", r.headers);
    }
    assert_eq!(h("x-amzn-remapped-x-plain"), Some("visible-plain-value"));
    assert_eq!(
        h("x-amzn-remapped-x-echo-x-plain"),
        Some("you sent visible-plain-value!")
    );
    assert_eq!(h("x-amzn-requestid"), Some("req-echo"));
}

fn records(text: &str) -> Vec<ProbeRecord> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn probe_shows_no_echoed_secret_in_any_format() {
    let server = start(Behavior::Echo(502)).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/echo");
    let ndjson = dir.path().join("probe.ndjson");

    let mut waterfall = vec!["probe".to_string(), url.clone()];
    waterfall.extend(cli_args());
    let shown = run_clean("probe (waterfall)", waterfall).await;
    assert!(
        shown.contains("x-amzn-remapped-authorization: REDACTED"),
        "{shown}"
    );
    assert!(
        shown.contains("x-amzn-remapped-x-plain: visible-plain-value"),
        "{shown}"
    );

    for format in ["text", "json", "ndjson"] {
        let mut args = ["probe", &url, "-n", "2", "--format", format]
            .map(String::from)
            .to_vec();
        args.extend(cli_args());
        run_clean(&format!("probe --format {format}"), args).await;
    }

    let mut args = ["probe", &url, "-n", "2", "--out"].map(String::from).to_vec();
    args.push(ndjson.to_str().unwrap().to_string());
    args.extend(cli_args());
    run_clean("probe --out", args).await;
    let written = records(&read_clean(&ndjson));
    assert_eq!(written.len(), 2);
    written.iter().for_each(assert_redacted_echoes);
}

#[tokio::test]
async fn run_report_and_diagnose_show_no_echoed_secret() {
    let server = start(Behavior::Echo(502)).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), &server);
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    let mut args = [
        "run",
        "--profile",
        &profile,
        "--burst",
        "-q",
        "--out",
        &path("run.ndjson"),
    ]
    .map(String::from)
    .to_vec();
    args.extend(cli_args());
    run_clean("run --burst --out", args).await;
    let run = records(&read_clean(Path::new(&path("run.ndjson"))));
    assert_eq!(run.len(), 3);
    for r in &run {
        assert_redacted_echoes(r);
        for name in ["x-amzn-remapped-x-session", "x-amzn-remapped-x-tenant"] {
            assert_eq!(
                r.headers.get(name).map(String::as_str),
                Some("REDACTED"),
                "{name}"
            );
        }
    }
    // The secrets were sent all the same.
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-tenant"), Some(ENV_VALUE));
    assert_eq!(sent.header("authorization"), Some("Bearer sEcReT-bearer-token-1"));

    for format in ["text", "json"] {
        let args = ["report", &path("run.ndjson"), "--format", format]
            .map(String::from)
            .to_vec();
        run_clean(&format!("report --format {format}"), args).await;
    }

    for format in ["text", "md", "json", "html"] {
        let report = path(&format!("from.{format}"));
        let args = [
            "diagnose",
            "--from",
            &path("run.ndjson"),
            "--format",
            format,
            "--out",
            &report,
        ]
        .map(String::from)
        .to_vec();
        run_clean(&format!("diagnose --from --format {format}"), args).await;
        read_clean(Path::new(&report));
    }

    // Live: the records diagnose writes, and its report.
    let mut args = [
        "diagnose",
        "--profile",
        &profile,
        "--probes",
        "3",
        "-q",
        "--format",
        "html",
        "--out",
        &path("live.html"),
        "--records",
        &path("live.ndjson"),
    ]
    .map(String::from)
    .to_vec();
    args.extend(cli_args());
    run_clean("diagnose (live)", args).await;
    read_clean(Path::new(&path("live.html")));
    let live = records(&read_clean(Path::new(&path("live.ndjson"))));
    assert!(!live.is_empty());
    live.iter().for_each(assert_redacted_echoes);
}

/// The dashboard's probe detail draws the record the engine built: probed
/// here through watch's own configuration (`watch --profile … -H …`, the
/// same targets) and prober, and folded into the dashboard's state.
#[tokio::test]
async fn the_dashboards_probe_detail_shows_no_echoed_secret() {
    let server = start(Behavior::Echo(502)).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), &server);
    // The profile's `${ENV}` is read in this process; the other tests only
    // hand the variable to a child.
    std::env::set_var(ENV_NAME, ENV_VALUE);
    let mut argv = ["coldlink", "watch", "--profile", &profile]
        .map(String::from)
        .to_vec();
    argv.extend(cli_args());
    let Command::Watch(args) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!("parsed as watch")
    };
    let config = WatchConfig::from_args(&args, None).unwrap();
    let prober = Prober::new(config.settings.clone()).unwrap();
    let record = prober
        .probe(&config.targets[0], 1, std::time::Instant::now())
        .await;
    assert_eq!(record.status, Some(502), "{record:?}");
    assert_redacted_echoes(&record);

    let mut state = State::new(coldlink::tui::meta(&config), SystemTime::now());
    state.ingest(Source::Schedule, vec![record]);
    let shown = state.selected_probe().expect("a failed probe is listed");
    let mut screens = String::new();
    for scroll in [0, 20, 40] {
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        terminal
            .draw(|f| render::detail::probe(f, f.area(), shown, scroll, Theme::MONO))
            .unwrap();
        screens.push_str(&terminal.backend().to_string());
    }
    assert_no_secret("the probe detail", &screens);
    assert!(
        screens.contains("x-amzn-remapped-authorization: REDACTED"),
        "{screens}"
    );
    assert!(screens.contains("visible-plain-value"), "{screens}");
}
