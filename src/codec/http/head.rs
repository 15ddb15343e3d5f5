//! What a message's header fields say about its framing and its connection.
//!
//! Run on every request and every reply, so it does per field only what that field needs:
//! a name is compared against the one known name of its length (the five have different
//! lengths), only the values of known fields are made `&str` and trimmed, and every other
//! value is only checked to be UTF-8 (any value that is not is refused, as before).

use super::HttpError;

/// How the body is delimited.
pub(super) enum Framing {
    Length(usize),
    Chunked,
    None,
}

/// What the headers say about framing and the connection.
pub(super) struct Head<'a> {
    pub(super) framing: Framing,
    pub(super) close: bool,
    pub(super) authorization: Option<&'a str>,
    pub(super) content_type_json: bool,
}

/// The header fields hamux reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    ContentLength,
    TransferEncoding,
    Connection,
    Authorization,
    ContentType,
}

impl Known {
    /// The known field `name` is (case-insensitively), if any.
    fn of(name: &str) -> Option<Known> {
        let (known, lower) = match name.len() {
            14 => (Known::ContentLength, "content-length"),
            17 => (Known::TransferEncoding, "transfer-encoding"),
            10 => (Known::Connection, "connection"),
            13 => (Known::Authorization, "authorization"),
            12 => (Known::ContentType, "content-type"),
            _ => return None,
        };
        // Without an early exit (no branch per byte); `lower` is already lowercase.
        let differ =
            name.bytes().zip(lower.bytes()).fold(0, |acc, (a, b)| acc | (a.to_ascii_lowercase() ^ b));
        (differ == 0).then_some(known)
    }
}

fn not_utf8() -> HttpError {
    HttpError::new(400, "header value is not UTF-8")
}

fn header_value<'a>(h: &httparse::Header<'a>) -> Result<&'a str, HttpError> {
    std::str::from_utf8(h.value).map(trim).map_err(|_| not_utf8())
}

/// `str::trim`, without decoding characters when `value` is ASCII: the only ASCII white
/// space httparse lets into a value is SP and HTAB (no VT, CR or LF), which both trims
/// remove alike.
fn trim(value: &str) -> &str {
    if value.is_ascii() {
        value.trim_ascii()
    } else {
        value.trim()
    }
}

/// A Content-Length value: decimal digits only (no sign, no space inside), in range.
fn content_length(value: &str) -> Option<usize> {
    if value.is_empty() {
        return None;
    }
    value.bytes().try_fold(0usize, |n, b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(usize::from(b - b'0'))
    })
}

