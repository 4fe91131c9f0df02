//! The `coldlink` binary: parse, then `coldlink::run`; and the memory
//! allocator, which is the binary's to choose.

use std::process::ExitCode;

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use coldlink::cli::{Cli, Command};
use coldlink::exit::Exit;

// glibc's malloc took a fifth of the probe loop's instructions (many small,
// short-lived allocations per request in hyper and the record); mimalloc's
// thread-local free lists make them cheap. Measured in docs/performance.md.
//
// The `mimalloc` crate calls the aligned API (`mi_malloc_aligned`) for every
// allocation, which costs about 70 instructions more than `mi_malloc` even on
// its fast path. Every mimalloc block is aligned to at least a word (block
// sizes are whole words, pages start word-aligned), so layouts aligned to a
// word or less take the plain calls; larger alignments keep the aligned ones.
//
// hyper reads each HTTP/1 response into a new 8 KiB buffer when the
// previous response still holds the old one (its header values share it),
// and mimalloc serves blocks above 1 KiB through its generic path: about
// 420 instructions an allocation, a sixtieth of a keep-alive request
// (issue 20). Freed blocks of exactly that size are kept aside, up to
// `SPARES` of them (512 KiB), and handed to the next allocations of that
// size: a push or a pop under a lock that is only ever tried (a `Mutex`'s
// poisoning checks cost as much again as the lock itself). Fifty connections' reads
// come in a batch and their responses are dropped in a batch, so one spare
// block was not enough.
#[global_allocator]
static ALLOCATOR: Mimalloc = Mimalloc;

/// The size of the block kept aside: hyper's read buffer.
const SPARE_SIZE: usize = 8 * 1024;

/// How many freed blocks of [`SPARE_SIZE`] are kept at most.
const SPARES: usize = 64;

/// Freed blocks of [`SPARE_SIZE`] bytes (word-aligned) waiting to be handed
/// out again; whoever pops one owns it. Only ever tried: under contention
/// the allocator goes to mimalloc rather than wait.
static SPARE: SpareBlocks = SpareBlocks {
    busy: AtomicBool::new(false),
    spares: UnsafeCell::new(Spares {
        blocks: [std::ptr::null_mut(); SPARES],
        len: 0,
    }),
};

struct SpareBlocks {
    /// Held by whoever reads or changes `spares`.
    busy: AtomicBool,
    spares: UnsafeCell<Spares>,
}

struct Spares {
    blocks: [*mut u8; SPARES],
    len: usize,
}

// SAFETY: `spares` is only touched by the one thread that set `busy`
// (Acquire) until it clears it (Release); the pointers are blocks nobody
// else holds (freed, not yet handed out), and mimalloc blocks may be used
// and freed on any thread.
unsafe impl Sync for SpareBlocks {}

impl SpareBlocks {
    /// `f` on the spare blocks, unless another thread has them now.
    #[inline]
    fn try_with<T>(&self, f: impl FnOnce(&mut Spares) -> T) -> Option<T> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: `busy` was false and is now ours: no other reference.
        let out = f(unsafe { &mut *self.spares.get() });
        self.busy.store(false, Ordering::Release);
        Some(out)
    }
}

/// A kept block, if there is one.
#[inline]
fn take_spare() -> Option<*mut u8> {
    SPARE
        .try_with(|spares| {
            spares.len = spares.len.checked_sub(1)?;
            Some(spares.blocks[spares.len])
        })
        .flatten()
}

/// Keep `block` for the next allocation of its size; false when full.
#[inline]
fn keep_spare(block: *mut u8) -> bool {
    SPARE
        .try_with(|spares| {
            if spares.len == SPARES {
                return false;
            }
            spares.blocks[spares.len] = block;
            spares.len += 1;
            true
        })
        .unwrap_or(false)
}

/// mimalloc, with the plain calls for word-aligned layouts.
struct Mimalloc;

/// The alignment every mimalloc block has whatever its size.
const WORD: usize = std::mem::size_of::<usize>();

