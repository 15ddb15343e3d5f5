//! Skipping one value of any kind and depth, in a loop rather than by recursion (the open
//! levels are a bit stack): the whole body for the client's check, each top-level
//! member's value but the command's for the listener's.

use super::nesting::Nesting;
use super::scan::{self, error, next};
use super::JsonError;

/// Skips the value at `i` (whitespace before it already skipped); returns the offset
/// after it. `nesting` holds the levels it opens (its bits below the value's depth are
/// left as they were, so one `Nesting` serves every call). Out of line: one copy of the
/// hot loop, with the registers to itself.
#[inline(never)]
pub(super) fn skip(b: &[u8], mut i: usize, nesting: &mut Nesting) -> Result<usize, JsonError> {
    // Levels opened inside this value, and whether the innermost is an object.
    let (mut depth, mut in_object) = (0usize, false);
    loop {
        // A value is due at `i`.
        match b.get(i) {
            Some(b'"') => {
                let stop = scan::skip_plain(b, i + 1);
                // Compact JSON's next member, `","`, taken the short way.
                if in_object && b.get(stop..stop + 3) == Some(b"\",\"") {
                    i = key_and_colon(b, stop + 2)?;
                    continue;
                }
                i = scan::string_from(b, stop, false)?.0;
            }
            Some(&open @ (b'{' | b'[')) => {
                let object = open == b'{';
                let (at, c) = next(b, i + 1);
                if c == Some(if object { b'}' } else { b']' }) {
                    i = at + 1;
                } else {
                    nesting.open(depth, in_object);
                    depth += 1;
                    in_object = object;
                    i = if object { key_and_colon(b, at)? } else { at };
                    continue;
                }
            }
            Some(b't') => i = scan::literal(b, i, b"true")?,
            Some(b'f') => i = scan::literal(b, i, b"false")?,
            Some(b'n') => i = scan::literal(b, i, b"null")?,
            Some(b'-' | b'0'..=b'9') => i = scan::number(b, i)?,
            _ => return Err(error(i, b, "expected a value")),
        }
        // Compact JSON's next member, `,"`, taken the short way.
        if in_object && b.get(i..i + 2) == Some(b",\"") {
            i = key_and_colon(b, i + 1)?;
            continue;
        }
        // A value ended: close the levels it ends, up to the next key or value.
        loop {
            if depth == 0 {
                return Ok(i);
            }
            let (at, c) = next(b, i);
            match c {
                Some(b',') => {
                    let (at, _) = next(b, at + 1);
                    i = if in_object { key_and_colon(b, at)? } else { at };
                    break;
                }
                Some(b'}') if in_object => {}
                Some(b']') if !in_object => {}
                _ if in_object => return Err(error(at, b, "expected ',' or '}'")),
                _ => return Err(error(at, b, "expected ',' or ']'")),
            }
            i = at + 1;
            depth -= 1;
            in_object = nesting.is_object(depth);
        }
    }
}

/// A member's key and colon, from the key's opening quote; returns where its value is
/// (whitespace skipped).
#[inline(always)]
fn key_and_colon(b: &[u8], i: usize) -> Result<usize, JsonError> {
    if b.get(i) != Some(&b'"') {
        return Err(error(i, b, "expected a string key"));
    }
    let stop = scan::skip_plain(b, i + 1);
    // Compact JSON: the closing quote, the colon, the value.
    if b.get(stop..stop + 2) == Some(b"\":") {
        return Ok(next(b, stop + 2).0);
    }
    let (end, _) = scan::string_from(b, stop, false)?;
    let (colon, c) = next(b, end);
    if c != Some(b':') {
        return Err(error(colon, b, "expected ':'"));
    }
    Ok(next(b, colon + 1).0)
}
