//! The kernel lab: each cause reproduced by the real kernel (conntrack,
//! SYN drops, TCP's own timers), Debian's nginx and dnsmasq inside
//! throw-away network namespaces (`scripts/kernel-lab.sh`), and `coldlink
//! diagnose` run in the client namespace must name it. Without root,
//! nftables, nginx or dnsmasq each test prints `kernel lab: skipped: <why>`
//! and returns (tested as an ordinary user in `terminal`, which also runs
//! the script in a real terminal and through sudo). Each scenario's records
//! stay in `target/kernel-lab/`.

mod harness;
mod lifecycle;
mod scenarios;
mod teardown;
mod terminal;
