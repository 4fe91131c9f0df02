//! The connection kind a probe went out on, as a typed index: every
//! per-kind pair in the crate is `[fresh, reused]`, in that order, and is
//! indexed by [`Reuse`], never by a bare `0`/`1` or a `bool` cast.

use std::ops::{Index, IndexMut};

/// Whether a probe opened its connection or used one left open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reuse {
    /// A new connection was opened for the probe.
    Fresh = 0,
    /// The connection had served an earlier probe.
    Reused = 1,
}

impl Reuse {
    /// Both kinds, in the order of a [`ByReuse`].
    pub const ALL: [Reuse; 2] = [Reuse::Fresh, Reuse::Reused];

    pub fn of(reused: bool) -> Reuse {
        if reused {
            Reuse::Reused
        } else {
            Reuse::Fresh
        }
    }

    /// The other kind.
    pub fn other(self) -> Reuse {
        match self {
            Reuse::Fresh => Reuse::Reused,
            Reuse::Reused => Reuse::Fresh,
        }
    }
}

/// One value per connection kind, `[fresh, reused]`, indexed by [`Reuse`].
///
/// A plain array rather than a newtype so that it can still be written as a
/// literal (`[Some(x), Some(x)]`); the [`Index`] impls below are what make
/// `pair[Reuse::Fresh]` the way to read it.
pub type ByReuse<T> = [T; 2];

impl<T> Index<Reuse> for [T; 2] {
    type Output = T;

    fn index(&self, kind: Reuse) -> &T {
        &self[kind as usize]
    }
}

impl<T> IndexMut<Reuse> for [T; 2] {
    fn index_mut(&mut self, kind: Reuse) -> &mut T {
        &mut self[kind as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_fresh_then_reused() {
        let pair: ByReuse<&str> = ["fresh", "reused"];
        assert_eq!(pair[Reuse::Fresh], "fresh");
        assert_eq!(pair[Reuse::of(true)], "reused");
        assert_eq!(Reuse::ALL.map(|k| pair[k]), pair);
        assert_eq!(Reuse::Fresh.other(), Reuse::Reused);
    }
}
