//! Issue 17: `--aws-config` reads the path's configuration. `moto`: from
//! moto's server, seeded by `seed.py`; `mocked`: what moto lacks, and the
//! failures, through aws-smithy-mocks (`chain` is the mocked account).

mod chain;
mod mocked;
mod moto;
mod review;
