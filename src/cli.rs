//! The command line, as clap derive types. Values are parsed here into
//! typed values with errors that name what would be valid; cross-field
//! checks and file reads happen in `config`.
//!
//! Long because it is the whole command line in one place: every flag's help
//! text is its documentation (`--help`, completions, the man pages).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod parse;
use crate::probe::{ConnectionPolicy, ResolvePin};

#[derive(Debug, Parser)]
#[command(
    name = "coldlink",
    version,
    about = "Find out why requests through API Gateway → VPC link → NLB are sometimes slow",
    long_about = "Find out why requests through an API Gateway private integration \
(API Gateway → VPC link → NLB → nginx → app) are sometimes slow.\n\n\
coldlink times every phase of every request (DNS, TCP connect, TLS, send, time to first \
byte, body) on the connection that carried it, and knows whether that connection was \
reused and how long it sat idle.\n\n\
Exit codes: 0 ok, 1 a probe failed, 2 bad input or an error of the tool itself.\n\
Logs go to stderr (RUST_LOG=debug for more); data goes to stdout or --out."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send probes to one or more URLs and time every phase.
    ///
    /// With one probe per URL (no -n, or -n 1), a waterfall of the phases for
    /// each URL; with -n 2 or more, one line per probe and a per-phase summary.
    Probe(Box<ProbeArgs>),
    /// Run a profile's plan headless: its schedule until --duration or
    /// Ctrl-C, or its burst with --burst.
    ///
    /// Records are appended to --out as they come (flushed per record); a
    /// per-target summary is printed on exit.
    Run(Box<RunArgs>),
    /// Name the cause of slow or failing requests, with evidence and a fix.
    ///
    /// Probes the targets with a plan (--quick: bursts on fresh and reused
    /// connections and a few short quiet gaps; --idle-sweep: then sequential
    /// quiet gaps to find idle timers), or reads stored records (--from),
    /// and reports a verdict. Exit code 1 when any finding is a warning or
    /// worse, 0 when healthy or inconclusive (nothing found, not everything
    /// tested).
    Diagnose(Box<DiagnoseArgs>),
    /// A live dashboard: both entry points side by side, every phase, the
    /// slow probes and the cause coldlink sees, updating as probes land.
    ///
    /// Probes on the profile's schedule (or every --interval); keys start a
    /// burst (b), an idle sweep (s), pause (p), keep-warm (k), reset (r),
    /// export the records (e); ? lists them all, q quits.
    Watch(Box<WatchArgs>),
    /// Keep the path warm, and say whether it is: from cron (--once) or as
    /// a daemon (--interval).
    ///
    /// --once sends one probe per target and prints one line per target;
    /// exit 0 when every target answered under --slow (or another run still
    /// holds the lock), 1 otherwise, 2 on bad input. --interval pings
    /// every target every D on kept-alive connections until SIGTERM or
    /// Ctrl-C (exit 0), logging outages, with Prometheus metrics on
    /// --metrics-listen.
    Keepwarm(Box<KeepwarmArgs>),
    /// Re-summarise stored records (NDJSON, gzip too), merging files.
    Report(ReportArgs),
    /// Run the path on loopback (gateway → NLB or ALB → backends, an edge for the
    /// custom domain, a DNS server) with one fault switched on.
    ///
    /// Prints the URLs, the CA file and a ready profile, and runs until
    /// Ctrl-C. `--lab` on probe, run, diagnose and watch starts it in-process instead.
    Lab(LabArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff) to stdout, or write them all with --dir.
    ///
    /// The page of coldlink lists one page per subcommand (coldlink-probe(1)
    /// and the others): `coldlink man probe` prints that one, and
    /// `coldlink man --dir DIR` writes every page into DIR/man1, ready for
    /// MANPATH=DIR.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print; coldlink's own page without it.
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    pub page: Option<String>,

    /// Write coldlink.1 and one page per subcommand (coldlink-probe.1, …)
    /// into DIR/man1 instead (created if need be), where MANPATH=DIR finds
    /// them; stderr says how many pages were written, and where.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The end of the help of every command that probes (issue #16 §5).
