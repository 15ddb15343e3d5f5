//! The grammar's corners, one by one; each answer is also checked to be serde_json's.

use super::*;
use serde::de::IgnoredAny;

/// What the replaced client check accepted.
fn serde_accepts(body: &[u8]) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

/// Checks `body`'s answer against serde_json's and returns it.
fn accepts(body: &[u8]) -> bool {
    let ours = check_object(body).is_ok();
    assert_eq!(ours, serde_accepts(body), "serde_json disagrees on {:?}", String::from_utf8_lossy(body));
    assert_eq!(check_is_object(body).is_ok(), ours, "the client's check disagrees");
    ours
}

/// `value` as the only member's value.
fn member(value: &str) -> Vec<u8> {
    format!(r#"{{"a": {value}}}"#).into_bytes()
}

fn command(body: &[u8]) -> Option<String> {
    check_object(body).unwrap().map(|c| c.as_str(body).unwrap().to_string())
}

fn error(body: &[u8]) -> String {
    check_object(body).unwrap_err().to_string()
}

#[test]
fn objects_and_nothing_else() {
    for ok in [&b"{}"[..], b"{ }", b" {} ", b"{\"a\":1}", b"{\"a\":{},\"b\":[],\"c\":[{}]}"] {
        assert!(accepts(ok), "{}", String::from_utf8_lossy(ok));
    }
    for bad in [&b""[..], b" ", b"[]", b"\"s\"", b"1", b"null", b"{", b"}", b"{}}", b"{} {}", b"{}x", b"{} 1"]
    {
        assert!(!accepts(bad), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn whitespace_is_space_tab_lf_cr_only() {
    assert!(accepts(b" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, 2 \t\r\n] \t\r\n} \t\r\n"));
    for ws in [b'\x0c', b'\x0b', b'\0'] {
        for at in 0..3 {
            let mut body = b"{}".to_vec();
            body.insert(at, ws);
            assert!(!accepts(&body), "{body:?}");
        }
        assert!(!accepts(&[b"{\"a\":".as_slice(), &[ws], b"1}"].concat()));
    }
    // A no-break space (U+00A0) is not whitespace either.
    assert!(!accepts("{}\u{a0}".as_bytes()));
}

#[test]
fn separators() {
    for bad in [
        &b"{\"a\":1,}"[..],
        b"{,}",
        b"{\"a\":1,,\"b\":2}",
        b"{\"a\" 1}",
        b"{\"a\"::1}",
        b"{\"a\":1 \"b\":2}",
        b"{\"a\":[1,]}",
        b"{\"a\":[,1]}",
        b"{\"a\":[1 2]}",
        b"{\"a\":{\"b\":1,}}",
        b"{\"a\":[}",
        b"{\"a\":{]}",
        b"{\"a\":[1}",
        b"{a:1}",
        b"{1:1}",
        b"{\"a\"}",
        b"{\"a\":}",
    ] {
        assert!(!accepts(bad), "{}", String::from_utf8_lossy(bad));
    }
    assert!(accepts(b"{\"a\":[1,[2,{\"b\":[]}],{}],\"c\":{\"d\":{\"e\":null}}}"));
}

#[test]
fn literals() {
    for ok in ["true", "false", "null", "[true,false,null]"] {
        assert!(accepts(&member(ok)), "{ok}");
    }
    for bad in ["tru", "True", "nul", "nulll", "falsey", "t", "undefined", "NaN", "Infinity"] {
        assert!(!accepts(&member(bad)), "{bad}");
    }
    assert!(!accepts(b"{\"a\":tru"));
}

#[test]
fn numbers() {
    for ok in [
        "0",
        "-0",
        "1",
        "-1",
        "10",
        "1e5",
        "1E5",
        "1e+5",
        "1e-5",
        "1.5",
        "-1.5e-3",
        "0.0",
        "0e0",
        "-0.0E+00",
        "123456789012345678901234567890",
        "1e999",
        "[0,-0,1]",
    ] {
        assert!(accepts(&member(ok)), "{ok}");
    }
    for bad in [
        "01", "-01", "00", "1.", "1.e5", ".5", "-.5", "-", "+1", "1e", "1e+", "1E-", "0x10", "1.5.5",
        "1e5e5", "--1", "1_000", "[1.]", "[01]",
    ] {
        assert!(!accepts(&member(bad)), "{bad}");
    }
}

#[test]
fn escapes() {
    for ok in [
        r#""\"""#,
        r#""\\""#,
        r#""\/""#,
        r#""\b\f\n\r\t""#,
        r#""\u0041""#,
        r#""\uffFF""#,
        r#""a\u00e9b""#,
        r#""\ud83d\ude00""#,
    ] {
        assert!(accepts(&member(ok)), "{ok}");
    }
    for bad in [
        r#""\a""#,
        r#""\x41""#,
        r#""\U0041""#,
        r#""\u41""#,
        r#""\u004g""#,
        r#""\""#,
        r#""\u""#,
        "\"\\\u{e9}\"",
    ] {
        assert!(!accepts(&member(bad)), "{bad}");
    }
    // A string cut inside an escape.
    for cut in ["{\"a\":\"\\", "{\"a\":\"\\u", "{\"a\":\"\\u00", "{\"a\":\"\\u0041"] {
        assert!(!accepts(cut.as_bytes()), "{cut}");
    }
}

#[test]
fn lone_surrogates_are_accepted_as_serde_json_does() {
    // serde_json does not pair surrogates in a string it skips.
    for lone in [r#""\ud800""#, r#""\udc00""#, r#""\udbff\u0041""#, r#""\ude00\ud83d""#, r#""\ud800\n""#] {
        assert!(accepts(&member(lone)), "{lone}");
        // ... but such a key or command value is not text: no command, as before.
        let body = format!(r#"{{"command": {lone}}}"#);
        assert_eq!(command(body.as_bytes()), None, "{lone}");
        let body = format!(r#"{{{lone}: 1, "command": "x"}}"#);
        assert!(accepts(body.as_bytes()));
        assert_eq!(command(body.as_bytes()), None, "{lone}");
    }
}

#[test]
fn control_characters_in_strings_are_refused() {
    for c in 0u8..0x20 {
        let body = [b"{\"a\":\"x".as_slice(), &[c], b"\"}"].concat();
        assert!(!accepts(&body), "{c:#x}");
        let key = [b"{\"".as_slice(), &[c], b"\":1}"].concat();
        assert!(!accepts(&key), "{c:#x}");
    }
    // DEL and everything above are plain bytes in a string.
    for c in [0x7f, 0x80, 0xff] {
        assert!(accepts(&[b"{\"a\":\"".as_slice(), &[c], b"\"}"].concat()), "{c:#x}");
    }
}

#[test]
fn invalid_utf8_is_skipped_as_serde_json_does_but_is_never_a_command() {
    for bad in
        [&b"\xff"[..], b"\xc3", b"\xc3(", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]
    {
        // serde_json does not check the UTF-8 of a string it skips...
        let value = [b"{\"a\":\"".as_slice(), bad, b"\"}"].concat();
        assert!(accepts(&value));
        // ... but the old Visitor read keys and the command as text.
        let cmd = [b"{\"command\":\"x".as_slice(), bad, b"\"}"].concat();
        assert!(accepts(&cmd));
        assert_eq!(command(&cmd), None);
        let key = [b"{\"command\":\"x\",\"".as_slice(), bad, b"\":1}"].concat();
        assert!(accepts(&key));
        assert_eq!(command(&key), None);
        // Nested, a key is skipped like any string.
        let nested = [b"{\"command\":\"x\",\"a\":{\"".as_slice(), bad, b"\":1}}"].concat();
        assert_eq!(command(&nested).as_deref(), Some("x"));
    }
    // Valid UTF-8 around an escape is text.
    assert_eq!(command("{\"command\":\"é\\n€\"}".as_bytes()).as_deref(), Some("é\n€"));
    // A stretch cut by an escape is not: the lead byte of "é" (C3) then "\n".
    assert_eq!(command(b"{\"command\":\"\xc3\\n\xa9\"}"), None);
}

#[test]
fn nesting_has_no_limit_like_serde_json_ignored_any() {
    let nested = |depth: usize, open: &str, close: &str| {
        format!(r#"{{"a": {}1{}}}"#, open.repeat(depth), close.repeat(depth)).into_bytes()
    };
    // Depth 128 is the top-level object and 127 levels in it; serde_json's recursion
    // limit of 128 does not apply to IgnoredAny, which skips iteratively.
    for depth in [126, 127, 128, 129, INLINE_LEVELS - 1, INLINE_LEVELS, INLINE_LEVELS + 1, 64 * 40] {
        assert!(accepts(&nested(depth, "[", "]")), "{depth}");
        assert!(accepts(&nested(depth, "{\"k\":", "}")), "{depth}");
        assert!(!accepts(&nested(depth, "[", "]")[..depth + 4]), "cut at {depth}");
    }
    // Deep enough to overflow the stack if it were recursive, in objects and arrays mixed
    // (every level is remembered: `{` then `[` must close as `]` then `}`).
    let mut deep = b"{\"a\":".to_vec();
    for i in 0..200_000 {
        deep.extend_from_slice(if i % 3 == 0 { b"{\"k\":" } else { b"[" });
    }
    deep.push(b'0');
    for i in (0..200_000).rev() {
        deep.push(if i % 3 == 0 { b'}' } else { b']' });
    }
    deep.push(b'}');
    assert!(check_object(&deep).is_ok());
    let last = deep.len() - 2;
    deep.swap(last - 1, last); // "]}" at the end of the innermost level becomes "}]"
    assert!(check_object(&deep).is_err());
    assert!(!accepts(&nested(600, "[", "}")));
}

#[test]
fn finds_the_top_level_command() {
    assert_eq!(
        command(br#"{"command": "lease4-update", "arguments": {}}"#).as_deref(),
        Some("lease4-update")
    );
    assert_eq!(
        command(br#"{"arguments": {"command": "nested"}, "command": "ha-heartbeat"}"#).as_deref(),
        Some("ha-heartbeat")
    );
    assert_eq!(command(br#"{"arguments": {"command": "nested"}}"#), None);
    assert_eq!(command(br#"{"arguments": ["command", "x"]}"#), None);
    assert_eq!(command(br#"{"command": 5}"#), None);
    assert_eq!(command(br#"{"command": ["x"]}"#), None);
    assert_eq!(command(br#"{"command": null}"#), None);
    assert_eq!(command(br#"{"command": ""}"#).as_deref(), Some(""));
    assert_eq!(command(br#"{"Command": "x", "command ": "y", "commands": "z"}"#), None);
    // The first `command` key decides, even when its value is not a string.
    assert_eq!(command(br#"{"command": "a", "command": "b"}"#).as_deref(), Some("a"));
    assert_eq!(command(br#"{"command": 1, "command": "b"}"#), None);
    assert_eq!(command(br#"{"command": "a", "command": 1}"#).as_deref(), Some("a"));
    // Keys and values compare unescaped.
    assert_eq!(command(br#"{"comm\u0061nd": "x"}"#).as_deref(), Some("x"));
    assert_eq!(command(br#"{"\u0063\u006f\u006d\u006d\u0061\u006e\u0064": "x"}"#).as_deref(), Some("x"));
    assert_eq!(command(br#"{"command\u0000": "x"}"#), None);
    assert_eq!(command(br#"{"comm\nand": "x"}"#), None);
    assert_eq!(command(br#"{"command": "lease4\u002dupdate"}"#).as_deref(), Some("lease4-update"));
    assert_eq!(command(br#"{"command": "\ud83d\ude00 \"q\" \\ \/"}"#).as_deref(), Some("😀 \"q\" \\ /"));
    assert_eq!(command(br#"{"command": "x", "k\u00e9": 1}"#).as_deref(), Some("x"));
}

#[test]
fn the_command_is_where_it_was_found() {
    let body = br#" { "a" : 1 , "command" : "lease4-update" } "#;
    assert_eq!(check_object(body), Ok(Some(Command::Span(26..39))));
    assert_eq!(check_object(br#"{"command":"\n"}"#), Ok(Some(Command::Unescaped("\n".into()))));
}

#[test]
fn errors_say_what_and_where() {
    assert_eq!(error(b"{\"command\" \"x\"}"), "expected ':' at byte 11");
    assert_eq!(error(b"{\"a\":1,}"), "expected a string key at byte 7");
    assert_eq!(error(b"{\"a\":[1 2]}"), "expected ',' or ']' at byte 8");
    assert_eq!(error(b"{\"a\":01}"), "invalid number (leading zero) at byte 6");
    assert_eq!(error(b"{\"a\":\"\\q\"}"), "invalid escape at byte 6");
    assert_eq!(error(b"{} x"), "expected nothing but whitespace after the object at byte 3");
    assert_eq!(error(b"{\"a\":\"x"), "unterminated string, found the end of the body at byte 7");
    assert_eq!(error(b"{\"a\":"), "expected a value, found the end of the body at byte 5");
    let not_object = check_object(b" [1]").unwrap_err();
    assert!(not_object.is_not_an_object());
    assert_eq!(not_object.to_string(), "expected '{' (a JSON object) at byte 1");
    assert!(check_object(b"").unwrap_err().is_not_an_object());
    assert!(!check_object(b"{").unwrap_err().is_not_an_object());
}

#[test]
fn string_scan_finds_the_first_stop_in_every_lane() {
    // Each of the eight bytes of a word, and the tail after the last whole word.
    for len in 0..24 {
        for stop in [b'"', b'\\', b'\n', b'\0', 0x1f] {
            let mut b = vec![b'x'; len];
            b.push(stop);
            b.extend_from_slice(b"\"\\\x01");
            assert_eq!(scan::skip_plain(&b, 0), len, "{len} {stop:#x}");
            assert_eq!(scan::skip_plain(&b[..len], 0), len);
        }
        // Bytes next to the stops (0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff)
        // are not stops.
        let near = b" !#[]\x7f\x80\xa2\xdc\xff";
        let b: Vec<u8> = near.iter().cycle().take(len).copied().collect();
        assert_eq!(scan::skip_plain(&b, 0), len);
    }
}

#[test]
fn digit_scan_finds_the_first_non_digit_in_every_lane() {
    // Bytes next to the digits, and bytes whose carry or borrow crosses into the next lane.
    let others = [b'/', b':', b',', b'}', b' ', 0x00, 0x7f, 0x80, 0xaf, 0xb0, 0xb9, 0xba, 0xc6, 0xff];
    for len in 1..24 {
        for other in others {
            let mut b = vec![b'1'; len];
            b.push(other);
            b.extend_from_slice(b"2222222222222222");
            assert_eq!(scan::number(&b, 0), Ok(len), "{len} {other:#x}");
            assert_eq!(scan::number(&b[..len], 0), Ok(len));
        }
    }
}
