//! The `coldlink` binary: parse, dispatch, exit code — nothing else.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use coldlink::cli::{Cli, Command};
use coldlink::commands::{self, exit};
use coldlink::config::{ConfigError, DiagnoseConfig, LabContext, ProbeConfig, RunConfig};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; everything else is bad input.
            return ExitCode::from(if e.use_stderr() { exit::ERROR } else { exit::OK });
        }
    };
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            let _ = writeln!(io::stderr(), "coldlink: error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    // Probing commands write from their output thread; the others lock here.
    match cli.command {
        Command::Probe(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = ProbeConfig::from_args(&args, lab.as_ref().map(|l| &l.profile))?;
            commands::probe::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Run(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = RunConfig::from_args(&args, lab.as_ref().map(|l| l.profile_path.as_path()))?;
            commands::run::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Diagnose(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            let lab = commands::lab::start_for(&args.lab).await?;
            let cfg = DiagnoseConfig::from_args(
                &args,
                lab.as_ref().map(|l| LabContext {
                    profile: &l.profile,
                    speed: l.lab.scenario.speed,
                    name: &l.lab.scenario.name,
                }),
            )?;
            // The lab's gateway sends its X-Ray segments where --xray looks.
            if let (Some(l), Some(lookup)) = (&lab, &cfg.xray) {
                l.lab
                    .publish_traces(commands::diagnose::xray_client(lookup).await);
            }
            commands::diagnose::run(cfg, Box::new(io::stdout()), cancel).await
        }),
        Command::Lab(args) => runtime()?.block_on(async {
            let cancel = CancellationToken::new();
            coldlink::shutdown::install(cancel.clone());
            commands::lab::run(&args, &mut io::stdout().lock(), cancel).await
        }),
        Command::Report(args) => commands::report::run(&args, &mut io::stdout().lock(), &mut io::stderr()),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "coldlink", &mut io::stdout().lock());
            Ok(exit::OK)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut io::stdout().lock())?;
            Ok(exit::OK)
        }
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
