//! Reading Kea-style configuration objects (hyphenated keys) with precise errors.
//!
//! Every key is looked up through [`ConfigObject`], which remembers what was read so that
//! [`ConfigObject::finish`] can refuse unknown keys by name — a typo in a production config
//! must fail loudly, not fall back to a default.

use crate::Error;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Parses the text of a configuration into a JSON object.
pub(crate) fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>, Error> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::config(format!("{what} configuration must be a JSON object"))),
        Err(e) => Err(Error::config(format!("{what} configuration is not valid JSON: {e}"))),
    }
}

/// Where callbacks run (`callbacks`): on hamux's own threads, or queued for the host to
/// run on its own thread (`"poll"`, for single-threaded hosts with an event loop).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Callbacks {
    #[default]
    Threads,
    Poll,
}

#[cfg(test)]
thread_local! {
    /// Every key a parser asked for on this thread, with its path (`peers[0].url`): the keys
    /// the configuration accepts, for the test that the header documents each of them.
    pub(crate) static KEYS_READ: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A JSON object being read key by key; `path` prefixes key names in messages.
pub(crate) struct ConfigObject<'a> {
    map: &'a Map<String, Value>,
    path: String,
    seen: HashSet<&'static str>,
}

impl<'a> ConfigObject<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: impl Into<String>) -> Self {
        ConfigObject { map, path: path.into(), seen: HashSet::new() }
    }

    /// The full name of a key, for messages (`peers[0].url`).
    pub(crate) fn key_name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.path, key)
        }
    }

    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.insert(key);
        #[cfg(test)]
        KEYS_READ.with(|keys| keys.borrow_mut().push(self.key_name(key)));
        self.map.get(key)
    }

    /// An unsigned integer in `min..=max`, or `default` when the key is absent.
    pub(crate) fn uint(&mut self, key: &'static str, default: u64, min: u64, max: u64) -> Result<u64, Error> {
        let Some(value) = self.get(key) else { return Ok(default) };
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Error::config(format!(
                "'{}' must be an integer from {min} to {max}, got {value}",
                self.key_name(key)
            ))),
        }
    }

    /// Like [`uint`](Self::uint) but for values that must fit a `usize`.
    pub(crate) fn count(
        &mut self,
        key: &'static str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, Error> {
        self.uint(key, default as u64, min as u64, max as u64).map(|n| n as usize)
    }

    /// A duration given in milliseconds.
    pub(crate) fn millis(
        &mut self,
        key: &'static str,
        default: Duration,
        min: u64,
        max: u64,
    ) -> Result<Duration, Error> {
        self.uint(key, default.as_millis() as u64, min, max).map(Duration::from_millis)
    }

    pub(crate) fn string(&mut self, key: &'static str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => {
                Err(Error::config(format!("'{}' must be a string, got {other}", self.key_name(key))))
            }
        }
    }

    pub(crate) fn boolean(&mut self, key: &'static str, default: bool) -> Result<bool, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(serde_json::Value::Bool(b)) => Ok(*b),
            Some(other) => {
                Err(Error::config(format!("'{}' must be true or false, got {other}", self.key_name(key))))
            }
        }
    }

    pub(crate) fn callbacks(&mut self) -> Result<Callbacks, Error> {
        match self.string("callbacks")? {
            None | Some("threads") => Ok(Callbacks::Threads),
            Some("poll") => Ok(Callbacks::Poll),
            Some(other) => Err(Error::config(format!(
                "'{}' must be \"threads\" or \"poll\", got \"{other}\"",
                self.key_name("callbacks")
            ))),
        }
    }

    pub(crate) fn array(&mut self, key: &'static str) -> Result<&'a [Value], Error> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items.as_slice()),
            Some(other) => {
                Err(Error::config(format!("'{}' must be a list, got {other}", self.key_name(key))))
            }
        }
    }

    /// Refuses any key that was never asked for.
    pub(crate) fn finish(self) -> Result<(), Error> {
        let mut unknown: Vec<&String> = self.map.keys().filter(|k| !self.seen.contains(k.as_str())).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort();
        let names: Vec<String> = unknown.iter().map(|k| format!("'{}'", self.key_name(k))).collect();
        Err(Error::config(format!("unknown configuration key {}", names.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(text: &str) -> Map<String, Value> {
        parse_object(text, "test").unwrap()
    }

    #[test]
    fn reads_values_and_defaults() {
        let map = obj(r#"{"a": 5, "b-ms": 250, "name": "x"}"#);
        let mut c = ConfigObject::new(&map, "");
        assert_eq!(c.uint("a", 1, 0, 10).unwrap(), 5);
        assert_eq!(c.millis("b-ms", Duration::from_secs(1), 1, 1000).unwrap(), Duration::from_millis(250));
        assert_eq!(c.string("name").unwrap(), Some("x"));
        assert_eq!(c.uint("missing", 7, 0, 10).unwrap(), 7);
        c.finish().unwrap();
    }

    #[test]
    fn refuses_out_of_range_wrong_type_and_unknown_keys() {
        let map = obj(r#"{"a": 50, "b": "x", "typo-key": 1}"#);
        let mut c = ConfigObject::new(&map, "peers[0]");
        let e = c.uint("a", 1, 0, 10).unwrap_err();
        assert!(e.message.contains("'peers[0].a'"), "{}", e.message);
        let e = c.uint("b", 1, 0, 10).unwrap_err();
        assert!(e.message.contains("'peers[0].b'"), "{}", e.message);
        let e = c.finish().unwrap_err();
        assert!(e.message.contains("'peers[0].typo-key'"), "{}", e.message);
    }

    #[test]
    fn refuses_non_objects_and_bad_json() {
        assert!(parse_object("[1]", "client").unwrap_err().message.contains("JSON object"));
        assert!(parse_object("{", "client").unwrap_err().message.contains("not valid JSON"));
    }
}
