//! Exit codes are API: documented in the README and tested. Every command,
//! and every feature that ends a command (keep-warm, the dashboard), returns
//! one of these; only the binary turns it into a process status.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Healthy: nothing failed (also: help, version, an overlapping run).
    Ok,
    /// A problem was found: a probe failed, or a finding is a warning or worse.
    Problem,
    /// Bad input or an error of the tool itself.
    Error,
}

impl Exit {
    /// The process status: 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Problem => 1,
            Exit::Error => 2,
        }
    }

    /// `Problem` when `problem`, else `Ok`.
    pub fn problem_if(problem: bool) -> Exit {
        if problem {
            Exit::Problem
        } else {
            Exit::Ok
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
