//! The `coldlink` binary as a user meets it: exit codes, error messages,
//! output formats, secrets, broken pipes and the help and waterfall layouts.
//!
//! Long (under 800 lines) because insta names its help and waterfall
//! snapshot files after this module (`it__cli__*.snap`), and each test here
//! is short and stands alone.

use crate::common;
use crate::common::text;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use common::{bin, start, Behavior};

/// Run the binary off the async runtime so the test servers keep serving.
async fn coldlink(args: Vec<String>, env: &[(&str, &str)]) -> Output {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(bin());
        cmd.args(&args).env_remove("RUST_LOG").env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_healthy_probe_exits_0_and_a_failed_one_exits_1() {
    let server = start(Behavior::Ok).await;
    let out = coldlink(args(&["probe", &server.url("/")]), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let closed = common::closed_port();
    let out = coldlink(args(&["probe", &format!("http://{}/", closed.addr)]), &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("FAILED: refused in connect"),
        "{}",
        text(&out.stdout)
    );

    let tls = common::start_tls(Behavior::Ok, &["localhost"]).await;
    let ca = tls.ca_file.clone().unwrap();
    let out = coldlink(
        args(&["probe", &tls.url("/"), "--cacert", ca.to_str().unwrap()]),
        &[],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a certificate for another name fails the probe"
    );
    assert!(
        text(&out.stdout).contains("FAILED: tls: "),
        "{}",
        text(&out.stdout)
    );
    let out = coldlink(
        args(&["probe", &tls.url_localhost("/"), "--cacert", ca.to_str().unwrap()]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    let failing = start(Behavior::Status(502)).await;
    let out = coldlink(
        args(&["probe", "-n", "3", &server.url("/"), &failing.url("/")]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "one failing target fails the run");
}

#[tokio::test]
async fn bad_input_exits_2_and_names_the_flag() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["probe", "ftp://example.com/"],
            "expected a URL with http:// or https://",
        ),
        (
            vec!["probe", "localhost:8080/x"],
            "no scheme; expected a URL with http:// or https://, e.g. https://",
        ),
        (
            vec!["probe", "example.com/header"],
            "not a URL (relative URL without a base); expected a URL with http:// or https://",
        ),
        (
            vec!["probe", "https://u:p@example.com/"],
            "credentials in the URL",
        ),
        (
            vec!["probe", "--timeout", "soon", "http://127.0.0.1/"],
            "--timeout",
        ),
        (
            vec!["probe", "--timeout", "0s", "http://127.0.0.1/"],
            "--timeout must be longer than 0",
        ),
        (vec!["probe", "-n", "0", "http://127.0.0.1/"], "--count"),
        (
            vec!["probe", "--connections", "sometimes", "http://127.0.0.1/"],
            "fresh, reuse",
        ),
        (
            vec!["probe", "-H", "no-colon", "http://127.0.0.1/"],
            "'Name: value'",
        ),
        (
            vec!["probe", "--resolve", "api:443", "http://127.0.0.1/"],
            "HOST:PORT:ADDR",
        ),
        (
            vec!["probe", "--dns-server", "my-resolver", "http://127.0.0.1/"],
            "--dns-server",
        ),
        (
            vec!["probe", "--cacert", "/nonexistent/ca.pem", "http://127.0.0.1/"],
            "--cacert /nonexistent/ca.pem",
        ),
        (
            vec!["probe", "--data", "@/nonexistent/body.json", "http://127.0.0.1/"],
            "--data @/nonexistent/body.json",
        ),
        (
            vec![
                "probe",
                "--out",
                "/nonexistent/dir/records.ndjson",
                "http://127.0.0.1/",
            ],
            "--out /nonexistent/dir",
        ),
        (vec!["probe"], "<URL>"),
        (vec!["frobnicate"], "unrecognized subcommand"),
        (
            vec!["probe", "--cacert", "/", "http://127.0.0.1/"],
            "--cacert /: a folder, not a file",
        ),
        (vec!["probe", "http:///path"], "the URL has no host"),
        (
            vec!["lab", "--set", "name=foo"],
            "--set name=foo: 'name' is not a lab parameter; one of: speed,",
        ),
        (
            vec!["lab", "--set", "backend.targets=abc"],
            "'abc' is not a valid backend.targets; expected a whole number from 1 to 16",
        ),
    ];
    for (a, expected) in cases {
        let out = coldlink(args(&a), &[]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(expected), "{a:?}: expected {expected:?} in: {err}");
        assert!(out.stdout.is_empty(), "{a:?}: nothing on stdout");
    }
}

/// A refused URL or profile is named, with what is valid, but its secrets
/// are not repeated: clap's "invalid value '…'" and "unexpected argument
/// '…'" show a URL masked, and a profile's syntax error names
/// file:line:column without the line's text.
#[tokio::test]
async fn a_refused_value_never_shows_its_secret() {
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["probe", "https://user:PASSW0RD@127.0.0.1:1/x"],
            "PASSW0RD",
            "https://user:***@127.0.0.1:1/x",
        ),
        (
            vec!["probe", "localhost:1/?api_key=QSEKRIT"],
            "QSEKRIT",
            "api_key=REDACTED",
        ),
        (
            vec!["probe", "ftp://127.0.0.1/?token=QSEKRIT"],
            "QSEKRIT",
            "token=REDACTED",
        ),
        // Any refused value or unexpected argument, not only a URL's.
        (
            vec!["probe", "--timeout", "https://u:PASSW0RD@127.0.0.1/"],
            "PASSW0RD",
            "--timeout",
        ),
        (
            vec!["run", "https://u:PASSW0RD@127.0.0.1/?api_key=QSEKRIT"],
            "QSEKRIT",
            "unexpected argument",
        ),
        (
            vec!["diagnose", "https://TOKENUSER@127.0.0.1:1/x"],
            "TOKENUSER",
            "https://***@127.0.0.1:1/x",
        ),
        (
            vec!["watch", "https://u:PASSW0RD@127.0.0.1:1/x"],
            "PASSW0RD",
            "[URL]...",
        ),
        (
            vec!["keepwarm", "https://u:PASSW0RD@127.0.0.1:1/x"],
            "PASSW0RD",
            "[URL]...",
        ),
        (
            vec![
                "keepwarm",
                "--heartbeat-url",
                "ftp://u:PASSW0RD@127.0.0.1/",
                "http://127.0.0.1:1/",
            ],
            "PASSW0RD",
            "--heartbeat-url",
        ),
        (
            vec![
                "diagnose",
                "--aws-endpoint",
                "https://u:PASSW0RD@127.0.0.1:1",
                "--xray",
                "http://127.0.0.1:1/",
            ],
            "PASSW0RD",
            "--aws-endpoint",
        ),
        (
            vec![
                "keepwarm",
                "--aws-endpoint",
                "https://u:PASSW0RD@127.0.0.1:1",
                "http://127.0.0.1:1/",
            ],
            "PASSW0RD",
            "--aws-endpoint",
        ),
    ];
    for (a, secret, shown) in cases {
        let out = coldlink(args(&a), &[]).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{a:?}: {stderr}");
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{a:?}: {stdout}{stderr}"
        );
        assert!(stderr.contains(shown), "{a:?}: expected {shown:?} in: {stderr}");
        assert!(
            [
                "http:// or https://",
                "credentials",
                "a duration like",
                "unexpected"
            ]
            .iter()
            .any(|valid| stderr.contains(valid)),
            "{a:?}: {stderr}"
        );
        assert!(!stderr.contains("PASSW0RD"), "{a:?}: {stderr}");
    }

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { \"x-api-key\" = \"TOPSECRET123\" , \"x-foo\" = }\n",
    )
    .unwrap();
    let out = coldlink(args(&["run", "--profile", profile.to_str().unwrap()]), &[]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !stdout.contains("TOPSECRET123") && !stderr.contains("TOPSECRET123"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:4:", profile.display())),
        "names file and line: {stderr}"
    );

    std::fs::write(&profile, "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { \"x-api-key\" = [\"TOPSECRET123\"] }\n").unwrap();
    let out = coldlink(args(&["run", "--profile", profile.to_str().unwrap()]), &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !stderr.contains("TOPSECRET123"),
        "a shape error quotes no value: {stderr}"
    );
}