/// Reads framing from headers; refuses ambiguous framing (the smuggling vectors).
pub(super) fn read_head<'a>(headers: &[httparse::Header<'a>], version: u8) -> Result<Head<'a>, HttpError> {
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = version == 0;
    let mut authorization = None;
    let mut content_type_json = false;
    for h in headers {
        let Some(known) = Known::of(h.name) else {
            if !h.value.is_ascii() && std::str::from_utf8(h.value).is_err() {
                return Err(not_utf8());
            }
            continue;
        };
        let value = header_value(h)?;
        match known {
            Known::ContentLength => {
                let n = content_length(value)
                    .ok_or_else(|| HttpError::new(400, format!("bad Content-Length '{value}'")))?;
                if length.is_some_and(|m| m != n) {
                    return Err(HttpError::new(400, "conflicting Content-Length headers"));
                }
                length = Some(n);
            }
            Known::TransferEncoding => {
                if !value.eq_ignore_ascii_case("chunked") || chunked {
                    return Err(HttpError::new(501, format!("unsupported Transfer-Encoding '{value}'")));
                }
                chunked = true;
            }
            Known::Connection => {
                for token in value.split(',').map(trim) {
                    if token.eq_ignore_ascii_case("close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case("keep-alive") && version == 0 {
                        close = false;
                    }
                }
            }
            Known::Authorization => authorization = Some(value),
            Known::ContentType => {
                // Up to a `;` (an ASCII byte, so a character boundary).
                let end = value.bytes().position(|b| b == b';').unwrap_or(value.len());
                let media = trim(value.get(..end).unwrap_or(value));
                content_type_json = media.eq_ignore_ascii_case("application/json");
            }
        }
    }
    let framing = match (length, chunked) {
        (Some(_), true) => return Err(HttpError::new(400, "both Content-Length and Transfer-Encoding")),
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) => Framing::None,
    };
    Ok(Head { framing, close, authorization, content_type_json })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(fields: &[(&str, &[u8])]) -> Result<Head<'static>, HttpError> {
        let headers: Vec<httparse::Header<'static>> = fields
            .iter()
            .map(|&(name, value)| httparse::Header {
                name: Box::leak(name.to_string().into_boxed_str()),
                value: Box::leak(value.to_vec().into_boxed_slice()),
            })
            .collect();
        read_head(Box::leak(headers.into_boxed_slice()), 1)
    }

    #[test]
    fn known_names_match_in_any_case_and_only_themselves() {
        for (name, known) in [
            ("Content-Length", Known::ContentLength),
            ("TRANSFER-ENCODING", Known::TransferEncoding),
            ("connection", Known::Connection),
            ("AuthoriZation", Known::Authorization),
            ("content-TYPE", Known::ContentType),
        ] {
            assert_eq!(Known::of(name), Some(known), "{name}");
        }
        // Same lengths, other names; and bytes that folding case by OR-ing 0x20 would take
        // for a known name's ('\r' | 0x20 == '-').
        for name in [
            "Content-Lengtx",
            "Content-Lengt",
            "content-lengthx",
            "Transfer-Encodinh",
            "Connectiom",
            "Authorizatiom",
            "Content-Typo",
            "Host",
            "",
            "Content-Length\0",
            "Content,Length",
            "content\rlength",
        ] {
            assert_eq!(Known::of(name), None, "{name:?}");
        }
    }

    #[test]
    fn content_length_is_digits_in_range() {
        assert_eq!(content_length("0"), Some(0));
        assert_eq!(content_length("007"), Some(7));
        assert_eq!(content_length("350"), Some(350));
        assert_eq!(content_length(&usize::MAX.to_string()), Some(usize::MAX));
        for bad in
            ["", "+5", "-5", "5 5", "0x10", "5.0", "١", "18446744073709551616", "99999999999999999999999"]
        {
            assert_eq!(content_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_value_must_be_utf8_known_or_not() {
        assert_eq!(head(&[("X-Other", b"caf\xc3\xa9")]).map(|h| h.close).ok(), Some(false));
        for name in ["X-Other", "Host", "Content-Type", "Authorization", "Connection"] {
            assert_eq!(head(&[(name, b"\xff\xfe")]).err().map(|e| e.status), Some(400), "{name}");
        }
    }

    /// The same as `str::trim` for every value httparse passes; the one ASCII white space
    /// they differ on (VT) never gets that far, nor do the others but SP and HTAB.
    #[test]
    fn trimming_is_strs_for_what_httparse_passes() {
        for value in ["", " ", "\t a b \t", "a", "  caf\u{e9} ", "\u{a0}x\u{3000}", "x\u{85}"] {
            assert_eq!(trim(value), value.trim(), "{value:?}");
        }
        for ws in [b'\x0b', b'\x0c', b'\r', b'\n'] {
            let mut request = b"POST / HTTP/1.1\r\nContent-Type: application/json".to_vec();
            request.extend_from_slice(&[ws, b'x', b'\r', b'\n', b'\r', b'\n']);
            let mut headers = [httparse::EMPTY_HEADER; 4];
            let parsed = httparse::Request::new(&mut headers).parse(&request);
            assert!(parsed.is_err(), "{ws:#x}: {parsed:?}");
        }
    }

    #[test]
    fn values_are_trimmed_and_read_as_before() {
        let h = head(&[
            ("content-length", b" 12 "),
            ("Content-Type", b" Application/JSON ; charset=utf-8"),
            ("Authorization", b" Basic eDp5 "),
            ("Connection", b"keep-alive, Close"),
        ])
        .unwrap();
        assert!(matches!(h.framing, Framing::Length(12)));
        assert_eq!((h.content_type_json, h.authorization, h.close), (true, Some("Basic eDp5"), true));
        let h = head(&[("Transfer-Encoding", b"Chunked")]).unwrap();
        assert!(matches!(h.framing, Framing::Chunked));
        let h = head(&[("Content-Type", b"text/plain")]).unwrap();
        assert!(!h.content_type_json && matches!(h.framing, Framing::None));
    }
}
