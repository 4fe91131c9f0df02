//! Issue 16, section 1: `--sigv4` checked by an independent verifier, a
//! loopback server that recomputes every request's signature with
//! botocore's own SigV4 (`verifier.py`, run by moto's venv Python, which
//! scripts/test.sh installs) and answers as API Gateway does.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::common::bin;

const KEY: &str = "AKIDSIGV4TESTKEYWXYZ";
const SECRET: &str = "sEcReTsigv4/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "sEcReTsessionTOKEN/IQoJb3JpZ2luX2VjEXAMPLE==";

/// The verifier's process, killed when dropped.
struct Verifier {
    child: Child,
    port: u16,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/aws-emulators/moto/bin/python");
    assert!(
        path.exists(),
        "botocore's Python is not at {}: run scripts/test.sh, which installs it (scripts/aws-emulators.sh)",
        path.display()
    );
    path
}

impl Verifier {
    /// A verifier that knows `KEY`/`SECRET` (and `token`) for `region`
    /// and `service`; `extra` more arguments.
    fn start(region: &str, service: &str, token: Option<&str>, extra: &[&str]) -> Verifier {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/sigv4/verifier.py");
        let mut cmd = Command::new(python());
        cmd.arg(script)
            .args([
                "--access-key",
                KEY,
                "--secret",
                SECRET,
                "--region",
                region,
                "--service",
                service,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(t) = token {
            cmd.args(["--token", t]);
        }
        let mut child = cmd.spawn().expect("start the verifier");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the verifier's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("verifier said {line:?}"));
        Verifier { child, port }
    }
}

/// Run coldlink with these credentials in the environment and nothing
/// else AWS could find: empty config files, no instance metadata.
fn coldlink(args: &[&str], secret: &str, token: Option<&str>) -> (Output, Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let out = dir.path().join("records.ndjson");
    let mut cmd = Command::new(bin());
    cmd.args(args).arg("--out").arg(&out);
    isolate(&mut cmd, &empty, dir.path());
    cmd.env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    if let Some(t) = token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    let output = cmd.output().unwrap();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let records = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (output, records, text)
}

/// No AWS setting from the test's own environment, no file, no IMDS.
fn isolate(cmd: &mut Command, empty: &std::path::Path, home: &std::path::Path) {
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_CONFIG_FILE", empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", home)
        .env_remove("RUST_LOG");
}

/// Nothing a run shows may hold the secret, the session token, a
/// signature or the authorization value.
fn assert_no_secret(output: &Output, records: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (what, text) in [("stdout", &*stdout), ("stderr", &*stderr), ("records", records)] {
        for secret in ["sEcReT", "Signature=", "AWS4-HMAC-SHA256", "x-amz-date:", KEY] {
            assert!(!text.contains(secret), "{what} shows {secret}: {text}");
        }
    }
}

fn statuses(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect()
}

fn errors(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["error"]["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn get_on_fresh_and_reused_connections_with_an_unsorted_query_is_verified() {
    let v = Verifier::start("eu-west-1", "execute-api", None, &[]);
    let url = format!("http://127.0.0.1:{}/test/pets?z=26&a=1&m=x%20y&a=0", v.port);
    // -q (the fresh run) keeps the signing line to itself, as it does the
    // other start-up notes.
    for (mode, reused, quiet) in [("reuse", true, ""), ("fresh", false, "-q")] {
        let args = [
            "probe",
            &url,
            "-n",
            "4",
            "--connections",
            mode,
            "--sigv4",
            "--region",
            "eu-west-1",
            quiet,
        ];
        let (output, records, text) =
            coldlink(&args[..args.len() - usize::from(quiet.is_empty())], SECRET, None);
        assert_eq!(
            statuses(&records),
            [200; 4],
            "{mode}: {:?}, stderr {}",
            errors(&records),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0));
        let ids: Vec<u64> = records
            .iter()
            .map(|r| r["conn"]["id"].as_u64().unwrap())
            .collect();
        let reuses: Vec<bool> = records
            .iter()
            .map(|r| r["conn"]["reused"].as_bool().unwrap())
            .collect();
        if reused {
            assert!(ids.iter().all(|i| *i == ids[0]), "one connection: {ids:?}");
            assert_eq!(reuses, [false, true, true, true]);
        } else {
            assert!(reuses.iter().all(|r| !r), "{reuses:?}");
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr
                .contains("signing probes with SigV4 (execute-api in eu-west-1) as AKID…WXYZ (credentials)"),
            quiet.is_empty(),
            "{stderr}"
        );
        assert_no_secret(&output, &text);
    }
}

#[test]
fn post_with_a_body_and_temporary_credentials_is_verified() {
    let v = Verifier::start("us-east-2", "execute-api", Some(TOKEN), &[]);
    let url = format!("http://127.0.0.1:{}/prod/orders", v.port);
    let (output, records, text) = coldlink(
        &[
            "probe",
            &url,
            "-n",
            "2",
            "-X",
            "POST",
            "--data",
            "{\"id\": 42, \"note\": \"ünïcode\"}",
            "-H",
            "content-type: application/json",
            "--sigv4",
            "--region",
            "us-east-2",
        ],
        SECRET,
        Some(TOKEN),
    );
    assert_eq!(statuses(&records), [200, 200], "{:?}", errors(&records));
    assert!(String::from_utf8_lossy(&output.stderr).contains("(temporary credentials)"));
    assert_no_secret(&output, &text);
}

#[test]
fn the_service_and_the_region_from_an_execute_api_host_are_signed_for() {
    // A function URL's service, chosen by flag.
    let v = Verifier::start("eu-central-1", "lambda", None, &[]);
    let url = format!("http://127.0.0.1:{}/", v.port);
    let (_, records, _) = coldlink(
        &[
            "probe",
            &url,
            "--sigv4",
            "--sigv4-service",
            "lambda",
            "--region",
            "eu-central-1",
            "-q",
        ],
        SECRET,
        None,
    );
    assert_eq!(statuses(&records), [200], "{:?}", errors(&records));

    // The region of an execute-api host wins over --region; --resolve
    // sends it to the verifier.
    let v = Verifier::start("ap-south-1", "execute-api", None, &[]);
    let host = "a1b2c3d4e5.execute-api.ap-south-1.amazonaws.com";
    let url = format!("http://{host}:{}/test/x", v.port);
    let pin = format!("{host}:{}:127.0.0.1", v.port);
    let (_, records, _) = coldlink(
        &[
            "probe",
            &url,
            "--resolve",
            &pin,
            "--sigv4",
            "--region",
            "us-west-2",
            "-q",
        ],
        SECRET,
        None,
    );
    assert_eq!(statuses(&records), [200], "{:?}", errors(&records));
}

#[test]
fn no_region_or_no_credentials_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    // Nothing listens there: a probe sent would fail differently.
    let url = "http://127.0.0.1:9/x";
    let mut cmd = Command::new(bin());
    cmd.args(["probe", url, "--sigv4"]);
    isolate(&mut cmd, &empty, dir.path());
    cmd.env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--sigv4: cannot tell the AWS region of target '127.0.0.1:9/x'")
            && stderr.contains("give --region REGION"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // AWS_REGION, as --region's help says, when nothing else names one:
    // past the region check to the (missing) credentials.
    let mut cmd = Command::new(bin());
    cmd.args(["probe", url, "--sigv4"]);
    isolate(&mut cmd, &empty, dir.path());
    cmd.env("AWS_REGION", "eu-west-1");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--sigv4: no usable AWS credentials"), "{stderr}");

    let mut cmd = Command::new(bin());
    cmd.args(["probe", url, "--sigv4", "--region", "eu-west-1"]);
    isolate(&mut cmd, &empty, dir.path());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--sigv4: no usable AWS credentials") && stderr.contains("nothing was sent"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no probe: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = Command::new(bin())
        .args(["probe", url, "--sigv4-service", "lambda"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--sigv4-service lambda: no probe is signed; add --sigv4"));

    // A header the signature owns, as the user wrote it: refused.
    for (header, says) in [
        (
            "Host: other.example.com",
            "sets the host header itself: the signature covers the URL's host",
        ),
        (
            "Authorization: Bearer abcdefgh12345",
            "sets the authorization header itself",
        ),
    ] {
        let mut cmd = Command::new(bin());
        cmd.args(["probe", url, "--sigv4", "--region", "eu-west-1", "-H", header]);
        isolate(&mut cmd, &empty, dir.path());
        cmd.env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("abcdefgh12345"), "{stderr}");
    }

    // diagnose's --region serves --sigv4 too; without either it is refused, as before.
    let out = Command::new(bin())
        .args(["diagnose", url, "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --xray, --cloudwatch or --aws-config"));
}

#[test]
fn a_wrong_secret_fails_with_the_signature_reason_and_shows_no_secret() {
    let v = Verifier::start("eu-west-1", "execute-api", Some(TOKEN), &[]);
    let url = format!("http://127.0.0.1:{}/test/pets", v.port);
    let (output, records, text) = coldlink(
        &[
            "probe",
            &url,
            "--sigv4",
            "--region",
            "eu-west-1",
            "--format",
            "ndjson",
        ],
        "sEcReTwrongSecretKeyValue000000000000000",
        Some(TOKEN),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(statuses(&records), [403]);
    assert_eq!(records[0]["error"]["kind"], "status");
    assert_eq!(
        errors(&records)[0],
        "HTTP 403: signature rejected: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    );
    // The body's canonical request holds the session token: never kept.
    assert_no_secret(&output, &text);
}

#[test]
fn a_clock_out_of_the_window_is_named_clock_skew() {
    // The verifier's clock runs 10 minutes ahead of this host's.
    let v = Verifier::start("eu-west-1", "execute-api", None, &["--clock-offset", "600"]);
    let url = format!("http://127.0.0.1:{}/test/pets", v.port);
    let (_, records, _) = coldlink(
        &["probe", &url, "--sigv4", "--region", "eu-west-1", "-q"],
        SECRET,
        None,
    );
    let message = &errors(&records)[0];
    assert!(
        message.starts_with("HTTP 403: clock skew (this host's clock is 10.0 min behind AWS's)")
            && message.contains("Signature expired"),
        "{message}"
    );
    // AWS's words repeat the request's x-amz-date: not kept.
    assert!(!message.contains("Z is now earlier"), "{message}");
}

#[test]
fn unsigned_probes_are_told_the_api_wants_signing() {
    let v = Verifier::start("eu-west-1", "execute-api", None, &[]);
    let url = format!("http://127.0.0.1:{}/test/pets", v.port);
    let (_, records, _) = coldlink(&["probe", &url, "-q"], SECRET, None);
    assert!(
        errors(&records)[0].starts_with("HTTP 403: unsigned or no such path: Missing Authentication Token (the API wants SigV4 signing (--sigv4)")
    );
}

#[test]
fn a_profile_signs_per_target() {
    let v = Verifier::start("eu-west-1", "execute-api", None, &[]);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            "[connection]\nsigv4 = true\n\n[aws]\nregion = \"eu-west-1\"\n\n[[target]]\nname = \"signed\"\nurl = \"http://127.0.0.1:{0}/a\"\n\n[[target]]\nname = \"anonymous\"\nurl = \"http://127.0.0.1:{0}/b\"\nsigv4 = false\n",
            v.port
        ),
    )
    .unwrap();
    let (output, records, _) = coldlink(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--burst",
            "--format",
            "ndjson",
        ],
        SECRET,
        None,
    );
    let by_target = |name: &str| {
        records
            .iter()
            .find(|r| r["target"] == name)
            .map(|r| r["status"].as_u64().unwrap_or(0))
    };
    assert_eq!(
        by_target("signed"),
        Some(200),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(by_target("anonymous"), Some(403));

    std::fs::write(
        &profile,
        "[[target]]\nname = \"t\"\nurl = \"http://127.0.0.1:9/a\"\nsigv4_service = \"Not A Service\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["run", "--profile", profile.to_str().unwrap(), "--burst"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("p.toml:4: target.sigv4_service: 'Not A Service' is not an AWS service name"),
        "{stderr}"
    );
}

#[test]
fn diagnose_names_a_signature_refusal_not_a_path_fault() {
    let v = Verifier::start("eu-west-1", "execute-api", None, &[]);
    let host = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";
    let url = format!("http://{host}:{}/test/pets", v.port);
    let pin = format!("{host}:{}:127.0.0.1", v.port);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let records = dir.path().join("r.ndjson");
    let mut cmd = Command::new(bin());
    cmd.args([
        "diagnose",
        &url,
        "--resolve",
        &pin,
        "--sigv4",
        "--probes",
        "5",
        "--quick",
        "--format",
        "json",
        "-q",
        "--records",
    ])
    .arg(&records);
    isolate(&mut cmd, &empty, dir.path());
    cmd.env("AWS_ACCESS_KEY_ID", KEY).env(
        "AWS_SECRET_ACCESS_KEY",
        "sEcReTwrongSecretKeyValue000000000000000",
    );
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let findings = report["findings"].as_array().unwrap();
    let causes: Vec<&str> = findings.iter().map(|f| f["cause"].as_str().unwrap()).collect();
    assert_eq!(causes, ["errors"], "{stdout}");
    let title = findings[0]["title"].as_str().unwrap();
    assert!(
        title.contains("refused, and the server said why: 403 signature rejected"),
        "{title}"
    );
    let fix = findings[0]["fix"].to_string();
    assert!(
        fix.contains("secret access key") && !fix.contains("app's and nginx's logs"),
        "{fix}"
    );
    assert_no_secret(&out, &std::fs::read_to_string(&records).unwrap());
    // What the report says to run next signs too.
    let untested = report["untested"].to_string();
    assert!(untested.contains("--sigv4"), "{untested}");

    // The same from the stored records.
    let out = Command::new(bin())
        .args(["diagnose", "--format", "json", "--from"])
        .arg(&records)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("403 signature rejected"), "{stdout}");
}

/// HTTP/2 carries the Host as `:authority`: what the h2 server received is
/// checked with the same botocore verification.
#[tokio::test(flavor = "multi_thread")]
async fn http2_probes_are_signed_for_the_authority_they_send() {
    let server = crate::common::start_h2(&["localhost"]).await;
    let url = server.url_localhost("/test/pets?b=2&a=1");
    let ca = server.ca_file.clone().unwrap();
    let args: Vec<String> = [
        "probe",
        &url,
        "-n",
        "2",
        "--cacert",
        ca.to_str().unwrap(),
        "--sigv4",
        "--region",
        "eu-west-1",
        "-q",
    ]
    .map(String::from)
    .to_vec();
    let (output, records, text) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        coldlink(&args, SECRET, Some(TOKEN))
    })
    .await
    .unwrap();
    assert_eq!(statuses(&records), [200, 200], "{:?}", errors(&records));
    assert!(records.iter().all(|r| r["http"] == "2"), "{text}");
    assert_no_secret(&output, &text);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in requests {
        let (method, rest) = r.request_line.split_once(' ').unwrap();
        let uri = rest.rsplit_once(' ').unwrap().0;
        assert!(uri.starts_with("https://localhost:"), "{uri}");
        let request = serde_json::json!({ "method": method, "url": uri, "headers": r.headers });
        let mut check = Command::new(python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/sigv4/verifier.py"))
            .args([
                "--check",
                "--access-key",
                KEY,
                "--secret",
                SECRET,
                "--token",
                TOKEN,
            ])
            .args(["--region", "eu-west-1", "--service", "execute-api"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let said = check.wait_with_output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&said.stdout).trim(),
            "verified",
            "{request}"
        );
    }
}

