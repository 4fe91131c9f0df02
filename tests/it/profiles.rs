//! Profiles: every shipped profile parses, and every kind of mistake exits 2
//! with the file, line and key in the message (issue #3).

use crate::common;

use std::path::Path;
use std::process::Command;

use coldlink::config::Profile;

#[test]
fn every_shipped_profile_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let profile = Profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!profile.targets.is_empty(), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 1, "profiles/ ships at least the example");
}

#[test]
fn the_example_profile_has_both_entry_points_and_its_plans() {
    let p =
        Profile::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/example-vpclink.toml")).unwrap();
    let names: Vec<&str> = p.targets.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"execute-api") && names.contains(&"custom-domain"),
        "{names:?}"
    );
    assert_eq!(p.schedule.interval, std::time::Duration::from_secs(30));
    assert_eq!((p.burst.requests, p.burst.concurrency), (50, 5));
    assert_eq!(p.diagnose.idle_sweep.len(), 6);
    assert_eq!(p.aws.unwrap().region.as_deref(), Some("eu-west-1"));
}

/// Run `coldlink run --profile` on `text` and return (exit code, stderr with
/// the temporary path masked).
fn run_profile(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(common::bin())
        .args(["run", "--profile", path.to_str().unwrap(), "--duration", "1s"])
        .env_remove("COLDLINK_TEST_MISSING")
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "nothing is probed");
    let err = String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "[profile]");
    (out.status.code(), err)
}

const GOOD_TARGET: &str = "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n";

#[test]
fn profile_errors_name_the_file_line_and_key() {
    let cases = [
        (
            "unknown_key",
            format!("{GOOD_TARGET}[schedule]\ninterval = \"30s\"\nintervall = \"5s\"\n"),
            "intervall",
        ),
        (
            "bad_duration",
            format!("{GOOD_TARGET}[schedule]\ninterval = \"every minute\"\n"),
            "interval",
        ),
        ("missing_url", "[[target]]\nname = \"api\"\n".to_string(), "url"),
        (
            "bad_toml",
            format!("{GOOD_TARGET}[schedule\ninterval = \"30s\"\n"),
            "[profile]:4",
        ),
        (
            "bad_url",
            "[[target]]\nname = \"api\"\nurl = \"ftp://x/\"\n".to_string(),
            "target.url",
        ),
        (
            "missing_env",
            format!("{GOOD_TARGET}headers = {{ \"x-api-key\" = \"${{COLDLINK_TEST_MISSING}}\" }}\n"),
            "COLDLINK_TEST_MISSING",
        ),
        ("no_target", "name = \"empty\"\n".to_string(), "[[target]]"),
        (
            "bad_aws_region",
            format!("{GOOD_TARGET}[aws]\nregion = \"EU\"\n"),
            "aws.region: 'EU' is not an AWS region; expected e.g. eu-west-1",
        ),
        (
            "burst_out_of_range",
            format!("{GOOD_TARGET}[burst]\nrequests = 10\nconcurrency = 0\n"),
            "burst.concurrency",
        ),
        (
            "bad_method",
            "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\nmethod = \"G E T\"\n".to_string(),
            "target.method",
        ),
        (
            "jitter_too_long",
            format!("{GOOD_TARGET}[schedule]\ninterval = \"5s\"\njitter = \"10s\"\n"),
            "schedule.jitter",
        ),
        (
            "status_out_of_range",
            format!("{GOOD_TARGET}expect_status = [200, 99999]\n"),
            "target.expect_status: 99999 is not an HTTP status (100–599)",
        ),
        (
            "negative_concurrency",
            format!("{GOOD_TARGET}[burst]\nconcurrency = -1\n"),
            "burst.concurrency: -1 is out of range (1–10000)",
        ),
        (
            "count_not_a_number",
            format!("{GOOD_TARGET}[burst]\nrequests = \"many\"\n"),
            "expected a whole number",
        ),
        (
            "missing_cacert",
            format!("{GOOD_TARGET}[connection]\ncacert = [\"/nonexistent/ca.pem\"]\n"),
            "connection.cacert: /nonexistent/ca.pem: no such file",
        ),
        (
            "lab_speed",
            format!("{GOOD_TARGET}[lab]\nscenario = \"bad-path\"\nspeed = 0.0\n"),
            "lab.speed",
        ),
    ];
    let has_line = regex::Regex::new(r"\[profile\]:\d+").unwrap();
    for (name, text, key) in cases {
        let (code, err) = run_profile(&text);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("[profile]"), "{name}: names the file: {err}");
        assert!(err.contains(key), "{name}: names {key}: {err}");
        if name != "no_target" {
            assert!(has_line.is_match(&err), "{name}: names the line: {err}");
        }
        insta::assert_snapshot!(format!("profile_error_{name}"), err);
        // Words, not Rust's types; the profile's key, not a flag not given.
        for rust in ["u16", "u64", "i64", "usize", "--cacert"] {
            assert!(!err.contains(rust), "{name}: says {rust}: {err}");
        }
    }
}

#[test]
fn command_line_headers_replace_the_profiles_and_repeated_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { \"x-a\" = \"profile\", \"x-b\" = \"kept\" }\n",
    )
    .unwrap();
    let profile = Profile::load(&path).unwrap();
    let cli = coldlink::cli::ConnectionArgs {
        headers: vec![
            coldlink::cli::parse::HeaderArg("x-a: 1".into()),
            coldlink::cli::parse::HeaderArg("x-a: 2".into()),
        ],
        ..Default::default()
    };
    let targets = profile.targets_with(&cli).unwrap();
    let h = &targets[0].request.headers;
    let xa: Vec<&str> = h.get_all("x-a").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(xa, vec!["1", "2"]);
    assert_eq!(h.get("x-b").unwrap(), "kept");
}
