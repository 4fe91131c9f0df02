//! Per-target aggregates split by IP family: what `report` shows beside a
//! target's own summary when its records went over both IPv4 and IPv6.

use super::summary::TargetStats;
use crate::probe::{IpFamily, ProbeRecord};

/// Per target (in the order targets first appeared), one [`TargetStats`]
/// per family; records of no known family are left out.
#[derive(Debug, Clone, Default)]
pub struct FamilyStats {
    targets: Vec<(String, [Option<TargetStats>; 2])>,
}

impl FamilyStats {
    pub fn record(&mut self, family: IpFamily, r: &ProbeRecord) {
        let i = match self.targets.iter().position(|(t, _)| **t == *r.target) {
            Some(i) => i,
            None => {
                self.targets.push((r.target.to_string(), [None, None]));
                self.targets.len() - 1
            }
        };
        self.targets[i].1[slot(family)]
            .get_or_insert_with(|| TargetStats::new(&r.target, &r.url))
            .record(r);
    }

    /// The target's IPv4 and IPv6 aggregates, when it has both.
    pub fn dual(&self, target: &str) -> Option<[(IpFamily, &TargetStats); 2]> {
        let (_, [v4, v6]) = self.targets.iter().find(|(t, _)| t == target)?;
        Some([(IpFamily::Ipv4, v4.as_ref()?), (IpFamily::Ipv6, v6.as_ref()?)])
    }

    /// Some target went over both families.
    pub fn any_dual(&self) -> bool {
        self.targets.iter().any(|(_, [a, b])| a.is_some() && b.is_some())
    }
}

fn slot(f: IpFamily) -> usize {
    match f {
        IpFamily::Ipv4 => 0,
        IpFamily::Ipv6 => 1,
    }
}
