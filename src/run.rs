//! The whole command behind the binary: a parsed command line in, an exit
//! code out. Commands that probe, and the lab, run on one current-thread
//! runtime with Ctrl-C / SIGTERM wired to a cancellation token; a `--lab`
//! is started silently and announced only once the command's inputs are
//! accepted, so that a refusal comes first, alone.

use std::future::Future;
use std::io::{self, IsTerminal, Write};

use clap::CommandFactory;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, LabOptions};
use crate::commands::{self, lab::RunningLab};
use crate::config::targets::ProbeTargets;
use crate::config::{
    check_out, ConfigError, DiagnoseConfig, FromArgs, KeepwarmConfig, ProbeConfig, RunConfig, WatchConfig,
};
use crate::exit::Exit;

/// Run the command; errors are printed on stderr here, as `coldlink: error: …`.
pub fn run(cli: Cli) -> Exit {
    match dispatch(cli) {
        Ok(exit) => exit,
        Err(e) if stdout_closed(&e) => Exit::Ok,
        Err(e) => {
            let _ = writeln!(io::stderr(), "coldlink: error: {}", Chain(&e));
            Exit::Error
        }
    }
}

/// Log lines (`tracing`) on stderr, at `RUST_LOG` or warn.
///
/// By default the AWS credential chain's own warnings are left out: a
/// provider that failed (the instance metadata service refusing, off EC2)
/// is named in coldlink's own error when no credentials are found, and is
/// noise when a later provider succeeds; so is the metadata service's own
/// warning on an instance without a role. `RUST_LOG=aws_config=debug`
/// shows them.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(crate::logs::writer)
        // Colours for a terminal only: not in a file, a journal, or NO_COLOR.
        .with_ansi(io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new(
                        "warn,aws_config::meta::credentials::chain=error,aws_config::imds::credentials=error",
                    )
                })
                // The signer traces the requests it signs, headers and all:
                // never shown, whatever RUST_LOG asks for (--sigv4).
                .add_directive("aws_sigv4=off".parse().expect("a valid directive")),
        )
        .init();
}

fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let notes = commands::notes::for_command(&cli.command);
    // Probing commands write from their output thread; the others lock here.
    match cli.command {
        Command::Probe(args) => on_runtime(|cancel| async move {
            let (cfg, _lab) = prepare(
                || check_out(args.out.as_deref()),
                &args.lab,
                false,
                &notes,
                |lab| Ok(ProbeConfig::from_args(&args, lab.map(RunningLab::context))?),
            )
            .await?;
            commands::probe::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Run(args) => on_runtime(|cancel| async move {
            let (cfg, lab) = prepare(
                || check_out(args.out.as_deref()),
                &args.lab,
                args.quiet,
                &notes,
                |lab| Ok(RunConfig::from_args(&args, lab.map(RunningLab::context))?),
            )
            .await?;
            lab_segments(lab.as_ref(), cfg.xray_segments.as_ref()).await;
            commands::run::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Diagnose(args) => on_runtime(|cancel| async move {
            let (mut cfg, lab) = prepare(
                || DiagnoseConfig::check_before_start(&args),
                &args.lab,
                args.quiet,
                &notes,
                |lab| Ok(DiagnoseConfig::from_args(&args, lab.map(RunningLab::context))?),
            )
            .await?;
            let lab_metrics = match &lab {
                Some(l) => commands::diagnose::publish_lab_evidence(&l.lab, &mut cfg, &cancel).await,
                None => None,
            };
            commands::diagnose::run(cfg, Box::new(io::stdout()), cancel, lab_metrics).await
        }),
        Command::Watch(args) => on_runtime(|cancel| async move {
            let (cfg, _lab) = prepare(
                || check_out(args.out.as_deref()),
                &args.lab,
                false,
                &notes,
                |lab| Ok(WatchConfig::from_args(&args, lab.map(RunningLab::context))?),
            )
            .await?;
            commands::watch::run(cfg, cancel).await
        }),
        Command::Keepwarm(args) => on_runtime(|cancel| async move {
            let (cfg, lab) = prepare(
                || check_out(args.out.as_deref()),
                &args.lab,
                false,
                &notes,
                |lab| {
                    let mut cfg = KeepwarmConfig::from_args(&args, lab.map(RunningLab::context))?;
                    commands::keepwarm::read_idle_timer(&mut cfg, &args.from)?;
                    Ok(cfg)
                },
            )
            .await?;
            lab_segments(lab.as_ref(), cfg.xray_segments.as_ref()).await;
            // Not locked for the whole run: `--emf` writes to stdout from
            // the publishing thread, one whole interval per write.
            commands::keepwarm::run(cfg, &mut io::stdout(), cancel).await
        }),
        Command::Lab(args) => {
            on_runtime(
                |cancel| async move { commands::lab::run(&args, &mut io::stdout().lock(), cancel).await },
            )
        }
        Command::Report(args) => {
            commands::report::run(&args, &mut io::stdout().lock(), &mut crate::logs::stderr())
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "coldlink", &mut io::stdout().lock());
            Ok(Exit::Ok)
        }
        Command::Man(args) => commands::man::run(Cli::command(), &args, &mut io::stdout().lock()),
    }
}

/// `--xray-segments --lab`: the lab's gateway and app send their segments
/// where the probes send theirs, so that one trace holds them all.
async fn lab_segments(
    lab: Option<&RunningLab>,
    segments: Option<&crate::publish::xray_segments::XraySegments>,
) {
    if let (Some(lab), Some(cfg)) = (lab, segments) {
        lab.lab
            .publish_traces(crate::publish::xray_segments::client(cfg).await);
    }
}

/// Run `command` on one current-thread runtime (probes, their connections
/// and the consumer of records share a thread; see `probe::engine` for
/// why), with Ctrl-C and SIGTERM cancelling its token.
fn on_runtime<F, Fut>(command: F) -> anyhow::Result<Exit>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<Exit>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        crate::shutdown::install(cancel.clone());
        command(cancel).await
    })
}

