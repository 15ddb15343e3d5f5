//! C++ test drivers built against the hook's sources (`kea/`) and Debian's Kea 2.2
//! libraries: a test that compares one of the hook's pieces with what Kea itself does
//! (its JSON reader and writer, its lease commands) writes a `main()` that runs both and
//! exits non-zero at the first difference.

use crate::skip;
use std::path::Path;
use std::process::Command;

/// A driver: its C++ text, the hook's sources it links (relative to the project root),
/// the Kea libraries (`-lkea-…`), and a header whose presence says kea-dev is installed.
pub struct Driver<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub hook_sources: &'a [&'a str],
    pub libs: &'a [&'a str],
    pub needs_header: &'a str,
}

impl Driver<'_> {
    /// Builds and runs the driver in `tmp`; returns its standard output, or `None` (with
    /// the skip policy's line) without a C++ compiler or Kea's headers. Panics, naming
    /// `what` is compared, if it does not build or exits non-zero.
    pub fn run(&self, root: &Path, tmp: &Path, what: &str) -> Option<String> {
        if !skip::needs(skip::program("c++", "install g++")) {
            return None;
        }
        if !Path::new(self.needs_header).exists() {
            skip::skip("Kea's headers are not installed (apt-get install kea-dev libboost-dev)");
            return None;
        }
        let out = tmp.join(format!("{}-{}", self.name, std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let driver = out.join("driver.cc");
        std::fs::write(&driver, self.source).unwrap();
        let program = out.join("driver");
        let built = Command::new("c++")
            .args(["-std=c++17", "-O1", "-I/usr/include/kea"])
            .arg(format!("-I{}", root.join("kea").display()))
            .arg("-o")
            .arg(&program)
            .arg(&driver)
            .args(self.hook_sources.iter().map(|s| root.join(s)))
            .args(self.libs)
            .output()
            .expect("c++ runs");
        assert!(built.status.success(), "building the driver: {}", String::from_utf8_lossy(&built.stderr));
        let ran = Command::new(&program).output().expect("the driver runs");
        let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
        assert!(ran.status.success(), "{what} differ:\n{stdout}{}", String::from_utf8_lossy(&ran.stderr));
        Some(stdout)
    }
}
