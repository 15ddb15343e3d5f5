//! Where the library lives: its source tree, and the files this test run built.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The library's directory (the root package, the repository's top: `Cargo.toml`,
/// `include/`, `c_tests/`, the `Makefile`), which holds this crate.
pub fn manifest_dir() -> PathBuf {
    let testkit = Path::new(env!("CARGO_MANIFEST_DIR"));
    testkit.parent().expect("testkit/ is in the library's directory").to_path_buf()
}

/// `target/<profile>/deps`, where the test binary lives and where cargo has just built
/// `libhamux.so` and `libhamux.a` with the rlib the tests link. (The copies in
/// `target/<profile>/` are only refreshed by `cargo build`: they may be stale here.)
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().expect("test binary in target/<profile>/deps").to_path_buf();
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(rlib_time) = modified(&dir.join("libhamux.rlib")) else {
        panic!("{} missing", dir.join("libhamux.rlib").display());
    };
    for lib in ["libhamux.so", "libhamux.a"] {
        let path = dir.join(lib);
        let Some(time) = modified(&path) else {
            panic!("{} missing: cargo should build it with the rlib", path.display());
        };
        // One rustc run writes all three; an older one is left from another build.
        assert!(time + Duration::from_secs(60) >= rlib_time, "{} is older than the rlib", path.display());
    }
    dir
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_library_is_one_level_up() {
        let root = super::manifest_dir();
        assert!(root.join("include/hamux.h").is_file() && root.join("testkit/Cargo.toml").is_file());
    }
}
