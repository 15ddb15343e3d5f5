//! Generates `include/hamux.h` from the C ABI in `src/ffi/` with cbindgen.
//!
//! `hamux_status` is the exception: `src/status.rs` defines the statuses with a macro,
//! which cbindgen cannot expand, so this script compiles that file itself and gives
//! cbindgen the enum rendered from its table (see `status_enum`).
//!
//! The header is committed; CI regenerates it and fails if the committed copy differs.
//! Set `HAMUX_SKIP_HEADER=1` to build without touching it (e.g. from a read-only tree).
//!
//! On ELF targets it also gives `libhamux.so` its versioned soname, `libhamux.so.0.<minor>`
//! while the version is 0.x (`libhamux.so.<major>` from 1.0 on), as `make install` installs
//! it (README, "Installing").

use std::path::PathBuf;

// Self-contained (no `crate::` paths) so that it compiles here too; only part of it is used.
#[allow(dead_code)]
#[path = "src/status.rs"]
mod status;

fn main() {
    soname();
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/status.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=HAMUX_SKIP_HEADER");
    if std::env::var_os("HAMUX_SKIP_HEADER").is_some() {
        return;
    }
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let status_src = out_dir.join("hamux_status.rs");
    std::fs::write(&status_src, status_enum()).expect("write OUT_DIR/hamux_status.rs");
    let builder = cbindgen::Builder::new().with_src(&status_src).with_crate(&crate_dir).with_config(config);
    match builder.generate() {
        Ok(bindings) => {
            bindings.write_to_file(crate_dir.join("include/hamux.h"));
        }
        Err(e) => panic!("cbindgen could not generate include/hamux.h: {e}"),
    }
}

/// `hamux_status` as Rust source for cbindgen: one variant per row of the `statuses!` table,
/// named, numbered and documented as there. (The C ABI passes `Status` itself, whose
/// `#[repr(C)]` this enum repeats.)
fn status_enum() -> String {
    let mut src = String::from(
        "/// The outcome of a call or of a transaction. Zero is success.\n#[repr(C)]\npub enum hamux_status {\n",
    );
    for status in status::Status::ALL {
        for line in status.doc().lines() {
            src.push_str(&format!("    /// {line}\n"));
        }
        src.push_str(&format!("    {} = {},\n", status.name(), status as u32));
    }
    src.push_str("}\n");
    src
}

/// `-Wl,-soname,libhamux.so.<abi>` for the cdylib on ELF targets. Programs linked against a
/// library with a soname record that name (not `libhamux.so`) and the loader looks for a
/// file of that name, so the soname is also linked to `libhamux.so` in
/// `target/<profile>/` and `target/<profile>/deps/`: programs linked in the build tree
/// (`c_tests/`, the README's quick start) keep running from there.
fn soname() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = ["linux", "android", "freebsd", "netbsd", "openbsd", "dragonfly", "illumos", "solaris"];
    if !elf.contains(&os.as_str()) {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets CARGO_PKG_VERSION_MINOR");
    // 0.x: every minor release may break the ABI (as for Cargo's semver), so it is in the name.
    let soname = if major == "0" { format!("libhamux.so.0.{minor}") } else { format!("libhamux.so.{major}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");

    // OUT_DIR is <target>/<profile>/build/hamux-<hash>/out.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let Some(profile_dir) = out_dir.ancestors().nth(3) else { return };
    if out_dir.ancestors().nth(2).and_then(|d| d.file_name()) != Some("build".as_ref()) {
        return; // an unknown layout: leave it
    }
    for dir in [profile_dir.to_path_buf(), profile_dir.join("deps")] {
        link_soname(&dir, &soname);
    }
}

/// `dir/<soname>` -> `libhamux.so` (relative; it may dangle until the library is linked).
#[cfg(unix)]
fn link_soname(dir: &std::path::Path, soname: &str) {
    let link = dir.join(soname);
    if std::fs::read_link(&link).is_ok_and(|target| target.as_os_str() == "libhamux.so") {
        return;
    }
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::remove_file(&link);
    if let Err(e) = std::os::unix::fs::symlink("libhamux.so", &link) {
        println!("cargo:warning=cannot link {} to libhamux.so: {e}", link.display());
    }
}

#[cfg(not(unix))]
fn link_soname(_dir: &std::path::Path, _soname: &str) {}
