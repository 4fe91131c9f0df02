//! An Application Load Balancer in miniature, in the NLB's place on an ALB
//! path (VPC link V2): an HTTP proxy with its own idle timeout, client
//! keep-alive duration and 502/504 pages (`server: awselb/2.0`). Counts
//! what CloudWatch's `AWS/ApplicationELB` would show.
//!
//! (Skeleton: the proxy itself comes with the ALB topology.)

use std::sync::atomic::AtomicU64;

/// Counters in the shape of the ALB's CloudWatch metrics (monotonic; the
/// publisher sends each minute's difference).
#[derive(Debug, Default)]
pub struct AlbStats {
    /// `RequestCount`: requests the ALB received.
    pub requests: AtomicU64,
    /// `HTTPCode_ELB_502_Count`: 502 pages the ALB answered itself.
    pub elb_502: AtomicU64,
    /// `HTTPCode_ELB_504_Count`: 504 pages (a target silent past the idle timeout).
    pub elb_504: AtomicU64,
    /// `HTTPCode_Target_5XX_Count`: 5xx answers passed on from targets.
    pub target_5xx: AtomicU64,
    /// `TargetConnectionErrorCount`: connections to a target that failed.
    pub target_connection_errors: AtomicU64,
    /// `TargetResponseTime`, summed over answered requests (microseconds,
    /// real time) with its count: the publisher averages per minute.
    pub target_response_us: AtomicU64,
    pub target_responses: AtomicU64,
}
