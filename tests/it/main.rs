//! The integration tests, as one binary: each module was a binary of its
//! own (`tests/<name>.rs`), and each linked the whole crate again. One
//! module still runs alone by its path: `cargo test --test it keepwarm::`.
//!
//! Modules share one process. What that asks of a test: a global setting
//! (an environment variable, the current directory) must be one no other
//! test reads; an emulator that keeps state on disk (LocalStack) serialises
//! its users itself (`common::localstack`). insta finds the snapshots in
//! `tests/it/snapshots/`, named `it__<module>__<name>.snap`.

mod common;

mod architecture;
mod aws_cloudwatch;
mod aws_cloudwatch_alb;
mod aws_config;
mod aws_config_cli;
mod aws_mocked;
mod aws_transaction_search;
mod aws_xray;
mod bench_scripts;
mod cli;
mod diagnose_cli;
mod diagnose_config;
mod diagnose_lab;
mod diagnose_machine;
mod diagnose_synthetic;
mod dns_queries;
mod family_analysis;
mod fleet;
mod ip_family;
mod keepalive_path;
mod keepwarm;
mod kernel_lab;
mod lab;
mod lab_alb;
mod lab_cli;
mod lab_signature;
mod mtls;
mod paced_queue;
mod path_kind;
mod phase_fidelity;
mod private_api;
mod probe_engine;
mod profiles;
mod proxy_env;
mod publish;
mod report_schema;
mod run_report;
mod schedule;
mod secret_echo;
mod sigv4;
mod syn_schedule;
mod tui;
mod vantage;
mod watch_engine;
mod watch_tmux;
mod xray_segments;
