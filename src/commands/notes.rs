//! The lines a probing command says on stderr before its first probe, and
//! when it keeps them to itself (`-q`, cron: see `wanted`): that probes
//! are signed and as whom (`--sigv4`), that a `--ip-family both` name is
//! probed on one family only, and that a proxy variable is not used.
//!
//! Probes never go through a proxy, whatever `HTTPS_PROXY` and its kin
//! say: a probe through a proxy would time the proxy's connections, not
//! the path to the API (issue #16 §5). When one of those variables is set,
//! the probing commands say once that it is not used — so that nobody
//! reads direct timings as their proxied path's.

use std::ffi::OsString;
use std::io::IsTerminal;

use crate::cli::Command;

/// The variables other HTTP clients (curl, reqwest, the AWS SDK) take a
/// proxy from, in the order they are named.
pub const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// What `command` says before its first probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartNotes {
    /// The command says its notes (see `wanted`).
    pub wanted: bool,
    /// The proxy line, when a proxy variable is set.
    pub proxy: Option<String>,
}

impl StartNotes {
    /// Where the notes go: stderr, or nowhere.
    pub fn out(&self) -> Box<dyn std::io::Write> {
        match self.wanted {
            true => Box::new(crate::logs::stderr()),
            false => Box::new(std::io::sink()),
        }
    }
}

/// The notes of `command`.
pub fn for_command(command: &Command) -> StartNotes {
    let wanted = wanted(command, std::io::stderr().is_terminal());
    StartNotes {
        wanted,
        proxy: wanted.then(|| note(|name| std::env::var_os(name))).flatten(),
    }
}

/// Whether `command` prints its notes. Every probing command does, but:
/// with `-q` (probe, run, diagnose), which asks for less; `diagnose
/// --from`, which sends no probe; and `keepwarm --once` off a terminal,
/// which is cron, where every stderr byte is a mail, every run, about an
/// environment that does not change (`--help` and the docs say it instead).
fn wanted(command: &Command, stderr_is_terminal: bool) -> bool {
    match command {
        Command::Probe(a) => !a.quiet,
        Command::Run(a) => !a.quiet,
        Command::Diagnose(a) => !a.quiet && a.from.is_empty(),
        Command::Watch(_) => true,
        Command::Keepwarm(a) => !a.once || stderr_is_terminal,
        _ => false,
    }
}

/// The line naming the proxy variables that are set (an empty value is
/// unset, as curl reads it); `None` when none is.
fn note(var: impl Fn(&str) -> Option<OsString>) -> Option<String> {
    let set: Vec<&str> = PROXY_VARS
        .into_iter()
        .filter(|name| var(name).is_some_and(|v| !v.is_empty()))
        .collect();
    let (last, first) = set.split_last()?;
    let names = match first {
        [] => format!("{last} is"),
        _ => format!("{} and {last} are", first.join(", ")),
    };
    Some(format!(
        "coldlink: {names} set; probes connect directly (a proxy would time itself, not the path)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn env<'a>(set: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            set.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_note_names_every_proxy_variable_set_and_only_those() {
        assert_eq!(note(env(&[])), None);
        assert_eq!(note(env(&[("HTTPS_PROXY", ""), ("NO_PROXY", "x")])), None);
        assert_eq!(
            note(env(&[("HTTPS_PROXY", "http://proxy:3128")])).unwrap(),
            "coldlink: HTTPS_PROXY is set; probes connect directly (a proxy would time itself, not the path)"
        );
        let both = note(env(&[("all_proxy", "socks5://p"), ("HTTPS_PROXY", "http://p")])).unwrap();
        assert!(
            both.starts_with("coldlink: HTTPS_PROXY and all_proxy are set;"),
            "{both}"
        );
        let three = note(env(&[
            ("http_proxy", "a"),
            ("HTTPS_PROXY", "b"),
            ("ALL_PROXY", "c"),
        ]))
        .unwrap();
        assert!(
            three.starts_with("coldlink: HTTPS_PROXY, http_proxy and ALL_PROXY are set;"),
            "{three}"
        );
    }

    #[test]
    fn quiet_runs_and_keepwarm_once_under_cron_do_not_print_it() {
        let says = |line: &str, terminal: bool| {
            let cli = crate::cli::Cli::try_parse_from(line.split(' ')).unwrap();
            wanted(&cli.command, terminal)
        };
        let url = "http://127.0.0.1:9/";
        assert!(says(&format!("coldlink probe {url}"), false));
        assert!(!says(&format!("coldlink probe {url} -q"), true));
        assert!(says("coldlink run --profile p.toml", false));
        assert!(!says("coldlink run --profile p.toml -q", false));
        assert!(says(&format!("coldlink diagnose {url}"), false));
        assert!(!says(&format!("coldlink diagnose {url} -q"), true));
        assert!(!says("coldlink diagnose --from r.ndjson", true));
        assert!(says(&format!("coldlink watch {url}"), false));
        assert!(says(&format!("coldlink keepwarm --interval 60s {url}"), false));
        assert!(says(&format!("coldlink keepwarm --once {url}"), true));
        assert!(!says(&format!("coldlink keepwarm --once {url}"), false));
        assert!(!says("coldlink report r.ndjson", true));
    }
}
