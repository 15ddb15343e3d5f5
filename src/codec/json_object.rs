//! "Is this body exactly one JSON object, and what is its top-level `command`?", answered
//! in one pass over the bytes without allocating: the check every request body gets, on
//! the client before it is sent and on the listener before the host sees it.
//!
//! It accepts exactly what the code it replaces accepted (two generic serde_json passes
//! were ~8 % of a round trip's CPU): `serde_json::from_slice::<serde::de::IgnoredAny>`
//! succeeding on a value that is an object. That is RFC 8259's grammar, with serde_json's
//! (1.0.154) leniencies where RFC 8259 leaves room, matched on purpose:
//! - a skipped string's bytes are not checked to be UTF-8, and its `\uXXXX` escapes need
//!   not pair surrogates (serde_json checks neither when it ignores a string);
//! - nesting has no depth limit: `IgnoredAny` skips iteratively, so serde_json's recursion
//!   limit of 128 never applies to it. Here the nesting is a bit stack (`nesting`), so a
//!   deep body costs no stack.
//!
//! Whitespace is space, tab, LF and CR only (a form feed is refused), and nothing but
//! whitespace may follow the object.
//!
//! The command is what the listener's serde Visitor found, which read each top-level key
//! as a `String` and the first `"command"` value as a `String`: the value of the first
//! top-level key that is `command` once unescaped, if it is a string that is text (UTF-8,
//! surrogates paired). A later `"command"` key is ignored. A first `"command"` value that
//! is not such a string, or any top-level key that is not text, means no command (the
//! Visitor failed on those and the body was then accepted by its lenient second pass).
//!
//! How: `scan` reads the tokens (strings sixteen bytes at a time, digits eight),
//! `value::skip` skips a member's value of any depth in a loop, and `text` reads the few
//! strings the command depends on as text. Compact JSON (`":` after a key, `","` between
//! members) and the one space Kea writes after `:` and `,` take short paths. Errors name
//! the byte offset and what was expected there.

mod nesting;
mod scan;
mod text;
mod value;

use nesting::Nesting;
#[cfg(test)]
use nesting::INLINE_LEVELS;
use scan::{error, next};
use std::ops::Range;

const NOT_AN_OBJECT: &str = "expected '{' (a JSON object)";

/// Why a body was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Zero-based offset of the byte found wrong (the body's length if it ended early).
    pub(crate) at: usize,
    /// What was expected or found there.
    pub(crate) reason: &'static str,
    /// The body ended before the object did.
    pub(crate) end: bool,
}

impl JsonError {
    /// The body does not start (after whitespace) with `{`: not an object at all, rather
    /// than an object with a syntax error.
    pub(crate) fn is_not_an_object(&self) -> bool {
        self.reason == NOT_AN_OBJECT
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.end {
            write!(f, "{}, found the end of the body at byte {}", self.reason, self.at)
        } else {
            write!(f, "{} at byte {}", self.reason, self.at)
        }
    }
}

/// A top-level `command` string's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Where it is in the body (between its quotes): it has no escapes.
    Span(Range<usize>),
    /// It had escapes, so it is unescaped here (rare: Kea's command names are plain).
    Unescaped(String),
}

impl Command {
    /// The command as text, given the body it was found in.
    pub(crate) fn as_str<'a>(&'a self, body: &'a [u8]) -> Option<&'a str> {
        match self {
            Command::Span(range) => std::str::from_utf8(body.get(range.clone())?).ok(),
            Command::Unescaped(text) => Some(text),
        }
    }
}

/// Accepts `body` if it is one JSON object, as [`check_object`] does, without looking
/// for its command (the client's check): the whole object is one value to skip.
pub(crate) fn check_is_object(body: &[u8]) -> Result<(), JsonError> {
    let (open, c) = next(body, 0);
    if c != Some(b'{') {
        return Err(error(open, body, NOT_AN_OBJECT));
    }
    let end = value::skip(body, open, &mut Nesting::default())?;
    after_object(body, end)
}

/// Accepts `body` if it is one JSON object (see the module's doc for exactly which) and
/// returns its top-level `command` string, if it has one (the listener's check). The
/// top-level members are read here, each value but the command's skipped by `value`.
pub(crate) fn check_object(body: &[u8]) -> Result<Option<Command>, JsonError> {
    let b = body;
    let (open, c) = next(b, 0);
    if c != Some(b'{') {
        return Err(error(open, b, NOT_AN_OBJECT));
    }
    let mut nesting = Nesting::default();
    let mut command = Found::Absent;
    // Every top-level key so far is text (else there is no command, see the module).
    let mut keys_are_text = true;
    let (mut i, mut c) = next(b, open + 1);
    if c != Some(b'}') {
        loop {
            if c != Some(b'"') {
                return Err(error(i, b, "expected a string key"));
            }
            let (end, escaped) = scan::string(b, i + 1)?;
            let key = b.get(i + 1..end - 1).unwrap_or_default();
            let is_command = text::key_is_command(key, escaped).unwrap_or_else(|| {
                keys_are_text = false;
                false
            });
            let (colon, d) = next(b, end);
            if d != Some(b':') {
                return Err(error(colon, b, "expected ':'"));
            }
            let (at, v) = next(b, colon + 1);
            i = match (is_command && matches!(command, Found::Absent), v) {
                (true, Some(b'"')) => {
                    let (end, escaped) = scan::string(b, at + 1)?;
                    command =
                        text::command_text(b, at + 1..end - 1, escaped).map_or(Found::NotText, Found::Text);
                    end
                }
                (first_command, _) => {
                    if first_command {
                        command = Found::NotText;
                    }
                    value::skip(b, at, &mut nesting)?
                }
            };
            let (at, d) = next(b, i);
            match d {
                Some(b',') => (i, c) = next(b, at + 1),
                Some(b'}') => {
                    i = at;
                    break;
                }
                _ => return Err(error(at, b, "expected ',' or '}'")),
            }
        }
    }
    // `i` is at the object's closing brace.
    after_object(b, i + 1)?;
    Ok(match command {
        Found::Text(c) if keys_are_text => Some(c),
        _ => None,
    })
}

/// Nothing but whitespace from `i`, after the object.
fn after_object(b: &[u8], i: usize) -> Result<(), JsonError> {
    match next(b, i) {
        (_, None) => Ok(()),
        (at, Some(_)) => Err(error(at, b, "expected nothing but whitespace after the object")),
    }
}

/// The first top-level `command` member, as far as it has been read.
enum Found {
    Absent,
    Text(Command),
    /// Not a string, or a string that is not text: no command, whatever follows.
    NotText,
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod measure;
#[cfg(test)]
mod tests;
