//! `coldlink diagnose` as a user runs it against an AWS emulator, and its
//! JSON report checked against the published schema.

pub fn diagnose(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .arg("diagnose")
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        // Emulators take any credentials; the SDK wants some.
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// The JSON report, checked against the published schema.
pub fn report(out: &std::process::Output) -> serde_json::Value {
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&r)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "the report breaks the schema: {errors:?}\n{r}");
    r
}

/// The report's verdict is `cause`, and its finding for it has an evidence
/// line starting with `prefix`: that line. Panics naming what is missing.
pub fn evidence_line(r: &serde_json::Value, stderr: &[u8], cause: &str, prefix: &str) -> String {
    assert_eq!(r["verdict"], cause, "{}", String::from_utf8_lossy(stderr));
    let finding = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["cause"] == cause)
        .unwrap_or_else(|| panic!("no {cause} finding: {}", r["findings"]));
    finding["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e.as_str())
        .find(|e| e.starts_with(prefix))
        .unwrap_or_else(|| panic!("no evidence line starting {prefix:?}: {finding}"))
        .to_string()
}
