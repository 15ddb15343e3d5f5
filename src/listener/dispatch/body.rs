//! What a request body must be before it reaches the host, checked here for both
//! protocols: one JSON object (a Kea command). Its top-level `command` decides the lane.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A request body that passed the check, with its `command` read on the way.
pub(crate) struct CheckedBody {
    bytes: Vec<u8>,
    /// The top-level `"command"` string; `None` if absent or not a string.
    command: Option<String>,
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
    /// copies it. A Kea command, which has a `command` string, takes one pass over the
    /// bytes; a body without one takes a second to tell whether it is an object at all.
    pub(crate) fn check(body: &[u8]) -> Result<CheckedBody, NotAnObject> {
        let command = command_name(body);
        if command.is_none() && !is_json_object(body) {
            return Err(NotAnObject);
        }
        Ok(CheckedBody { bytes: body.to_vec(), command })
    }

    pub(crate) fn command(&self) -> Option<&str> {
        self.command.as_deref()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// One JSON object and nothing else, whatever it holds.
fn is_json_object(body: &[u8]) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

/// The top-level `"command"` string of a JSON object, if the body is one and has it.
/// One validating pass over the bytes; nested `command` keys are not confused with it.
/// Found, it proves the body a JSON object: this pass is stricter than [`is_json_object`].
fn command_name(body: &[u8]) -> Option<String> {
    struct Find;

    impl<'de> Visitor<'de> for Find {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "command" && found.is_none() {
                    found = Some(map.next_value::<String>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(body);
    let found = de.deserialize_map(Find).ok()?;
    de.end().ok()?;
    found
}

#[cfg(test)]
mod tests {
    use super::*;

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