const PROXY_HELP: &str = "Probes never go through a proxy: HTTPS_PROXY, HTTP_PROXY and ALL_PROXY are\n\
ignored, since the phases of a probe through a proxy would time the proxy.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable: a waterfall for one probe, lines and a summary for many.
    Text,
    /// One JSON document: per-target summaries and every record.
    Json,
    /// One probe record per line, as probes complete.
    Ndjson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectionsArg {
    /// A new connection for every probe.
    Fresh,
    /// Keep connections alive and reuse them.
    Reuse,
}

impl From<ConnectionsArg> for ConnectionPolicy {
    fn from(c: ConnectionsArg) -> Self {
        match c {
            ConnectionsArg::Fresh => ConnectionPolicy::Fresh,
            ConnectionsArg::Reuse => ConnectionPolicy::Reuse,
        }
    }
}

/// Start a lab scenario in-process for one command.
#[derive(Debug, Args, Clone, Default)]
pub struct LabOptions {
    /// Probe a lab scenario started in-process (see `coldlink lab --list`):
    /// its execute-api URL and custom domain (probe: unless URLs are given).
    #[arg(long, value_name = "SCENARIO")]
    pub lab: Option<String>,

    /// With --lab: time compression, e.g. 100 makes a 350 s timer 3.5 s
    /// [default: the scenario's].
    #[arg(long, value_name = "X", requires = "lab", value_parser = parse::speed, allow_hyphen_values = true)]
    pub speed: Option<f64>,

    /// With --lab: override a scenario parameter, e.g. nlb.idle_timeout=2s (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "lab")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    /// The scenario to run [default: healthy].
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<String>,

    /// Describe every scenario and exit.
    #[arg(long)]
    pub list: bool,

    /// Time compression, e.g. 100 makes a 350 s timer 3.5 s [default: the scenario's].
    #[arg(long, value_name = "X", value_parser = parse::speed, allow_hyphen_values = true)]
    pub speed: Option<f64>,

    /// Override a scenario parameter, e.g. nlb.idle_timeout=2s (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// URLs to probe (http:// or https://).
    #[arg(required_unless_present = "lab", value_name = "URL", value_parser = parse::url)]
    pub urls: Vec<url::Url>,

    #[command(flatten)]
    pub lab: LabOptions,

    /// Probes per URL [default: 1].
    #[arg(short = 'n', long = "count", value_name = "N", value_parser = parse::count_in(1, u64::MAX), allow_hyphen_values = true)]
    pub count: Option<u64>,

