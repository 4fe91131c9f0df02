//! The probe engine: DNS, TCP connect, TLS and the HTTP exchange, each timed
//! on the connection that carried the request; a pool that knows connection
//! identity and idle age; plans; and a runner that publishes records.

pub mod captured;
pub mod classify;
pub mod client_cert;
pub mod clock;
pub mod conn;
pub mod dns;
pub mod dual_stack;
pub mod endpoint;
pub mod engine;
mod exchange_marks;
pub mod family;
pub mod io;
pub mod kernel_time;
pub mod pinger;
pub mod plan;
pub mod pool;
pub mod prober;
pub mod record;
pub mod redact;
pub mod refusal;
pub mod request;
pub mod round;
pub mod runner;
pub mod secrets;
pub mod sigv4;
pub mod spec;
pub mod syn_schedule;
pub mod target;
pub mod timing;
pub mod tls;
pub mod trace;
pub mod vantage;
pub mod wake;
pub mod waterfall;

pub use client_cert::{ClientCertPaths, ClientIdentity};
pub use dns::ResolvePin;
pub use engine::RecordBatch;
pub use family::{FamilyChoice, IpFamily};
pub use plan::{schedule_in_flight, CountPlan, Job, Pacing, Plan, SchedulePlan};
pub use prober::{ConnectionPolicy, ProbeSettings, Prober, Timeouts};
pub use record::{ConnInfo, ErrorKind, LabRun, Phase, Phases, ProbeError, ProbeRecord, Timestamp, TlsInfo};
pub use syn_schedule::{SynSchedule, SynSysctls};
pub use target::{RequestSpec, Target, TargetKind};
pub use tls::TlsOptions;
