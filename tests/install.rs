//! Packaging for C users: `make install` puts the library cargo built for this test run
//! (`NO_BUILD=1 LIB_DIR=target/<profile>/deps`: no second build, no cargo inside cargo test)
//! into a fresh prefix, and a C program (`c_tests/installed.c`) is built against that copy
//! with nothing but `pkg-config --cflags --libs hamux` — dynamically (it must load the
//! installed `libhamux.so.X.Y.Z` through its soname) and statically (`pkg-config --static`,
//! `libhamux.a`) — and run. Needs `make`, `pkg-config`, `cc` and binutils' `readelf`;
//! skipped without the first three (`testkit::skip`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::library::{lib_dir, manifest_dir};
use testkit::process::{run_with_limit, Finished};
use testkit::skip;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The soname build.rs gives the library: `libhamux.so.0.<minor>` for 0.x, else `.<major>`.
fn soname() -> String {
    let (major, minor) = (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"));
    if major == "0" {
        format!("libhamux.so.0.{minor}")
    } else {
        format!("libhamux.so.{major}")
    }
}

/// A fresh, empty `target/<profile>/install-test/<name>`.
fn scratch(name: &str) -> PathBuf {
    let dir = lib_dir().parent().expect("target/<profile>").join("install-test").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove the previous test's files");
    }
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    assert!(
        !dir.to_string_lossy().contains(char::is_whitespace),
        "{}: pkg-config output is split on spaces here, use a target directory without them",
        dir.display()
    );
    dir
}