#[tokio::test]
async fn a_secret_header_never_appears_in_any_output() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        "s3cr3t-api-key",
        "Bearer tok3n-value",
        "cust0m-secret",
        "sessi0n=abc",
    ];
    for format in ["text", "json", "ndjson"] {
        for count in ["1", "2"] {
            let out_file = dir.path().join(format!("{format}-{count}.ndjson"));
            let out = coldlink(
                args(&[
                    "probe",
                    &server.url("/"),
                    "-n",
                    count,
                    "--format",
                    format,
                    "--out",
                    out_file.to_str().unwrap(),
                    "-H",
                    "x-api-key: s3cr3t-api-key",
                    "-H",
                    "Authorization: Bearer tok3n-value",
                    "-H",
                    "x-custom: cust0m-secret",
                    "--secret-header",
                    "x-custom",
                    "-H",
                    "cookie: sessi0n=abc",
                ]),
                &[("RUST_LOG", "trace")],
            )
            .await;
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let records = std::fs::read_to_string(&out_file).unwrap();
            assert!(!records.is_empty());
            for (what, body) in [
                ("stdout", text(&out.stdout)),
                ("stderr", text(&out.stderr)),
                ("--out", records),
            ] {
                for s in secrets {
                    assert!(
                        !body.contains(s),
                        "{format} -n {count}: secret {s:?} leaked to {what}:\n{body}"
                    );
                }
            }
        }
    }
    // A malformed -H is refused without repeating the value.
    for bad in ["x-api-key s3cr3t-api-key", "x-api-key: s3cr3t-api-key\u{7f}"] {
        let out = coldlink(args(&["probe", &server.url("/"), "-H", bad]), &[]).await;
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(err.contains("--header"), "{err}");
        assert!(!err.contains("s3cr3t"), "the secret leaked into the error: {err}");
    }
    // They were sent all the same.
    let got = &server.requests()[0];
    assert_eq!(got.header("x-api-key"), Some("s3cr3t-api-key"));
    assert_eq!(got.header("authorization"), Some("Bearer tok3n-value"));
    assert_eq!(got.header("x-custom"), Some("cust0m-secret"));
}

