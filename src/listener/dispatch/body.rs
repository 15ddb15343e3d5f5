//! What a request body must be before it reaches the host, checked here for both
//! protocols: one JSON object (a Kea command). Its top-level `command` decides the lane.

use crate::codec::{check_object, Command};
use std::fmt;

/// A request body that passed the check, with its `command` read on the way.
pub(crate) struct CheckedBody {
    bytes: Vec<u8>,
    /// The top-level `"command"` string (where it is in `bytes`, unless it had escapes);
    /// `None` if absent or not a string.
    command: Option<Command>,
}

/// Why a body was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotAnObject;

impl fmt::Display for NotAnObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("body is not a JSON object")
    }
}

impl CheckedBody {
    /// Accepts `body` if it is one JSON object (nothing after it but whitespace), and
    /// copies it. One pass over the bytes checks it and finds its top-level `command`
    /// (`codec::check_object`, which says exactly what it accepts).
    pub(crate) fn check(body: &[u8]) -> Result<CheckedBody, NotAnObject> {
        let command = check_object(body).map_err(|_| NotAnObject)?;
        Ok(CheckedBody { bytes: body.to_vec(), command })
    }

    pub(crate) fn command(&self) -> Option<&str> {
        self.command.as_ref()?.as_str(&self.bytes)
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command_name(body: &[u8]) -> Option<String> {
        CheckedBody::check(body).ok()?.command().map(str::to_string)
    }

    #[test]
    fn finds_only_the_top_level_command() {
        assert_eq!(
            command_name(br#"{"command": "lease4-update", "arguments": {}}"#).as_deref(),
            Some("lease4-update")
        );
        assert_eq!(
            command_name(br#"{"arguments": {"command": "nested"}, "command": "ha-heartbeat"}"#).as_deref(),
            Some("ha-heartbeat")
        );
        assert_eq!(command_name(br#"{"arguments": {"command": "nested"}}"#), None);
        assert_eq!(command_name(br#"{"command": 5}"#), None);
        assert_eq!(command_name(b"[1]"), None);
        assert_eq!(command_name(b"{\"command\": \"x\"} trailing"), None);
    }

    #[test]
    fn accepts_any_json_object_and_nothing_else() {
        let command = |body: &[u8]| CheckedBody::check(body).map(|b| b.command().map(str::to_string));
        assert_eq!(command(br#" {"command": "lease4-update"} "#), Ok(Some("lease4-update".into())));
        assert_eq!(command(br#"{"command": 5}"#), Ok(None));
        assert_eq!(command(b"{}"), Ok(None));
        for bad in [&b""[..], b"[1]", b"\"lease4-update\"", b"{", b"{} x", b"{\"a\":}", b"\x0c{}"] {
            assert_eq!(command(bad).err(), Some(NotAnObject), "{}", String::from_utf8_lossy(bad));
        }
        let body = CheckedBody::check(br#"{"command": "x"}"#).unwrap();
        assert_eq!(body.into_bytes(), br#"{"command": "x"}"#);
    }
}