/// Runs `cmd` (with a time limit); panics with its output unless it exits 0.
fn run(mut cmd: Command, what: &str) -> String {
    let Finished { status, stdout, stderr, .. } = run_with_limit(&mut cmd, TIME_LIMIT, what);
    match status {
        Some(status) if status.success() => stdout,
        Some(status) => panic!("{what} failed ({status}): {cmd:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"),
        None => {
            panic!("{what} killed after {TIME_LIMIT:?}: {cmd:?}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        }
    }
}

/// Whether `make` runs here; the test is skipped if not.
fn have_make() -> bool {
    skip::needs(skip::program("make", "apt-get install make"))
}

/// Whether `make`, `pkg-config` and the C compiler run here; the test is skipped if not.
fn have_make_pkg_config_and_cc() -> bool {
    have_make()
        && skip::needs(skip::program("pkg-config", "apt-get install pkg-config, or pkgconf"))
        && skip::needs(skip::have_c_compiler())
}

/// `make <args>` in the crate, with the library of this test run and no cargo build.
fn make(args: &[&str]) -> String {
    let mut cmd = Command::new("make");
    cmd.current_dir(manifest_dir())
        .arg("--no-print-directory")
        .args(args)
        .arg("NO_BUILD=1")
        .arg(format!("LIB_DIR={}", lib_dir().display()))
        // The Kea hook (installed too where kea-dev is) links this run's libhamux.a.
        .arg(format!("KEA_OUT={}", lib_dir().join("kea-install").display()))
        // An outer make's flags (-n, -j with its jobserver) are not for this one.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    run(cmd, &format!("make {}", args.join(" ")))
}

/// pkg-config seeing only `prefix`'s hamux.pc (no system directories).
fn pkg_config(prefix: &Path, args: &[&str]) -> String {
    let pc_dir = prefix.join("lib/pkgconfig");
    let mut cmd = Command::new("pkg-config");
    cmd.args(args).env("PKG_CONFIG_PATH", &pc_dir).env("PKG_CONFIG_LIBDIR", &pc_dir);
    run(cmd, &format!("pkg-config {}", args.join(" "))).trim().to_string()
}

fn readelf_dynamic(file: &Path) -> String {
    let mut cmd = Command::new("readelf");
    cmd.arg("-d").arg(file);
    run(cmd, "readelf -d (binutils)")
}

/// Compiles `c_tests/installed.c` with only `flags` (from pkg-config) into `exe`.
fn compile(exe: &Path, flags: &str) {
    let cc = skip::c_compiler();
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2"])
        .arg(manifest_dir().join("c_tests/installed.c"))
        .arg("-o")
        .arg(exe)
        .args(flags.split_whitespace());
    run(cmd, &format!("the C compiler `{cc}` (install gcc or set CC)"));
}

/// Runs the program with the loader told only about `lib_dir` (cargo's LD_LIBRARY_PATH
/// points at the build tree, which has a libhamux of its own); returns its output.
fn run_installed(exe: &Path, lib_dir: &str) -> String {
    let mut cmd = Command::new(exe);
    cmd.arg(VERSION).env("LD_LIBRARY_PATH", lib_dir);
    let out = run(cmd, "the installed-library C program");
    println!("{}:\n{out}", exe.display());
    assert!(out.contains(&format!("hamux_version: {VERSION}\n")), "{out}");
    out
}

#[test]
fn c_program_builds_and_runs_against_installed_copy() {
    if !have_make_pkg_config_and_cc() {
        return;
    }
    let prefix = scratch("prefix");
    make(&["install", &format!("PREFIX={}", prefix.display())]);

    // The files, the soname chain and the header.
    let lib = prefix.join("lib");
    let real = format!("libhamux.so.{VERSION}");
    assert!(std::fs::symlink_metadata(lib.join(&real)).expect(&real).file_type().is_file());
    assert_eq!(std::fs::read_link(lib.join(soname())).expect("soname link"), Path::new(&real));
    assert_eq!(std::fs::read_link(lib.join("libhamux.so")).expect("dev link"), Path::new(&soname()));
    assert!(lib.join("libhamux.a").is_file());
    assert_eq!(
        std::fs::read(prefix.join("include/hamux.h")).expect("installed header"),
        std::fs::read(manifest_dir().join("include/hamux.h")).expect("include/hamux.h")
    );
    let dynamic = readelf_dynamic(&lib.join(&real));
    assert!(dynamic.contains(&format!("Library soname: [{}]", soname())), "no soname:\n{dynamic}");

    // pkg-config.
    let pc = std::fs::read_to_string(lib.join("pkgconfig/hamux.pc")).expect("hamux.pc");
    assert!(pc.contains(&format!("prefix={}\n", prefix.display())), "{pc}");
    assert_eq!(pkg_config(&prefix, &["--modversion", "hamux"]), VERSION);
    let flags = pkg_config(&prefix, &["--cflags", "--libs", "hamux"]);
    let (include, libdir) = (prefix.join("include"), prefix.join("lib"));
    assert_eq!(flags, format!("-I{} -L{} -lhamux", include.display(), libdir.display()));
    let static_flags = pkg_config(&prefix, &["--cflags", "--static", "--libs", "hamux"]);
    assert!(static_flags.starts_with(&flags) && static_flags.contains("-lpthread"), "{static_flags}");

    // Linked dynamically: the soname is what the program needs, and the installed file
    // is what it loads.
    let dyn_exe = prefix.join("installed-dynamic");
    compile(&dyn_exe, &flags);
    let needed = readelf_dynamic(&dyn_exe);
    assert!(needed.contains(&format!("Shared library: [{}]", soname())), "{needed}");
    let mut ldd = Command::new("ldd");
    ldd.arg(&dyn_exe).env("LD_LIBRARY_PATH", &libdir);
    let ldd = run(ldd, "ldd");
    let want = format!("{} => {}", soname(), libdir.join(soname()).display());
    assert!(ldd.contains(&want), "ldd does not show {want}:\n{ldd}");
    let out = run_installed(&dyn_exe, &libdir.to_string_lossy());
    let real_path = std::fs::canonicalize(lib.join(&real)).expect("canonical library path");
    assert!(out.contains(&format!("libhamux mapped from: {}\n", real_path.display())), "{out}");

    // Linked statically: `pkg-config --static` gives the system libraries libhamux.a needs;
    // `-l:libhamux.a` picks the archive over the shared library next to it.
    let static_exe = prefix.join("installed-static");
    let archive_flags: Vec<&str> =
        static_flags.split_whitespace().map(|f| if f == "-lhamux" { "-l:libhamux.a" } else { f }).collect();
    compile(&static_exe, &archive_flags.join(" "));
    let needed = readelf_dynamic(&static_exe);
    assert!(!needed.contains("libhamux"), "the static program needs a shared libhamux:\n{needed}");
    let out = run_installed(&static_exe, "");
    assert!(out.contains("libhamux mapped from: (none: linked statically)\n"), "{out}");
}

/// `DESTDIR` stages the files under `PREFIX` (hamux.pc names the final prefix), and
/// `make uninstall` removes every one of them.
#[test]
fn staged_install_and_uninstall() {
    if !have_make() {
        return;
    }
    let stage = scratch("stage");
    let vars = [format!("DESTDIR={}", stage.display()), "PREFIX=/opt/hamux".to_string()];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    make(&[&["install"], &vars[..]].concat());
    let root = stage.join("opt/hamux");
    let mut files = vec![
        format!("lib/libhamux.so.{VERSION}"),
        format!("lib/{}", soname()),
        "lib/libhamux.so".into(),
        "lib/libhamux.a".into(),
        "include/hamux.h".into(),
        "lib/pkgconfig/hamux.pc".into(),
    ];
    // With Kea's headers (kea-dev), the Kea hook goes into Kea's hooks directory too.
    if Path::new("/usr/include/kea/hooks/hooks.h").exists() {
        files.push("lib/kea/hooks/libdhcp_hamux.so".into());
    } else {
        // The rest of the test runs.
        skip::skip(
            "the Kea hook's install is not checked: kea-dev is not installed (apt-get install kea-dev)",
        );
    }
    for file in &files {
        assert!(std::fs::symlink_metadata(root.join(file)).is_ok(), "{file} not installed");
    }
    let pc = std::fs::read_to_string(root.join("lib/pkgconfig/hamux.pc")).expect("hamux.pc");
    for line in ["prefix=/opt/hamux\n", "libdir=${prefix}/lib\n", &format!("Version: {VERSION}\n")] {
        assert!(pc.contains(line), "hamux.pc lacks {line:?}:\n{pc}");
    }

    make(&[&["uninstall"], &vars[..]].concat());
    for file in &files {
        assert!(std::fs::symlink_metadata(root.join(file)).is_err(), "{file} left after uninstall");
    }
}
