//! The tokens, each a function from an offset to the offset after it: the hot path, all
//! inlined into the loops of `check_object` and `value::skip` so that the offset stays in
//! a register; errors and rare paths are out of line. Every read is `get`: a body that
//! ends anywhere is an error, never a panic.

use super::JsonError;

/// Out of line, so that the pass itself stays small.
#[cold]
#[inline(never)]
pub(super) fn error(at: usize, b: &[u8], reason: &'static str) -> JsonError {
    JsonError { at, reason, end: at >= b.len() }
}

/// The first byte at or after `i` that is not whitespace (space, tab, LF, CR), and where.
#[inline(always)]
pub(super) fn next(b: &[u8], i: usize) -> (usize, Option<u8>) {
    match b.get(i) {
        // Every whitespace byte is at most a space.
        Some(&c) if c > b' ' => (i, Some(c)),
        // One space, as Kea writes after `:` and `,`.
        Some(b' ') => match b.get(i + 1) {
            Some(&c) if c > b' ' => (i + 1, Some(c)),
            _ => next_after_whitespace(b, i + 1),
        },
        _ => next_after_whitespace(b, i),
    }
}

#[inline(never)]
fn next_after_whitespace(b: &[u8], mut i: usize) -> (usize, Option<u8>) {
    while let Some(&c) = b.get(i) {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            return (i, Some(c));
        }
        i += 1;
    }
    (i, None)
}

/// A string from just after its opening quote: the offset after its closing quote, and
/// whether it has escapes. Its bytes may be anything but the control characters
/// U+0000-U+001F (serde_json skips a string without checking its UTF-8).
#[inline(always)]
pub(super) fn string(b: &[u8], i: usize) -> Result<(usize, bool), JsonError> {
    string_from(b, skip_plain(b, i), false)
}

/// The rest of a string from `i`, its first stop (`"`, `\\` or a control character)
/// after `escaped` escapes or none: as [`string`].
#[inline(always)]
pub(super) fn string_from(b: &[u8], mut i: usize, mut escaped: bool) -> Result<(usize, bool), JsonError> {
    loop {
        match b.get(i) {
            Some(b'"') => return Ok((i + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                i = skip_plain(b, escape(b, i)?);
            }
            Some(_) => return Err(error(i, b, "control character (U+0000-U+001F) in a string")),
            None => return Err(error(i, b, "unterminated string")),
        }
    }
}

/// An escape from its backslash. `\u` takes any four hex digits: a lone surrogate is
/// accepted, as serde_json does when it skips a string.
#[inline(never)]
fn escape(b: &[u8], i: usize) -> Result<usize, JsonError> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u') => match b.get(i + 2..i + 6) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => Ok(i + 6),
            _ => Err(error(i, b, "invalid \\u escape (not four hex digits)")),
        },
        _ => Err(error(i, b, "invalid escape")),
    }
}

/// The offset of the first `"`, `\\` or control character at or after `i` (or the end),
/// sixteen bytes at a time (most keys and values fit), then eight, then one.
#[inline(always)]
pub(super) fn skip_plain(b: &[u8], mut i: usize) -> usize {
    // `i < last16` says sixteen bytes are left without an overflowing `i + 16`.
    let last16 = b.len().saturating_sub(15);
    while let Some(chunk) = if i < last16 { b.get(i..i + 16) } else { None } {
        let (lo, hi) = chunk.split_at(8);
        let (lo, hi) = (stops(word(lo)), stops(word(hi)));
        if lo != 0 {
            return i + (lo.trailing_zeros() / 8) as usize;
        }
        if hi != 0 {
            return i + 8 + (hi.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    if let Some(chunk) = b.get(i..i + 8) {
        let found = stops(word(chunk));
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// Eight bytes as a little-endian word (`chunk` is eight long: the 0 is never used).
#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    chunk.first_chunk::<8>().map_or(0, |w| u64::from_le_bytes(*w))
}

/// The high bit of each byte of `w` that is `"`, `\` or a control character, and maybe of
/// some bytes after the first such one (never before it: a byte is flagged by a borrow
/// out of it, and the first borrow comes from the first match).
#[inline(always)]
fn stops(w: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    // xor 0x02 turns `"` (0x22) into 0x20 and keeps 0x00-0x1F below 0x20 (0x20 and 0x21
    // become 0x22 and 0x23): "below 0x21" is then "a quote or a control character".
    let quote_or_control = (w ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
    // A backslash is zero after this xor, and only a zero byte borrows from its high bit.
    let backslash = (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    // A byte with its high bit set (UTF-8) is never a stop; neither xor touches that bit.
    (quote_or_control | backslash) & !w & HIGH
}

/// `true`, `false` or `null` at `i`.
#[inline(always)]
pub(super) fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, JsonError> {
    if b.get(i..i + word.len()) != Some(word) {
        return Err(error(i, b, "invalid literal (expected true, false or null)"));
    }
    Ok(i + word.len())
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `i`.
#[inline(always)]
pub(super) fn number(b: &[u8], mut i: usize) -> Result<usize, JsonError> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => {
            i += 1;
            if let Some(b'0'..=b'9') = b.get(i) {
                return Err(error(i, b, "invalid number (leading zero)"));
            }
        }
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return Err(error(i, b, "invalid number (expected a digit)")),
    }
    match b.get(i) {
        Some(b'.' | b'e' | b'E') => fraction_and_exponent(b, i),
        _ => Ok(i),
    }
}

/// The rest of a number that has a `.` or an exponent (rarer in Kea commands).
#[inline(never)]
fn fraction_and_exponent(b: &[u8], mut i: usize) -> Result<usize, JsonError> {
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = digits(b, start);
        if i == start {
            return Err(error(i, b, "invalid number (expected a digit after '.')"));
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let start = i;
        i = digits(b, start);
        if i == start {
            return Err(error(i, b, "invalid number (expected a digit in the exponent)"));
        }
    }
    Ok(i)
}

/// The offset of the first byte at or after `i` that is not a digit, eight at a time.
#[inline(always)]
fn digits(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = word(chunk);
        // Below `0` borrows into the high bit, above `9` carries into it (or has it set
        // already); as in `stops`, only the lowest flag is sure, and it is the first.
        let other = (w.wrapping_sub(ONES * 0x30) | w.wrapping_add(ONES * 0x46)) & (ONES << 7);
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(b'0'..=b'9') = b.get(i) {
        i += 1;
    }
    i
}
