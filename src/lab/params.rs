//! The scenario parameters `--set KEY=VALUE` may change, each with what it
//! takes, so that a refusal names the key and what would be valid (the
//! scenario's own fields, `name`, `cause` and `summary`, are not
//! parameters). Kept in step with `docs/lab.md` and the scenario structs by
//! a test.

const DURATION: &str = "a duration like 250ms, 5s or 6m";
const OFF_DURATION: &str = "a duration like 250ms, 5s or 6m (0s for off)";
const FRACTION: &str = "a number from 0 to 1, e.g. 0.1";
const SWITCH: &str = "true or false";
const POLICY: &str = "pool or fresh";

/// Every parameter and what it takes.
pub const PARAMETERS: [(&str, &str); 35] = [
    ("speed", "a positive number, e.g. 10 or 0.5"),
    ("path", "nlb or alb"),
    ("backend.targets", "a whole number from 1 to 16"),
    ("backend.delay", DURATION),
    ("backend.jitter", DURATION),
    ("backend.error_rate", FRACTION),
    ("backend.keepalive_timeout", OFF_DURATION),
    ("backend.close_race", DURATION),
    ("backend.stream_chunks", "a whole number from 1 to 1000"),
    ("backend.stream_duration", DURATION),
    ("nlb.idle_timeout", OFF_DURATION),
    ("nlb.idle_behaviour", "reset or blackhole"),
    (
        "nlb.faults",
        "a list like [{ target = 2, kind = \"slow-connect\", delay = \"5s\" }] (kinds slow-connect, slow-answer, refuse)",
    ),
    (
        "nlb.drain",
        "a table like { target = 0, at = \"60s\", dies_after = \"120s\", termination = false, slow = \"500ms\" } (target: an index or \"in-use\")",
    ),
    ("alb.idle_timeout", DURATION),
    ("alb.client_keep_alive", DURATION),
    ("alb.close_race", DURATION),
    ("alb.other_traffic", "requests per second of scenario time, e.g. 0.2 (0 for none)"),
    ("gateway.stage", "a stage name, e.g. test"),
    ("gateway.integration_timeout", DURATION),
    ("gateway.upstream", POLICY),
    ("gateway.retry_on_reset", SWITCH),
    ("gateway.stall_retry", OFF_DURATION),
    ("gateway.tls_delay", DURATION),
    ("gateway.tls_resumption", SWITCH),
    ("gateway.syn_loss", "a number from 0 to 0.3, e.g. 0.1"),
    ("gateway.ipv6_syn_loss", "a number from 0 to 0.3, e.g. 0.1"),
    ("gateway.response_transfer_mode", "buffered or stream"),
    ("edge.delay", DURATION),
    ("edge.origin", POLICY),
    ("edge.pop", "a PoP name, e.g. FRA56-P1"),
    ("dns.delay", DURATION),
    ("dns.drop", FRACTION),
    ("dns.drop_first", SWITCH),
    ("dns.aaaa", SWITCH),
];

/// What `key` takes, or `None` when it is not a parameter.
pub fn takes(key: &str) -> Option<&'static str> {
    PARAMETERS.iter().find(|(k, _)| *k == key).map(|(_, what)| *what)
}

/// Every parameter's name, for an error about one that is not.
pub fn names() -> Vec<&'static str> {
    PARAMETERS.iter().map(|(k, _)| *k).collect()
}
