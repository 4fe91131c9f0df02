//! Issue 17: `--aws-config` reads the path's configuration. `moto`: from
//! moto's server, seeded by `seed.py`; `mocked`: what moto lacks, and the
//! failures, through aws-smithy-mocks (`chain` is the mocked account).
//! Issue 18: `alb`, the lab's ALB path in moto; `routing_rules`, a custom
//! domain's routing rules (mocks: moto has none).

mod alb;
mod chain;
mod mocked;
mod moto;
mod review;
mod routing_rules;
