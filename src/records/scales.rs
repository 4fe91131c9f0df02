//! Which time scale the records are on. A lab run's records hold measured
//! times and its speed (the scenario's times are `speed` times longer);
//! real probes' times are the scenario's. Records of lab runs at two
//! speeds, or of a lab run beside real probes, share no scale: one
//! summary or diagnosis of them would read every time with the first
//! run's speed. Lab runs of two scenarios at one speed share a scale but
//! not their targets: each scenario names its targets alike (`gateway`,
//! …), so one summary or diagnosis would merge two labs' targets under
//! one scenario's name. `diagnose --from` and `report` both refuse them
//! from here; one scenario at one speed over several files (several runs)
//! is read as one.

use std::path::{Path, PathBuf};

use crate::probe::LabRun;

/// The first lab run the records name, the first of another scenario or
/// speed beside it, and the first real probe: enough to tell whether they mix scales,
/// and which runs (and files, when told) do.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TimeScales {
    lab: Option<Seen>,
    other_lab: Option<Seen>,
    /// Where the first record without `lab` (a real probe) was seen.
    plain: Option<Option<PathBuf>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    run: LabRun,
    file: Option<PathBuf>,
}

impl TimeScales {
    /// One record's lab run (`None`: a real probe), read from `file` if
    /// the caller knows it. Allocates only for a run not seen before.
    pub fn saw(&mut self, lab: Option<(&str, f64)>, file: Option<&Path>) {
        let Some((scenario, speed)) = lab else {
            if self.plain.is_none() {
                self.plain = Some(file.map(Path::to_path_buf));
            }
            return;
        };
        let seen = || Seen {
            run: LabRun {
                scenario: scenario.to_string(),
                speed,
            },
            file: file.map(Path::to_path_buf),
        };
        match &self.lab {
            None => self.lab = Some(seen()),
            Some(first)
                if (speed != first.run.speed || scenario != first.run.scenario)
                    && self.other_lab.is_none() =>
            {
                self.other_lab = Some(seen())
            }
            _ => {}
        }
    }

    /// Take in what another reader saw (records read on another thread).
    pub fn absorb(&mut self, other: TimeScales) {
        if let Some(file) = other.plain {
            if self.plain.is_none() {
                self.plain = Some(file);
            }
        }
        for seen in [other.lab, other.other_lab].into_iter().flatten() {
            self.saw(Some((&seen.run.scenario, seen.run.speed)), seen.file.as_deref());
        }
    }

    /// The first lab run the records came from: their times are measured,
    /// the scenario's are `speed` times longer.
    pub fn lab(&self) -> Option<&LabRun> {
        self.lab.as_ref().map(|s| &s.run)
    }

    /// Records that cannot be read as one run, said with why: lab runs at
    /// two speeds, or a lab run's records with real ones (no one time
    /// scale), or lab runs of two scenarios (their targets would merge).
    /// `None` when they can.
    pub fn mixed(&self) -> Option<String> {
        let file = |f: &Option<PathBuf>| {
            f.as_ref()
                .map_or(String::new(), |f| format!(" in {}", f.display()))
        };
        match (&self.lab, &self.other_lab) {
            (Some(a), Some(b)) => {
                // In one order whichever thread read which file first
                // (`diagnose --from` reads on every core): slower first,
                // then by scenario and file.
                let key = |s: &Seen| (s.run.speed, s.run.scenario.clone(), s.file.clone());
                let (a, b) = if key(a).partial_cmp(&key(b)).is_some_and(|o| o.is_le()) {
                    (a, b)
                } else {
                    (b, a)
                };
                let runs = format!(
                    "{} at {}{}, {} at {}{}",
                    a.run.scenario,
                    a.run.speed,
                    file(&a.file),
                    b.run.scenario,
                    b.run.speed,
                    file(&b.file)
                );
                Some(if a.run.speed != b.run.speed {
                    format!("lab runs at different speeds ({runs}): their times cannot be read on one scale")
                } else {
                    format!("lab runs of different scenarios ({runs}): their targets, named alike, would merge")
                })
            }
            (Some(a), None) => self.plain.as_ref().map(|plain| {
                format!(
                    "a lab run ({} at speed {}{}) and real probes (records without `lab`{}): their times cannot be read on one scale",
                    a.run.scenario,
                    a.run.speed,
                    file(&a.file),
                    plain
                        .as_ref()
                        .map_or(String::new(), |f| format!(", in {}", f.display()))
                )
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scenario_at_one_speed_is_one_and_real_probes_alone_are_one() {
        let mut s = TimeScales::default();
        s.saw(Some(("bad-path", 10.0)), Some(Path::new("a.ndjson")));
        s.saw(Some(("bad-path", 10.0)), Some(Path::new("b.ndjson")));
        assert_eq!(s.mixed(), None);
        assert_eq!(s.lab().map(|l| l.speed), Some(10.0));
        let mut real = TimeScales::default();
        real.saw(None, None);
        assert_eq!(real.mixed(), None);
        assert_eq!(real.lab(), None);
    }

    #[test]
    fn two_speeds_or_lab_and_real_are_named_with_their_files() {
        // In one order, whichever was seen first.
        let mut late = TimeScales::default();
        late.saw(Some(("keepalive-race", 10.0)), Some(Path::new("b.ndjson")));
        late.saw(Some(("bad-path", 10.0)), Some(Path::new("a.ndjson")));
        let mut early = TimeScales::default();
        early.saw(Some(("bad-path", 10.0)), Some(Path::new("a.ndjson")));
        early.saw(Some(("keepalive-race", 10.0)), Some(Path::new("b.ndjson")));
        assert_eq!(late.mixed(), early.mixed());

        let mut s = TimeScales::default();
        s.saw(Some(("bad-path", 10.0)), Some(Path::new("a.ndjson")));
        s.saw(Some(("bad-path", 20.0)), Some(Path::new("b.ndjson")));
        s.saw(Some(("bad-path", 40.0)), Some(Path::new("c.ndjson")));
        assert_eq!(
            s.mixed().as_deref(),
            Some("lab runs at different speeds (bad-path at 10 in a.ndjson, bad-path at 20 in b.ndjson): their times cannot be read on one scale")
        );
        let mut two = TimeScales::default();
        two.saw(Some(("bad-path", 10.0)), Some(Path::new("a.ndjson")));
        two.saw(Some(("keepalive-race", 10.0)), Some(Path::new("b.ndjson")));
        assert_eq!(
            two.mixed().as_deref(),
            Some("lab runs of different scenarios (bad-path at 10 in a.ndjson, keepalive-race at 10 in b.ndjson): their targets, named alike, would merge")
        );
        let mut other_thread = TimeScales::default();
        other_thread.saw(None, Some(Path::new("real.ndjson")));
        let mut lab = TimeScales::default();
        lab.saw(Some(("bad-path", 10.0)), None);
        lab.absorb(other_thread);
        assert_eq!(
            lab.mixed().as_deref(),
            Some("a lab run (bad-path at speed 10) and real probes (records without `lab`, in real.ndjson): their times cannot be read on one scale")
        );
    }
}
