//! The same work over many items, shared by two threads: the detectors
//! run after reading, on one thread, and on the million-record
//! `diagnose --from` their largest part is the idle analysis's tries of
//! one clock edge after another (docs/performance.md, "Diagnosing stored
//! records").

use crate::diagnose::both::both;

/// `f` of every item, in the items' order. With `parallel`, a second
/// thread takes every other item (neighbours cost alike, so the halves
/// do too); each thread has its own `state` (a memo), which must not
/// change what `f` returns.
pub fn map<T: Sync, R: Send, S>(
    items: &[T],
    parallel: bool,
    state: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    if !parallel || items.len() < 2 {
        let mut s = state();
        return items.iter().map(|item| f(&mut s, item)).collect();
    }
    let every_other = |first: usize| {
        let mut s = state();
        items
            .iter()
            .skip(first)
            .step_by(2)
            .map(|item| f(&mut s, item))
            .collect::<Vec<R>>()
    };
    let (odd, even) = both(|| every_other(1), || every_other(0));
    let mut out = Vec::with_capacity(items.len());
    let mut odd = odd.into_iter();
    for r in even {
        out.push(r);
        out.extend(odd.next());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways give every result in the items' order, whatever the count.
    #[test]
    fn results_come_in_the_items_order_both_ways() {
        for n in 0..9 {
            let items: Vec<u32> = (0..n).collect();
            let square = |calls: &mut u32, x: &u32| {
                *calls += 1;
                (x * x, *calls)
            };
            let alone = map(&items, false, || 0, square);
            let shared = map(&items, true, || 0, square);
            let squares = |r: &[(u32, u32)]| r.iter().map(|p| p.0).collect::<Vec<_>>();
            assert_eq!(squares(&shared), items.iter().map(|x| x * x).collect::<Vec<_>>());
            assert_eq!(squares(&alone), squares(&shared));
            // One state per thread: the second thread's count starts again.
            if n >= 2 {
                assert_eq!((alone[1].1, shared[1].1), (2, 1));
            }
        }
    }
}
