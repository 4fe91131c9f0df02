//! `--emf`: every line a CloudWatch Embedded Metric Format document, checked
//! against a schema written from the format's specification
//! (emf.schema.json) and the rules a schema cannot say: each dimension
//! key and metric name is a member of the root, with a string or a metric
//! value.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{bin, start, Behavior};

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/publish/emf.schema.json"),
    )
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// The schema's verdict and the target-member rules; the metric names met.
pub fn check_line(
    validator: &jsonschema::Validator,
    metric_value: &jsonschema::Validator,
    line: &str,
) -> Vec<String> {
    let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    if let Err(e) = validator.validate(&doc) {
        panic!("not EMF: {e}: {line}");
    }
    let mut names = Vec::new();
    for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        for set in directive["Dimensions"].as_array().unwrap() {
            for key in set.as_array().unwrap() {
                let v = &doc[key.as_str().unwrap()];
                assert!(v.is_string(), "dimension {key} is not a string member: {line}");
            }
        }
        for m in directive["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            let v = &doc[name];
            assert!(
                metric_value.is_valid(v),
                "metric {name} has no valid value: {line}"
            );
            if let Some(values) = v.get("Values") {
                assert_eq!(
                    values.as_array().unwrap().len(),
                    v["Counts"].as_array().unwrap().len()
                );
            }
            names.push(name.to_string());
        }
    }
    names
}

fn metric_value_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/publish/emf.schema.json"),
    )
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    let value = schema["$defs"]["MetricValue"].take();
    jsonschema::validator_for(&value).unwrap()
}

#[tokio::test]
async fn run_writes_emf_lines_the_specification_accepts_one_set_per_series() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            "[[target]]\nname = \"a\"\nurl = \"{}\"\n[[target]]\nname = \"b\"\nurl = \"{}\"\n[schedule]\ninterval = \"100ms\"\n",
            server.url("/a"),
            server.url("/b")
        ),
    )
    .unwrap();
    let emf = dir.path().join("emf.log");
    let (p, e) = (profile.clone(), emf.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args([
                "run",
                "--duration",
                "1500ms",
                "-q",
                "--cloudwatch-namespace",
                "Coldlink/Emf",
                "--profile",
            ])
            .arg(&p)
            .arg(format!("--emf={}", e.display()))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&emf).unwrap();
    let (validator, value) = (schema(), metric_value_schema());
    let mut names = std::collections::BTreeMap::<(String, String), usize>::new();
    for line in text.lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Coldlink/Emf");
        for name in check_line(&validator, &value, line) {
            let target = doc["Target"].as_str().unwrap().to_string();
            *names.entry((target, name)).or_default() += 1;
        }
    }
    for target in ["a", "b"] {
        let n = |m: &str| {
            names
                .get(&(target.to_string(), m.to_string()))
                .copied()
                .unwrap_or(0)
        };
        // One interval (the run ends before a minute): one success line,
        // a latency line per phase measured.
        assert!(matches!(n("ProbeSuccess"), 1 | 2), "{names:?}");
        assert!(n("ProbeLatency") >= 5 * n("ProbeSuccess"), "{names:?}");
        assert_eq!(n("WarmShare"), n("ProbeSuccess"));
    }
}

#[test]
fn the_schema_refuses_what_the_specification_forbids() {
    let v = schema();
    let good = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["T"]],"Metrics":[{"Name":"M","Unit":"Milliseconds"}]}]},"T":"x","M":1}"#;
    assert!(v.is_valid(&serde_json::from_str(good).unwrap()));
    for bad in [
        // No timestamp; an unknown unit; a directive's extra member.
        r#"{"_aws":{"CloudWatchMetrics":[]}}"#,
        r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M","Unit":"ms"}]}]}}"#,
        r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[],"X":1}]}}"#,
    ] {
        assert!(!v.is_valid(&serde_json::from_str(bad).unwrap()), "{bad}");
    }
}

/// Cron's `keepwarm --once --emf`: its line per target on stdout, then
/// the EMF lines of that one round, each a valid document.
#[tokio::test]
async fn keepwarm_once_writes_its_round_as_emf_on_stdout() {
    let server = start(Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let (url, lock) = (server.url("/"), dir.path().join("l"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args(["keepwarm", "--once", &url, "--emf", "--lock"])
            .arg(&lock)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (validator, value) = (schema(), metric_value_schema());
    let emf: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(stdout.lines().count(), emf.len() + 1, "one text line: {stdout}");
    let mut names = Vec::new();
    for line in &emf {
        let doc: Value = serde_json::from_str(line).unwrap();
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Coldlink");
        names.extend(check_line(&validator, &value, line));
    }
    assert_eq!(
        names.iter().filter(|n| *n == "ProbeSuccess").count(),
        1,
        "{names:?}"
    );
    assert!(
        names.iter().filter(|n| *n == "ProbeLatency").count() >= 5,
        "{names:?}"
    );
}
