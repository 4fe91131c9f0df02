//! A large vector made on two threads. Building the dataset of a million
//! stored records writes about 120 MB of samples into fresh memory, and
//! most of that time is the kernel zeroing the fresh pages on first touch
//! (docs/performance.md, "Diagnosing stored records"): it is the one step
//! between reading and the detectors, on one thread, so two threads each
//! touch half.

use std::mem::MaybeUninit;

use crate::diagnose::both::both;

/// `make(k)` for every `k` in `0..n`, in order; with `parallel`, the second
/// half is made (and its memory first touched) on a second thread.
pub fn in_halves<T: Send>(n: usize, parallel: bool, make: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    let fill = |from: usize, slots: &mut [MaybeUninit<T>]| {
        for (k, slot) in slots.iter_mut().enumerate() {
            slot.write(make(from + k));
        }
    };
    let slots = &mut out.spare_capacity_mut()[..n];
    if parallel {
        let (first, second) = slots.split_at_mut(n / 2);
        both(|| fill(n / 2, second), || fill(0, first));
    } else {
        fill(0, slots);
    }
    // SAFETY: both calls of `fill` above ran to their end (a panic in
    // either leaves this function before this line), and together they
    // wrote every one of the first `n` slots of the capacity.
    unsafe { out.set_len(n) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways make every item once, in order, whatever the count.
    #[test]
    fn every_item_in_order_both_ways() {
        for n in [0, 1, 2, 3, 10, 1001] {
            let expected: Vec<String> = (0..n).map(|k| k.to_string()).collect();
            assert_eq!(in_halves(n, false, |k| k.to_string()), expected);
            assert_eq!(in_halves(n, true, |k| k.to_string()), expected);
        }
    }

    /// A panic while making an item reaches the caller (nothing half made
    /// is returned).
    #[test]
    fn a_panic_in_either_half_reaches_the_caller() {
        for bad in [1, 8] {
            let made = std::panic::catch_unwind(|| {
                in_halves(10, true, |k| {
                    assert_ne!(k, bad, "item {k}");
                    k.to_string()
                })
            });
            assert!(made.is_err());
        }
    }
}
