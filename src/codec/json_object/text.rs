//! The rare, careful part: reading a top-level key or the command value as text, the way
//! serde_json reads a string into a `String` (UTF-8, `\u` surrogates paired), which the
//! Visitor this replaces did for exactly those strings.

use super::Command;
use std::ops::Range;

/// Whether a key's raw contents (between its quotes) read `command`; `None` if the key is
/// not text. Inline for the usual key, plain ASCII.
#[inline(always)]
pub(super) fn key_is_command(raw: &[u8], escaped: bool) -> Option<bool> {
    if !escaped && raw.is_ascii() {
        return Some(raw.len() == COMMAND.len() && raw.first_chunk() == Some(COMMAND));
    }
    key_is_command_slow(raw, escaped)
}

const COMMAND: &[u8; 7] = b"command";

#[inline(never)]
fn key_is_command_slow(raw: &[u8], escaped: bool) -> Option<bool> {
    if !escaped {
        return std::str::from_utf8(raw).is_ok().then_some(raw == COMMAND);
    }
    // Compared piece by piece as it is unescaped, so that even this rare path allocates
    // nothing.
    let (mut len, mut same) = (0, true);
    unescape(raw, &mut |piece| {
        same &= COMMAND.get(len..len + piece.len()) == Some(piece);
        len += piece.len();
    })?;
    Some(same && len == COMMAND.len())
}

/// The first `command` value (raw contents at `span`) if it is text.
#[inline(never)]
pub(super) fn command_text(body: &[u8], span: Range<usize>, escaped: bool) -> Option<Command> {
    let raw = body.get(span.clone())?;
    if !escaped {
        return (raw.is_ascii() || std::str::from_utf8(raw).is_ok()).then_some(Command::Span(span));
    }
    let mut text = Vec::with_capacity(raw.len());
    unescape(raw, &mut |piece| text.extend_from_slice(piece))?;
    String::from_utf8(text).ok().map(Command::Unescaped)
}

/// Unescapes a string's raw contents (already checked to be well-formed JSON) into
/// `out`, piece by piece, as serde_json does when it reads a string as text: `None` if
/// a `\u` escape is a surrogate not paired as UTF-16 wants, or a raw stretch is not
/// UTF-8. (Stretches between escapes can be checked apart: an escape never falls inside
/// a UTF-8 sequence, since both its bytes and every byte a `\u` escape makes start one.)
fn unescape(raw: &[u8], out: &mut impl FnMut(&[u8])) -> Option<()> {
    let mut rest = raw;
    loop {
        let plain = rest.iter().position(|&c| c == b'\\').unwrap_or(rest.len());
        let (text, tail) = rest.split_at_checked(plain)?;
        std::str::from_utf8(text).ok()?;
        out(text);
        let Some((_backslash, tail)) = tail.split_first() else { return Some(()) };
        let (&escape, tail) = tail.split_first()?;
        rest = tail;
        let byte = match escape {
            b'"' | b'\\' | b'/' => escape,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (c, tail) = unicode_escape(rest)?;
                rest = tail;
                out(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            _ => return None,
        };
        out(&[byte]);
    }
}

/// A `\u` escape's character, from just after its `\u`, with the rest after it: a high
/// surrogate takes the `\uDC00`-`\uDFFF` escape that must follow it.
fn unicode_escape(raw: &[u8]) -> Option<(char, &[u8])> {
    let (high, rest) = hex4(raw)?;
    if !(0xD800..0xDC00).contains(&high) {
        return Some((char::from_u32(high)?, rest));
    }
    let (low, rest) = hex4(rest.strip_prefix(b"\\u")?)?;
    if !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    Some((char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?, rest))
}

fn hex4(raw: &[u8]) -> Option<(u32, &[u8])> {
    let (digits, rest) = raw.split_first_chunk::<4>()?;
    let mut n = 0;
    for &d in digits {
        n = (n << 4) | char::from(d).to_digit(16)?;
    }
    Some((n, rest))
}
