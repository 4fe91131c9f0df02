//! Two pieces of work at once, the second on a thread of its own: the
//! million-record `diagnose --from` has one step after reading that would
//! otherwise keep one of the two cores idle (docs/performance.md,
//! "Diagnosing stored records"). One place for the spawn, the join and a
//! panic carried back to the caller.

/// `(elsewhere(), here())`: `elsewhere` on a scoped thread while `here`
/// runs on the caller's; a panic in either reaches the caller.
pub fn both<A: Send, B>(elsewhere: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(elsewhere);
        let mine = here();
        let theirs = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (theirs, mine)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_result_in_its_place() {
        assert_eq!(both(|| "elsewhere", || 2), ("elsewhere", 2));
    }

    #[test]
    fn a_panic_on_either_side_reaches_the_caller() {
        let elsewhere = std::panic::catch_unwind(|| both(|| panic!("elsewhere"), || 1));
        let here = std::panic::catch_unwind(|| both(|| 1, || panic!("here")));
        assert!(elsewhere.is_err() && here.is_err());
    }
}