/// A key in a query string is sent but never written: by its name on the
/// command line, and in a profile also when its value comes from `${ENV}`.
#[tokio::test]
async fn a_secret_query_value_never_appears_in_any_output() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/orders?api_key=qu3ry-k3y&page=2");
    for format in ["text", "json", "ndjson"] {
        let out = coldlink(args(&["probe", &url, "-n", "2", "--format", format]), &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(!stdout.contains("qu3ry-k3y"), "{format}: {stdout}");
        assert!(stdout.contains("api_key=REDACTED&page=2"), "{format}: {stdout}");
    }

    let profile = dir.path().join("p.toml");
    let templ = server.url("/orders?tenant=${TENANT_TOKEN}&page=2");
    std::fs::write(
        &profile,
        format!("[[target]]\nname = \"orders\"\nurl = \"{templ}\"\n[burst]\nrequests = 2\nconcurrency = 1\n"),
    )
    .unwrap();
    let records = dir.path().join("r.ndjson");
    let run = args(&[
        "run",
        "--profile",
        profile.to_str().unwrap(),
        "--burst",
        "--out",
        records.to_str().unwrap(),
    ]);
    let out = coldlink(run, &[("TENANT_TOKEN", "t3nant-t0ken"), ("RUST_LOG", "trace")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = coldlink(args(&["report", records.to_str().unwrap()]), &[]).await;
    let written = std::fs::read_to_string(&records).unwrap();
    for (what, body) in [
        ("run stdout", text(&out.stdout)),
        ("run stderr", text(&out.stderr)),
        ("--out", written.clone()),
        ("report", text(&report.stdout)),
    ] {
        assert!(!body.contains("t3nant-t0ken"), "leaked to {what}:\n{body}");
    }
    assert!(written.contains("tenant=REDACTED&page=2"), "{written}");

    // Sent as given, every time.
    let lines: Vec<String> = server.requests().iter().map(|r| r.request_line.clone()).collect();
    assert_eq!(lines.len(), 8, "{lines:?}");
    assert!(
        lines[..6]
            .iter()
            .all(|l| l.contains("/orders?api_key=qu3ry-k3y&page=2")),
        "{lines:?}"
    );
    assert!(
        lines[6..]
            .iter()
            .all(|l| l.contains("/orders?tenant=t3nant-t0ken&page=2")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn ndjson_is_one_schema_record_per_line_and_json_one_document() {
    let server = start(Behavior::Ok).await;
    let out = coldlink(
        args(&["probe", &server.url("/a"), "-n", "3", "--format", "ndjson"]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert_eq!(l["v"], 1);
        for key in ["queue", "dns", "connect", "tls", "send", "ttfb", "body"] {
            assert!(
                l["phases_ms"].get(key).is_some(),
                "phases_ms.{key} present (null or a number)"
            );
        }
        assert!(
            l["phases_ms"]["tls"].is_null(),
            "plain http: tls is null, never 0"
        );
        assert!(l["conn"]["reused"].is_boolean());
        assert_eq!(l["error"], serde_json::Value::Null);
    }
    assert_eq!(
        lines[2]["conn"]["reused"], true,
        "-n defaults to reused connections"
    );

    let out = coldlink(
        args(&["probe", &server.url("/a"), "-n", "2", "--format", "json"]),
        &[],
    )
    .await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["v"], 1);
    assert_eq!(doc["records"].as_array().unwrap().len(), 2);
    assert_eq!(doc["targets"][0]["probes"], 2);
    assert!(doc["targets"][0]["total_ms"]["p99"].is_number());
}

#[tokio::test]
async fn a_closed_stdout_is_not_an_error() {
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let code = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bin())
            .args(["probe", &url, "-n", "200", "--format", "ndjson"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("{\"v\":1"), "{first}");
        // The reader is gone: the next write meets a broken pipe.
        child.wait().unwrap().code()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn completions_and_man_page_are_generated() {
    let out = coldlink(args(&["completions", "bash"]), &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("coldlink"));
    let out = coldlink(args(&["man"]), &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains(".TH coldlink"));
}

/// The subcommand pages a man page refers to (`coldlink\-probe(1)` in roff).
fn page_refs(roff: &str) -> Vec<String> {
    let re = regex::Regex::new(r"coldlink\\-([a-z]+)\(1\)").unwrap();
    re.captures_iter(roff)
        .map(|c| format!("coldlink-{}.1", &c[1]))
        .collect()
}

/// Issue #14: `coldlink man` referred to coldlink-probe(1) and other pages
/// that did not exist. `--dir` writes them, and every reference has its page.
#[tokio::test]
async fn every_man_page_referred_to_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = coldlink(args(&["man", "--dir", dir.path().to_str().unwrap()]), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // In the section's folder, where MANPATH=DIR looks.
    let man1 = dir.path().join("man1");
    let found = Command::new("man")
        .args(["-w", "coldlink-diagnose"])
        .env("MANPATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        text(&found.stdout).trim(),
        man1.join("coldlink-diagnose.1").to_str().unwrap(),
        "MANPATH=DIR finds the page: {}",
        text(&found.stderr)
    );
    let written: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut refs = Vec::new();
    for page in &written {
        refs.extend(page_refs(&std::fs::read_to_string(man1.join(page)).unwrap()));
    }
    let printed = coldlink(args(&["man"]), &[]).await;
    refs.extend(page_refs(&text(&printed.stdout)));
    assert!(refs.len() >= 8, "the subcommands are listed: {refs:?}");
    for r in &refs {
        assert!(written.contains(r), "{r} is referred to but not in {written:?}");
    }
    assert!(written.contains(&"coldlink.1".to_string()), "{written:?}");
    // Said on stderr, with the count of pages and where: it was silent.
    assert_eq!(
        text(&out.stderr),
        format!(
            "coldlink man: wrote {} pages to {}\n",
            written.len(),
            man1.display()
        )
    );
    assert!(out.stdout.is_empty());

    // One subcommand's page on stdout, and a wrong name named.
    let out = coldlink(args(&["man", "probe"]), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(".TH coldlink-probe 1"),
        "{}",
        text(&out.stdout)
    );
    let out = coldlink(args(&["man", "probes"]), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("coldlink man probes: no such subcommand"));
}

#[tokio::test]
async fn help_snapshots() {
    for (name, a) in [
        ("help", vec!["--help"]),
        ("probe_help", vec!["probe", "--help"]),
        ("diagnose_help", vec!["diagnose", "--help"]),
        ("watch_help", vec!["watch", "--help"]),
        ("keepwarm_help", vec!["keepwarm", "--help"]),
    ] {
        let out = coldlink(args(&a), &[]).await;
        assert_eq!(out.status.code(), Some(0));
        insta::assert_snapshot!(name, text(&out.stdout));
    }
}

#[tokio::test]
async fn waterfall_layout_snapshot() {
    let server = start(Behavior::Ok).await;
    let out = coldlink(args(&["probe", &server.url("/header")]), &[]).await;
    assert_eq!(out.status.code(), Some(0));
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"1-[0-9a-f]{8}-[0-9a-f]{24}", "[trace-id]"),
        (r"\d+(\.\d+)? ms", "[ms]"),
        (r"\|[ █]{40}\|", "|[bar]|"),
    ]}, {
        insta::assert_snapshot!("waterfall", text(&out.stdout));
    });
}

/// Bad input to `watch` exits 2 naming the flag, before any terminal is
/// touched; so does a stdout that is not a terminal.
#[tokio::test]
async fn watch_bad_input_exits_2_with_what_would_be_valid() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let profile = profile.to_str().unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["watch"],
            "watch needs URLs, --profile FILE or --lab SCENARIO",
        ),
        (
            vec![
                "watch",
                "http://127.0.0.1:9/",
                "--interval",
                "5s",
                "--jitter",
                "5s",
            ],
            "--jitter 5s must be shorter than the interval (5s)",
        ),
        (
            vec![
                "watch",
                "http://127.0.0.1:9/",
                "--out",
                "/nonexistent/dir/r.ndjson",
            ],
            "--out /nonexistent/dir/r.ndjson: cannot write there",
        ),
        (
            vec!["watch", "--profile", profile, "--keep-warm", "0s"],
            "--keep-warm",
        ),
        (
            vec!["watch", "http://127.0.0.1:9/"],
            "watch draws a dashboard and needs a terminal on stdout",
        ),
    ];
    for (a, message) in cases {
        let out = coldlink(args(&a), &[]).await;
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(message),
            "{a:?}: {}",
            text(&out.stderr)
        );
    }
}

