//! Running out of file descriptors: telling it from other IO errors and saying which
//! limit was reached, for both ends (the listener's accept, the client's connect).
//!
//! Each connection holds one descriptor, so a process that holds more connections than
//! `RLIMIT_NOFILE` allows gets `EMFILE` from `accept(2)` and `socket(2)`; the
//! system-wide `fs.file-max` gives `ENFILE`. Neither is the peer's fault, and retrying
//! at once cannot help until a descriptor is freed: the listener backs off and counts,
//! the client fails the waiting requests with a message that names the limit.

/// Whether `e` means this process (EMFILE) or the system (ENFILE) has no descriptor left.
pub fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// This process's soft descriptor limit (`RLIMIT_NOFILE`), if it can be read.
pub fn descriptor_limit() -> Option<u64> {
    // SAFETY: getrlimit writes a plain struct we own.
    let limit = unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        limit
    };
    Some(limit.rlim_cur as u64)
}

/// Which limit `e` (an [`is_out_of_descriptors`] error) reached, for a log line or a
/// callback's message.
pub fn which_limit(e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(libc::ENFILE) {
        return "the system's file table is full (ENFILE, fs.file-max)".into();
    }
    match descriptor_limit() {
        Some(n) => {
            format!("out of file descriptors: the process holds its limit of {n} (EMFILE, RLIMIT_NOFILE)")
        }
        None => "out of file descriptors (EMFILE, RLIMIT_NOFILE)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_descriptor_exhaustion_apart() {
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        let enfile = std::io::Error::from_raw_os_error(libc::ENFILE);
        assert!(is_out_of_descriptors(&emfile) && is_out_of_descriptors(&enfile));
        assert!(!is_out_of_descriptors(&std::io::Error::from_raw_os_error(libc::ECONNREFUSED)));
        assert!(which_limit(&emfile).contains("RLIMIT_NOFILE"), "{}", which_limit(&emfile));
        assert!(which_limit(&enfile).contains("fs.file-max"));
        assert!(descriptor_limit().is_some_and(|n| n > 0));
    }
}
