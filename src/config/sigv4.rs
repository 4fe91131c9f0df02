//! `--sigv4`, resolved per target: whether it is signed, for which service
//! and region, and with whose credentials. Settings: the flags over a
//! `[[target]]`'s `sigv4` / `sigv4_service` over `[connection]`'s. The
//! region comes from the host when it names one (`{api}.execute-api.{region}.amazonaws.com`,
//! a VPC endpoint's `vpce-….execute-api.{region}.vpce.amazonaws.com`, a
//! function URL's `{id}.lambda-url.{region}.on.aws`), else `--region`, else
//! the profile's `[aws] region`; else the target is refused, naming both.

use std::sync::Arc;

use super::error::ConfigError;
use super::file::AwsEntry;
use super::layer::Connection;
use crate::probe::sigv4::{Keys, Scope};
use crate::probe::Target;

/// API Gateway's service name, the default.
pub const EXECUTE_API: &str = "execute-api";

/// One target's signing settings, layered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub sign: bool,
    pub service: Option<String>,
}

/// Whose credentials (`--aws-profile`, else the profile's `[aws] profile`)
/// and the region when the host does not say one (`--region`, else
/// `[aws] region`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsIdentity {
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl AwsIdentity {
    pub fn of(cli: &Connection, aws: Option<&AwsEntry>) -> AwsIdentity {
        AwsIdentity {
            profile: cli
                .aws_profile
                .clone()
                .or_else(|| aws.and_then(|a| a.profile.clone())),
            region: cli
                .region
                .clone()
                .or_else(|| aws.and_then(|a| a.region.clone()))
                .or_else(region_from_env),
        }
    }
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, as the AWS CLI reads them;
/// one that is not a region name is ignored rather than signed with.
fn region_from_env() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .filter_map(|var| std::env::var(var).ok())
        .find_map(|v| crate::cli::parse::region(&v).ok())
}

/// Headers a signed probe cannot carry as the user wrote them: the
/// signature is `authorization`, and it covers the URL's host, so a `Host`
/// override would be sent with a signature of another name (a certain 403).
const SIGNING_OWNS: [(http::HeaderName, &str); 2] = [
    (
        http::header::AUTHORIZATION,
        "the signature is sent as Authorization; drop the header, or --sigv4",
    ),
    (
        http::header::HOST,
        "the signature covers the URL's host; put the name in the URL and its address in --resolve HOST:PORT:ADDR",
    ),
];

/// The targets, those chosen to be signed with a signer; all of them share
/// one set of credentials, loaded before the first probe.
pub fn sign(targets: Vec<(Target, Choice)>, identity: &AwsIdentity) -> Result<Vec<Target>, ConfigError> {
    let mut keys: Option<Arc<Keys>> = None;
    let mut out = Vec::with_capacity(targets.len());
    for (target, choice) in targets {
        if !choice.sign {
            out.push(target);
            continue;
        }
        if let Some((name, why)) = SIGNING_OWNS
            .iter()
            .find(|(name, _)| target.request.headers.contains_key(name))
        {
            return Err(ConfigError::Sigv4Header {
                target: target.name.to_string(),
                header: name.as_str(),
                why,
            });
        }
        let host = target.endpoint.host.to_ascii_lowercase();
        let from_host = region_of_host(&host);
        let region = from_host
            .clone()
            .or_else(|| identity.region.clone())
            .ok_or_else(|| ConfigError::Sigv4Region {
                target: target.name.to_string(),
                host: host.clone(),
            })?;
        let service = choice
            .service
            .unwrap_or_else(|| default_service(&host).to_string());
        let keys = keys
            .get_or_insert_with(|| {
                Keys::new(crate::aws::credentials::standard_chain(
                    identity.profile.clone(),
                    region.clone(),
                ))
            })
            .clone();
        out.push(target.signed(keys, Scope { region, service }));
    }
    Ok(out)
}

