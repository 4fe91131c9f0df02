use super::*;
use crate::aws::path::{RouteConfig, VpcLinkConfig};
use crate::diagnose::configured::fixtures;
use crate::probe::{ProbeRecord, TargetKind};

/// A probe of `target`, answered by an ALB's own page when `awselb`.
fn record(target: &str, seq: u64, awselb: bool) -> ProbeRecord {
    let mut r: ProbeRecord = serde_json::from_str(&format!(
        r#"{{"v":1,"target":"{target}","url":"https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders","seq":{seq},"at":"2026-11-22T00:00:00Z","scheduled_at":"2026-11-22T00:00:00Z","remote":null,"conn":null,"phases_ms":{{}},"total_ms":1.0,"status":200,"http":null,"tls":null,"trace_id":null,"error":null}}"#
    ))
    .unwrap();
    if awselb {
        r.status = Some(502);
        r.headers.insert("server".into(), "awselb/2.0".into());
    }
    r
}

/// Targets `api` and `other`; `api`'s third probe an ALB's 502 page when `awselb`.
fn dataset(awselb: bool) -> Dataset {
    let records: Vec<ProbeRecord> = (0..6)
        .map(|i| record(if i % 2 == 0 { "api" } else { "other" }, i, awselb && i == 2))
        .collect();
    let kinds = [
        ("api".to_string(), TargetKind::ExecuteApi),
        ("other".to_string(), TargetKind::ExecuteApi),
    ];
    Dataset::from_records(&records, &kinds, 1.0)
}

fn index(ds: &Dataset, name: &str) -> usize {
    ds.targets.iter().position(|t| t.name == name).unwrap()
}

fn hint(nlb: Option<&str>, alb: Option<&str>) -> PathHint {
    PathHint {
        nlb: nlb.map(str::to_string),
        alb: alb.map(str::to_string),
    }
}

/// The fixture's NLB path, its load balancer turned into an ALB.
fn alb_config() -> PathConfig {
    let mut c = fixtures::path();
    let lb = &mut c.load_balancers[0];
    lb.kind = "application".into();
    lb.name = "web".into();
    lb.arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/9f8e7d".into();
    c.vpc_links[0].version = "V2".into();
    c.vpc_links[0].target_arns.clear();
    c.rest_api.as_mut().unwrap().routes[0].integration_target = Some(lb.arn.clone());
    c
}

#[test]
fn nothing_known_is_unknown_and_says_nothing() {
    let ds = dataset(false);
    let r = resolve(&ds, &PathHint::default(), None);
    assert_eq!(r.paths, vec![TargetPath::default(); 2]);
    assert!(r.notes.is_empty());
}

#[test]
fn the_profile_names_one_load_balancer_for_every_target() {
    let ds = dataset(false);
    let r = resolve(&ds, &hint(None, Some("app/a/1")), None);
    let alb = TargetPath::new(PathKind::Alb, PathSource::Profile, Some("app/a/1".into()));
    assert_eq!(r.paths, vec![alb.clone(), alb]);
    let arn = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/n/2";
    let r = resolve(&ds, &hint(Some(arn), None), None);
    assert_eq!(
        r.paths[0],
        TargetPath::new(PathKind::Nlb, PathSource::Profile, Some("net/n/2".into()))
    );
}

#[test]
fn both_in_the_profile_leave_it_to_the_responses() {
    let r = resolve(&dataset(false), &hint(Some("net/n/2"), Some("app/a/1")), None);
    assert!(r.paths.iter().all(|p| p.kind == PathKind::Unknown));
    let ds = dataset(true);
    let r = resolve(&ds, &hint(Some("net/n/2"), Some("app/a/1")), None);
    assert_eq!(
        r.paths[index(&ds, "api")],
        TargetPath::new(PathKind::Alb, PathSource::Responses, Some("app/a/1".into()))
    );
    assert_eq!(r.paths[index(&ds, "other")].kind, PathKind::Unknown);
}

#[test]
fn an_albs_own_page_says_alb_for_its_target_only() {
    let ds = dataset(true);
    let r = resolve(&ds, &PathHint::default(), None);
    assert_eq!(
        r.paths[index(&ds, "api")],
        TargetPath::new(PathKind::Alb, PathSource::Responses, None)
    );
    assert_eq!(r.paths[index(&ds, "other")], TargetPath::default());
    assert!(r.notes.is_empty());
}