/// Signing, and a credentials refresh when one is due, is the tool's own
/// work: it shows in `queue`, never in a network phase. The provider here
/// takes 80 ms and hands out credentials that are always due for a
/// refresh, so every probe waits for it before anything is sent.
#[tokio::test(flavor = "current_thread")]
async fn signing_time_is_queue_not_a_network_phase() {
    use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
    use aws_credential_types::Credentials;
    use coldlink::probe::sigv4::{Keys, Scope};
    use coldlink::probe::{Phase, ProbeSettings, Prober, RequestSpec, Target};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    #[derive(Debug)]
    struct Slow;
    impl ProvideCredentials for Slow {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::new(async {
                // Stands for a credentials endpoint's round trip.
                tokio::time::sleep(Duration::from_millis(80)).await;
                Ok(Credentials::new(
                    KEY,
                    SECRET,
                    None,
                    Some(SystemTime::now() + Duration::from_secs(60)),
                    "slow",
                ))
            })
        }
    }
    let v = tokio::task::spawn_blocking(|| Verifier::start("eu-west-1", "execute-api", None, &[]))
        .await
        .unwrap();
    let keys = Keys::new(SharedCredentialsProvider::new(Slow));
    keys.load().await.unwrap();
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/test/pets", v.port)).unwrap();
    let target = Target::new("t", url, None, Arc::new(RequestSpec::default())).signed(
        keys,
        Scope {
            region: "eu-west-1".into(),
            service: "execute-api".into(),
        },
    );
    let prober = Prober::new(ProbeSettings::default()).unwrap();
    for seq in 1..=2 {
        let r = prober.probe(&target, seq, std::time::Instant::now()).await;
        assert_eq!(r.status, Some(200), "{:?}", r.error);
        let queue = r.phases_ms.get(Phase::Queue).unwrap();
        assert!(queue >= 80.0, "the refresh is queue: {:?}", r.phases_ms);
        for phase in [Phase::Connect, Phase::Send, Phase::Ttfb] {
            let ms = r.phases_ms.get(phase).unwrap_or(0.0);
            assert!(ms < 80.0, "{phase:?} holds none of it: {:?}", r.phases_ms);
        }
    }
}