/// A value below zero is refused in words, where clap would otherwise
/// suggest `-- -1` (which turns the value into a URL).
#[tokio::test]
async fn a_negative_value_must_be_positive() {
    let url = "http://127.0.0.1:9/";
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["probe", "--timeout", "-1s", url],
            "'-1s' for '--timeout <D>'",
        ),
        (vec!["probe", "-n", "-5", url], "'-5' for '--count <N>'"),
        (vec!["probe", "-c", "-2", url], "'-2' for '--concurrency <C>'"),
        (
            vec!["keepwarm", "--interval", "-1s", url],
            "'-1s' for '--interval <D>'",
        ),
        (vec!["diagnose", "--slow", "-2s", url], "'-2s' for '--slow <D>'"),
    ];
    for (a, names) in cases {
        let out = coldlink(args(&a), &[]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(names), "{a:?}: names flag and value: {err}");
        assert!(err.contains("must be positive"), "{a:?}: {err}");
        assert!(!err.contains("-- -"), "{a:?}: no tip to pass it after --: {err}");
    }
}

/// `--from FILE URL`: the URL stays a URL, and the refusal is the file's.
/// Without a mode, both modes are named.
#[tokio::test]
async fn keepwarm_from_leaves_the_urls_and_no_mode_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.ndjson");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let url = "http://127.0.0.1:9/";
    let out = coldlink(args(&["keepwarm", "--interval", "1s", "--from", empty, url]), &[]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--from {empty}: no probe records")),
        "{err}"
    );

    let out = coldlink(args(&["keepwarm", url]), &[]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--once") && err.contains("--interval"), "{err}");
}