/// The inputs that need no lab checked (`check`), the `--lab` started if
/// one is asked for, the configuration built against its profile, and
/// only then the lab announced; before the first probe, the credentials
/// of signed targets loaded and the families a `--ip-family both` name
/// does not resolve on dropped, each said on stderr when the command says
/// its notes (not with `-q`, nor from cron: `commands::notes`). The lab
/// runs as long as the returned handle lives.
async fn prepare<C: ProbeTargets>(
    check: impl FnOnce() -> Result<(), ConfigError>,
    lab: &LabOptions,
    quiet: bool,
    notes: &commands::notes::StartNotes,
    configure: impl FnOnce(Option<&RunningLab>) -> anyhow::Result<C>,
) -> anyhow::Result<(C, Option<RunningLab>)> {
    check()?;
    let lab = commands::lab::start_for(lab).await?;
    let mut cfg = configure(lab.as_ref())?;
    // --sigv4: credentials in hand before the first probe, or nothing is sent.
    commands::sigv4::load_credentials(cfg.probe_targets(), &mut notes.out()).await?;
    // The banner is progress on stderr: -q (run, diagnose) silences it.
    if !quiet {
        commands::lab::announce(lab.as_ref());
    }
    commands::dual_stack::drop_unresolved(&mut cfg, &mut notes.out()).await;
    if let Some(proxy) = &notes.proxy {
        crate::say!("{proxy}");
    }
    Ok((cfg, lab))
}

/// A write to stdout found its reader gone (`coldlink … | head`): the
/// reader has what it wanted, so the command ends quietly with 0. Only
/// a broken pipe that *is* the error counts: one that caused an error of
/// the tool's own (an `--out` FIFO whose reader went away) is reported,
/// with its flag, and exits 2.
fn stdout_closed(e: &anyhow::Error) -> bool {
    e.chain()
        .next()
        .and_then(|outer| outer.downcast_ref::<io::Error>())
        .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// An error and its causes, `: `-separated, each said once: a typed
/// error's message already names its cause where it reads best (often
/// mid-sentence: "--from r.ndjson: cannot read it: … (expected …)") and
/// still returns it as its `source()`; a cause it does not name (an
/// `anyhow` context's) is appended, as `{:#}` would.
struct Chain<'a>(&'a anyhow::Error);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut said = String::new();
        for cause in self.0.chain() {
            let text = cause.to_string();
            let text = text.trim_end();
            if said.is_empty() {
                said = text.to_string();
            } else if !said.contains(text) {
                said.push_str(": ");
                said.push_str(text);
            }
        }
        f.write_str(&said)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("--out x: cannot write there: {0}")]
    struct Names(#[source] io::Error);

    #[test]
    fn a_broken_pipe_is_stdout_closing_only_when_it_is_the_error() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(stdout_closed(&pipe().into()));
        assert!(!stdout_closed(&Names(pipe()).into()));
    }

    #[test]
    fn causes_are_said_once() {
        let named = anyhow::Error::from(Names(io::Error::other("disk full")));
        assert_eq!(
            Chain(&named).to_string(),
            "--out x: cannot write there: disk full"
        );
        let context = anyhow::Error::from(io::Error::other("disk full")).context("--dir d: cannot create it");
        assert_eq!(
            Chain(&context).to_string(),
            "--dir d: cannot create it: disk full"
        );
    }
}