/// The flags on the commands the other tests do not send them with:
/// `keepwarm --once` and `run` (a profile that says nothing of signing)
/// sign every probe, and the verifier accepts them.
#[test]
fn keepwarm_and_run_sign_with_the_flag() {
    let v = Verifier::start("eu-west-1", "execute-api", None, &[]);
    let url = format!("http://127.0.0.1:{}/test/pets", v.port);
    let (output, records, text) = coldlink(
        &["keepwarm", "--once", &url, "--sigv4", "--region", "eu-west-1"],
        SECRET,
        None,
    );
    assert_eq!(statuses(&records), [200], "{:?}", errors(&records));
    assert_eq!(output.status.code(), Some(0));
    assert_no_secret(&output, &text);

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(&profile, format!("[[target]]\nname = \"api\"\nurl = \"{url}\"\n")).unwrap();
    let (output, records, text) = coldlink(
        &[
            "run",
            "--profile",
            profile.to_str().unwrap(),
            "--burst",
            "--sigv4",
            "--region",
            "eu-west-1",
            "-q",
        ],
        SECRET,
        None,
    );
    assert!(!records.is_empty());
    assert!(
        statuses(&records).iter().all(|s| *s == 200),
        "{:?}",
        errors(&records)
    );
    assert_eq!(output.status.code(), Some(0));
    assert_no_secret(&output, &text);
}