// SAFETY: forwards to mimalloc, which returns memory of at least the size
// asked for, aligned to `WORD` by the plain calls and to the layout's
// alignment by the aligned ones; `mi_free` takes either. A spare block is a
// mimalloc block freed with a layout of `SPARE_SIZE` bytes aligned to a word
// or less, so it fits any such layout it is handed out for; `SPARE`'s flag
// gives it to one owner only and orders the freeing thread's last use before
// the next owner's first.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= WORD {
            if layout.size() == SPARE_SIZE {
                if let Some(block) = take_spare() {
                    return block;
                }
            }
            unsafe { libmimalloc_sys::mi_malloc(layout.size()) as *mut u8 }
        } else {
            unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { libmimalloc_sys::mi_zalloc(layout.size()) as *mut u8 }
        } else {
            unsafe { libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        let kept = layout.size() == SPARE_SIZE && layout.align() <= WORD && keep_spare(ptr);
        if !kept {
            unsafe { libmimalloc_sys::mi_free(ptr as *mut std::ffi::c_void) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let ptr = ptr as *mut std::ffi::c_void;
        if layout.align() <= WORD {
            unsafe { libmimalloc_sys::mi_realloc(ptr, new_size) as *mut u8 }
        } else {
            unsafe { libmimalloc_sys::mi_realloc_aligned(ptr, new_size, layout.align()) as *mut u8 }
        }
    }
}

const RECORD_READER_PURGE_DELAY_MS: std::ffi::c_long = 100;

/// mimalloc's `mi_option_purge_delay` (its header's enum; no Rust name yet).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Commands that read stored records give freed memory back after 100 ms
/// instead of a second: `diagnose --from` frees its parsing buffers in
/// bursts, and with the default its peak RSS over a million records was
/// 410–470 MB instead of about 300 MB (purging at once: 285 MB, but 0.2 s
/// slower). 10 ms (until issue 20's last pass) gave 330–340 MB but, in
/// most runs, 1.0–1.5 s of system time: memory given back between the
/// reading and the dataset's build was taken again and zeroed by the
/// kernel; 100 ms kept it to 0.1–0.6 s in most runs, with 330–400 MB
/// (docs/performance.md). Probing commands keep the default: purging at
/// once cost them 12 % of their keep-alive throughput.
fn tune_allocator(command: &Command) {
    let reads_records = match command {
        Command::Diagnose(args) => !args.from.is_empty(),
        Command::Report(_) => true,
        _ => false,
    };
    if reads_records {
        // SAFETY: sets a plain integer option; mimalloc reads it when it purges.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, RECORD_READER_PURGE_DELAY_MS) };
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let e = coldlink::cli::parse::without_secrets(e);
            let _ = e.print();
            // Help and version are not errors; everything else is bad input.
            return ExitCode::from(if e.use_stderr() { Exit::Error } else { Exit::Ok });
        }
    };
    coldlink::run::init_logging();
    tune_allocator(&cli.command);
    ExitCode::from(coldlink::run(cli))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout};

    /// Issue 20: a freed block of hyper's buffer size is handed out again
    /// (other tests' threads may take it first, hence a few tries); other
    /// sizes and alignments are not kept, nor more than `SPARES` blocks.
    #[test]
    fn a_freed_read_buffer_is_handed_out_again() {
        let layout = Layout::from_size_align(SPARE_SIZE, 1).unwrap();
        let reused = (0..100).any(|_| unsafe {
            let block = ALLOCATOR.alloc(layout);
            assert!(!block.is_null());
            block.write_bytes(0xa5, SPARE_SIZE);
            ALLOCATOR.dealloc(block, layout);
            // Kept aside, not given back to mimalloc (which might hand out
            // the same block anyway).
            let kept = SPARE.try_with(|s| s.blocks[..s.len].contains(&block)) == Some(true);
            let again = ALLOCATOR.alloc(layout);
            again.write_bytes(0x5a, SPARE_SIZE);
            ALLOCATOR.dealloc(again, layout);
            kept && again == block
        });
        assert!(reused, "the spare block was never handed out again");
        for layout in [
            Layout::from_size_align(SPARE_SIZE - 1, 1).unwrap(),
            Layout::from_size_align(SPARE_SIZE, 64).unwrap(),
        ] {
            unsafe {
                let block = ALLOCATOR.alloc(layout);
                assert_eq!(block as usize % layout.align(), 0);
                ALLOCATOR.dealloc(block, layout);
                let kept = loop {
                    if let Some(kept) = SPARE.try_with(|s| s.blocks[..s.len].contains(&block)) {
                        break kept;
                    }
                };
                assert!(!kept, "{layout:?} kept");
            }
        }
        // More than can be kept, freed at once: the rest go back to mimalloc.
        let layout = Layout::from_size_align(SPARE_SIZE, 8).unwrap();
        let blocks: Vec<*mut u8> = (0..SPARES + 8)
            .map(|_| unsafe { ALLOCATOR.alloc(layout) })
            .collect();
        for &block in &blocks {
            unsafe { ALLOCATOR.dealloc(block, layout) };
        }
        let len = loop {
            if let Some(len) = SPARE.try_with(|s| s.len) {
                break len;
            }
        };
        assert!(len <= SPARES);
    }

    /// Guards the option number against a mimalloc upgrade that renumbers
    /// its enum: the purge delay is the option whose default is 1000 ms.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(get(MI_OPTION_PURGE_DELAY), 1000, "default purge delay");
        let cli = Cli::try_parse_from(["coldlink", "probe", "http://127.0.0.1:1/"]).unwrap();
        tune_allocator(&cli.command);
        assert_eq!(
            get(MI_OPTION_PURGE_DELAY),
            1000,
            "a probing command keeps the delay"
        );
        let cli = Cli::try_parse_from(["coldlink", "diagnose", "--from", "r.ndjson"]).unwrap();
        tune_allocator(&cli.command);
        assert_eq!(get(MI_OPTION_PURGE_DELAY), RECORD_READER_PURGE_DELAY_MS);
    }
}
