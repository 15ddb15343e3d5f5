//! CPU time of the whole process (client and listener threads alike).

use std::time::Duration;

/// User plus system CPU time used by this process so far (`getrusage(RUSAGE_SELF)`).
pub fn used() -> Duration {
    // SAFETY: getrusage writes a plain struct we provide.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