    /// Probes in flight at once.
    #[arg(short = 'c', long, value_name = "C", default_value_t = 1,
          value_parser = parse::count_in(1, 10_000), allow_hyphen_values = true)]
    pub concurrency: u64,

    /// Time between probe rounds (each URL once per round), e.g. 500ms, 5s.
    /// Without it, probes go back to back.
    #[arg(long, value_name = "D", value_parser = parse::duration, allow_hyphen_values = true)]
    pub interval: Option<Duration>,

    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Also append every probe record (NDJSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Text output: only the summary, no line per probe.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The profile: targets, schedule, burst (see profiles/).
    #[arg(long, value_name = "FILE", required_unless_present = "lab")]
    pub profile: Option<PathBuf>,

    #[command(flatten)]
    pub lab: LabOptions,

    /// Stop after this long, e.g. 6h [default: until Ctrl-C or SIGTERM].
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// Run the profile's burst table once instead of its schedule.
    #[arg(long)]
    pub burst: bool,

    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Append every probe record (NDJSON) to FILE, flushed as it comes.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Text output: only the summary (no line per probe, no lab banner).
    #[arg(short, long)]
    pub quiet: bool,

    /// Send each probe's own client segment to X-Ray (PutTraceSegments)
    /// under the trace id it sets, with a subsegment per phase that
    /// happened (dns, connect, tls, send, ttfb, body); the trace header
    /// then names that segment as its parent (Parent=), so that X-Ray
    /// shows the caller before API Gateway. Sent from a thread of its
    /// own, never holding up a probe. Where and as whom: --region,
    /// --aws-profile, the profile's aws table, AWS_ENDPOINT_URL; needs
    /// xray:PutTraceSegments [default: off].
    #[arg(long)]
    pub xray_segments: bool,

    #[command(flatten)]
    pub publish: PublishArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// URLs to watch (or --profile, --lab).
    #[arg(value_name = "URL", value_parser = parse::url)]
    pub urls: Vec<url::Url>,

    /// The profile: targets, connection settings, schedule, burst (key b)
    /// and idle sweep (key s).
    #[arg(long, value_name = "FILE", conflicts_with = "urls")]
    pub profile: Option<PathBuf>,

    #[command(flatten)]
    pub lab: LabOptions,

    /// Probe every target once every D [default: the profile's
    /// schedule.interval, else 10s]. With --lab, in scenario time.
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub interval: Option<Duration>,

    /// Move each scheduled probe later by a random amount below D [default:
    /// a tenth of --interval when it is given, else the profile's
    /// schedule.jitter, else 1s].
    #[arg(long, value_name = "D", value_parser = parse::duration, allow_hyphen_values = true)]
    pub jitter: Option<Duration>,

    /// Start with keep-warm on: a ping to every target every D, on kept-alive
    /// connections (key k turns it off and on) [default: off; k uses 60s].
    /// With --lab, in scenario time.
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub keep_warm: Option<Duration>,

    /// Count a probe slower than D as slow [default: the profile's
    /// diagnose.slow, else judged from the data like diagnose].
    /// With --lab, in scenario time.
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub slow: Option<Duration>,

    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Append every probe record (NDJSON) to FILE, flushed as it comes.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
// One mode or the other: the error names both when neither is given.
#[command(group(clap::ArgGroup::new("mode").required(true).args(["once", "interval"])))]
pub struct KeepwarmArgs {
    /// URLs to keep warm (or --profile, --lab).
    #[arg(value_name = "URL", value_parser = parse::url)]
    pub urls: Vec<url::Url>,

    /// The profile: targets and connection settings.
    #[arg(long, value_name = "FILE", conflicts_with = "urls")]
    pub profile: Option<PathBuf>,

    #[command(flatten)]
    pub lab: LabOptions,

    /// One probe per target, one line per target, and exit: for cron.
    #[arg(long, conflicts_with_all = ["interval", "jitter", "metrics_listen"])]
    pub once: bool,

    /// The daemon: ping every target every D, until SIGTERM or Ctrl-C.
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub interval: Option<Duration>,

    /// With --interval: move each ping later by a random amount below D
    /// [default: none].
    #[arg(long, value_name = "D", requires = "interval", value_parser = parse::duration, allow_hyphen_values = true)]
    pub jitter: Option<Duration>,

    /// With --interval: records of a `diagnose --idle-sweep --records FILE`
    /// (or a run, a watch), or its `--format json` report; the interval is
    /// checked against the idle timer they show, and a warning is logged
    /// when it is not under it. One FILE per --from (repeatable), so that
    /// the URLs after it stay URLs.
    #[arg(long, value_name = "FILE", requires = "interval")]
    pub from: Vec<PathBuf>,

    /// After each round, GET URL when every target was ok, URL/fail when
    /// one was not (cron-monitoring services' convention); a failing
    /// heartbeat is logged, never fatal. user:password@ in URL is sent as
    /// basic authentication; logs show the URL's host and port only.
    #[arg(long, value_name = "URL", value_parser = parse::heartbeat_url)]
    pub heartbeat_url: Option<url::Url>,

    /// With --interval: serve Prometheus metrics on http://ADDR/metrics
    /// (and /healthz), e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR", requires = "interval")]
    pub metrics_listen: Option<SocketAddr>,

    /// A target is healthy when it answered faster than D (time on the
    /// network: the total less the tool's queue) [default: the profile's
    /// diagnose.slow, else 1s].
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub slow: Option<Duration>,

    /// Hold this lock file while running; a run that finds it held exits at
    /// once (--once: 0, a daemon: 2) instead of piling up [default: one per
    /// profile or URL set, user and mode, in ~/.local/state/coldlink].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Also append every probe record (NDJSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Send each probe's own client segment to X-Ray (PutTraceSegments)
    /// under the trace id it sets, with a subsegment per phase that
    /// happened (dns, connect, tls, send, ttfb, body); the trace header
    /// then names that segment as its parent (Parent=), so that X-Ray
    /// shows the caller before API Gateway. Sent from a thread of its
    /// own, never holding up a probe. Where and as whom: --region,
    /// --aws-profile, the profile's aws table, AWS_ENDPOINT_URL; needs
    /// xray:PutTraceSegments [default: off].
    #[arg(long)]
    pub xray_segments: bool,

    #[command(flatten)]
    pub publish: PublishArgs,
}

/// Publishing to CloudWatch (`keepwarm`, `run`): see docs/keepwarm.md.
#[derive(Debug, Args, Default, Clone)]
pub struct PublishArgs {
    /// Publish per target and vantage, once a minute, to CloudWatch under
    /// namespace NS (PutMetricData): each phase's latency as a
    /// distribution, successes, failures by kind, the warm share
    /// [default: off].
    #[arg(long, value_name = "NS")]
    pub cloudwatch_namespace: Option<String>,

    /// Write the same metrics as CloudWatch Embedded Metric Format lines
    /// instead of calling PutMetricData, to stdout, or appended to FILE
    /// with --emf=FILE (for a CloudWatch agent or Lambda that ships the
    /// lines) [namespace: --cloudwatch-namespace, else Coldlink].
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    pub emf: Option<PathBuf>,

    /// Send the PutMetricData (--cloudwatch-namespace) and
    /// PutTraceSegments (--xray-segments) calls to this endpoint
    /// (LocalStack or moto, say) [default: the profile's
    /// aws.endpoint_url, else AWS's own].
    #[arg(long = "aws-endpoint", value_name = "URL", value_parser = parse::endpoint_url)]
    pub publish_endpoint: Option<url::Url>,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// URLs to diagnose (or --profile, --from, --lab).
    #[arg(value_name = "URL", value_parser = parse::url)]
    pub urls: Vec<url::Url>,

    /// The profile: targets, connection settings, burst concurrency, and
    /// idle_sweep / slow from its diagnose section. With --from, only its
    /// diagnose and aws sections apply (what --cloudwatch reads, say).
    #[arg(long, value_name = "FILE", conflicts_with = "urls")]
    pub profile: Option<PathBuf>,

    /// Diagnose stored records (from run, keepwarm, watch, probe --out;
    /// .gz too) without sending anything.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["urls", "quick", "idle_sweep", "lab", "speed", "set"])]
    pub from: Vec<PathBuf>,

    #[command(flatten)]
    pub lab: LabOptions,

    /// Bursts on fresh and on reused connections to every target, then a
    /// few short quiet gaps; under 30 s against a responsive API. The default plan.
    #[arg(long, conflicts_with = "idle_sweep")]
    pub quick: bool,

    /// Run every stage of the plan, even once its first probes settle a
    /// cause (the plan stops there otherwise, and lists what it did not test;
    /// a sweep asked for with --idle-sweep runs in any case).
    #[arg(long, conflicts_with = "from")]
    pub full: bool,

    /// The quick plan, then one quiet gap after another (sequential: idleness
    /// behind the gateway needs the whole API quiet), e.g. 30s,65s,80s,120s,360s
    /// [default: the profile's diagnose.idle_sweep, else 0s,30s,65s,80s,120s,360s,
    /// 0s being a round back to back].
    /// With --lab, in scenario time.
    #[arg(long, value_name = "D,D,...", num_args = 0..=1, value_delimiter = ',', value_parser = parse::duration)]
    pub idle_sweep: Option<Vec<Duration>>,

    /// Probes per target in each burst of the quick plan; probes per target
    /// after each gap of the sweep is 1 [default: 20].
    #[arg(long, value_name = "N", value_parser = parse::count_in(3, 100_000), allow_hyphen_values = true)]
    pub probes: Option<u64>,

    /// Count a probe slower than D as slow, and a backend whose median is
    /// slower as slow [default: from the data: well above each target's
    /// fast mode; 400 ms for a backend]. With --lab, in scenario time.
    #[arg(long, value_name = "D", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub slow: Option<Duration>,

    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Look up the probes' own X-Ray traces (the slow ones and a sample of
    /// the others) and split their time: before the gateway, the gateway,
    /// the integration, the app.
    #[arg(long)]
    pub xray: bool,

    /// How long to keep asking X-Ray for traces that have not arrived yet
    /// (they take seconds to) [default: 60s].
    #[arg(long, value_name = "D", requires = "xray", value_parser = parse::positive_duration, allow_hyphen_values = true)]
    pub xray_wait: Option<Duration>,

    /// Read the load balancer's (NLB or ALB) and the API's CloudWatch metrics for the minutes of
    /// the run (flows, resets, target health per zone; requests, latency,
    /// integration latency, errors), from the profile's aws table.
    #[arg(long)]
    pub cloudwatch: bool,

    /// Read the path's configuration, read-only, from what the profile's
    /// aws table names (rest_api or http_api, nlb, alb, target_groups):
    /// the stage and the probed routes' integrations (timeouts), VPC
    /// links, custom domains, load balancers, listeners (idle timeouts),
    /// target groups and target health. The findings cite what it finds.
    #[arg(long)]
    pub aws_config: bool,

    /// Send AWS calls to this endpoint (moto, LocalStack) [default: the
    /// profile's aws.endpoint_url, else AWS's own].
    #[arg(long, value_name = "URL", value_parser = parse::endpoint_url)]
    pub aws_endpoint: Option<url::Url>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = crate::diagnose::render::DiagnoseFormat::Text)]
    pub format: crate::diagnose::render::DiagnoseFormat,

    /// Write the report to FILE instead of stdout (checked before any probe is sent).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Also append every probe record (NDJSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub records: Option<PathBuf>,

    /// No progress lines on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Per-target, per-phase tables.
    Text,
    /// One JSON document.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    /// The remote address the probes connected to (one row per NLB node / path).
    Remote,
    /// The connection that carried the probes.
    Conn,
    /// The UTC minute the probes started in (lines up with CloudWatch periods).
    Minute,
    /// The IP family the probes went over (ipv4, ipv6).
    Family,
    /// Where the probes ran from (the records' vantage; "(unknown)" for
    /// records without one).
    Vantage,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// NDJSON record files (from probe --out, run, keepwarm, watch); .gz is read too.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// What to print.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Also break each target down by this key.
    #[arg(long, value_enum, value_name = "KEY")]
    pub by: Option<GroupBy>,
}

