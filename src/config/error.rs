//! What is wrong with the input, as data: the flag or the file, line and
//! key, the value, and what would be valid. Every one of these exits 2.
//! Messages say the cause where it reads best and still return it as
//! `source()`; `coldlink::run` prints each cause once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::cli::parse::InvalidValue;

/// Bad input: the message names the flag, file or key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag's value refused after clap: `-H` is checked late so that
    /// clap never repeats a value that may be a secret.
    #[error("{flag}: {problem}")]
    Flag {
        flag: &'static str,
        #[source]
        problem: InvalidValue,
    },
    #[error("{flag} must be longer than 0, e.g. 10s")]
    ZeroDuration { flag: &'static str },
    #[error("--cacert {}: {problem} (expected a PEM file of CA certificates)", path.display())]
    NotAPemFile { path: PathBuf, problem: NotAFile },
    #[error("--data @{}: cannot read the file: {source}", path.display())]
    DataFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{flag} {}: cannot write there: {source}", path.display())]
    NotWritable {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An input file that cannot be opened; `expected` says what it should be.
    #[error("{flag} {}: cannot read it: {source}{}", path.display(), expected.map(|e| format!(" (expected {e})")).unwrap_or_default())]
    Unreadable {
        flag: &'static str,
        path: PathBuf,
        expected: Option<&'static str>,
        #[source]
        source: std::io::Error,
    },
    #[error("--profile {}: cannot read the file: {source}", path.display())]
    ProfileUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not a profile's shape: toml's own line, column and
    /// message, with Rust's type names put in words and no value quoted
    /// (so toml's error is kept, but not as a `source()`: its words, and
    /// its snippet of the line, which may hold a secret, are not shown).
    #[error("{}{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), column.map(|c| format!(":{c}")).unwrap_or_default())]
    ProfileSyntax {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
        toml: Box<toml::de::Error>,
    },
    #[error("{}: no [[target]]; add at least one, e.g. [[target]] name = \"execute-api\" url = \"https://…\"", path.display())]
    NoTarget { path: PathBuf },
    /// A profile key's value.
    #[error("{}:{line}: {key}: {problem}", path.display())]
    ProfileKey {
        path: PathBuf,
        line: usize,
        key: String,
        #[source]
        problem: KeyProblem,
    },
    #[error("--profile and --lab: give one (the lab comes with its own profile)")]
    ProfileAndLab,
    /// `-4`, `-6` or `--ip-family` (or a profile's `ip_family`) against a
    /// target that has no address of that family.
    #[error(transparent)]
    IpFamily(#[from] crate::probe::dual_stack::FamilyMismatch),
    /// `--cloudwatch-namespace`, `--emf`, and their `--aws-endpoint`.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// `needs`: what the command takes, e.g. "URLs, --profile FILE or --lab SCENARIO".
    #[error("{command} needs {needs}")]
    NothingToProbe {
        command: &'static str,
        needs: &'static str,
    },
    #[error("--idle-sweep: a gap longer than 6h is not a diagnosis; give gaps like 30s,65s,80s,120s,360s")]
    SweepGapTooLong { gap: Duration },
    /// `interval`: how the message names it ("--interval", "the interval").
    #[error("--jitter {} must be shorter than {interval_named} ({})", humantime::format_duration(*jitter), humantime::format_duration(*interval))]
    JitterTooLong {
        jitter: Duration,
        interval: Duration,
        interval_named: &'static str,
    },
    #[error("--aws-endpoint, --aws-profile and --region are for AWS lookups: add --xray, --cloudwatch or --aws-config (--aws-profile and --region also serve --sigv4)")]
    AwsFlagsWithoutLookup,
    /// `--sigv4` on a target whose host does not name its region.
    #[error("--sigv4: cannot tell the AWS region of target '{target}' ({host} is not an execute-api or Lambda function URL host): give --region REGION, region in the profile's [aws] table, or AWS_REGION")]
    Sigv4Region { target: String, host: String },
    #[error("--sigv4: target '{target}' sets the {header} header itself: {why}")]
    Sigv4Header {
        target: String,
        header: &'static str,
        why: &'static str,
    },
    #[error("--sigv4-service {service}: no probe is signed; add --sigv4 (or sigv4 = true in the profile)")]
    Sigv4ServiceUnsigned { service: String },
    #[error("{flag} with --lab needs --aws-endpoint URL (moto's server for X-Ray, LocalStack for CloudWatch): the lab sends its traces and metrics there, not to AWS")]
    LabLookupWithoutEndpoint { flag: &'static str },
    #[error("--aws-config with --lab needs --aws-endpoint URL (moto's server, e.g. http://127.0.0.1:5000): the lab seeds the emulator with its scenario's configuration and reads it back, never an AWS account")]
    LabConfigWithoutEndpoint,
    #[error("--xray-segments with --lab needs an X-Ray endpoint (moto's server, e.g. AWS_ENDPOINT_URL=http://127.0.0.1:5000, or endpoint_url in the profile's [aws] table): the lab's segments go there, not to AWS")]
    LabSegmentsWithoutEndpoint,
    #[error("--xray-segments needs the trace header (it names the probe's client segment as the trace's parent): drop --no-trace-header, or trace_header = false from the profile")]
    SegmentsWithoutTraceHeader,
    /// `--cert` / `--key`: the file and what is wrong with it.
    #[error("{flag} {source}{}", expected_pem(source, "--cert", "--key"))]
    ClientCert {
        flag: &'static str,
        #[source]
        source: crate::probe::client_cert::ClientCertError,
    },
    #[error("--cloudwatch needs to know what to read: a profile (--profile FILE) whose [aws] table has nlb = \"net/NAME/ID\", alb = \"app/NAME/ID\" and/or rest_api = {{ name, stage }} or http_api = {{ id, stage }}")]
    NothingForCloudWatch,
    /// CloudWatch's REST API metrics are dimensioned by the API's name.
    #[error("--cloudwatch reads a REST API's metrics by its name (the ApiName dimension): add name = \"…\" to [aws] rest_api")]
    CloudWatchWithoutApiName,
    /// `--aws-config` (or `[aws] config = true`) with nothing to start from.
    #[error("{flag} needs to know where to start: a profile (--profile FILE) whose [aws] table names rest_api = {{ name, stage }} (or {{ id, name, stage }}), http_api = {{ id, stage }}, nlb = \"net/NAME/ID\", alb = \"app/NAME/ID\" or target_groups = [\"targetgroup/NAME/ID\"], or a probed execute-api URL")]
    NothingForAwsConfig { flag: String },
    /// The lab seeds the emulator it is given: never anything but loopback.
    #[error("--aws-endpoint {endpoint}: the lab seeds an emulator with its configuration; --aws-endpoint must be on loopback (127.0.0.1, ::1 or localhost), e.g. moto's server at http://127.0.0.1:5000")]
    LabEndpointNotLoopback { endpoint: String },
}

/// What is wrong with one key of a profile.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error(transparent)]
    Value(#[from] InvalidValue),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("must not be empty")]
    Empty,
    #[error("\"{0}\" is used by two targets; names must be unique")]
    DuplicateName(String),
    #[error("the value has characters not allowed in a header")]
    HeaderValue,
    #[error("{0} is not an HTTP status (100–599)")]
    Status(i64),
    #[error("must be longer than 0, e.g. \"30s\"")]
    ZeroInterval,
    #[error("{} must be shorter than schedule.interval ({})", humantime::format_duration(*jitter), humantime::format_duration(*interval))]
    JitterTooLong { jitter: Duration, interval: Duration },
    #[error("{value} is out of range (1–{max})")]
    OutOfRange { value: i64, max: u64 },
    #[error("{0} must be a positive number of requests per second")]
    Rate(f64),
    #[error("{0} must be a positive number")]
    Speed(f64),
    #[error("give rest_api or http_api, not both")]
    BothApis,
    #[error("rest_api names no API: give its id, its name or both, e.g. rest_api = {{ id = \"a1b2c3d4e5\", name = \"orders\", stage = \"prod\" }}")]
    RestApiUnnamed,
    /// `[aws] nlb`, `alb` or `target_groups`: not a resource of that kind.
    #[error("\"{value}\" is not {}: expected \"{}\" (NAME: up to 32 letters, digits and hyphens; ID: letters and digits) or its full ARN, arn:aws:elasticloadbalancing:REGION:ACCOUNT:{}", shape.what, shape.short, shape.arn_tail)]
    ElbName { value: String, shape: &'static ElbShape },
    #[error("{}: {problem} (expected a PEM file of CA certificates)", path.display())]
    NotAPemFile { path: PathBuf, problem: NotAFile },
    /// `cert` without `key`, or `key` without `cert`.
    #[error("needs {0} too: a client certificate and its private key go together")]
    Needs(&'static str),
    #[error("{source}{}", expected_pem(source, "cert", "key"))]
    ClientCert {
        #[source]
        source: crate::probe::client_cert::ClientCertError,
    },
}

/// What an `[aws]` load balancer or target group name should look like.
#[derive(Debug)]
pub struct ElbShape {
    /// `a Network Load Balancer`.
    pub what: &'static str,
    /// `net/NAME/ID`.
    pub short: &'static str,
    /// The ARN after the account: `loadbalancer/net/NAME/ID`.
    pub arn_tail: &'static str,
}

/// What a client certificate's files should be, when the one given is not
/// that at all.
fn expected_pem(e: &crate::probe::client_cert::ClientCertError, cert: &str, key: &str) -> String {
    if e.problem.is_wrong_file() {
        format!(" (expected PEM: {cert} the client certificate, {key} its private key)")
    } else {
        String::new()
    }
}

/// Why a path cannot be a certificate file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAFile {
    #[error("no such file")]
    Missing,
    #[error("a folder, not a file")]
    Folder,
    #[error("not a regular file")]
    Special,
}

impl NotAFile {
    /// Why `path` cannot be a certificate file, or `None` when it can be.
    pub fn check(path: &std::path::Path) -> Option<NotAFile> {
        match std::fs::metadata(path) {
            Err(_) => Some(NotAFile::Missing),
            Ok(m) if m.is_dir() => Some(NotAFile::Folder),
            Ok(m) if !m.is_file() => Some(NotAFile::Special),
            Ok(_) => None,
        }
    }
}

/// Why a `${NAME}` in a profile could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("unclosed ${{…}}; write ${{NAME}}")]
    Unclosed,
    #[error("'${{{0}}}' is not an environment variable reference; write ${{NAME}}")]
    NotAReference(String),
    #[error("environment variable {0} is not set")]
    Unset(String),
}

/// Where a value came from, for error messages: `file:line: key: …`.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    /// The 1-based column, in characters, of the byte `offset`.
    pub fn column(&self, offset: usize) -> usize {
        let before = self.text.get(..offset.min(self.text.len())).unwrap_or_default();
        before.rsplit('\n').next().unwrap_or_default().chars().count() + 1
    }

    /// `problem` with the key's value at `spanned`.
    pub fn error<T>(&self, spanned: &Spanned<T>, key: &str, problem: impl Into<KeyProblem>) -> ConfigError {
        ConfigError::ProfileKey {
            path: self.path.to_path_buf(),
            line: self.line(spanned.span().start),
            key: key.to_string(),
            problem: problem.into(),
        }
    }
}

/// A path in a profile, relative to the profile's folder.
pub fn relative_to(profile: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        profile.parent().unwrap_or(Path::new(".")).join(path)
    }
}

/// What is wrong with the publishing flags.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "--cloudwatch-namespace {value:?} {problem}: a namespace is {}",
        crate::publish::namespace::VALID
    )]
    Namespace {
        value: String,
        #[source]
        problem: crate::publish::namespace::InvalidNamespace,
    },
    #[error("--emf without =FILE writes to stdout, which already carries {format}: give --emf=FILE")]
    StdoutTaken { format: &'static str },
    #[error("--aws-endpoint is where --cloudwatch-namespace sends PutMetricData and --xray-segments PutTraceSegments; with --emf nothing is sent (the lines are the output), and without either flag nothing is published")]
    EndpointUnused,
    #[error("--cloudwatch-namespace with --lab needs --aws-endpoint URL (LocalStack, e.g. http://127.0.0.1:4566): the lab's numbers do not go to AWS")]
    LabWithoutEndpoint,
}
