//! One module per subcommand: each wires config, engine and output.

pub mod diagnose;
pub mod dual_stack;
pub mod error;
pub mod keepwarm;
pub mod lab;
pub mod man;
pub mod notes;
pub mod output;
pub mod probe;
pub mod report;
pub mod run;
pub mod sigv4;
pub mod watch;

pub use error::CommandError;
