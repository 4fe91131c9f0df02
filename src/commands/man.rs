//! `coldlink man`: manual pages from the clap definitions. The main page
//! lists one page per subcommand (`coldlink-probe(1)`, …), so those pages
//! are generated too, and the list names only pages that exist.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::CommandError;
use crate::cli::ManArgs;
use crate::exit::Exit;

/// Print one page, or write them all into `--dir`.
pub fn run(cli: clap::Command, args: &ManArgs, stdout: &mut impl Write) -> anyhow::Result<Exit> {
    let cli = pages(cli);
    if let Some(dir) = &args.dir {
        let (pages, man1) = write_all(cli, dir)?;
        crate::say!("coldlink man: wrote {pages} pages to {}", man1.display());
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
/// looks for them. Returns how many pages, and the folder.
fn write_all(cli: clap::Command, dir: &Path) -> Result<(usize, PathBuf), CommandError> {
    let dir = &dir.join("man1");
    let pages = page_count(&cli);
    let failed = |doing| {
        move |source| CommandError::ManDir {
            path: dir.to_path_buf(),
            doing,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(failed("cannot create it"))?;
    clap_mangen::generate_to(cli, dir).map_err(failed("cannot write the pages"))?;
    Ok((pages, dir.to_path_buf()))
}

/// The pages `clap_mangen::generate_to` writes: one for the command and
/// one for each subcommand that is not hidden, at every depth.
fn page_count(cmd: &clap::Command) -> usize {
    1 + cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(page_count)
        .sum::<usize>()
}
