//! One module per subcommand: each wires config, engine and output.

pub mod diagnose;
pub mod keepwarm;
pub mod lab;
pub mod man;
pub mod probe;
pub mod report;
pub mod run;
pub mod sink;
pub mod watch;

/// Exit codes are API: documented in the README and tested.
pub mod exit {
    /// Healthy: nothing failed.
    pub const OK: u8 = 0;
    /// A problem was found: a probe failed.
    pub const PROBLEM: u8 = 1;
    /// Bad input or an error of the tool itself.
    pub const ERROR: u8 = 2;
}
