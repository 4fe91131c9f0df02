//! `--ip-family both` on a name that resolves on one family only: that
//! family alone is probed, and a line on stderr says so (see
//! [`crate::probe::dual_stack::drop_unresolved`]).

use std::io::Write;

use crate::config::targets::ProbeTargets;
use crate::probe::dns::Dns;
use crate::probe::dual_stack;

/// Drop the `both` variants whose names have no address of their family,
/// before the first probe, and say which on `stderr`.
pub async fn drop_unresolved(cfg: &mut impl ProbeTargets, stderr: &mut dyn Write) {
    let Some((targets, settings)) = cfg.targets_and_settings() else {
        return;
    };
    // Nothing to ask DNS unless a target is probed on both families.
    if !dual_stack::probes_both(targets) {
        return;
    }
    let dns = Dns::new(settings.dns_server, settings.resolve.clone());
    let (kept, notes) =
        dual_stack::drop_unresolved(std::mem::take(targets), &dns, settings.timeouts.dns).await;
    *targets = kept;
    for note in notes {
        let _ = writeln!(stderr, "{note}");
    }
}