/// How each probe connects and what it sends; shared by every command that
/// sends probes.
#[derive(Debug, Args, Clone, Default)]
#[command(after_help = PROXY_HELP)]
pub struct ConnectionArgs {
    /// HTTP method [default: GET].
    #[arg(short = 'X', long = "request", value_name = "METHOD", value_parser = parse::method)]
    pub method: Option<http::Method>,

    /// Extra request header 'Name: value' (repeatable). Values of
    /// authorization, x-api-key, cookie and --secret-header names are never shown.
    #[arg(short = 'H', long = "header", value_name = "'K: V'", value_parser = parse::header_arg)]
    pub headers: Vec<parse::HeaderArg>,

    /// Mark a header name as secret: its value never reaches output (repeatable).
    #[arg(long = "secret-header", value_name = "NAME", value_parser = parse::header_name)]
    pub secret_headers: Vec<http::HeaderName>,

    /// Request body; @FILE reads it from FILE.
    #[arg(long, value_name = "BODY")]
    pub data: Option<String>,

    /// Overall time limit of one probe [default: 60s, longer than API
    /// Gateway's 29 s integration timeout so that a 504 is measured].
    #[arg(long, value_name = "D", value_parser = parse::duration, allow_hyphen_values = true)]
    pub timeout: Option<Duration>,

