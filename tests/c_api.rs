//! The C API as a C host sees it: each program in `c_tests/` is compiled with `cc` against
//! `include/hamux.h` and the `libhamux.so` cargo built for this test run, then run with a
//! time limit; it must exit 0.
//!
//! `HAMUX_C_SANITIZE=address` builds the programs with AddressSanitizer (LeakSanitizer
//! suppressions in `c_tests/lsan.supp`); `HAMUX_C_VALGRIND=1` runs them under valgrind
//! (suppressions in `c_tests/valgrind.supp`) with less work (`HAMUX_C_SCALE`) and stretched
//! waits (`HAMUX_C_TIME_FACTOR`), unless those are set already. `CC` picks the compiler;
//! without one the tests are skipped (`testkit::skip`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;
use testkit::library::{lib_dir, manifest_dir};
use testkit::process::{run_with_limit, Finished};
use testkit::skip;

/// The programs share two cores and some make timing claims: run them one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const TIME_LIMIT: Duration = Duration::from_secs(60);
const VALGRIND_TIME_LIMIT: Duration = Duration::from_secs(300);

fn valgrind() -> bool {
    std::env::var("HAMUX_C_VALGRIND").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn sanitizer() -> Option<String> {
    let value = std::env::var("HAMUX_C_SANITIZE").ok().filter(|v| !v.is_empty())?;
    assert_eq!(value, "address", "HAMUX_C_SANITIZE supports only \"address\"");
    assert!(!valgrind(), "HAMUX_C_SANITIZE and HAMUX_C_VALGRIND cannot be combined");
    Some(value)
}

/// Where compiled C programs (and extracted sources) go: `target/<profile>/c_tests/`.
fn out_dir() -> PathBuf {
    let out_dir = lib_dir().parent().expect("target/<profile>").join("c_tests");
    std::fs::create_dir_all(&out_dir).expect("create target/<profile>/c_tests");
    out_dir
}

/// Compiles `src` into `target/<profile>/c_tests/<name>` and returns the binary.
fn compile(name: &str, src: &Path) -> PathBuf {
    let lib_dir = lib_dir();
    let sanitize = sanitizer();
    let exe = out_dir().join(if sanitize.is_some() { format!("{name}-asan") } else { name.to_string() });
    let cc = skip::c_compiler();
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-g"])
        .arg("-I")
        .arg(manifest_dir().join("include"));
    match &sanitize {
        Some(s) => cmd.args([format!("-fsanitize={s}").as_str(), "-fno-omit-frame-pointer", "-O1"]),
        None => cmd.arg("-O2"),
    };
    cmd.arg(src).arg("-o").arg(&exe).arg("-L").arg(&lib_dir).arg("-lhamux");
    // RPATH (not RUNPATH): searched before LD_LIBRARY_PATH, which cargo points at other copies.
    cmd.arg("-Wl,--disable-new-dtags").arg(format!("-Wl,-rpath,{}", lib_dir.display())).arg("-lpthread");
    let output = match cmd.output() {
        Ok(output) => output,
        Err(e) => panic!("cannot run the C compiler `{cc}` ({e}): install gcc or set CC"),
    };
    assert!(
        output.status.success(),
        "compiling {name}.c failed: {cmd:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Compiles and runs `c_tests/<name>.c`; fails unless it exits 0 within the time limit.
fn run_c_test(name: &str) {
    run_c_program(name, &manifest_dir().join("c_tests").join(format!("{name}.c")), &[]);
}

/// Compiles and runs the C program `src` with `env` added; fails unless it exits 0 within
/// the time limit. Skipped without a C compiler.
fn run_c_program(name: &str, src: &Path, env: &[(&str, &Path)]) {
    if !skip::needs(skip::have_c_compiler()) {
        return;
    }
    let exe = compile(name, src);
    let supp = manifest_dir().join("c_tests");
    let (mut cmd, limit) = if valgrind() {
        let mut cmd = Command::new("valgrind");
        cmd.args(["-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"])
            .args(["--show-leak-kinds=definite", "--fair-sched=yes"])
            .arg(format!("--suppressions={}", supp.join("valgrind.supp").display()))
            .arg(&exe);
        for (var, value) in [("HAMUX_C_SCALE", "0.1"), ("HAMUX_C_TIME_FACTOR", "5")] {
            if std::env::var_os(var).is_none() {
                cmd.env(var, value);
            }
        }
        (cmd, VALGRIND_TIME_LIMIT)
    } else {
        (Command::new(&exe), TIME_LIMIT)
    };
    if sanitizer().is_some() {
        cmd.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=98");
        cmd.env(
            "LSAN_OPTIONS",
            format!("suppressions={}:print_suppressions=0", supp.join("lsan.supp").display()),
        );
    }
    cmd.envs(env.iter().copied());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Finished { status, stdout, stderr, elapsed } = run_with_limit(&mut cmd, limit, name);
    match status {
        Some(status) if status.success() => println!("{stdout}{stderr}{name}: passed in {elapsed:.2?}"),
        Some(status) => panic!(
            "{name} failed ({status}) after {elapsed:.2?}: {cmd:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ),
        None => panic!(
            "{name} killed after {limit:?} time limit: {cmd:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ),
    }
}

#[test]
fn basic() {
    run_c_test("basic");
}

#[test]
fn stress() {
    run_c_test("stress");
}

#[test]
fn head_of_line() {
    run_c_test("head_of_line");
}

#[test]
fn free_inflight() {
    run_c_test("free_inflight");
}

#[test]
fn graceful() {
    run_c_test("graceful");
}

#[test]
fn bad_input() {
    run_c_test("bad_input");
}

#[test]
fn enum_values() {
    run_c_test("enum_values");
}

#[test]
fn peer_down() {
    run_c_test("peer_down");
}

#[test]
fn lease_helpers() {
    run_c_test("lease_helpers");
}

/// The README's C quick start compiles as shown and runs: its reply line is printed.
#[test]
fn readme_quick_start() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let section = readme.split("## C quick start").nth(1).expect("a '## C quick start' section");
    let code =
        section.split("```c\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a ```c block");
    let src = out_dir().join("readme_quick_start.c");
    std::fs::write(&src, code).expect("write the extracted quick start");
    run_c_program("readme_quick_start", &src, &[]);
}

#[test]
fn poll_host() {
    run_c_test("poll_host");
}

#[test]
fn serial_lane() {
    run_c_test("serial_lane");
}

#[test]
fn inline_handler() {
    run_c_test("inline_handler");
}

#[test]
fn body_freed_in_callback() {
    run_c_test("body_freed_in_callback");
}

#[test]
fn logger() {
    run_c_test("logger");
}

/// Certificates made here, at run time; the program finds them through `HAMUX_TEST_PKI`.
#[test]
fn tls() {
    let pki = testkit::certs::Pki::new("c-api");
    let src = manifest_dir().join("c_tests").join("tls.c");
    run_c_program("tls", &src, &[("HAMUX_TEST_PKI", pki.dir())]);
}

#[test]
fn peer_killed() {
    run_c_test("peer_killed");
}
