//! FFI from another language, as users will: `tests/python/test_ctypes.py` (Python 3,
//! standard library only) loads the `libhamux.so` cargo built for this test run through
//! ctypes, runs a listener and a client and exchanges lease updates; it must exit 0 within
//! the time limit. The interpreter is `$HAMUX_PYTHON`, else `python3` on `PATH`, else
//! `/usr/bin/python3`; without one the test is skipped (`testkit::skip`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use testkit::library::lib_dir;
use testkit::process::{run_with_limit, Finished};
use testkit::skip;

const TIME_LIMIT: Duration = Duration::from_secs(120);

/// The interpreter, or why there is none.
fn python() -> Result<String, String> {
    if let Some(python) = std::env::var("HAMUX_PYTHON").ok().filter(|p| !p.is_empty()) {
        return Ok(python);
    }
    let works = |python: &&str| skip::program(python, "").is_ok();
    match ["python3", "/usr/bin/python3"].into_iter().find(works) {
        Some(python) => Ok(python.to_string()),
        None => {
            Err("no Python 3 (python3 on PATH or /usr/bin/python3): install python3 or set HAMUX_PYTHON"
                .into())
        }
    }
}

#[test]
fn ctypes_listener_and_client_exchange_lease_updates() {
    let python = match python() {
        Ok(python) => python,
        Err(why) => {
            skip::skip(why);
            return;
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_ctypes.py");
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .env("HAMUX_LIB", lib_dir().join("libhamux.so"))
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
