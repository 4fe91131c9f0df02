//! `docs/report.schema.json` against the real `coldlink diagnose --format
//! json` report: the built binary's output (lab runs and stored records)
//! must validate, and the schema must reject what the contract forbids.
//!
//! The lab runs take about 15 s each (the quick plan's quiet gaps).

use std::path::{Path, PathBuf};
use std::process::Command;

use jsonschema::Validator;
use serde_json::{json, Value};

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json")
}

/// The schema, checked against the draft 2020-12 meta-schema, compiled.
pub(crate) fn validator() -> Validator {
    let path = schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!(
            "{}: not a valid JSON Schema: {e} (at {})",
            path.display(),
            e.instance_path()
        );
    }
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "the schema names draft 2020-12"
    );
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{}: does not compile: {e}", path.display()))
}

/// Every way `report` breaks the schema, one line each; empty when valid.
fn violations(v: &Validator, report: &Value) -> Vec<String> {
    v.iter_errors(report)
        .map(|e| {
            format!(
                "at {:?} (schema {}): {e}",
                e.instance_path().as_str(),
                e.schema_path()
            )
        })
        .collect()
}

pub(crate) fn assert_valid(v: &Validator, what: &str, report: &Value) {
    let errors = violations(v, report);
    assert!(
        errors.is_empty(),
        "{what}: the report does not match docs/report.schema.json:\n  {}\nreport:\n{}",
        errors.join("\n  "),
        serde_json::to_string_pretty(report).unwrap()
    );
}

/// What a run of the binary left behind.
struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

/// Run `coldlink ARGS` and parse its stdout as one JSON document.
fn coldlink(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(args)
        .output()
        .expect("coldlink runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "coldlink {args:?}: stdout is not one JSON document ({e}); exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status.code()
        )
    });
    Run {
        code: out.status.code().unwrap_or(-1),
        report,
        stderr,
    }
}

/// Validate a run's report, and check that its exit code goes with its
/// verdict (0 for `healthy` and `inconclusive`, 1 otherwise).
fn check(v: &Validator, args: &[&str], run: &Run) {
    let what = format!("coldlink {}", args.join(" "));
    assert_valid(v, &what, &run.report);
    let healthy = run.report["verdict"] == "healthy" || run.report["verdict"] == "inconclusive";
    assert_eq!(
        run.code,
        i32::from(!healthy),
        "{what}: exit code vs verdict {}\nstderr: {}",
        run.report["verdict"],
        run.stderr
    );
}

#[test]
fn lab_healthy_report_matches_schema() {
    let v = validator();
    let args = [
        "diagnose", "--lab", "healthy", "--probes", "3", "--format", "json", "-q",
    ];
    let run = coldlink(&args);
    check(&v, &args, &run);
    assert_eq!(run.code, 0, "nothing found exits 0: {}", run.report["summary"]);
    // Three probes per target, no long quiet period: not every cause was tested.
    assert_eq!(run.report["verdict"], "inconclusive");
    assert!(!run.report["untested"].as_array().unwrap().is_empty());
    assert_eq!(run.report["source"]["mode"], "quick");
    assert_eq!(run.report["source"]["lab"], "healthy");
}

#[test]
fn lab_errors_report_matches_schema() {
    let v = validator();
    // The scenario fails one request in five at random; with 18 probes that
    // is below the detector's two failures one time in ten, so fail more.
    // And probe more: with 9 probes a target, a target failing at most once
    // (2 % at this rate) once made the verdict `edge` with no `errors`
    // finding beside it; with 15 probes a target that is 0.05 %.
    let args = [
        "diagnose",
        "--lab",
        "errors",
        "--set",
        "backend.error_rate=0.5",
        "--probes",
        "5",
        "--format",
        "json",
        "-q",
    ];
    let run = coldlink(&args);
    check(&v, &args, &run);
    assert_eq!(run.code, 1, "errors exits 1: {}", run.report["summary"]);
    let findings = run.report["findings"].as_array().expect("findings");
    assert!(
        findings.iter().any(|f| f["cause"] == "errors"),
        "an `errors` finding: {}",
        serde_json::to_string_pretty(findings).unwrap()
    );
}

