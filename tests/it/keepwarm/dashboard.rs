//! Issue #21: `deploy/grafana/coldlink.json` loads as a Grafana dashboard
//! and asks only for what a real daemon exports. Checked: the fields
//! Grafana needs (title, uid, schemaVersion, panels with unique ids, grid
//! positions, types, a data source and targets with `expr`), the template
//! variables every `$name` refers to, every expression valid PromQL
//! (`promtool check rules` on them as recording rules), and every metric
//! and label they name present in a real keep-warm daemon's `/metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use coldlink::keepwarm::metrics::Metrics;
use serde_json::Value;

use super::*;

/// Metric names as PromQL sees them (`_total`, `_bucket`, `_info`…), with
/// the labels each carries once Prometheus has scraped it.
pub(super) type Exported = BTreeMap<String, BTreeSet<String>>;

/// A sample value for each template variable, and Grafana's own
/// intervals, to make an expression PromQL.
const VARIABLES: [(&str, &str); 7] = [
    ("__rate_interval", "1m"),
    ("__interval", "1m"),
    ("__range", "1h"),
    ("target", "orders"),
    ("vantage", "eu-west-1a"),
    ("phase", "connect"),
    ("datasource", "prometheus"),
];

fn shipped() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/grafana/coldlink.json"
    ))
    .unwrap();
    serde_json::from_str(&text).expect("deploy/grafana/coldlink.json is JSON")
}

/// The metrics a real daemon serves after its first ping: the names from
/// the `# TYPE` lines (so that families without a series yet, the
/// publishers' failures, count), the labels from the samples; plus what
/// Prometheus adds (`job`, `instance`, and its own `up`).
pub(super) async fn exported_by_a_real_daemon() -> Exported {
    let dir = tempfile::tempdir().unwrap();
    let server = start(Behavior::Ok).await;
    let url = server.url("/");
    let (child, mut stderr) = daemon(
        &[&url, "--interval", "1h", "--metrics-listen", "127.0.0.1:0"],
        dir.path(),
    );
    let (said, stderr) = tokio::task::spawn_blocking(move || {
        let said = common::read_until_line(&mut stderr, "/metrics");
        (said, stderr)
    })
    .await
    .unwrap();
    let addr = metrics_address(&said);
    wait_for_records(dir.path(), 1).await;
    let (body, _) = scrape(&addr).await;
    let (rest, code) = stop(child, stderr).await;
    assert_eq!(code, Some(0), "{rest}");
    let mut exported = exported_from(&body);
    // A family shows only once it has a series: the publishers' failures
    // once a publisher (`--cloudwatch-namespace`, `--emf`) takes its
    // counter, which this daemon has none of. Those from the same
    // registry, with one.
    let metrics = Metrics::new(
        Duration::from_secs(1),
        std::time::SystemTime::now(),
        "v".to_string(),
    );
    let _counter = metrics.publish_failures("cloudwatch");
    for (name, labels) in exported_from(&metrics.encode()) {
        exported.entry(name).or_insert(labels);
    }
    exported
}

fn exported_from(exposition: &str) -> Exported {
    let mut exported = Exported::new();
    exported.insert("up".to_string(), BTreeSet::new());
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let names: Vec<String> = match kind {
                "counter" => vec![format!("{name}_total")],
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|s| format!("{name}{s}"))
                    .collect(),
                "info" => vec![format!("{name}_info")],
                _ => vec![name.to_string()],
            };
            for n in names {
                exported.entry(n).or_default();
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let series = line.rsplit_once(' ').unwrap().0;
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let set = exported.entry(name.to_string()).or_default();
            for pair in labels.trim_end_matches('}').split(',').filter(|p| !p.is_empty()) {
                set.insert(pair.split_once('=').unwrap().0.to_string());
            }
        }
    }
    for labels in exported.values_mut() {
        labels.extend(["job".to_string(), "instance".to_string()]);
    }
    exported
}

