//! The profile file (`profiles/*.toml`) as written: a team's targets and
//! plans, committed next to the API they watch. Parsing is strict
//! (`deny_unknown_fields`); values keep their place (`Spanned`) so that
//! the profile's validation can name the line of a bad one.
//!
//! Over 500 lines with its tests (about 410 without): the message of a
//! syntax error asks these types whether a key takes a string (the quotes
//! hint), so it is written beside them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, EnvError, Source};
use super::layer::ConnectionEntry;
use crate::duration::Dur;
use crate::probe::{ConnectionPolicy, TargetKind};

/// The file as written. Kept close to the TOML; `Profile::load` turns it
/// into validated values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    pub name: Option<String>,
    #[serde(rename = "target", default)]
    pub targets: Vec<TargetEntry>,
    #[serde(default)]
    pub connection: ConnectionEntry,
    pub schedule: Option<ScheduleEntry>,
    pub burst: Option<BurstEntry>,
    pub diagnose: Option<DiagnoseEntry>,
    pub aws: Option<Spanned<AwsEntry>>,
    /// Written by `coldlink lab` into the profiles it makes: the targets
    /// are a lab's, and its records say so.
    pub lab: Option<LabEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabEntry {
    pub scenario: String,
    pub speed: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub kind: Option<TargetKind>,
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub body: Option<String>,
    /// Any integer, so that one out of range is refused by `Profile::load`
    /// in words, not by serde as "expected u16".
    pub expect_status: Option<Spanned<Vec<i64>>>,
    /// This target's client certificate and key (PEM), over
    /// `[connection]`'s; relative to the profile's folder.
    pub cert: Option<Spanned<std::path::PathBuf>>,
    pub key: Option<Spanned<std::path::PathBuf>>,
    /// Sign this target's probes with SigV4, or not (over `[connection]`'s).
    pub sigv4: Option<bool>,
    pub sigv4_service: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    pub interval: Spanned<Dur>,
    pub jitter: Option<Spanned<Dur>>,
    pub connections: Option<ConnectionPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstEntry {
    /// Any integer: `Profile::load` says what range is valid.
    pub requests: Option<Spanned<i64>>,
    pub concurrency: Option<Spanned<i64>>,
    /// Requests per second across all targets; unpaced when absent.
    pub rate: Option<Spanned<f64>>,
    pub connections: Option<ConnectionPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseEntry {
    #[serde(default)]
    pub idle_sweep: Vec<Dur>,
    pub slow: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsEntry {
    pub region: Option<String>,
    pub rest_api: Option<RestApi>,
    pub http_api: Option<HttpApi>,
    /// `net/NAME/ID` or the NLB's ARN (checked by `Profile::load`).
    pub nlb: Option<Spanned<String>>,
    /// `app/NAME/ID` or the ALB's ARN: read by `--aws-config`.
    pub alb: Option<Spanned<String>>,
    /// `targetgroup/NAME/ID` or ARNs.
    #[serde(default)]
    pub target_groups: Vec<Spanned<String>>,
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
    /// `diagnose` reads the path's configuration as if `--aws-config` were given.
    #[serde(default)]
    pub config: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestApi {
    /// The API's name: what CloudWatch's `ApiName` dimension is, and what
    /// `--aws-config` looks the API up by when no `id` is given.
    pub name: Option<String>,
    pub id: Option<String>,
    pub stage: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpApi {
    pub id: String,
    pub stage: String,
}

/// Read and parse a profile file. Syntax and shape errors carry toml's own
/// line, column and message, never the line's text (it may hold a secret).
pub fn read(path: &Path) -> Result<(String, ProfileFile), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ProfileUnreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let file: ProfileFile = toml::from_str(&text).map_err(|e| {
        let source = Source { path, text: &text };
        let at = e.span().map(|s| s.start);
        let mut message = with_key(
            at.and_then(|at| key_at(&text, at)),
            in_words(&without_values(e.message().trim_end())),
        );
        if let Some(hint) = at.and_then(|at| quotes_hint(&text, at, e.message())) {
            message = format!("{message}; {hint}");
        }
        ConfigError::ProfileSyntax {
            path: path.to_path_buf(),
            line: at.map(|at| source.line(at)),
            column: at.map(|at| source.column(at)),
            message,
            toml: Box::new(e),
        }
    })?;
    Ok((text, file))
}

/// toml's message without the values it quotes: a profile's values may be
/// secrets (a header's, a URL's key), so neither the line's text (toml's
/// snippet, never shown) nor serde's "invalid type: string \"…\"" may show
/// them. `string "s3cr3t", expected …` reads `a string, expected …`.
fn without_values(message: &str) -> String {
    message
        .lines()
        .map(|line| {
            for lead in ["invalid type: ", "invalid value: "] {
                if let Some(rest) = line.strip_prefix(lead) {
                    let (unexpected, expected) = rest.rsplit_once(", expected").unwrap_or((rest, ""));
                    let kind = unexpected.split([' ', '`', '"']).next().unwrap_or_default();
                    let tail = match expected {
                        "" => String::new(),
                        e => format!(", expected{e}"),
                    };
                    return format!("{lead}{}{tail}", a_kind(kind));
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The key written at the start of the line holding byte `offset`
/// (`interval = …` gives `interval`): the line's text is not shown, but its
/// key says what the error is about.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.\" ".contains(c);
    (!key.is_empty() && key.chars().all(plain)).then(|| key.replace('"', ""))
}

/// For a syntax error in a value the profile takes as a string: how a
/// string is written. toml's words for a value without quotes depend on
/// its first letter ("invalid boolean, expected `true`" for `url = ftp://…`)
/// and an unclosed string in an inline table reads "unclosed inline
/// table"; neither says that a quoted string is what goes there. The hint
/// names the key, never the value (it may be a secret).
fn quotes_hint(text: &str, at: usize, message: &str) -> Option<String> {
    // A file that is TOML has no syntax error: a schema error's words
    // (a string where a number goes, say) need no hint.
    if message.contains("duplicate") || text.parse::<toml::Table>().is_ok() {
        return None;
    }
    let key = key_at(text, at)?;
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(start..at)?;
    let (_, value) = before.split_once('=')?;
    // In an inline table (`headers = { x-api-key = … }`), the key of the
    // entry the error is in.
    let inner = match value.trim_start().strip_prefix('{') {
        Some(entries) => Some(last_entry_key(entries)?),
        None => None,
    };
    let header = table_header(&text[..start]);
    takes_string(&header, &key, inner).then(|| match inner {
        Some(_) => format!("strings need quotes at both ends: {key} = {{ NAME = \"...\" }}"),
        None => format!("strings need quotes at both ends: {key} = \"...\""),
    })
}

/// The key of the last entry begun in an inline table's text `entries`
/// (what follows its `{`), read forward so that quoted text — a value
/// holding `=` or `,`, as a base64 token does, or a quoted key — is
/// skipped, not split.
fn last_entry_key(entries: &str) -> Option<&str> {
    let mut entry_start = 0;
    let mut key = None;
    let mut chars = entries.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                // To the closing quote (a basic string's `\"` is not one);
                // an unclosed one runs to the end.
                let mut escaped = false;
                for (_, q) in chars.by_ref() {
                    if c == '"' && !escaped && q == '\\' {
                        escaped = true;
                        continue;
                    }
                    if q == c && !escaped {
                        break;
                    }
                    escaped = false;
                }
            }
            ',' => {
                entry_start = i + 1;
                key = None;
            }
            '=' if key.is_none() => key = Some(entries[entry_start..i].trim()),
            _ => {}
        }
    }
    key.filter(|k| !k.is_empty())
}

/// The table header the text `before` ends in (`[schedule]`; "" at the
/// top level); a sub-table of an array of tables (`[target.headers]`) comes
/// with its parent's header (`[[target]]`), without which it is not the
/// profile's shape.
fn table_header(before: &str) -> String {
    let mut headers = before.lines().rev().map(str::trim).filter(|l| l.starts_with('['));
    let Some(header) = headers.next() else {
        return String::new();
    };
    if header.starts_with("[[") {
        return header.to_string();
    }
    let path = header
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or_default();
    let parent = headers.find(|h| {
        h.strip_prefix("[[")
            .and_then(|h| h.split("]]").next())
            .is_some_and(|array| path.starts_with(&format!("{}.", array.trim())))
    });
    match parent {
        Some(parent) => format!("{parent}\n{header}"),
        None => header.to_string(),
    }
}

/// Whether the profile's schema takes a string at `key` in the table
/// `header` (`[[target]]`, `[schedule]`; "" for the top level), or in
/// its inline table's entry `inner`: asked of the schema itself, with a
/// one-key profile holding a string there.
fn takes_string(header: &str, key: &str, inner: Option<&str>) -> bool {
    let value = match inner {
        Some(inner) => format!("{{ {inner} = \"x\" }}"),
        None => "\"x\"".to_string(),
    };
    let probe = format!("{header}\n{key} = {value}\n");
    if probe.parse::<toml::Table>().is_err() {
        return false;
    }
    match toml::from_str::<ProfileFile>(&probe) {
        Ok(_) => true,
        // A string the schema reads further (a duration, a kind) or a
        // field missing beside it: still a string's place.
        Err(e) => !["invalid type", "unknown field"]
            .iter()
            .any(|no| e.message().starts_with(no)),
    }
}

/// `key: message`, unless the message names the key already.
fn with_key(key: Option<String>, message: String) -> String {
    match key {
        Some(key) if !message.contains(&format!("`{key}`")) => format!("{key}: {message}"),
        _ => message,
    }
}

/// serde's name of a kind of value, with its article.
fn a_kind(kind: &str) -> String {
    match kind {
        "integer" | "string" | "boolean" | "sequence" | "map" | "character" | "floating" => {
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            let kind = if kind == "floating" { "number" } else { kind };
            format!("{article} {kind}")
        }
        "" => "a value".to_string(),
        other => other.to_string(),
    }
}

/// serde names Rust types in what it expected ("expected u16"); a profile's
/// reader wants words.
fn in_words(message: &str) -> String {
    const TYPES: [(&str, &str); 7] = [
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list, e.g. [\"a\", \"b\"]"),
    ];
    TYPES
        .iter()
        .fold(message.to_string(), |m, (rust, words)| m.replace(rust, words))
}

/// Expand `${NAME}` from the environment. Returns the value and whether
/// anything was expanded (expanded values are treated as secrets).
pub fn expand_env(value: &str) -> Result<(String, bool), EnvError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut expanded = false;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(EnvError::Unclosed)?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(EnvError::NotAReference(name.to_string()));
        }
        let val = std::env::var(name).map_err(|_| EnvError::Unset(name.to_string()))?;
        out.push_str(&val);
        expanded = true;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, expanded))
}

/// The query parameters of a URL as written in a profile whose value takes
/// something from the environment (`?key=${API_KEY}`); `*` (all of them)
/// when the environment supplies more than a value: a name (`?${QUERY}`),
/// or a `?`, `&`, `=` or `#` (a whole URL from `${API_URL}`, a value that
/// would split into more parameters). Call after [`expand_env`] accepted
/// the URL.
pub fn env_query_params(raw_url: &str) -> Vec<String> {
    let all = || vec!["*".to_string()];
    let supplies_structure =
        env_refs(raw_url).any(|name| std::env::var(name).is_ok_and(|v| v.contains(['?', '&', '=', '#'])));
    if supplies_structure {
        return all();
    }
    let Some((_, query)) = raw_url.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    let mut names = Vec::new();
    for pair in query.split('&').filter(|p| p.contains("${")) {
        match pair.split_once('=') {
            Some((name, _)) if !name.contains("${") => names.push(name.to_string()),
            _ => return all(),
        }
    }
    names
}

/// The names of the `${NAME}` references in a value.
fn env_refs(value: &str) -> impl Iterator<Item = &str> {
    value
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_messages_quote_no_value() {
        assert_eq!(
            without_values("invalid type: string \"s3cr3t\", expected a whole number"),
            "invalid type: a string, expected a whole number"
        );
        assert_eq!(
            without_values("invalid type: integer `123456`, expected a string"),
            "invalid type: an integer, expected a string"
        );
        assert_eq!(
            without_values("invalid inline table\nexpected `}`"),
            "invalid inline table; expected `}`"
        );
        let text = "a = 1\nheaders = { \"x\" = }\n";
        assert_eq!(key_at(text, text.find('}').unwrap()), Some("headers".to_string()));
        assert_eq!(key_at("[schedule\n", 9), None);
    }

    /// A value written without its quotes, or without the closing one,
    /// where the profile takes a string: the error says how a string is
    /// written, whatever toml's words ("invalid boolean", "unclosed inline
    /// table"), and never shows the value. Where no string goes (a flag, a
    /// list of numbers), or the file is TOML, no hint.
    #[test]
    fn a_string_without_quotes_is_told_how_strings_are_written() {
        let target = "[[target]]\nname = \"a\"\nurl = \"https://h/\"\n";
        for (body, said) in [
            (
                "[[target]]\nname = \"a\"\nurl = ftp://s3cret\n".to_string(),
                "p.toml:3:7: url: invalid boolean, expected `false`; strings need quotes at both ends: url = \"...\"",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = https://s3cret\n".to_string(),
                "url: string values must be quoted, expected literal string; strings need quotes at both ends: url = \"...\"",
            ),
            (
                format!("{target}headers = {{ x-api-key = \"s3cret }}\n"),
                "p.toml:4:34: headers: unclosed inline table, expected `}`; strings need quotes at both ends: headers = { NAME = \"...\" }",
            ),
            // A value holding `=` (a base64 token): its entry's key is
            // still found.
            (
                format!("{target}headers = {{ authorization = \"Bearer s3cret== }}\n"),
                "headers: unclosed inline table, expected `}`; strings need quotes at both ends: headers = { NAME = \"...\" }",
            ),
            (
                format!("{target}headers = {{ \"x-a\" = \"a=b,c\", authorization = Bearer s3cret== }}\n"),
                "strings need quotes at both ends: headers = { NAME = \"...\" }",
            ),
            // A sub-table of `[[target]]`.
            (
                format!("{target}[target.headers]\nauthorization = Bearer s3cret==\n"),
                ":5:30: authorization: unexpected key or value, expected newline, `#`; strings need quotes at both ends: authorization = \"...\"",
            ),
            (
                "[schedule]\ninterval = 30s\n".to_string(),
                "interval: string values must be quoted, expected literal string; strings need quotes at both ends: interval = \"...\"",
            ),
            (
                "name = team-api\n".to_string(),
                "p.toml:1:8: name: invalid boolean, expected `true`; strings need quotes at both ends: name = \"...\"",
            ),
        ] {
            let said_now = read_error(&body);
            assert!(said_now.ends_with(said), "{body:?}: {said_now}");
            assert!(!said_now.contains("s3cret"), "{said_now}");
        }
        for body in [
            format!("{target}sigv4 = yes\n"),
            format!("{target}expect_status = [200, x]\n"),
            // TOML, the wrong type: serde's words say it.
            format!("{target}sigv4 = \"yes\"\n"),
        ] {
            let said_now = read_error(&body);
            assert!(!said_now.contains("strings need quotes"), "{body:?}: {said_now}");
        }
    }

    fn read_error(body: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, body).unwrap();
        read(&path).unwrap_err().to_string()
    }

    #[test]
    fn query_values_from_the_environment_are_found_by_name() {
        assert_eq!(
            env_query_params("https://h/p?key=${K}&page=2&t=a${T}"),
            ["key", "t"]
        );
        assert_eq!(
            env_query_params("https://h/${STAGE}/p?page=2"),
            Vec::<String>::new()
        );
        assert_eq!(env_query_params("https://h/p?${QUERY}"), ["*"]);
        assert_eq!(env_query_params("https://h/p?${NAME}=1"), ["*"]);
        assert_eq!(env_query_params("https://h/p#x=${Y}"), Vec::<String>::new());
        // The environment supplies a query, or a value that splits into more.
        std::env::set_var("COLDLINK_TEST_WHOLE_URL", "https://h/p?tenant=s3cret");
        assert_eq!(env_query_params("${COLDLINK_TEST_WHOLE_URL}"), ["*"]);
        std::env::set_var("COLDLINK_TEST_SPLITS", "a&b=c");
        assert_eq!(env_query_params("https://h/p?key=${COLDLINK_TEST_SPLITS}"), ["*"]);
        std::env::set_var("COLDLINK_TEST_HOST", "api.example.com");
        assert_eq!(
            env_query_params("https://${COLDLINK_TEST_HOST}/p?page=2"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn rust_types_are_put_in_words() {
        assert_eq!(
            in_words("invalid type: string \"x\", expected u64"),
            "invalid type: string \"x\", expected a whole number"
        );
    }

    #[test]
    fn env_expansion() {
        std::env::set_var("COLDLINK_TEST_KEY", "abc");
        assert_eq!(
            expand_env("k-${COLDLINK_TEST_KEY}-x"),
            Ok(("k-abc-x".into(), true))
        );
        assert_eq!(expand_env("plain"), Ok(("plain".into(), false)));
        assert_eq!(
            expand_env("${COLDLINK_TEST_UNSET_VAR}"),
            Err(EnvError::Unset("COLDLINK_TEST_UNSET_VAR".into()))
        );
        assert!(expand_env("${oops").unwrap_err().to_string().contains("unclosed"));
    }
}