#[test]
fn report_from_records_matches_schema() {
    let v = validator();
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("slow-tls.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(["probe", "--lab", "slow-tls", "-n", "5", "--format", "ndjson"])
        .output()
        .expect("coldlink probe runs");
    assert!(
        out.status.success(),
        "coldlink probe: exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 10, "5 records for each of the 2 lab targets");
    std::fs::write(&records, &out.stdout).unwrap();

    let file = records.to_str().unwrap();
    let args = ["diagnose", "--from", file, "--format", "json"];
    let run = coldlink(&args);
    check(&v, &args, &run);
    let source = &run.report["source"];
    assert_eq!(source["mode"], "records");
    assert_eq!(source["files"], json!([file]));
    assert_eq!(source["probes"], 10);
    assert_eq!(source["unreadable_lines"], 0);
}

/// A small report that follows the contract, non-finite numbers (written
/// as null by `serde_json`) included.
fn minimal_report() -> Value {
    let q = json!({"p50": 20.5, "p90": 31.0, "p99": null, "max": 7020.0});
    json!({
        "v": 1,
        "verdict": "idle-timeout",
        "summary": "idle-timeout: connections idle longer than ~350 s stall.",
        "findings": [{
            "cause": "idle-timeout", "severity": "critical", "confidence": 0.92,
            "title": "Connections idle longer than ~350 s stall for 5–7 s",
            "evidence": ["18/18 probes after gaps ≥ 360 s took > 5 s"],
            "fix": [], "targets": ["execute-api"]
        }],
        "targets": [{
            "name": "execute-api", "url": "https://abc123.execute-api.eu-west-1.amazonaws.com/test/",
            "kind": "execute-api", "probes": 120, "errors": 2,
            "total_ms": q, "phases_ms": {"dns": q, "ttfb": q}
        }],
        "idle_sweep": [{"gap_ms": 360_000.0, "probes": 3, "slow": 3, "p50_ms": null}],
        "aws": {"xray": null, "cloudwatch": {"error": "AccessDenied"}},
        "source": {
            "mode": "idle-sweep", "lab": null, "time_scale": 1.0, "probes": 120,
            "started": "2026-11-21T10:00:00.123456Z", "duration_s": 1500.2,
            "files": [], "unreadable_lines": 0, "slow_ms": null
        },
        "notes": []
    })
}

#[test]
fn schema_rejects_unknown_cause() {
    let v = validator();
    let good = minimal_report();
    assert_valid(&v, "the hand-written report", &good);

    let mut bad = good.clone();
    bad["verdict"] = json!("cold-start");
    let errors = violations(&v, &bad);
    assert!(
        errors.iter().any(|e| e.contains("\"/verdict\"")),
        "an unknown verdict is rejected at /verdict: {errors:?}"
    );

    let mut bad = good.clone();
    bad["findings"][0]["cause"] = json!("Idle-Timeout");
    let errors = violations(&v, &bad);
    assert!(
        errors.iter().any(|e| e.contains("\"/findings/0/cause\"")),
        "an unknown finding cause is rejected at /findings/0/cause: {errors:?}"
    );
}

#[test]
fn schema_is_strict_where_the_contract_is_fixed() {
    let v = validator();
    // (what, the object to change, its key, the new value or None to remove it)
    let changes: [(&str, &str, &str, Option<Value>); 13] = [
        ("v 2", "", "v", Some(json!(2))),
        ("a missing verdict", "", "verdict", None),
        (
            "severity `error`",
            "/findings/0",
            "severity",
            Some(json!("error")),
        ),
        (
            "confidence above 1",
            "/findings/0",
            "confidence",
            Some(json!(1.5)),
        ),
        (
            "an unknown field in a finding",
            "/findings/0",
            "score",
            Some(json!(3)),
        ),
        (
            "an unknown field in quantiles",
            "/targets/0/total_ms",
            "p95",
            Some(json!(1.0)),
        ),
        (
            "an unknown phase",
            "/targets/0/phases_ms",
            "queue",
            Some(minimal_report()["targets"][0]["total_ms"].clone()),
        ),
        (
            "an unknown field in a sweep row",
            "/idle_sweep/0",
            "fast",
            Some(json!(0)),
        ),
        (
            "a string for a latency",
            "/idle_sweep/0",
            "p50_ms",
            Some(json!("12 ms")),
        ),
        (
            "values listed for three probes (a median is shown then)",
            "/idle_sweep/0",
            "values_ms",
            Some(json!([12.0, 40.0, 5003.1])),
        ),
        ("aws.xray as a string", "/aws", "xray", Some(json!("none"))),
        (
            "aws.cloudwatch metrics as an object",
            "/aws/cloudwatch",
            "metrics",
            Some(json!({"NewFlowCount": 3})),
        ),
        (
            "aws.cloudwatch with neither its fields nor an error",
            "/aws/cloudwatch",
            "error",
            None,
        ),
    ];
    for (what, object, key, value) in changes {
        let mut report = minimal_report();
        let object = report
            .pointer_mut(object)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{what}: no object at {object:?}"));
        match value {
            Some(value) => object.insert(key.to_string(), value),
            None => object.remove(key),
        };
        assert!(!v.is_valid(&report), "{what} is rejected");
    }

    // A gap row of two probes lists both latencies beside its median.
    let mut report = minimal_report();
    report["idle_sweep"][0]["probes"] = json!(2);
    report["idle_sweep"][0]["values_ms"] = json!([12.0, 5003.1]);
    assert_valid(&v, "a gap row with its values", &report);

    // Room to grow: new fields at the top level and in `source`.
    let mut report = minimal_report();
    report["generated_by"] = json!("coldlink 0.2.0");
    report["source"]["region"] = json!("eu-west-1");
    assert_valid(&v, "a report with new top-level and source fields", &report);
}

/// A finding seen from one vantage point only (issue 21) names it, as
/// `--vantage` takes names; anything else is refused.
#[test]
fn schema_takes_a_findings_vantage_as_vantage_names_go() {
    let v = validator();
    let mut report = minimal_report();
    report["findings"][0]["vantage"] = json!("eu-west-1b");
    assert_valid(&v, "a finding seen only from eu-west-1b", &report);
    for bad in [json!(""), json!("eu west 1b"), json!("a".repeat(65)), json!(3)] {
        let mut report = minimal_report();
        report["findings"][0]["vantage"] = bad.clone();
        assert!(!v.is_valid(&report), "vantage {bad} is rejected");
    }
}

/// A target's path (issue 18): known kinds and sources only; `unknown` is
/// never written (the field is left out instead).
#[test]
fn schema_takes_a_targets_path_and_only_its_known_kinds() {
    let v = validator();
    let mut report = minimal_report();
    report["targets"][0]["path"] = json!({"kind": "alb", "from": "profile", "load_balancer": "app/a/1"});
    assert_valid(&v, "a target on an ALB path", &report);
    report["targets"][0]["path"] = json!({"kind": "cloud-map", "from": "configuration"});
    assert_valid(&v, "a target on a Cloud Map path", &report);
    for (what, path) in [
        ("an unknown kind", json!({"kind": "unknown"})),
        ("a path without its kind", json!({"from": "profile"})),
        ("an unknown source", json!({"kind": "nlb", "from": "guess"})),
        ("an unknown field", json!({"kind": "nlb", "version": "V1"})),
    ] {
        report["targets"][0]["path"] = path;
        assert!(!v.is_valid(&report), "{what} is rejected");
    }
}

/// `aws.config` (`--aws-config`, issue 17) with every field of the model
/// set, and the findings the configuration makes by itself (`from`,
/// `configured`), built through the library: no probe needed.
#[test]
fn report_with_a_filled_aws_config_matches_schema() {
    use coldlink::diagnose::report::{diagnose, Context};
    use coldlink::diagnose::Dataset;
    use coldlink::probe::TargetKind;

    let v = validator();
    let kinds = [("api".to_string(), TargetKind::ExecuteApi)];
    let ds = Dataset::from_records(&[], &kinds, 1.0);
    let ctx = Context {
        mode: "records".into(),
        config: Some(crate::common::path_config::full()),
        ..Context::default()
    };
    let (report, _) = diagnose(&ds, &ctx);
    let report = serde_json::to_value(&report).unwrap();
    assert_valid(&v, "a report with a full aws.config", &report);
    let config = &report["aws"]["config"];
    assert_eq!(config["load_balancers"][0]["listeners"][1]["protocol"], "TLS");
    assert_eq!(config["rest_api"]["routes"][0]["timeout_ms"], 12000);
    assert_eq!(config["rest_api"]["routes"][0]["resource_id"], "res42");
    let own: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["from"] == "configuration")
        .collect();
    assert!(!own.is_empty(), "the configuration's own findings: {report:#}");
    assert!(own
        .iter()
        .all(|f| !f["configured"].as_array().unwrap().is_empty()));

    // The contract is strict inside: unknown keys and unknown origins fail.
    let mut bad = report.clone();
    bad["aws"]["config"]["load_balancers"][0]["listeners"][0]["idle"] = json!(350);
    assert!(!v.is_valid(&bad), "an unknown listener field is rejected");
    let mut bad = report.clone();
    bad["findings"][0]["from"] = json!("probes");
    assert!(!v.is_valid(&bad), "an unknown origin is rejected");
    let mut bad = report;
    bad["findings"][0]["configured"][0]["explains"] = json!("yes");
    assert!(!v.is_valid(&bad), "explains is a boolean");
}
