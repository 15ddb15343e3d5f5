//! Hints to the CPU: at tens of thousands of transactions in flight over a hundred
//! connections, what a reply or a send will touch is cold, and asking for it early lets
//! the misses overlap with other work instead of stalling it one after the other.

/// Asks the CPU to bring the cache line at `what` in, without waiting for it. Any address
/// will do: a prefetch reads nothing and never faults, so a stale hint costs only the
/// fetch.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(what: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 dereferences nothing and faults on no address; SSE, which has
    // it, is part of x86_64.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(what as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = what;
}

/// As [`prefetch`], for the lines of `len` bytes from `what`, which are about to be
/// written: a store to a cold line waits for it like a load does, and a lock's release
/// waits for every store before it. The hint asks for the lines to write them (PREFETCHW)
/// where the build targets CPUs that have it; otherwise the compiler emits PREFETCHT0,
/// which brings them in all the same.
#[inline(always)]
pub(crate) fn prefetch_for_write(what: *const u8, len: usize) {
    let mut at = what as usize & !63;
    let end = (what as usize).saturating_add(len);
    while at < end {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `prefetch`: a prefetch of either kind dereferences nothing.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
            _mm_prefetch::<_MM_HINT_ET0>(at as *const i8);
        }
        at += 64;
    }
}