#[test]
fn the_profiles_nlb_is_kept_against_alb_pages_with_a_note() {
    let ds = dataset(true);
    let r = resolve(&ds, &hint(Some("net/n/2"), None), None);
    assert_eq!(r.paths[index(&ds, "api")].kind, PathKind::Nlb);
    assert_eq!(r.paths[index(&ds, "api")].from, Some(PathSource::Profile));
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    let note = &r.notes[0];
    assert!(
        note.contains("target api") && note.contains("NLB net/n/2"),
        "{note}"
    );
    assert!(
        note.contains("1 of its responses came from an ALB") && note.contains("disagree"),
        "{note}"
    );
}

#[test]
fn the_configuration_reads_the_route_to_its_nlb() {
    let ds = dataset(false);
    let c = fixtures::path();
    let r = resolve(&ds, &PathHint::default(), Some(&c));
    assert_eq!(
        r.paths[index(&ds, "api")],
        TargetPath::new(
            PathKind::Nlb,
            PathSource::Configuration,
            Some("net/edge-nlb/50dc6c495c0c9188".into())
        )
    );
}

#[test]
fn the_configuration_beats_the_profile_and_says_so() {
    let ds = dataset(false);
    let r = resolve(&ds, &hint(Some("net/n/2"), None), Some(&alb_config()));
    let api = &r.paths[index(&ds, "api")];
    assert_eq!(
        *api,
        TargetPath::new(
            PathKind::Alb,
            PathSource::Configuration,
            Some("app/web/9f8e7d".into())
        )
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("target api") && n.contains("the configuration is taken")),
        "{:?}",
        r.notes
    );
}

#[test]
fn the_configuration_beats_the_responses() {
    let ds = dataset(true);
    let r = resolve(&ds, &PathHint::default(), Some(&fixtures::path()));
    assert_eq!(r.paths[index(&ds, "api")].kind, PathKind::Nlb);
    assert!(
        r.notes.iter().any(|n| n.contains("configuration says")),
        "{:?}",
        r.notes
    );
}

#[test]
fn a_cloud_map_uri_is_cloud_map() {
    let ds = dataset(false);
    let mut c = fixtures::path();
    let api = c.rest_api.take().unwrap();
    c.http_api = Some(crate::aws::path::HttpApiConfig {
        id: "h1".into(),
        name: None,
        stage: None,
        routes: vec![RouteConfig {
            uri: Some("arn:aws:servicediscovery:eu-west-1:1:service/srv-abc".into()),
            connection_type: Some("VPC_LINK".into()),
            ..api.routes[0].clone()
        }],
    });
    c.vpc_links.clear();
    let r = resolve(&ds, &PathHint::default(), Some(&c));
    assert_eq!(
        r.paths[index(&ds, "api")],
        TargetPath::new(PathKind::CloudMap, PathSource::Configuration, None)
    );
}

#[test]
fn an_http_apis_listener_arn_names_its_load_balancer() {
    let ds = dataset(false);
    let mut c = fixtures::path();
    let route = &mut c.rest_api.as_mut().unwrap().routes[0];
    route.vpc_link_id = None;
    route.connection_id = None;
    route.uri = Some(fixtures::LISTENER_ARN.into());
    c.vpc_links = vec![VpcLinkConfig::default()];
    let r = resolve(&ds, &PathHint::default(), Some(&c));
    assert_eq!(r.paths[index(&ds, "api")].kind, PathKind::Nlb);
    assert_eq!(r.paths[index(&ds, "api")].from, Some(PathSource::Configuration));
}

#[test]
fn a_route_that_says_nothing_takes_the_one_kind_read() {
    // moto's REST integrations carry no link and no target.
    let ds = dataset(false);
    let mut c = alb_config();
    let route = &mut c.rest_api.as_mut().unwrap().routes[0];
    route.integration_target = None;
    route.vpc_link_id = None;
    route.connection_id = None;
    route.uri = Some("http://web.internal/orders".into());
    let r = resolve(&ds, &PathHint::default(), Some(&c));
    assert_eq!(r.paths[index(&ds, "api")].kind, PathKind::Alb);
    // A target no route was read for also goes to what was read.
    assert_eq!(r.paths[index(&ds, "other")].kind, PathKind::Alb);
    // With both kinds read, a route that says nothing is not guessed.
    c.load_balancers.push(fixtures::nlb());
    let r = resolve(&ds, &PathHint::default(), Some(&c));
    assert_eq!(r.paths[index(&ds, "api")].kind, PathKind::Unknown);
}

#[test]
fn words_name_the_hop_the_load_balancer_and_the_source() {
    let p = TargetPath::new(PathKind::Alb, PathSource::Configuration, Some("app/x/y".into()));
    assert_eq!(p.words(), "ALB app/x/y (configuration)");
    assert_eq!(
        TargetPath::new(PathKind::CloudMap, PathSource::Responses, None).words(),
        "Cloud Map service (responses)"
    );
}
