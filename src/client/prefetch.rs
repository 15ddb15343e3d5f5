//! A hint to the CPU: at tens of thousands of transactions in flight, what a reply will
//! touch is cold, and asking for it early lets the misses of many replies overlap.

/// Asks the CPU to bring the cache line at `what` in, without waiting for it. Any address
/// will do: a prefetch reads nothing and never faults, so a stale hint costs only the
/// fetch.
#[inline(always)]
pub(super) fn prefetch<T: ?Sized>(what: *const T) {
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
