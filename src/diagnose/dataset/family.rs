//! A dataset cut down to one IP family, for the detectors to run on each
//! family of a dual-stack target by itself (`detect::family`).

use super::{Dataset, IpFamily};
use crate::records::Reuse;

impl Dataset {
    /// Per target: which families its probes went over (`[IPv4, IPv6]`).
    pub fn families(&self) -> Vec<[bool; 2]> {
        let mut seen = vec![[false; 2]; self.targets.len()];
        for s in &self.samples {
            if let Some(f) = s.family {
                seen[s.target as usize][slot(f)] = true;
            }
        }
        seen
    }

    /// The probes of `family` to the targets marked in `keep`, as a dataset
    /// of their own, and the index each had in this one. Time, quiet gaps
    /// and sessions stay as the whole run had them (the gateway behind both
    /// families is one, and so is its quiet); baselines are the family's own.
    pub fn only(&self, family: IpFamily, keep: &[bool]) -> (Dataset, Vec<usize>) {
        let kept: Vec<usize> = self
            .samples
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.family == Some(family) && keep.get(s.target as usize).copied().unwrap_or(false)
            })
            .map(|(i, _)| i)
            .collect();
        let mut ds = Dataset {
            targets: self.targets.clone(),
            samples: kept.iter().map(|&i| self.samples[i].clone()).collect(),
            remotes: self.remotes.clone(),
            pops: self.pops.clone(),
            vantages: self.vantages.clone(),
            sample_vantages: kept
                .iter()
                .filter_map(|&i| self.sample_vantages.get(i).copied())
                .collect(),
            syn: self.syn.clone(),
            scale: self.scale,
            t0: self.t0,
            baselines: Vec::new(),
            slow_override_ms: self.slow_override_ms,
            paths: self.paths.clone(),
            streams: self.streams.clone(),
            by_target: vec![Vec::new(); self.targets.len()],
        };
        for (i, s) in ds.samples.iter().enumerate() {
            ds.by_target[s.target as usize].push(i as u32);
        }
        ds.baselines = (0..ds.targets.len())
            .map(|t| Reuse::ALL.map(|kind| ds.compute_baseline(t as u16, kind)))
            .collect();
        (ds, kept)
    }
}

/// Where a family sits in [`Dataset::families`]' pairs.
pub fn slot(f: IpFamily) -> usize {
    match f {
        IpFamily::Ipv4 => 0,
        IpFamily::Ipv6 => 1,
    }
}
