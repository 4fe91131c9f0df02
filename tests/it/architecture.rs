//! Issue 15: the module arrows of docs/ARCHITECTURE.md, checked on every run.
//! A `crate::` or `super::` path that points up the layers, or two files that
//! use each other, fails here with the file and line, before it grows into
//! the next tangle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// The command side: the only modules that may use `commands`, `config` or `cli`.
const COMMAND_SIDE: &[&str] = &["main", "run", "commands", "config", "cli"];
/// Features, and the features each may use.
const FEATURES: &[(&str, &[&str])] = &[
    ("aws", &[]),
    ("publish", &["aws"]),
    ("diagnose", &["aws"]),
    ("keepwarm", &["diagnose", "publish"]),
    ("tui", &["diagnose"]),
    ("lab", &["aws"]),
    ("publish", &["aws"]),
];
/// The engine and the leaves: they use no feature and nothing above.
const BELOW_FEATURES: &[&str] = &[
    "probe", "records", "stats", "format", "duration", "exit", "logs", "shutdown",
];

/// One source file: its module path (`["diagnose", "detect", "gaps"]`) and text
/// without its unit tests (tests may reach anywhere in their own module).
struct Source {
    path: PathBuf,
    module: Vec<String>,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).unwrap().with_extension("");
                let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
                if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let text = match text.find("#[cfg(test)]") {
                    Some(i) => text[..i].to_string(),
                    None => text,
                };
                out.push(Source { path, module, text });
            }
        }
    }
    out
}

/// Every module a file names, resolved to the longest known module path,
/// with the line it is named on. `use crate::a::{b, c::d}` names `a::b` and
/// `a::c`; `super::x` is read relative to the file's parent module.
fn references(src: &Source, modules: &BTreeSet<Vec<String>>) -> Vec<(Vec<String>, usize)> {
    let path_re = Regex::new(r"\b(crate|super)((?:::\w+)+)(::\{([^;]*?)\})?").unwrap();
    let word = Regex::new(r"(\w+)").unwrap();
    let mut out = Vec::new();
    for (n, line) in logical_lines(&src.text) {
        for m in path_re.captures_iter(&line) {
            let mut base: Vec<String> = match &m[1] {
                "crate" => Vec::new(),
                _ => src.module[..src.module.len().saturating_sub(1)].to_vec(),
            };
            base.extend(m[2].split("::").filter(|p| !p.is_empty()).map(String::from));
            let mut candidates = vec![base.clone()];
            if let Some(group) = m.get(4) {
                for item in word.find_iter(group.as_str()) {
                    let mut p = base.clone();
                    p.push(item.as_str().to_string());
                    candidates.push(p);
                }
            }
            for parts in candidates {
                if let Some(target) = (1..=parts.len())
                    .rev()
                    .map(|k| parts[..k].to_vec())
                    .find(|prefix| modules.contains(prefix))
                {
                    if target != src.module {
                        out.push((target, n));
                    }
                }
            }
        }
    }
    out
}

/// Lines with `use` groups joined, so a multi-line `use crate::x::{…};`
/// is one line (numbered by its first).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        match open.as_mut() {
            Some((_, acc)) => {
                acc.push_str(code.trim());
                if code.contains(';') {
                    out.push(open.take().unwrap());
                }
            }
            None if code.trim_start().starts_with("use ") || code.trim_start().starts_with("pub use ") => {
                if code.contains(';') {
                    out.push((i + 1, code.to_string()));
                } else {
                    open = Some((i + 1, code.to_string()));
                }
            }
            None => out.push((i + 1, code.to_string())),
        }
    }
    out
}

fn top(module: &[String]) -> &str {
    module.first().map(String::as_str).unwrap_or("lib")
}

/// Why `from` may not use `to`, or `None` when the arrow points down.
fn upward(from: &str, to: &str) -> Option<String> {
    if from == to || from == "lib" {
        return None;
    }
    let command_side = |m: &str| COMMAND_SIDE.contains(&m);
    if command_side(to) && !command_side(from) {
        return Some(format!("{from} is below the commands and may not use {to}"));
    }
    match (from, to) {
        ("cli", "config" | "commands" | "run") | ("config", "commands" | "run") | ("commands", "run") => {
            return Some(format!("{from} is below {to}"));
        }
        _ => {}
    }
    if BELOW_FEATURES.contains(&from) && FEATURES.iter().any(|(f, _)| *f == to) {
        return Some(format!("{from} is below the features and may not use {to}"));
    }
    if let Some((_, allowed)) = FEATURES.iter().find(|(f, _)| *f == from) {
        if FEATURES.iter().any(|(f, _)| *f == to) && !allowed.contains(&to) {
            return Some(format!(
                "the feature {from} may use only {allowed:?} of the features, not {to}"
            ));
        }
    }
    None
}

#[test]
fn every_arrow_between_modules_points_down() {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut wrong = Vec::new();
    for src in &sources {
        for (target, line) in references(src, &modules) {
            if let Some(why) = upward(top(&src.module), top(&target)) {
                wrong.push(format!(
                    "{}:{line}: uses {}: {why}",
                    src.path.display(),
                    target.join("::")
                ));
            }
        }
    }
    assert!(
        sources.len() > 100,
        "found {} source files: wrong root?",
        sources.len()
    );
    assert!(wrong.is_empty(), "arrows that point up:\n{}", wrong.join("\n"));
}

#[test]
fn no_two_files_use_each_other() {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut uses: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for src in &sources {
        for (target, _) in references(src, &modules) {
            uses.entry(src.module.clone()).or_default().insert(target);
        }
    }
    let mut circles = Vec::new();
    for (a, targets) in &uses {
        for b in targets {
            // A parent module naming its child (`mod x; pub use x::Y`) and the
            // child using its parent's items is Rust's module tree, not a circle.
            let related = a.starts_with(b) || b.starts_with(a);
            if a < b && !related && uses.get(b).is_some_and(|t| t.contains(a)) {
                circles.push(format!("{} <-> {}", a.join("::"), b.join("::")));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files that use each other:\n{}",
        circles.join("\n")
    );
}

/// The checker itself: an upward arrow and a circle are seen.
#[test]
fn the_checker_sees_an_upward_arrow() {
    assert!(upward("keepwarm", "config").is_some());
    assert!(upward("probe", "diagnose").is_some());
    assert!(upward("tui", "keepwarm").is_some());
    assert!(upward("cli", "config").is_some());
    assert!(upward("commands", "config").is_none());
    assert!(upward("keepwarm", "diagnose").is_none());
    let src = Source {
        path: "x.rs".into(),
        module: vec!["keepwarm".into(), "daemon".into()],
        text: "use crate::config::{\n    KeepwarmConfig,\n    layer::Connection,\n};\nuse super::lock;\n"
            .into(),
    };
    let modules: BTreeSet<Vec<String>> = [
        vec!["config".to_string()],
        vec!["config".to_string(), "layer".to_string()],
        vec!["keepwarm".to_string(), "lock".to_string()],
        vec!["keepwarm".to_string(), "daemon".to_string()],
    ]
    .into();
    let found: Vec<(String, usize)> = references(&src, &modules)
        .into_iter()
        .map(|(m, l)| (m.join("::"), l))
        .collect();
    assert!(found.contains(&("config".into(), 1)), "{found:?}");
    assert!(found.contains(&("config::layer".into(), 1)), "{found:?}");
    assert!(found.contains(&("keepwarm::lock".into(), 5)), "{found:?}");
}