/// Every panel, those inside collapsed rows too.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(p);
        all.extend(p["panels"].as_array().into_iter().flatten());
    }
    all
}

/// What keeps `dashboard` from loading or from showing data from the
/// daemon: one line each, naming the panel. `promtool`: the binary that
/// checks the PromQL, `None` to leave that check out.
fn problems(dashboard: &Value, exported: &Exported, promtool: Option<&Path>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut say = |p: String| problems.push(p);
    for key in ["title", "uid"] {
        if dashboard[key].as_str().is_none_or(str::is_empty) {
            say(format!("no {key}"));
        }
    }
    let uid = dashboard["uid"].as_str().unwrap_or_default();
    if uid.len() > 40
        || !uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        say(format!("uid {uid:?}: Grafana takes up to 40 of [A-Za-z0-9_-]"));
    }
    if !dashboard["schemaVersion"].is_u64() {
        say("no schemaVersion".to_string());
    }
    let variables: Vec<&Value> = dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let defined: BTreeSet<&str> = variables.iter().filter_map(|v| v["name"].as_str()).collect();
    let mut exprs: Vec<(String, String)> = Vec::new();
    for v in &variables {
        let name = v["name"].as_str().unwrap_or("?");
        if v["type"] == "query" {
            let query = v["query"].as_str().unwrap_or_default();
            match query
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .and_then(|q| q.rsplit_once(','))
            {
                Some((selector, label)) => {
                    exprs.push((format!("variable {name}"), selector.to_string()));
                    let metric = selector.split('{').next().unwrap().trim();
                    if !exported.get(metric).is_some_and(|l| l.contains(label.trim())) {
                        say(format!("variable {name}: no label {} on {metric}", label.trim()));
                    }
                }
                None => say(format!(
                    "variable {name}: not label_values(METRIC, LABEL): {query}"
                )),
            }
        }
    }
    let all = panels(dashboard);
    if all.is_empty() {
        say("no panels".to_string());
    }
    let mut ids = BTreeSet::new();
    for p in all {
        let id = p["id"].as_u64();
        let title = p["title"].as_str().unwrap_or_default();
        let name = format!(
            "panel {} ({title})",
            id.map_or("?".to_string(), |i| i.to_string())
        );
        match id {
            Some(id) if !ids.insert(id) => say(format!("{name}: id used twice")),
            None => say(format!("{name}: no integer id")),
            _ => {}
        }
        if p["type"].as_str().is_none_or(str::is_empty) {
            say(format!("{name}: no type"));
        }
        let grid = &p["gridPos"];
        let [h, w, x, y] = ["h", "w", "x", "y"].map(|k| grid[k].as_u64());
        match (h, w, x, y) {
            (Some(h), Some(w), Some(x), Some(_)) if h > 0 && w > 0 && x + w <= 24 => {}
            _ => say(format!("{name}: gridPos {grid} not inside Grafana's 24 columns")),
        }
        if let Some(repeat) = p["repeat"].as_str() {
            if !defined.contains(repeat) {
                say(format!("{name}: repeats over an undefined variable {repeat}"));
            }
        }
        if p["type"] == "row" {
            continue;
        }
        if p["datasource"]["type"] != "prometheus" {
            say(format!("{name}: its datasource is not a Prometheus one"));
        }
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
        if targets.is_empty() {
            say(format!("{name}: no targets"));
        }
        let mut refs = BTreeSet::new();
        for t in targets {
            let r = t["refId"].as_str().unwrap_or_default();
            if r.is_empty() || !refs.insert(r) {
                say(format!("{name}: a target without a refId of its own"));
            }
            match t["expr"].as_str() {
                Some(e) if !e.trim().is_empty() => exprs.push((format!("{name} {r}"), e.to_string())),
                _ => say(format!("{name} {r}: no expr")),
            }
        }
    }
    let mut promql = Vec::new();
    for (at, expr) in &exprs {
        let (expr, unknown) = substitute(expr, &defined);
        for v in unknown {
            say(format!("{at}: ${v} is no template variable"));
        }
        for problem in names_in(&expr, exported) {
            say(format!("{at}: {problem}"));
        }
        promql.push((at.clone(), expr));
    }
    if let Some(promtool) = promtool {
        if let Err(out) = promtool_check(promtool, &promql) {
            say(format!("promtool check rules: {out}"));
        }
    }
    problems
}

