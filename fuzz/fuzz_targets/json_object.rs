//! A request body's check (`codec::check_object`: the client's before it sends, the
//! listener's before the host sees it) against serde_json, which did the check before it:
//! the same bodies accepted, the same top-level `command` found.
//!
//! Input: the body, as is. The oracle is the replaced code: `IgnoredAny` for "is it one
//! JSON object", the listener's Visitor for its command (the first `command` key wins);
//! where serde_json's `Value` parses the body and it has at most one top-level `command`
//! key, `v["command"].as_str()` must agree too.
#![no_main]

use hamux::codec::fuzz_check_object;
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

fuzz_target!(|body: &[u8]| {
    let ours = fuzz_check_object(body);
    let show = || String::from_utf8_lossy(body).into_owned();
    match &ours {
        Ok(command) => {
            assert!(old_is_json_object(body), "accepted what serde_json refuses: {:?}", show());
            assert_eq!(command, &old_command_name(body), "command of {:?}", show());
        }
        Err((at, message)) => {
            assert!(!old_is_json_object(body), "refused ({message}) what serde_json accepts: {:?}", show());
            assert!(*at <= body.len(), "error at {at} in {} bytes: {message}", body.len());
            assert!(message.contains(&format!("at byte {at}")), "{message}");
        }
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        if command_keys(body) <= 1 {
            let value = map.get("command").and_then(|c| c.as_str()).map(str::to_string);
            assert_eq!(ours, Ok(value), "Value's command of {:?}", show());
        }
    }
});

/// The client's old check.
fn old_is_json_object(body: &[u8]) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

/// The listener's old Visitor: the command, if the body is an object that has one.
fn old_command_name(body: &[u8]) -> Option<String> {
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

/// How many top-level keys read `command` (the body is known to parse).
fn command_keys(body: &[u8]) -> usize {
    struct Count;

    impl<'de> Visitor<'de> for Count {
        type Value = usize;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while let Some(key) = map.next_key::<String>()? {
                n += usize::from(key == "command");
                map.next_value::<IgnoredAny>()?;
            }
            Ok(n)
        }
    }

    serde_json::Deserializer::from_slice(body).deserialize_map(Count).unwrap_or(0)
}