/// `http:///path` has no host: refused before any DNS query is sent.
#[tokio::test]
async fn a_url_without_a_host_sends_no_query() {
    let (dns, queries) = common::start_dns(common::Dns::NxDomain).await;
    let out = coldlink(
        args(&["probe", "--dns-server", &dns.to_string(), "http:///path"]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no host"), "{}", text(&out.stderr));
    assert_eq!(queries.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// A name the DNS server does not know fails the probe in plain words, not
/// the resolver's debug text.
#[tokio::test]
async fn a_dns_failure_is_in_plain_words() {
    let (dns, _) = common::start_dns(common::Dns::NxDomain).await;
    let out = coldlink(
        args(&[
            "probe",
            "--dns-server",
            &dns.to_string(),
            "--format",
            "ndjson",
            "http://nothere.example/",
        ]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        record["error"]["message"],
        "resolving nothere.example: no such name (the DNS server answered NXDOMAIN)"
    );
    // The text output names the kind once: "dns", not "dns in dns".
    let out = coldlink(
        args(&[
            "probe",
            "--dns-server",
            &dns.to_string(),
            "http://nothere.example/",
        ]),
        &[],
    )
    .await;
    let shown = text(&out.stdout);
    assert!(
        shown.contains("FAILED: dns: resolving nothere.example"),
        "{shown}"
    );
    assert!(!shown.contains("dns in dns"), "{shown}");
}

/// Every input is checked before the lab starts talking: a bad `--out`
/// comes alone, with no banner; a refused command leaves no file behind.
#[tokio::test]
async fn a_refusal_comes_before_the_lab_and_leaves_no_file() {
    let out = coldlink(args(&["diagnose", "--lab", "healthy", "--out", "/proc/x"]), &[]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--out /proc/x: cannot write there"), "{err}");
    assert!(!err.contains("coldlink lab"), "no lab banner: {err}");
    // Starting a lab begins with reading its scenario's parameters: a bad
    // --set refused after the --out means no lab was started first.
    for command in [
        &["diagnose"][..],
        &["probe"],
        &["run", "--duration", "1s"],
        &["watch"],
        &["keepwarm", "--once"],
    ] {
        let mut a = args(command);
        a.extend(args(&["--lab", "healthy", "--set", "nope=1", "--out", "/proc/x"]));
        let out = coldlink(a, &[]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {err}");
        assert!(
            err.contains("--out /proc/x"),
            "{command:?}: the --out came first: {err}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.ndjson");
    let out = coldlink(
        args(&[
            "diagnose",
            "http://127.0.0.1:9/",
            "--records",
            records.to_str().unwrap(),
            "--data",
            "@/nonexistent/body.json",
        ]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!records.exists(), "the refused command created {records:?}");
}

/// Issue #16 §2: `--api-id ID`, or a profile's `connection.api_id`, reaches
/// the server as `x-apigw-api-id: ID` on every probe, whichever command
/// sends it; the flag wins over the profile.
#[tokio::test]
async fn the_api_id_reaches_the_server_on_every_probe() {
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("keepwarm.lock");
    let lock = lock.to_str().unwrap();
    let profile = dir.path().join("private.toml");
    std::fs::write(
        &profile,
        format!(
            "[[target]]\nname = \"api\"\nurl = \"{url}\"\n[connection]\napi_id = \"b2c3d4e5f6\"\n[burst]\nrequests = 2\nconcurrency = 1\n"
        ),
    )
    .unwrap();
    let profile = profile.to_str().unwrap();
    let runs: [(&[&str], &str); 6] = [
        (&["probe", &url, "--api-id", "a1b2c3d4e5"], "a1b2c3d4e5"),
        (
            &["probe", &url, "-n", "3", "--api-id", "a1b2c3d4e5"],
            "a1b2c3d4e5",
        ),
        (
            &[
                "keepwarm",
                "--once",
                &url,
                "--api-id",
                "a1b2c3d4e5",
                "--lock",
                lock,
            ],
            "a1b2c3d4e5",
        ),
        (&["run", "--profile", profile, "--burst", "-q"], "b2c3d4e5f6"),
        (
            &["keepwarm", "--once", "--profile", profile, "--lock", lock],
            "b2c3d4e5f6",
        ),
        (
            &[
                "run",
                "--profile",
                profile,
                "--burst",
                "-q",
                "--api-id",
                "a1b2c3d4e5",
            ],
            "a1b2c3d4e5",
        ),
    ];
    for (command, id) in runs {
        let before = server.requests().len();
        let out = coldlink(args(command), &[]).await;
        assert_eq!(out.status.code(), Some(0), "{command:?}: {}", text(&out.stderr));
        let sent = server.requests();
        assert!(sent.len() > before, "{command:?} sent nothing");
        for r in &sent[before..] {
            assert_eq!(r.header("x-apigw-api-id"), Some(id), "{command:?}");
        }
    }
    let out = coldlink(args(&["probe", &url]), &[]).await;
    assert_eq!(out.status.code(), Some(0));
    let last = server.requests().pop().unwrap();
    assert_eq!(last.header("x-apigw-api-id"), None, "not sent unless asked for");
}

/// A bad API id exits 2 naming the flag or the profile's key, the value,
/// and what an API id is.
#[tokio::test]
async fn a_bad_api_id_names_the_flag_or_key_the_value_and_what_is_valid() {
    for command in ["probe", "watch", "keepwarm --once", "diagnose"] {
        let mut a: Vec<String> = command.split(' ').map(String::from).collect();
        a.extend(args(&["http://127.0.0.1:9/", "--api-id", "MyApi"]));
        let out = coldlink(a, &[]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        for part in [
            "--api-id",
            "'MyApi'",
            "10 lowercase letters and digits, e.g. a1b2c3d4e5",
        ] {
            assert!(err.contains(part), "{command}: names {part}: {err}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n[connection]\napi_id = \"abc\"\n",
    )
    .unwrap();
    let out = coldlink(args(&["run", "--profile", profile.to_str().unwrap()]), &[]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}:5: connection.api_id: 'abc' is not an API id; expected the API's 10 lowercase letters and digits, e.g. a1b2c3d4e5",
            profile.display()
        )),
        "{err}"
    );
}

/// `watch` needs a terminal and `diagnose` runs a plan: that their probes
/// carry the API id too is checked on the requests they would send.
#[test]
fn watch_and_diagnose_send_the_api_id_too() {
    use clap::Parser;
    use coldlink::cli::{Cli, Command as Sub};
    use coldlink::config::{DiagnoseConfig, DiagnoseSource, FromArgs, WatchConfig};

    let cli = |command: &str| {
        Cli::try_parse_from([
            "coldlink",
            command,
            "http://127.0.0.1:9/",
            "--api-id",
            "a1b2c3d4e5",
        ])
        .unwrap()
        .command
    };
    let Sub::Watch(watch) = cli("watch") else {
        unreachable!()
    };
    let watch = WatchConfig::from_args(&watch, None).unwrap();
    let Sub::Diagnose(diagnose) = cli("diagnose") else {
        unreachable!()
    };
    let diagnose = DiagnoseConfig::from_args(&diagnose, None).unwrap();
    let DiagnoseSource::Live { targets, .. } = diagnose.source else {
        unreachable!()
    };
    for target in watch.targets.iter().chain(&targets) {
        assert_eq!(target.request.headers["x-apigw-api-id"], "a1b2c3d4e5");
    }
}
