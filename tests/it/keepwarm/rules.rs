//! The shipped Prometheus rules are the ones docs/keepwarm.md tables:
//! alerts, recording rules and the per-phase objectives.

/// One rule of deploy/prometheus/coldlink-rules.yml: an alert or a
/// recording rule, its expression on one line, its `for` (`—` when none),
/// its severity (alerts) and its `phase` label (the objectives).
#[derive(Debug, Default)]
struct Rule {
    alert: bool,
    name: String,
    expr: String,
    r#for: String,
    severity: String,
    phase: String,
}

/// Reads the file's own layout (`- alert:` or `- record:`, `expr:` on one
/// line or as a `|` block, `labels: {phase: …}` on one line); promtool
/// checks that it is valid.
fn shipped_rules() -> Vec<Rule> {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/coldlink-rules.yml"
    ))
    .unwrap();
    let mut found: Vec<Rule> = Vec::new();
    let mut lines = rules.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let field = |key: &str| trimmed.strip_prefix(key).map(|v| v.trim().to_string());
        if let Some(name) = field("- alert:") {
            found.push(Rule {
                alert: true,
                name,
                r#for: "—".to_string(),
                ..Rule::default()
            });
        } else if let Some(name) = field("- record:") {
            found.push(Rule {
                name,
                ..Rule::default()
            });
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
            found.last_mut().unwrap().expr = expr.replace("( ", "(").replace(" )", ")");
        } else if let Some(f) = field("for:") {
            found.last_mut().unwrap().r#for = f;
        } else if let Some(s) = field("severity:") {
            found.last_mut().unwrap().severity = s;
        } else if let Some(l) = field("labels: {phase:") {
            found.last_mut().unwrap().phase = l.trim_end_matches('}').trim().to_string();
        }
    }
    found
}

/// Issues #14 and #21: the PromQL docs/keepwarm.md shows is the PromQL
/// shipped.
#[test]
fn the_documented_alert_rules_are_the_shipped_ones() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keepwarm.md")).unwrap();
    let rules = shipped_rules();
    let alerts: Vec<&Rule> = rules.iter().filter(|r| r.alert).collect();
    assert_eq!(alerts.len(), 9, "{alerts:?}");
    for r in &alerts {
        assert!(!r.expr.is_empty() && !r.severity.is_empty(), "{r:?}");
        let row = format!("| `{}` | `{}` | {} | {} |", r.name, r.expr, r.r#for, r.severity);
        assert!(docs.contains(&row), "docs/keepwarm.md lacks the row\n{row}");
    }
    let documented = docs.lines().filter(|l| l.starts_with("| `Coldlink")).count();
    assert_eq!(documented, alerts.len(), "an alert documented but not shipped");

    // The recording rules, and the objectives the user edits.
    let (objectives, derived): (Vec<&Rule>, Vec<&Rule>) = rules
        .iter()
        .filter(|r| !r.alert)
        .partition(|r| !r.phase.is_empty());
    assert_eq!(derived.len(), 4, "{derived:?}");
    for r in &derived {
        let row = format!("| `{}` | `{}` |", r.name, r.expr);
        assert!(docs.contains(&row), "docs/keepwarm.md lacks the row\n{row}");
    }
    let documented = docs
        .lines()
        .filter(|l| l.starts_with("| `target_vantage"))
        .count();
    assert_eq!(
        documented,
        derived.len(),
        "a recording rule documented but not shipped"
    );
    assert_eq!(objectives.len(), 7, "every phase but queue: {objectives:?}");
    for r in &objectives {
        let seconds = r
            .expr
            .strip_prefix("vector(")
            .and_then(|v| v.strip_suffix(')'))
            .unwrap_or_else(|| panic!("an objective is a number: {r:?}"));
        let row = format!("| `{}` | {seconds} s |", r.phase);
        assert!(docs.contains(&row), "docs/keepwarm.md lacks the objective\n{row}");
    }
}

/// Issue #21: the rules select only metrics and labels a real keep-warm
/// daemon serves (or that the file records itself): a renamed metric or
/// label would leave an alert that can never fire, which promtool's tests
/// on hand-written series cannot see.
#[tokio::test]
async fn the_rules_ask_only_for_what_the_daemon_exports() {
    let mut exported = super::dashboard::exported_by_a_real_daemon().await;
    let rules = shipped_rules();
    let every_label: std::collections::BTreeSet<String> = exported.values().flatten().cloned().collect();
    for r in rules.iter().filter(|r| !r.alert) {
        exported.insert(r.name.clone(), every_label.clone());
    }
    let problems: Vec<String> = rules
        .iter()
        .flat_map(|r| {
            super::dashboard::names_in(&r.expr, &exported)
                .into_iter()
                .map(move |p| format!("{}: {p}", r.name))
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check sees a renamed metric and a misspelt label.
    let renamed = super::dashboard::names_in("increase(coldlink_probe_total[15m]) > 0", &exported);
    assert_eq!(
        renamed,
        ["coldlink_probe_total is not a metric the keep-warm daemon exports"]
    );
    let misspelt = super::dashboard::names_in("coldlink_probe_success{vantge=\"a\"} == 0", &exported);
    assert_eq!(misspelt, ["coldlink_probe_success has no label vantge"]);
}
