//! The `coldlink` binary: parse, dispatch, exit code — nothing else.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use coldlink::cli::{Cli, Command};
use coldlink::commands;
use coldlink::config::{
    ConfigError, DiagnoseConfig, KeepwarmConfig, LabContext, ProbeConfig, RunConfig, WatchConfig, WatchLab,
};
use coldlink::exit::Exit;
use tokio_util::sync::CancellationToken;

// glibc's malloc took a fifth of the probe loop's instructions (many small,
// short-lived allocations per request in hyper and the record); mimalloc's
// thread-local free lists make them cheap. Measured in docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RECORD_READER_PURGE_DELAY_MS: std::ffi::c_long = 10;

/// mimalloc's `mi_option_purge_delay` (its header's enum; no Rust name yet).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Commands that read stored records give freed memory back after 10 ms
/// instead of a second: `diagnose --from` frees its parsing buffers in
/// bursts, and with the default its peak RSS over a million records was
/// 410–470 MB instead of about 300 MB (purging at once: 285 MB, but 0.2 s
/// slower). Probing commands keep the default: purging at once cost them
/// 12 % of their keep-alive throughput (docs/performance.md).
fn tune_allocator(command: &Command) {
    let reads_records = match command {
        Command::Diagnose(args) => !args.from.is_empty(),
        Command::Report(_) => true,
        _ => false,
    };
    if reads_records {
        // SAFETY: sets a plain integer option; mimalloc reads it when it purges.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, RECORD_READER_PURGE_DELAY_MS) };
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; everything else is bad input.
            return ExitCode::from(if e.use_stderr() { Exit::Error } else { Exit::Ok });
        }
    };
    tracing_subscriber::fmt()
        .with_writer(coldlink::logs::writer)
        // Colours for a terminal only: not in a file, a journal, or NO_COLOR.
        .with_ansi(io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    tune_allocator(&cli.command);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(Exit::Ok),
        Err(e) => {
            let _ = writeln!(io::stderr(), "coldlink: error: {e:#}");
            ExitCode::from(Exit::Error)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Exit> {
    // Probing commands write from their output thread; the others lock here.
    // A `--lab` is started silently and announced only once the command's
    // inputs are accepted: a refusal comes first, alone.
    match cli.command {
        Command::Probe(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            coldlink::config::check_out(args.out.as_deref())?;
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = ProbeConfig::from_args(&args, lab.as_ref().map(|l| &l.profile))?;
            commands::lab::announce(lab.as_ref());
            commands::probe::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Run(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            coldlink::config::check_out(args.out.as_deref())?;
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = RunConfig::from_args(&args, lab.as_ref().map(|l| l.profile_path.as_path()))?;
            commands::lab::announce(lab.as_ref());
            commands::run::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Diagnose(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            DiagnoseConfig::check_before_start(&args)?;
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = DiagnoseConfig::from_args(
                &args,
                lab.as_ref().map(|l| LabContext {
                    profile: &l.profile,
                    speed: l.lab.scenario.speed,
                    name: &l.lab.scenario.name,
                }),
            )?;
            commands::lab::announce(lab.as_ref());
            let lab_metrics = match &lab {
                Some(l) => commands::diagnose::publish_lab_evidence(&l.lab, &cfg).await,
                None => None,
            };
            commands::diagnose::run(cfg, Box::new(io::stdout()), cancel, lab_metrics).await
        }),
        Command::Watch(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            coldlink::config::check_out(args.out.as_deref())?;
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = WatchConfig::from_args(
                &args,
                lab.as_ref().map(|l| WatchLab {
                    profile: &l.profile,
                    speed: l.lab.scenario.speed,
                    name: &l.lab.scenario.name,
                }),
            )?;
            commands::lab::announce(lab.as_ref());
            commands::watch::run(cfg, cancel).await
        }),
        Command::Keepwarm(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            coldlink::config::check_out(args.out.as_deref())?;
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = KeepwarmConfig::from_args(&args, lab.as_ref().map(|l| &l.profile))?;
            commands::lab::announce(lab.as_ref());
            commands::keepwarm::run(cfg, &mut io::stdout().lock(), cancel).await
        }),
        Command::Lab(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            commands::lab::run(&args, &mut io::stdout().lock(), cancel).await
        }),
        Command::Report(args) => commands::report::run(&args, &mut io::stdout().lock(), &mut io::stderr()),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "coldlink", &mut io::stdout().lock());
            Ok(Exit::Ok)
        }
        Command::Man(args) => commands::man::run(Cli::command(), &args, &mut io::stdout().lock()),
    }
}

/// One current-thread runtime: probes, their connections and the consumer
/// of records share a thread (see `probe::engine` for why).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    }) && e.downcast_ref::<ConfigError>().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the option number against a mimalloc upgrade that renumbers
    /// its enum: the purge delay is the option whose default is 1000 ms.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(get(MI_OPTION_PURGE_DELAY), 1000, "default purge delay");
        let cli = Cli::try_parse_from(["coldlink", "probe", "http://127.0.0.1:1/"]).unwrap();
        tune_allocator(&cli.command);
        assert_eq!(
            get(MI_OPTION_PURGE_DELAY),
            1000,
            "a probing command keeps the delay"
        );
        let cli = Cli::try_parse_from(["coldlink", "diagnose", "--from", "r.ndjson"]).unwrap();
        tune_allocator(&cli.command);
        assert_eq!(get(MI_OPTION_PURGE_DELAY), RECORD_READER_PURGE_DELAY_MS);
    }
}