/// `expr` with `$name`, `${name}` and `[[name]]` replaced by sample
/// values, and the variables it names that the dashboard does not define.
fn substitute(expr: &str, defined: &BTreeSet<&str>) -> (String, Vec<String>) {
    let re = regex::Regex::new(r"\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]").unwrap();
    let mut unknown = Vec::new();
    let out = re.replace_all(expr, |c: &regex::Captures| {
        let name = c.iter().skip(1).flatten().next().unwrap().as_str();
        let builtin = name.starts_with("__");
        match VARIABLES.iter().find(|(n, _)| *n == name) {
            Some((_, v)) if builtin || defined.contains(name) => v.to_string(),
            _ => {
                unknown.push(name.to_string());
                "x".to_string()
            }
        }
    });
    (out.into_owned(), unknown)
}

/// The metric names an expression selects that the daemon does not
/// export, and label names its matchers use that those metrics lack. A
/// name is an identifier outside strings, matchers, ranges and label
/// lists that is not a function, an aggregation or a keyword.
pub(super) fn names_in(expr: &str, exported: &Exported) -> Vec<String> {
    let mut problems = Vec::new();
    let strings = regex::Regex::new(r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`"#).unwrap();
    let bare = strings.replace_all(expr, "\"\"");
    // Matchers first, with the name they belong to (if any).
    let selector = regex::Regex::new(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}").unwrap();
    let matcher = regex::Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)").unwrap();
    for c in selector.captures_iter(&bare) {
        let Some(metric) = c.get(1) else { continue };
        let Some(labels) = exported.get(metric.as_str()) else {
            continue;
        };
        for m in matcher.captures_iter(&c[2]) {
            if m[1] != *"__name__" && !labels.contains(&m[1]) {
                problems.push(format!("{} has no label {}", metric.as_str(), &m[1]));
            }
        }
    }
    let bare = selector.replace_all(&bare, "$1");
    let lists = regex::Regex::new(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)").unwrap();
    let bare = lists.replace_all(&bare, "");
    let ranges = regex::Regex::new(r"\[[^\]]*\]").unwrap();
    let bare = ranges.replace_all(&bare, "");
    let ident = regex::Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*").unwrap();
    const KEYWORDS: [&str; 13] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
    ];
    for m in ident.find_iter(&bare) {
        let before = bare[..m.start()].chars().next_back();
        let after = bare[m.end()..].trim_start().chars().next();
        let word = m.as_str();
        if after == Some('(')
            || before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            || KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
        {
            continue;
        }
        if !exported.contains_key(word) {
            problems.push(format!("{word} is not a metric the keep-warm daemon exports"));
        }
    }
    problems
}

/// `promtool check rules` on the expressions as recording rules, one per
/// expression, named after where it comes from.
fn promtool_check(promtool: &Path, exprs: &[(String, String)]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (at, expr)) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "      # {at}\n      - record: dashboard:expr_{i}\n        expr: {}\n",
            serde_json::to_string(expr).unwrap()
        ));
    }
    let file = dir.path().join("dashboard-rules.yml");
    std::fs::write(&file, &rules).unwrap();
    let out = Command::new(promtool)
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
        .unwrap();
    if out.status.success() {
        return Ok(());
    }
    // promtool names the rule by its number: say which panel that is.
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let named = exprs
        .iter()
        .enumerate()
        .filter(|(i, _)| said.contains(&format!("dashboard:expr_{i}\"")))
        .map(|(_, (at, _))| at.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!("{named}: {said}"))
}

/// promtool, or `None` with the reason said (CI installs it:
/// scripts/check-prometheus-rules.sh).
fn promtool() -> Option<std::path::PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "dashboard: the PromQL check skipped: promtool is not installed (scripts/check-prometheus-rules.sh installs it)"
        );
    }
    found
}

#[tokio::test]
async fn the_shipped_dashboard_loads_and_asks_only_for_what_the_daemon_exports() {
    let exported = exported_by_a_real_daemon().await;
    for name in [
        "coldlink_probe_phase_seconds_bucket",
        "coldlink_warm_probes_total",
        "coldlink_publish_failures_total",
    ] {
        assert!(exported.contains_key(name), "{name} not in {exported:?}");
    }
    let dashboard = shipped();
    let found = problems(&dashboard, &exported, promtool().as_deref());
    assert!(found.is_empty(), "{}", found.join("\n"));
    // What issue #21 asks the dashboard to show.
    let exprs: Vec<String> = panels(&dashboard)
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    for wanted in [
        "histogram_quantile(0.5,",
        "histogram_quantile(0.99,",
        "coldlink_warm_probes_total",
        "outcome!=\"ok\"",
        "up{job=\"coldlink\"}",
        "coldlink_last_success_timestamp_seconds",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(wanted)),
            "no panel asks for {wanted}"
        );
    }
    for e in &exprs {
        assert!(
            e.contains("vantage"),
            "every panel is per vantage (selected by $vantage): {e}"
        );
    }
    let vars: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(vars.contains(&"target") && vars.contains(&"vantage"), "{vars:?}");
}

/// The first target's expression of the "Warm share" panel.
fn warm_share(d: &mut Value) -> &mut Value {
    let p = d["panels"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["title"] == "Warm share")
        .unwrap();
    &mut p["targets"][0]["expr"]
}

/// The checks catch what would break the dashboard: an expression that is
/// not PromQL, a metric or label the daemon does not export, an undefined
/// variable, a panel id used twice, a panel without a data source.
#[tokio::test]
async fn a_broken_dashboard_is_caught() {
    let exported = exported_by_a_real_daemon().await;
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut d = shipped();
        edit(&mut d);
        d
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            broken(&|d| *warm_share(d) = "sum by (target (rate(coldlink_probes_total[15m]))".into()),
            "promtool check rules: panel 8 (Warm share) A",
        ),
        (
            broken(&|d| {
                *warm_share(d) = "sum(rate(coldlink_probe_total{vantage=~\"$vantage\"}[15m]))".into()
            }),
            "coldlink_probe_total is not a metric the keep-warm daemon exports",
        ),
        (
            broken(&|d| {
                *warm_share(d) = "sum(rate(coldlink_probes_total{vantge=~\"$vantage\"}[15m]))".into()
            }),
            "coldlink_probes_total has no label vantge",
        ),
        (
            broken(&|d| *warm_share(d) = "sum(rate(coldlink_probes_total{zone=~\"$zone\"}[15m]))".into()),
            "$zone is no template variable",
        ),
        (
            broken(&|d| d["panels"][3]["id"] = 3.into()),
            "panel 3 (Pings counted (15 min)): id used twice",
        ),
        (
            broken(&|d| d["panels"][2]["datasource"] = Value::Null),
            "its datasource is not a Prometheus one",
        ),
        (
            broken(&|d| {
                d["templating"]["list"][2]["query"] = "label_values(coldlink_probes_total, zone)".into()
            }),
            "variable vantage: no label zone on coldlink_probes_total",
        ),
    ];
    let promtool = promtool();
    for (dashboard, expected) in cases {
        if expected.starts_with("promtool") && promtool.is_none() {
            continue;
        }
        let found = problems(&dashboard, &exported, promtool.as_deref());
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "expected {expected:?} among {found:#?}"
        );
    }
}
