//! Generates `include/hamux.h` from the C ABI in `src/ffi/` with cbindgen.
//!
//! The header is committed; CI regenerates it and fails if the committed copy differs.
//! Set `HAMUX_SKIP_HEADER=1` to build without touching it (e.g. from a read-only tree).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=HAMUX_SKIP_HEADER");
    if std::env::var_os("HAMUX_SKIP_HEADER").is_some() {
        return;
    }
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(crate_dir.join("include/hamux.h"));
        }
        Err(e) => panic!("cbindgen could not generate include/hamux.h: {e}"),
    }
}