    /// Time limit of the DNS phase [default: 15s].
    #[arg(long, value_name = "D", value_parser = parse::duration, allow_hyphen_values = true)]
    pub dns_timeout: Option<Duration>,

    /// Time limit of the TCP connect phase [default: 20s].
    #[arg(long, value_name = "D", value_parser = parse::duration, allow_hyphen_values = true)]
    pub connect_timeout: Option<Duration>,

    /// Time limit of the TLS handshake [default: 15s].
    #[arg(long, value_name = "D", value_parser = parse::duration, allow_hyphen_values = true)]
    pub tls_timeout: Option<Duration>,

    /// fresh: a new connection per probe; reuse: keep-alive
    /// [default: fresh for one probe per URL, reuse for -n 2 or more].
    #[arg(long, value_enum, value_name = "MODE")]
    pub connections: Option<ConnectionsArg>,

    /// Connect to ADDR for HOST:PORT, without DNS (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = parse::resolve)]
    pub resolve: Vec<ResolvePin>,

    /// Resolve names with this DNS server (IP or IP:PORT) instead of the system's.
    #[arg(long, value_name = "ADDR", value_parser = parse::dns_server)]
    pub dns_server: Option<SocketAddr>,

    /// Also trust the CA certificates in this PEM file (repeatable).
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,

