//! The hook under AddressSanitizer (`kea_hook_instrumented.rs`, and the hub-and-spoke
//! central of `kea_hook_hub_and_spoke.rs`): Kea run with the compiler's libasan
//! preloaded, its reports collected and checked, and a daemon's shutdown that unloads
//! the hook.

use super::kea::Launcher;
use super::kea_hook::{Server, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// SIGTERM, then waits until the log shows Kea closed the hook library.
pub fn shut_down(server: &Server, library: &Path) -> String {
    server.signal(libc::SIGTERM);
    let closed = format!("HOOKS_LIBRARY_CLOSED hooks library {} successfully closed", library.display());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = server.log();
        if log.contains(&closed) {
            return log;
        }
        assert!(Instant::now() < deadline, "the hook was not unloaded after SIGTERM:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
                .collect()
        })
        .unwrap_or_default()
}

/// Kea run with the compiler's libasan preloaded, its reports in `reports`.
pub fn asan_launcher(reports: &TempDir) -> Launcher {
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-print-file-name=libasan.so")
        .output()
        .expect("the C compiler (for libasan)");
    let libasan = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(Path::new(&libasan).is_absolute(), "no libasan.so from the compiler: {libasan:?}");
    Launcher {
        program: vec![],
        env: vec![
            ("LD_PRELOAD".into(), libasan),
            (
                "ASAN_OPTIONS".into(),
                format!("detect_leaks=0:halt_on_error=1:log_path={}/asan", reports.path().display()),
            ),
        ],
        start_timeout: Some(Duration::from_secs(30)),
    }
}

/// What AddressSanitizer wrote to `reports`, one report after another.
pub fn asan_reports(reports: &TempDir) -> Vec<String> {
    let found = files_starting_with(reports.path(), "asan");
    found.iter().map(|f| std::fs::read_to_string(f).unwrap_or_default()).collect()
}

/// Prints ASan's reports if the test panics before it checks them (a daemon that ASan
/// stopped shows first as a refused connection or a missing answer; the reports, in a
/// directory removed with the test, say why).
pub struct ReportsShownOnPanic<'a>(pub &'a TempDir);

impl Drop for ReportsShownOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let reports = asan_reports(self.0);
            eprintln!("AddressSanitizer's reports ({}):\n{}", reports.len(), reports.join("\n"));
        }
    }
}

/// Fails with what AddressSanitizer wrote to `reports`, if anything.
pub fn check_no_asan_report(reports: &TempDir) {
    let text = asan_reports(reports);
    assert!(text.is_empty(), "AddressSanitizer reported:\n{}", text.join("\n"));
}
