//! `diagnose --aws-config` in the command: the routes the run probed, the
//! read itself (read-only, `aws::path`), and in the lab the seeding of the
//! emulator that comes first.

use crate::aws::path::{self, PathConfig, PathQuery, ProbedRoute};
use crate::config::{is_execute_api_host, names_nothing, ConfigError, DiagnoseSource, PathConfigLookup};
use crate::diagnose::Dataset;

use super::progress::Progress;

/// Stored records (`--from`) under a profile that names nothing: the
/// records' URLs must give an execute-api host to start from. Checked
/// before anything is sent (a live run's targets were checked with the
/// configuration).
pub fn check_start(lookup: &PathConfigLookup, ds: &Dataset) -> Result<(), ConfigError> {
    let from_host = ds.targets.iter().any(|t| {
        url::Url::parse(&t.url)
            .ok()
            .and_then(|u| u.host_str().map(is_execute_api_host))
            .unwrap_or(false)
    });
    match names_nothing(&lookup.query) && !from_host {
        true => Err(ConfigError::NothingForAwsConfig {
            flag: lookup.asked_by.clone(),
        }),
        false => Ok(()),
    }
}

/// What the profile names, with the run's routes: one per target, its
/// method and URL as probed. Records do not keep the method: a target read
/// from them is taken as probed with GET, coldlink's default.
pub fn query(lookup: &PathConfigLookup, ds: &Dataset, source: &DiagnoseSource) -> PathQuery {
    let method = |name: &str| match source {
        DiagnoseSource::Live { targets, .. } => targets
            .iter()
            .find(|t| *t.name == *name)
            .map_or("GET".to_string(), |t| t.request.method.to_string()),
        DiagnoseSource::Records(_) => "GET".to_string(),
    };
    let mut query = lookup.query.clone();
    query.routes = ds
        .targets
        .iter()
        .map(|t| ProbedRoute {
            target: t.name.clone(),
            method: method(&t.name),
            url: t.url.clone(),
        })
        .collect();
    query
}

/// Read the path's configuration, with the seeding's notes first.
pub async fn read(lookup: &PathConfigLookup, query: &PathQuery, quiet: bool) -> PathConfig {
    let progress = Progress::new(quiet);
    progress.say("AWS config: reading the path's configuration (read-only)");
    let sdk = crate::aws::sdk_config(&lookup.aws, lookup.lab).await;
    let mut config = path::read(&sdk, query, &|line| progress.say(line)).await;
    with_notes_first(&mut config, &lookup.notes);
    config
}

/// The section of a read that Ctrl-C or SIGTERM ended.
pub fn stopped(lookup: &PathConfigLookup, why: &str) -> PathConfig {
    let mut config = PathConfig {
        notes: vec![why.to_string()],
        ..PathConfig::default()
    };
    with_notes_first(&mut config, &lookup.notes);
    config
}

fn with_notes_first(config: &mut PathConfig, notes: &[String]) {
    if !notes.is_empty() {
        let read = std::mem::take(&mut config.notes);
        config.notes = notes.iter().cloned().chain(read).collect();
    }
}

/// The lab's configuration into the emulator at `lookup.aws.endpoint`
/// (loopback: checked with the configuration). From then on the read
/// starts from the ARNs the emulator made; a seeding that fails is a note,
/// and the read goes on with what there is.
pub async fn seed_lab(
    lab: &crate::lab::Lab,
    lookup: &mut PathConfigLookup,
    quiet: bool,
    cancel: &tokio_util::sync::CancellationToken,
) {
    let progress = Progress::new(quiet);
    let endpoint = lookup.aws.endpoint.clone().unwrap_or_default();
    progress.say(format!(
        "AWS config: seeding the emulator at {endpoint} with the lab's configuration"
    ));
    let sdk = crate::aws::sdk_config(&lookup.aws, true).await;
    let path = lab.aws_path();
    let seeded = tokio::select! {
        seeded = crate::lab::aws_config::seed(&sdk, &path) => seeded,
        _ = cancel.cancelled() => Err("stopped (Ctrl-C or SIGTERM) while seeding".to_string()),
    };
    match seeded {
        Ok(seeded) => {
            if let Some(api) = lookup.query.rest_api.as_mut() {
                api.id = Some(seeded.rest_api_id);
            }
            // The emulator's ARN replaces the profile's name. On an ALB
            // path there is no NLB to read; the ALB is named here because
            // moto drops the integration's `integrationTarget`, the link
            // AWS itself gives to it.
            match seeded.alb {
                true => {
                    lookup.query.alb = Some(seeded.load_balancer_arn);
                    lookup.query.nlb = None;
                }
                false => lookup.query.nlb = Some(seeded.load_balancer_arn),
            }
            lookup.query.target_groups = vec![seeded.target_group_arn];
        }
        Err(e) => lookup
            .notes
            .push(format!("the lab could not seed the emulator at {endpoint}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProbeRecord, Timestamp};

    fn dataset(url: &str) -> Dataset {
        let record: ProbeRecord = serde_json::from_value(serde_json::json!({
            "v": 1, "target": "api", "url": url, "seq": 1,
            "at": Timestamp(std::time::SystemTime::now()),
            "scheduled_at": Timestamp(std::time::SystemTime::now()),
            "remote": null, "conn": null, "phases_ms": {}, "total_ms": 40.0,
            "status": 200, "http": null, "tls": null, "trace_id": null, "error": null,
        }))
        .unwrap();
        Dataset::from_records(&[record], &[], 1.0)
    }

    fn lookup() -> PathConfigLookup {
        PathConfigLookup {
            aws: crate::aws::AwsOptions::default(),
            query: PathQuery::default(),
            lab: false,
            notes: vec!["seeded".into()],
            asked_by: "--aws-config".into(),
        }
    }

    #[test]
    fn records_give_get_routes_and_may_start_from_an_execute_api_host() {
        let ds = dataset("https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod/orders");
        let lookup = lookup();
        assert!(check_start(&lookup, &ds).is_ok());
        let query = query(&lookup, &ds, &DiagnoseSource::Records(Vec::new()));
        assert_eq!(
            query.routes,
            [ProbedRoute {
                target: "api".into(),
                method: "GET".into(),
                url: "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod/orders".into(),
            }]
        );
        let elsewhere = dataset("https://api.example.com/orders");
        assert!(check_start(&lookup, &elsewhere).is_err());
    }

    #[test]
    fn the_seedings_notes_come_first() {
        let mut config = PathConfig {
            notes: vec!["read".into()],
            ..PathConfig::default()
        };
        with_notes_first(&mut config, &lookup().notes);
        assert_eq!(config.notes, ["seeded", "read"]);
        assert_eq!(stopped(&lookup(), "stopped").notes, ["seeded", "stopped"]);
    }
}
