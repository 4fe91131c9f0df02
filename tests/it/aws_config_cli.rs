//! `diagnose --aws-config` as a user runs it: the inputs it refuses (exit
//! 2, before anything is sent), stored records read against moto's server
//! seeded with the lab's configuration, and the lab end to end
//! (`--lab … --aws-config --aws-endpoint MOTO`, which seeds moto first).

use std::time::SystemTime;

use coldlink::lab::aws_config::{seed, Balancer, LabPath};
use coldlink::lab::cloudwatch::AwsNames;
use coldlink::probe::Timestamp;

use crate::common::aws_diagnose::{diagnose, report};
use crate::common::moto::Moto;
use crate::common::record::probe_record;

/// A record file of a few fast 200s from `url`.
fn records(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("run.ndjson");
    let mut text = String::new();
    for seq in 1..=5 {
        let r = coldlink::probe::ProbeRecord {
            target: "api".into(),
            url: url.into(),
            seq,
            at: Timestamp(SystemTime::now()),
            scheduled_at: Timestamp(SystemTime::now()),
            status: Some(200),
            total_ms: 40.0,
            ..probe_record()
        };
        text.push_str(&serde_json::to_string(&r).unwrap());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn profile(dir: &std::path::Path, aws: &str) -> std::path::PathBuf {
    let path = dir.join("p.toml");
    std::fs::write(
        &path,
        format!("[[target]]\nname = \"api\"\nurl = \"https://api.example.com/\"\n\n[aws]\n{aws}\n"),
    )
    .unwrap();
    path
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn aws_config_with_nothing_to_start_from_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let from = records(dir.path(), "https://api.example.com/orders");
    let no_names = profile(dir.path(), "config = true");
    let by_profile = format!(
        "{}: [aws] config = true needs to know where to start",
        no_names.display()
    );
    for (args, asked) in [
        (
            vec!["https://api.example.com/", "--aws-config"],
            "--aws-config needs to know where to start",
        ),
        // [aws] config = true is --aws-config, and the error says which asked.
        (vec!["--profile", no_names.to_str().unwrap()], by_profile.as_str()),
        // The records' URLs are no execute-api host either.
        (
            vec!["--from", from.to_str().unwrap(), "--aws-config"],
            "--aws-config needs to know where to start",
        ),
    ] {
        let out = diagnose(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(asked), "{args:?}: {err}");
        assert!(err.contains("alb = \"app/NAME/ID\""), "{args:?}: {err}");
    }
}

#[test]
fn aws_flags_are_for_aws_config_too() {
    let out = diagnose(&["https://api.example.com/", "--aws-endpoint", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("add --xray, --cloudwatch or --aws-config"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lab_aws_config_needs_a_loopback_endpoint() {
    let out = diagnose(&["--lab", "healthy", "--aws-config"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--aws-config with --lab needs --aws-endpoint URL"),
        "{err}"
    );

    let out = diagnose(&[
        "--lab",
        "healthy",
        "--aws-config",
        "--aws-endpoint",
        "http://10.0.0.1:5000",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--aws-endpoint http://10.0.0.1:5000: the lab seeds an emulator")
            && err.contains("must be on loopback"),
        "{err}"
    );
}

#[test]
fn elb_names_of_the_wrong_shape_exit_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for (aws, key, line, value, expected) in [
        ("nlb = \"my-nlb\"", "aws.nlb", 6, "my-nlb", "net/NAME/ID"),
        (
            "alb = \"net/my-nlb/1a2b\"",
            "aws.alb",
            6,
            "net/my-nlb/1a2b",
            "app/NAME/ID",
        ),
        (
            "nlb = \"net/a/1\"\ntarget_groups = [\"net/a/1\"]",
            "aws.target_groups",
            7,
            "net/a/1",
            "targetgroup/NAME/ID",
        ),
        (
            "nlb = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1\"",
            "aws.nlb",
            6,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1",
            "net/NAME/ID",
        ),
    ] {
        let p = profile(dir.path(), aws);
        let out = diagnose(&["--profile", p.to_str().unwrap(), "--aws-config"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{aws}: {err}");
        let head = format!("{}:{line}: {key}: \"{value}\" is not", p.display());
        assert!(err.contains(&head), "{aws}: wanted {head:?} in {err}");
        assert!(err.contains(&format!("expected \"{expected}\"")), "{aws}: {err}");
        assert!(
            err.contains("arn:aws:elasticloadbalancing:REGION:ACCOUNT:"),
            "{aws}: {err}"
        );
    }
    // Both shapes of each are accepted.
    let p = profile(
        dir.path(),
        "nlb = \"net/my-nlb/50dc6c495c0c9188\"\nalb = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188\"\ntarget_groups = [\"targetgroup/tg/73e2d6bc24d8a067\"]",
    );
    let loaded = coldlink::config::Profile::load(&p);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

/// The lab's configuration, seeded into moto by the lab's own seeding.
async fn seeded(moto: &Moto, timeout_ms: u64) -> coldlink::lab::aws_config::Seeded {
    let sdk = coldlink::aws::sdk_config(
        &coldlink::aws::AwsOptions {
            endpoint: Some(moto.endpoint.clone()),
            profile: None,
            region: Some("us-east-1".into()),
        },
        true,
    )
    .await;
    let path = LabPath {
        names: AwsNames::new(),
        stage: "test".into(),
        resource: "header".into(),
        integration_timeout_ms: timeout_ms,
        balancer: Balancer::Nlb {
            idle_timeout_s: Some(350),
        },
        response_transfer_mode: None,
        backend_ports: vec![8081, 8082],
        custom_domain: "api.lab.test".into(),
    };
    seed(&sdk, &path)
        .await
        .expect("moto takes the lab's configuration")
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_config_reads_stored_records_against_moto() {
    let moto = Moto::start();
    let seeded = seeded(&moto, 12_000).await;
    let dir = tempfile::tempdir().unwrap();
    let from = records(
        dir.path(),
        "https://abc123.execute-api.us-east-1.amazonaws.com/test/header",
    );
    // Where to start: the API by id, and the target group (moto says `app`
    // in every load balancer's ARN, so the NLB is found through the link).
    let p = profile(
        dir.path(),
        &format!(
            "region = \"us-east-1\"\nrest_api = {{ name = \"lab\", id = \"{}\", stage = \"test\" }}\ntarget_groups = [\"{}\"]",
            seeded.rest_api_id, seeded.target_group_arn
        ),
    );
    let endpoint = moto.endpoint.clone();
    let out = tokio::task::spawn_blocking(move || {
        diagnose(&[
            "--from",
            from.to_str().unwrap(),
            "--profile",
            p.to_str().unwrap(),
            "--aws-config",
            "--aws-endpoint",
            &endpoint,
            "--region",
            "us-east-1",
            "--format",
            "json",
        ])
    })
    .await
    .unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    let r = report(&out);
    let config = &r["aws"]["config"];
    assert!(config.is_object(), "no aws.config: {}", r["aws"]);
    let route = &config["rest_api"]["routes"][0];
    assert_eq!(route["route"], "GET /header", "{config}");
    assert_eq!(
        route["timeout_ms"], 12_000,
        "the seeded timeoutInMillis: {config}"
    );
    assert_eq!(route["targets"][0], "api", "{config}");
    let lb = &config["load_balancers"][0];
    assert_eq!(lb["kind"], "network", "{config}");
    let listener = &lb["listeners"][0];
    assert_eq!(
        listener["attributes"]["tcp.idle_timeout.seconds"], "350",
        "{config}"
    );
    assert_eq!(
        lb["target_groups"][0]["arn"],
        seeded.target_group_arn.as_str(),
        "{config}"
    );
    assert_eq!(
        lb["target_groups"][0]["targets"].as_array().map(Vec::len),
        Some(2),
        "{config}"
    );
    let notes = config["notes"].to_string();
    assert!(!notes.contains("could not"), "nothing failed: {notes}");
    // Issue 18: the target's path is the NLB the configuration read (the
    // profile names none), under its `net/` name although moto's ARN says `app/`.
    let path = &r["targets"][0]["path"];
    assert_eq!(path["kind"], "nlb", "{path}");
    assert_eq!(path["from"], "configuration", "{path}");
    assert!(
        path["load_balancer"]
            .as_str()
            .is_some_and(|n| n.starts_with("net/")),
        "{path}"
    );
}

/// The whole loop on a laptop: the lab seeds moto with its scenario's
/// configuration (here an integration timeout of 12 s), diagnose reads it
/// back, and the finding cites it. Needs the read (`aws::path::read`) and
/// the findings' citations: fails on the stub read.
#[tokio::test(flavor = "multi_thread")]
async fn lab_integration_timeout_names_the_configured_timeout() {
    let moto = Moto::start();
    let endpoint = moto.endpoint.clone();
    let out = tokio::task::spawn_blocking(move || {
        diagnose(&[
            "--lab",
            "integration-timeout",
            "--set",
            "gateway.integration_timeout=12s",
            "--quick",
            "--aws-config",
            "--aws-endpoint",
            &endpoint,
            "--format",
            "json",
        ])
    })
    .await
    .unwrap();
    let r = report(&out);
    let config = &r["aws"]["config"];
    let notes = &config["notes"];
    assert!(
        !notes.to_string().contains("could not seed"),
        "the lab seeds moto: {notes}"
    );
    let routes = config["rest_api"]["routes"]
        .as_array()
        .unwrap_or_else(|| panic!("no aws.config.rest_api.routes: {config}\n{}", stderr(&out)));
    assert!(
        routes.iter().any(|route| route["timeout_ms"] == 12_000),
        "the route's timeoutInMillis as seeded: {config}"
    );
    assert_eq!(r["verdict"], "integration-timeout", "{}", stderr(&out));
    let finding = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "integration-timeout")
        .expect("the integration-timeout finding");
    assert!(
        finding.to_string().contains("12000"),
        "the finding names the configured timeoutInMillis: {finding}"
    );
}

/// What the lab's seeding leaves in moto, read back with the SDK: the
/// values `--aws-config` is to report.
#[tokio::test(flavor = "multi_thread")]
async fn the_lab_seeding_is_what_moto_then_holds() {
    let moto = Moto::start();
    let seeded = seeded(&moto, 12_000).await;
    let sdk = coldlink::aws::sdk_config(
        &coldlink::aws::AwsOptions {
            endpoint: Some(moto.endpoint.clone()),
            profile: None,
            region: Some("us-east-1".into()),
        },
        true,
    )
    .await;
    let api = aws_sdk_apigateway::Client::new(&sdk);
    assert_eq!(seeded.rest_api_id, "abc123", "the lab's execute-api id");
    let stage = api
        .get_stage()
        .rest_api_id("abc123")
        .stage_name("test")
        .send()
        .await
        .unwrap();
    assert!(stage.tracing_enabled());
    assert_eq!(
        stage.variables().and_then(|v| v.get("vpcLinkId")),
        Some(&seeded.vpc_link_id)
    );
    let resources = api.get_resources().rest_api_id("abc123").send().await.unwrap();
    let header = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/header"))
        .expect("the probed resource");
    let integration = api
        .get_integration()
        .rest_api_id("abc123")
        .resource_id(header.id().unwrap())
        .http_method("GET")
        .send()
        .await
        .unwrap();
    assert_eq!(integration.timeout_in_millis(), 12_000);
    assert_eq!(
        integration.connection_type().map(|c| c.as_str()),
        Some("VPC_LINK")
    );
    let link = api
        .get_vpc_link()
        .vpc_link_id(&seeded.vpc_link_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        link.target_arns(),
        std::slice::from_ref(&seeded.load_balancer_arn)
    );
    let mappings = api
        .get_base_path_mappings()
        .domain_name("api.lab.test")
        .send()
        .await
        .unwrap();
    assert!(mappings.items().iter().any(|m| m.rest_api_id() == Some("abc123")));

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lb = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(&seeded.load_balancer_arn)
        .send()
        .await
        .unwrap();
    let cross_zone = lb
        .attributes()
        .iter()
        .find(|a| a.key() == Some("load_balancing.cross_zone.enabled"))
        .and_then(|a| a.value());
    assert_eq!(cross_zone, Some("false"));
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&seeded.load_balancer_arn)
        .send()
        .await
        .unwrap();
    let listener = &listeners.listeners()[0];
    assert_eq!(listener.protocol().map(|p| p.as_str()), Some("TCP"));
    let attrs = elb
        .describe_listener_attributes()
        .listener_arn(listener.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let idle = attrs
        .attributes()
        .iter()
        .find(|a| a.key() == Some("tcp.idle_timeout.seconds"))
        .and_then(|a| a.value());
    assert_eq!(idle, Some("350"));
    let health = elb
        .describe_target_health()
        .target_group_arn(&seeded.target_group_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.target_health_descriptions().len(),
        2,
        "one target per backend"
    );
}

/// No region anywhere but in the probed execute-api host: the read asks
/// that region (the call then fails on the closed endpoint, not for want
/// of a region).
#[test]
fn the_region_comes_from_the_probed_execute_api_host() {
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let host = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coldlink"))
        .args(["diagnose", "--quick", "-q", "--format", "json", "--aws-config"])
        .args(["--aws-endpoint", &format!("http://127.0.0.1:{closed}")])
        .args(["--resolve", &format!("{host}:443:127.0.0.1")])
        .arg(format!("https://{host}:{closed}/prod/orders"))
        .env_clear()
        .env("HOME", dir.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    let r = report(&out);
    let notes = r["aws"]["config"]["notes"].to_string();
    assert!(!notes.contains("region"), "a region was found: {notes}");
    assert!(notes.contains("could not reach AWS"), "{notes}");
}

/// `rest_api` by its id alone is enough for --aws-config; with neither id
/// nor name it names nothing (exit 2, the key); --cloudwatch needs the name.
#[test]
fn rest_api_by_id_alone() {
    let dir = tempfile::tempdir().unwrap();
    let by_id = profile(dir.path(), "rest_api = { id = \"abc123\", stage = \"test\" }");
    assert!(coldlink::config::Profile::load(&by_id).is_ok());
    let out = diagnose(&["--profile", by_id.to_str().unwrap(), "--cloudwatch", "--quick"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("add name = \"…\" to [aws] rest_api"),
        "{}",
        stderr(&out)
    );
    let unnamed = profile(dir.path(), "rest_api = { stage = \"test\" }");
    let err = coldlink::config::Profile::load(&unnamed).unwrap_err().to_string();
    assert!(
        err.contains("aws.rest_api: rest_api names no API: give its id, its name or both"),
        "{err}"
    );
}
