//! FFI from another language, as users will: `tests/python/test_ctypes.py` (Python 3,
//! standard library only) loads the `libhamux.so` cargo built for this test run through
//! ctypes, runs a listener and a client and exchanges lease updates; it must exit 0 within
//! the time limit. The interpreter is `$HAMUX_PYTHON`, else `python3` on `PATH`, else
//! `/usr/bin/python3`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::process::{run_with_limit, Finished};

const TIME_LIMIT: Duration = Duration::from_secs(120);

/// `target/<profile>/deps/libhamux.so`, built with the rlib this test links (as in
/// tests/c_api.rs; the copy in `target/<profile>/` may be stale under `cargo test`).
fn libhamux() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().expect("test binary in target/<profile>/deps");
    let (so, rlib) = (dir.join("libhamux.so"), dir.join("libhamux.rlib"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let (Some(so_time), Some(rlib_time)) = (modified(&so), modified(&rlib)) else {
        panic!("{} or {} missing: cargo should build the cdylib with the rlib", so.display(), rlib.display());
    };
    assert!(
        so_time + Duration::from_secs(60) >= rlib_time,
        "{} is older than {}",
        so.display(),
        rlib.display()
    );
    so
}

fn python() -> String {
    if let Some(python) = std::env::var("HAMUX_PYTHON").ok().filter(|p| !p.is_empty()) {
        return python;
    }
    let works = |python: &str| {
        Command::new(python).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    };
    match ["python3", "/usr/bin/python3"].into_iter().find(|p| works(p)) {
        Some(python) => python.to_string(),
        None => {
            panic!("no Python 3 (python3 on PATH or /usr/bin/python3): install python3 or set HAMUX_PYTHON")
        }
    }
}

#[test]
fn ctypes_listener_and_client_exchange_lease_updates() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_ctypes.py");
    let mut cmd = Command::new(python());
    cmd.arg(&script)
        .env("HAMUX_LIB", libhamux())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONFAULTHANDLER", "1") // a crash in a callback prints Python's stacks
;
    let Finished { status, stdout, stderr, elapsed } = run_with_limit(&mut cmd, TIME_LIMIT, "python3");
    let output = format!("--- stdout\n{stdout}--- stderr\n{stderr}");
    match status {
        Some(status) if status.success() => {
            // unittest's summary (passed, nothing skipped) and the round trip's own line.
            assert!(stderr.contains("\nOK\n") && stderr.contains(" lease4-update round trips ("), "{output}");
            println!("{output}test_ctypes.py: passed in {elapsed:.2?}");
        }
        Some(status) => panic!("test_ctypes.py failed ({status}) after {elapsed:.2?}: {cmd:?}\n{output}"),
        None => panic!("test_ctypes.py killed after {TIME_LIMIT:?}: {cmd:?}\n{output}"),
    }
}
