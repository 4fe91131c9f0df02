//! What `run::prepare` asks of every probing command's configuration
//! before the first probe: the targets, to load their SigV4 credentials
//! and to drop the IP families a `--ip-family both` name does not resolve
//! on, and the settings their DNS uses.

use crate::probe::{ProbeSettings, Target};

/// A command's configuration, asked for the targets it will probe:
/// their credentials are loaded, and with `--ip-family both` the families
/// their names do not resolve on dropped, before the first probe is sent.
pub trait ProbeTargets {
    fn probe_targets(&self) -> &[Target];
    /// The targets, to drop from, and the settings their DNS uses; `None`
    /// when nothing is probed (`diagnose --from`).
    fn targets_and_settings(&mut self) -> Option<(&mut Vec<Target>, &ProbeSettings)>;
}

impl ProbeTargets for super::ProbeConfig {
    fn probe_targets(&self) -> &[Target] {
        &self.targets
    }
    fn targets_and_settings(&mut self) -> Option<(&mut Vec<Target>, &ProbeSettings)> {
        Some((&mut self.targets, &self.settings))
    }
}

impl ProbeTargets for super::RunConfig {
    fn probe_targets(&self) -> &[Target] {
        &self.targets
    }
    fn targets_and_settings(&mut self) -> Option<(&mut Vec<Target>, &ProbeSettings)> {
        Some((&mut self.targets, &self.settings))
    }
}

impl ProbeTargets for super::DiagnoseConfig {
    fn probe_targets(&self) -> &[Target] {
        match &self.source {
            super::DiagnoseSource::Live { targets, .. } => targets,
            super::DiagnoseSource::Records(_) => &[],
        }
    }
    fn targets_and_settings(&mut self) -> Option<(&mut Vec<Target>, &ProbeSettings)> {
        match &mut self.source {
            super::DiagnoseSource::Live {
                targets, settings, ..
            } => Some((targets, settings)),
            super::DiagnoseSource::Records(_) => None,
        }
    }
}

impl ProbeTargets for super::WatchConfig {
    fn probe_targets(&self) -> &[Target] {
        &self.targets
    }
    fn targets_and_settings(&mut self) -> Option<(&mut Vec<Target>, &ProbeSettings)> {
        Some((&mut self.targets, &self.settings))
    }
}

impl ProbeTargets for super::KeepwarmConfig {
    fn probe_targets(&self) -> &[Target] {
        &self.targets
    }
    fn targets_and_settings(&mut self) -> Option<(&mut Vec<Target>, &ProbeSettings)> {
        Some((&mut self.targets, &self.settings))
    }
}
