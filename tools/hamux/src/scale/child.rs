//! The scale scenarios' child processes: this binary again, with another command, dying
//! with the bench, its stderr discarded and its reports read from its stdout.

use std::io::BufReader;
use std::process::{Child, ChildStdout, Command, Stdio};

/// Starts `hamux <args>`; `stdin` is what the child reads (a pipe for one that waits for
/// it to close).
pub fn start(args: &[&str], stdin: Stdio) -> Result<(Child, BufReader<ChildStdout>), String> {
    let hamux = std::env::current_exe().map_err(|e| format!("cannot find the hamux binary: {e}"))?;
    let mut command = Command::new(&hamux);
    testkit::process::die_with_starter(&mut command);
    let mut child = command
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} {}: {e}", hamux.display(), args.first().unwrap_or(&"")))?;
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    Ok((child, stdout))
}