/// `watch` needs a terminal (its dashboard is tested in tmux): its
/// configuration shows that every target it would probe is signed, and
/// presents the client certificate given.
#[test]
fn watch_signs_and_presents_a_certificate_when_asked() {
    use clap::Parser;
    use coldlink::cli::{Cli, Command as Sub};
    use coldlink::config::{FromArgs, WatchConfig};

    let pki = crate::common::pki::Pki::new();
    let argv = [
        "coldlink",
        "watch",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/test/x",
        "--sigv4",
        "--cert",
        pki.client_cert.to_str().unwrap(),
        "--key",
        pki.client_key.to_str().unwrap(),
    ];
    let Sub::Watch(args) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!()
    };
    let cfg = WatchConfig::from_args(&args, None).unwrap();
    let t = &cfg.targets[0];
    let signer = t.sigv4.as_ref().expect("signed");
    assert_eq!(signer.scope().region, "eu-west-1");
    assert!(t.client_cert.is_some() && t.origin.client_cert.is_some());
}

/// With the region given (`--region`) and nothing in the environment or the
/// profile, the credential chain's own region is the one signed for: the
/// instance metadata service (here a loopback listener standing in for it)
/// is never asked, and nothing is logged about it.
#[test]
fn a_given_region_keeps_the_credential_chain_off_the_metadata_service() {
    let v = Verifier::start("eu-west-1", "execute-api", None, &[]);
    let url = format!("http://127.0.0.1:{}/test/pets", v.port);
    let imds = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    imds.set_nonblocking(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["probe", &url, "-n", "2", "-q", "--sigv4", "--region", "eu-west-1"]);
    isolate(&mut cmd, &empty, dir.path());
    cmd.env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{}", imds.local_addr().unwrap()),
        )
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.to_lowercase().contains("imds"), "{stderr}");
    // A connection the probe made would wait in the listener's backlog.
    assert_eq!(
        imds.accept().map(|(_, peer)| peer).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the metadata service was asked: {stderr}"
    );
}

/// No credentials anywhere, and an instance metadata service that refuses
/// (a loopback listener answering 403, as off EC2 behind a proxy): one
/// clear error, exit 2, and not the credential chain's own WARN line with
/// its debug dump before it. `RUST_LOG` still shows it on request.
#[test]
fn no_credentials_is_one_error_without_the_chains_warning() {
    let imds = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", imds.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for conn in imds.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\nconnection: close\r\n\r\nforbidden",
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let run = |rust_log: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.args([
            "probe",
            "http://127.0.0.1:9/x",
            "--sigv4",
            "--region",
            "eu-west-1",
        ]);
        isolate(&mut cmd, &empty, dir.path());
        cmd.env_remove("AWS_EC2_METADATA_DISABLED")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint);
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        cmd.output().unwrap()
    };
    let out = run(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("coldlink: error: --sigv4: no usable AWS credentials"),
        "{stderr}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");
    // The chain did fail on the metadata service (it would warn if asked).
    let out = run(Some("aws_config=warn"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("Ec2InstanceMetadata"),
        "{stderr}"
    );
}
