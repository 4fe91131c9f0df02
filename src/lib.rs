//! coldlink finds out why requests through an API Gateway private
//! integration (API Gateway → VPC link → NLB → nginx → app) are sometimes
//! slow. This crate is the whole tool; the `coldlink` binary only parses the
//! command line and dispatches here.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnose;
pub mod duration;
pub mod exit;
pub mod format;
pub mod keepwarm;
pub mod lab;
pub mod logs;
pub mod probe;
pub mod publish;
pub mod records;
pub mod run;
pub mod shutdown;
pub mod stats;
pub mod tui;

pub use run::run;