    /// Accept any TLS certificate (names and chains are not checked).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Do not send X-Amzn-Trace-Id (sent by default so traces can be found).
    #[arg(long)]
    pub no_trace_header: bool,

    /// Offer only HTTP/1.1 in TLS ALPN (default offers h2 and http/1.1).
    #[arg(long = "http1.1")]
    pub http1_only: bool,

    /// Status codes that count as success, e.g. 200,204 [default: 100-399].
    #[arg(long, value_name = "CODES", value_parser = parse::status_list)]
    pub expect_status: Option<Vec<u16>>,

    /// Send x-apigw-api-id: ID with every probe: a private API reached
    /// through an interface VPC endpoint's own hostname
    /// (vpce-….execute-api.REGION.vpce.amazonaws.com). ID is the API's id,
    /// 10 lowercase letters and digits.
    #[arg(long, value_name = "ID", value_parser = parse::api_id)]
    pub api_id: Option<http::HeaderValue>,

    /// Present this client certificate (PEM; a chain may follow it) for
    /// mutual TLS, e.g. a custom domain that requires one. Needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// The private key of --cert (PEM, unencrypted). Needs --cert; its
    /// content is never shown.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Sign every probe with AWS SigV4 (API Gateway's AWS_IAM
    /// authorisation), with credentials from the standard chain
    /// (environment, --aws-profile / AWS_PROFILE, SSO, web identity,
    /// instance role). Region: from an execute-api or function URL host,
    /// else --region, else the profile's aws.region.
    #[arg(long)]
    pub sigv4: bool,

    /// The service SigV4 signs for [default: lambda for a function URL
    /// (….lambda-url.REGION.on.aws), else execute-api].
    #[arg(long, value_name = "NAME", value_parser = parse::sigv4_service)]
    pub sigv4_service: Option<String>,

    /// Connect over IPv4 only: DNS asks for A records, --resolve pins to
    /// IPv6 addresses are not used (same as --ip-family 4).
    #[arg(short = '4', conflicts_with_all = ["ipv6", "ip_family"])]
    pub ipv4: bool,

    /// Connect over IPv6 only: DNS asks for AAAA records, --resolve pins to
    /// IPv4 addresses are not used (same as --ip-family 6).
    #[arg(short = '6', conflicts_with = "ip_family")]
    pub ipv6: bool,

    /// Address family of every probe: 4, 6, or both (each target is probed
    /// on each family it has, and every record says which in its family
    /// field) [default: the first address the resolver returns].
    #[arg(long, value_name = "4|6|both", value_parser = parse::ip_family)]
    pub ip_family: Option<crate::probe::FamilyChoice>,

    /// Where these probes run from, written into every record's vantage
    /// field (and so into reports and metrics) to compare one path seen
    /// from many places: 1 to 64 letters, digits and . _ : @ / -, e.g.
    /// eu-west-1b [default: the profile's connection.vantage, else this
    /// host's name].
    #[arg(long, value_name = "NAME", value_parser = parse::vantage)]
    pub vantage: Option<std::sync::Arc<str>>,

    #[command(flatten)]
    pub aws: AwsIdentityArgs,
}

/// Whose AWS credentials and which region: for --sigv4, and for
/// diagnose's --xray, --cloudwatch and --aws-config.
#[derive(Debug, Args, Default, Clone)]
pub struct AwsIdentityArgs {
    /// The AWS profile (shared config and credentials files) [default:
    /// the profile's aws.profile, else AWS_PROFILE, else default].
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// The AWS region [default: the profile's aws.region, else AWS_REGION
    /// or the AWS profile's; for --sigv4, the execute-api host's region].
    #[arg(long, value_name = "REGION", value_parser = parse::region)]
    pub region: Option<String>,
}