/// `--sigv4-service` names the service of signed probes: given when
/// nothing is signed, it is a mistake (a forgotten `--sigv4`), not a no-op.
pub fn check_service_flag(cli: &Connection, targets: &[Target]) -> Result<(), ConfigError> {
    match &cli.sigv4_service {
        Some(service) if targets.iter().all(|t| t.sigv4.is_none()) => {
            Err(ConfigError::Sigv4ServiceUnsigned {
                service: service.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// A function URL signs for `lambda`; everything else for `execute-api`.
fn default_service(host: &str) -> &'static str {
    match host.contains(".lambda-url.") {
        true => "lambda",
        false => EXECUTE_API,
    }
}

/// The region an AWS host names, if it is one that does.
pub fn region_of_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let at = labels
        .iter()
        .position(|l| *l == "execute-api" || *l == "lambda-url")?;
    let region = *labels.get(at + 1)?;
    let rest = &labels[at + 2..];
    let known = matches!(
        rest,
        ["amazonaws", "com"] | ["amazonaws", "com", "cn"] | ["vpce", "amazonaws", "com"] | ["on", "aws"]
    );
    (known && at >= 1 && crate::cli::parse::region(region).is_ok()).then(|| region.to_string())
}

/// The signing flags of a command line, for a command that runs it again
/// (` --sigv4 --region eu-west-1`); empty without `--sigv4`.
pub fn rerun_flags(args: &crate::cli::ConnectionArgs) -> String {
    if !args.sigv4 {
        return String::new();
    }
    let mut flags = " --sigv4".to_string();
    let named = [
        ("--sigv4-service", &args.sigv4_service),
        ("--region", &args.aws.region),
        ("--aws-profile", &args.aws.aws_profile),
    ];
    for (flag, value) in named {
        if let Some(v) = value {
            flags.push_str(&format!(" {flag} {v}"));
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::RequestSpec;

    #[test]
    fn the_region_is_read_from_aws_hosts_only() {
        let r = |h: &str| region_of_host(h);
        assert_eq!(
            r("abc123defg.execute-api.eu-west-1.amazonaws.com").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            r("abc123defg.execute-api.cn-north-1.amazonaws.com.cn").as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(
            r("vpce-0123456789abcdef0-abcdefgh.execute-api.us-east-2.vpce.amazonaws.com").as_deref(),
            Some("us-east-2")
        );
        assert_eq!(
            r("abc123defg-vpce-0123456789abcdef0.execute-api.ap-south-1.amazonaws.com").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(
            r("abcdefghijklmnop.lambda-url.eu-central-1.on.aws").as_deref(),
            Some("eu-central-1")
        );
        assert_eq!(r("abc.execute-api.lab.test"), None);
        assert_eq!(r("api.example.com"), None);
        assert_eq!(r("127.0.0.1"), None);
    }

    fn target(url: &str) -> Target {
        Target::new(
            "t",
            url::Url::parse(url).unwrap(),
            None,
            Arc::new(RequestSpec::default()),
        )
    }

    #[test]
    fn host_over_region_flag_and_a_clear_error_without_either() {
        let yes = |service: Option<&str>| Choice {
            sign: true,
            service: service.map(str::to_string),
        };
        let none = AwsIdentity {
            profile: None,
            region: None,
        };
        let given = AwsIdentity {
            profile: None,
            region: Some("us-west-2".into()),
        };
        let signed = sign(
            vec![
                (
                    target("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/p"),
                    yes(None),
                ),
                (target("http://127.0.0.1:9/p"), yes(Some("lambda"))),
                (
                    target("http://127.0.0.1:9/q"),
                    Choice {
                        sign: false,
                        service: None,
                    },
                ),
            ],
            &given,
        )
        .unwrap();
        let scope = |t: &Target| t.sigv4.as_ref().map(|s| s.scope().clone());
        assert_eq!(
            scope(&signed[0]),
            Some(Scope {
                region: "eu-west-1".into(),
                service: "execute-api".into()
            })
        );
        assert_eq!(
            scope(&signed[1]),
            Some(Scope {
                region: "us-west-2".into(),
                service: "lambda".into()
            })
        );
        assert_eq!(scope(&signed[2]), None);
        let err = sign(vec![(target("http://127.0.0.1:9/p"), yes(None))], &none).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--sigv4: cannot tell the AWS region of target 't' (127.0.0.1 is not an execute-api or Lambda function URL host): give --region REGION, region in the profile's [aws] table, or AWS_REGION"
        );
    }
}
