//! Reading the `command` of a Kea command without building a JSON tree.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The top-level `"command"` string of a JSON object, if the body is one and has it.
/// One validating pass over the bytes; nested `command` keys are not confused with it.
pub(crate) fn command_name(body: &[u8]) -> Option<String> {
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

/// Kea's HA lease traffic and heartbeats: the default `parallel-commands`.
pub(crate) const HA_PARALLEL_COMMANDS: [&str; 8] = [
    "ha-heartbeat",
    "lease4-update",
    "lease4-del",
    "lease4-bulk-apply",
    "lease6-update",
    "lease6-del",
    "lease6-bulk-apply",
    "ha-sync-complete-notify",
];

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
}
