//! Issue 18, §1: every finding speaks of the hop actually there. The same
//! random set-ups of several causes, diagnosed once with both targets on an
//! ALB path and once on an NLB path: no finding on the ALB path says "NLB",
//! none on the NLB path names the ALB's `idle_timeout.timeout_seconds`.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{random_path, run_plan, setup};
use coldlink::diagnose::report::{diagnose, Context};
use coldlink::diagnose::{Cause, Dataset, PathKind, PathSource, TargetPath};
use coldlink::probe::TargetKind;

/// Every finding's title, evidence and fixes, on a path of `kind`, and
/// the causes named.
fn words_on(records: &[coldlink::probe::ProbeRecord], kind: PathKind) -> (Vec<Cause>, String) {
    let kinds = [
        ("execute-api".to_string(), TargetKind::ExecuteApi),
        ("custom-domain".to_string(), TargetKind::CustomDomain),
    ];
    let mut ds = Dataset::from_records(records, &kinds, 1.0);
    ds.paths = vec![TargetPath::new(kind, PathSource::Profile, None); ds.targets.len()];
    let (report, _) = diagnose(&ds, &Context::default());
    let causes = report.findings.iter().map(|f| f.cause).collect();
    let text = report
        .findings
        .iter()
        .flat_map(|f| std::iter::once(&f.title).chain(&f.evidence).chain(&f.fix))
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    (causes, text)
}

#[test]
fn each_finding_names_the_hop_of_its_path_only() {
    let causes = [
        Cause::IdleTimeout,
        Cause::BadPath,
        Cause::KeepaliveRace,
        Cause::IntegrationTimeout,
        Cause::SlowBackend,
        Cause::SynLoss,
        Cause::Errors,
    ];
    let mut named = Vec::new();
    for cause in causes {
        for seed in 0..6u64 {
            let mut rng = StdRng::seed_from_u64(seed * 7919 + cause as u64);
            let (fault, sweep) = setup(cause, &mut rng);
            let records = run_plan(random_path(&mut rng, fault), seed, &sweep);
            let (found, alb) = words_on(&records, PathKind::Alb);
            assert!(!alb.contains("NLB"), "{cause} seed {seed} on an ALB path:\n{alb}");
            let (_, nlb) = words_on(&records, PathKind::Nlb);
            assert!(
                !nlb.contains("idle_timeout.timeout_seconds"),
                "{cause} seed {seed} on an NLB path:\n{nlb}"
            );
            named.extend(found);
        }
    }
    // The set-ups did raise the findings whose words are checked.
    for cause in causes {
        assert!(named.contains(&cause), "no {cause} finding was raised");
    }
}
