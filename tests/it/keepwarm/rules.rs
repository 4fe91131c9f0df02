//! The shipped Prometheus alert rules are the ones docs/keepwarm.md tables.

/// The alerts of deploy/prometheus/coldlink-rules.yml as docs/keepwarm.md
/// tables them: name, expression (on one line), `for` (`—` when none),
/// severity.
/// Reads the file's own layout (`- alert:`, `expr:` on one line or as a
/// `|` block); promtool checks that it is valid.
fn shipped_alerts() -> Vec<[String; 4]> {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/coldlink-rules.yml"
    ))
    .unwrap();
    let mut alerts: Vec<[String; 4]> = Vec::new();
    let mut lines = rules.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let field = |key: &str| trimmed.strip_prefix(key).map(|v| v.trim().to_string());
        if let Some(name) = field("- alert:") {
            alerts.push([name, String::new(), "—".to_string(), String::new()]);
        } else if let Some(expr) = field("expr:") {
            let mut expr = expr;
            if expr == "|" {
                let mut block = Vec::new();
                while let Some(next) = lines.next_if(|l| l.len() - l.trim_start().len() > indent) {
                    block.push(next.trim());
                }
                expr = block.join(" ");
            }
            let expr = expr.split_whitespace().collect::<Vec<_>>().join(" ");
            alerts.last_mut().unwrap()[1] = expr.replace("( ", "(").replace(" )", ")");
        } else if let Some(f) = field("for:") {
            alerts.last_mut().unwrap()[2] = f;
        } else if let Some(s) = field("severity:") {
            alerts.last_mut().unwrap()[3] = s;
        }
    }
    alerts
}

/// Issue #14: the PromQL docs/keepwarm.md shows is the PromQL shipped.
#[test]
fn the_documented_alert_rules_are_the_shipped_ones() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keepwarm.md")).unwrap();
    let alerts = shipped_alerts();
    assert_eq!(alerts.len(), 5, "{alerts:?}");
    for [name, expr, r#for, severity] in &alerts {
        assert!(
            !expr.is_empty() && !severity.is_empty(),
            "{name}: {expr} {severity}"
        );
        let row = format!("| `{name}` | `{expr}` | {for} | {severity} |", for = r#for);
        assert!(docs.contains(&row), "docs/keepwarm.md lacks the row\n{row}");
    }
    let documented = docs.lines().filter(|l| l.starts_with("| `Coldlink")).count();
    assert_eq!(documented, alerts.len(), "an alert documented but not shipped");
}
