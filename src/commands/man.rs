//! `coldlink man`: manual pages from the clap definitions. The main page
//! lists one page per subcommand (`coldlink-probe(1)`, …), so those pages
//! are generated too, and the list names only pages that exist.

use std::io::Write;
use std::path::Path;

use super::CommandError;
use crate::cli::ManArgs;
use crate::exit::Exit;

/// Print one page, or write them all into `--dir`.
pub fn run(cli: clap::Command, args: &ManArgs, stdout: &mut impl Write) -> anyhow::Result<Exit> {
    let cli = pages(cli);
    if let Some(dir) = &args.dir {
        write_all(cli, dir)?;
        return Ok(Exit::Ok);
    }
    let page = match &args.page {
        None => cli,
        Some(name) => cli
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| CommandError::NoSuchPage {
                name: name.clone(),
                names: cli.get_subcommands().map(|c| c.get_name().to_string()).collect(),
            })?,
    };
    clap_mangen::Man::new(page).render(stdout)?;
    Ok(Exit::Ok)
}

/// The command as its pages describe it: without clap's `help` subcommand,
/// which would be listed as `coldlink-help(1)` but has no page of its own
/// (`--help` on every page says the same), and built, so that subcommands
/// carry their full names (`coldlink-probe`).
fn pages(cli: clap::Command) -> clap::Command {
    let mut cli = cli.disable_help_subcommand(true);
    cli.build();
    cli
}

/// `coldlink.1` and `coldlink-SUBCOMMAND.1` for each subcommand, in
/// `dir/man1`: the section's folder, where `MANPATH=dir man coldlink`
/// looks for them.
fn write_all(cli: clap::Command, dir: &Path) -> Result<(), CommandError> {
    let dir = &dir.join("man1");
    let failed = |doing| {
        move |source| CommandError::ManDir {
            path: dir.to_path_buf(),
            doing,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(failed("cannot create it"))?;
    clap_mangen::generate_to(cli, dir).map_err(failed("cannot write the pages"))
}
