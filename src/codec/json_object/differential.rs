//! `check_object` against what it replaced, on tens of thousands of generated bodies:
//! random JSON-ish documents and byte-level mutations of valid ones (the `hamux bench`
//! 350-byte `lease4-update` among them), from a seeded xorshift generator so that a
//! failure reproduces. The oracle is the old code, kept here verbatim: serde_json's
//! `IgnoredAny` for "is it an object", the listener's Visitor for its `command` (first
//! `command` key wins); where serde_json's `Value` parses the body and it has at most one
//! top-level `command` key, `v["command"].as_str()` must agree too.

use super::*;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The client's old check.
pub(super) fn old_is_json_object(body: &[u8]) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

/// The listener's old Visitor.
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

/// The listener's old `CheckedBody::check`: `None` refused, else the command.
pub(super) fn old_check(body: &[u8]) -> Option<Option<String>> {
    let command = old_command_name(body);
    if command.is_none() && !old_is_json_object(body) {
        return None;
    }
    Some(command)
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

fn ours(body: &[u8]) -> Option<Option<String>> {
    let command = check_object(body).ok()?;
    Some(command.map(|c| c.as_str(body).expect("a command is text").to_string()))
}

/// Asserts the new check answers `body` as the old one did.
fn compare(body: &[u8]) {
    let new = ours(body);
    let show = || String::from_utf8_lossy(body).into_owned();
    assert_eq!(new.is_some(), old_is_json_object(body), "accepted? {:?}", show());
    assert_eq!(check_is_object(body).is_ok(), new.is_some(), "client's check of {:?}", show());
    assert_eq!(new, old_check(body), "command of {:?}", show());
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        if command_keys(body) <= 1 {
            let value = map.get("command").and_then(|c| c.as_str()).map(str::to_string);
            assert_eq!(new, Some(value), "Value's command of {:?}", show());
        }
    }
    if let Err(e) = check_object(body) {
        assert!(e.at <= body.len() && e.end == (e.at == body.len()), "{e:?} in {} bytes", body.len());
    }
}

/// `hamux bench`'s default body (tools/hamux/src/body.rs): a Kea `lease4-update` of 350
/// bytes, the address padded with spaces after its closing quote, the hostname with `x`.
pub(super) fn lease4_update() -> Vec<u8> {
    let render = |pad: usize| {
        format!(
            concat!(
                r#"{{"command":"lease4-update","service":["dhcp4"],"arguments":{{"#,
                r#""ip-address":"192.0.2.1"        ,"hw-address":"02:00:00:00:00:01","#,
                r#""client-id":"01:02:00:00:00:00:01","subnet-id":1,"valid-lft":3600,"#,
                r#""expire":1764000000,"hostname":"client-000001{}.example.org","#,
                r#""fqdn-fwd":false,"fqdn-rev":false,"state":0,"force-create":true,"#,
                r#""origin":"ha-partner"}}}}"#
            ),
            "x".repeat(pad)
        )
    };
    let body = render(350 - render(0).len()).into_bytes();
    assert_eq!(body.len(), 350);
    body
}

/// xorshift64*: small, seeded, good enough to spread choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 32) as usize % n
    }

    /// True `percent` % of the time.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Mostly-valid JSON: each rule goes wrong now and then, so that both answers are common.
struct Gen<'r> {
    rng: &'r mut Rng,
    out: Vec<u8>,
}

impl Gen<'_> {
    fn ws(&mut self) {
        let ws: &[&[u8]] = &[b"", b"", b"", b" ", b"\n", b"\t", b"\r\n  ", b"  "];
        let bad: &[&[u8]] = &[b"\x0c", b"\x0b", b"\xc2\xa0", b"\0"];
        let piece = if self.rng.chance(1) { self.rng.pick(bad) } else { self.rng.pick(ws) };
        self.out.extend_from_slice(piece);
    }

    fn value(&mut self, depth: usize) {
        let choice = if depth >= 5 { 2 + self.rng.below(4) } else { self.rng.below(6) };
        match choice {
            0 => self.object(depth + 1, false),
            1 => self.array(depth + 1),
            2 => self.string(),
            3 => self.number(),
            4 => {
                let words: &[&[u8]] = &[b"true", b"false", b"null"];
                let bad: &[&[u8]] = &[b"tru", b"nul", b"True", b"nulll", b"-", b"undefined", b"'x'", b""];
                let w = if self.rng.chance(3) { self.rng.pick(bad) } else { self.rng.pick(words) };
                self.out.extend_from_slice(w);
            }
            _ => self.string(),
        }
    }

    fn object(&mut self, depth: usize, top: bool) {
        self.out.push(b'{');
        self.ws();
        let n = self.rng.below(if top { 6 } else { 4 });
        for i in 0..n {
            if i > 0 {
                self.out.push(if self.rng.chance(1) { b';' } else { b',' });
                self.ws();
            }
            let command = self.key(top);
            self.ws();
            if !self.rng.chance(1) {
                self.out.push(b':');
            }
            self.ws();
            if command && self.rng.chance(80) {
                self.string();
            } else {
                self.value(depth);
            }
            self.ws();
        }
        if n > 0 && self.rng.chance(1) {
            self.out.push(b',');
        }
        if !self.rng.chance(1) {
            self.out.push(b'}');
        }
    }

    fn array(&mut self, depth: usize) {
        self.out.push(b'[');
        self.ws();
        for i in 0..self.rng.below(4) {
            if i > 0 {
                self.out.push(b',');
                self.ws();
            }
            self.value(depth);
            self.ws();
        }
        self.out.push(if self.rng.chance(1) { b'}' } else { b']' });
    }

    /// Writes a key; returns whether it may read `command`.
    fn key(&mut self, top: bool) -> bool {
        let keys: &[&[u8]] =
            &[br#""arguments""#, br#""service""#, br#""""#, br#""command ""#, br#""Command""#, br#""a""#];
        let not_text: &[&[u8]] = &[b"\"k\xff\"", br#""k\ud800""#, b"\"\xc3\\n\xa9\""];
        match self.rng.below(100) {
            _ if !top && self.rng.chance(70) => self.string(),
            0..=29 => self.out.extend_from_slice(br#""command""#),
            30..=34 => self.out.extend_from_slice(br#""comm\u0061nd""#),
            35..=39 => self.string(),
            40..=41 => self.number(),
            42..=44 => {
                let key = *self.rng.pick(not_text);
                self.out.extend_from_slice(key);
            }
            _ => {
                let key = *self.rng.pick(keys);
                self.out.extend_from_slice(key);
            }
        }
        self.out.ends_with(b"nd\"")
    }

    fn string(&mut self) {
        let plain: &[&[u8]] = &[b"a", b"lease4-update", b"192.0.2.1", b" ", "é".as_bytes(), "€😀".as_bytes()];
        let escapes: &[&[u8]] = &[
            br#"\n"#,
            br#"\""#,
            br#"\\"#,
            br#"\/"#,
            br#"\b\f\r\t"#,
            br#"\u0041"#,
            br#"\u00e9"#,
            br#"\ud83d\ude00"#,
            br#"\uD83D\uDE00"#,
        ];
        let odd: &[&[u8]] = &[
            br#"\ud800"#,
            br#"\udc00"#,
            br#"\ud800\u0041"#,
            br#"\x"#,
            br#"\u12"#,
            br#"\u12g4"#,
            b"\xff",
            b"\xc3",
            b"\x80",
            b"\xed\xa0\x80",
            b"\x01",
            b"\n",
            b"\x7f",
        ];
        self.out.push(b'"');
        for _ in 0..self.rng.below(5) {
            let piece = match self.rng.below(100) {
                0..=69 => self.rng.pick(plain),
                70..=94 => self.rng.pick(escapes),
                _ => self.rng.pick(odd),
            };
            self.out.extend_from_slice(piece);
        }
        if !self.rng.chance(1) {
            self.out.push(b'"');
        }
    }

    fn number(&mut self) {
        if self.rng.chance(30) {
            self.out.push(b'-');
        }
        match self.rng.below(10) {
            0..=2 => self.out.push(b'0'),
            3 => self.out.extend_from_slice(if self.rng.chance(50) { b"01" } else { b"" }),
            _ => {
                let n = 1 + self.rng.below(12);
                self.digits(n);
            }
        }
        if self.rng.chance(25) {
            self.out.push(b'.');
            let n = if self.rng.chance(5) { 0 } else { 1 + self.rng.below(4) };
            self.digits(n);
        }
        if self.rng.chance(20) {
            let e: &[&[u8]] = &[b"e", b"E", b"e+", b"e-", b"E-"];
            let e = *self.rng.pick(e);
            self.out.extend_from_slice(e);
            let n = if self.rng.chance(5) { 0 } else { 1 + self.rng.below(3) };
            self.digits(n);
        }
    }

    fn digits(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(b'0' + self.rng.below(10) as u8);
        }
    }
}

/// A document nested `depth` deep in objects and arrays, closed right unless `wrong`.
fn deep(rng: &mut Rng, depth: usize, wrong: bool) -> Vec<u8> {
    let mut out = b"{\"command\":\"deep\",\"a\":".to_vec();
    let kinds: Vec<bool> = (0..depth).map(|_| rng.chance(50)).collect();
    for &object in &kinds {
        out.extend_from_slice(if object { b"{\"k\":" } else { b"[" });
    }
    out.push(b'1');
    let flip = if wrong { rng.below(depth) } else { usize::MAX };
    for (i, &object) in kinds.iter().enumerate().rev() {
        out.push(if object != (i == flip) { b'}' } else { b']' });
    }
    out.push(b'}');
    out
}

/// One to three byte-level edits, from an alphabet of the bytes that matter to JSON.
fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    const ALPHABET: &[u8] = b"{}[]:,\"\\ \t\n\r\x0c\x00\x1f\x7f\x80\xff\xc3\xa9u0123456789-+.eEtrufalsn/bdxX";
    for _ in 0..1 + rng.below(3) {
        let len = body.len();
        let at = rng.below(len + 1);
        match rng.below(7) {
            0 | 1 if at < len => body[at] = *rng.pick(ALPHABET),
            2 => body.insert(at, *rng.pick(ALPHABET)),
            3 if at < len => {
                body.remove(at);
            }
            4 => body.truncate(at),
            5 if at < len => {
                // Copy a stretch elsewhere (duplicates keys, nests values).
                let end = (at + 1 + rng.below(40)).min(len);
                let piece = body[at..end].to_vec();
                let to = rng.below(len + 1);
                body.splice(to..to, piece);
            }
            _ => {
                let members: &[&[u8]] = &[br#""command":"x","#, br#""command":1,"#, br#""a":[],"#];
                if let Some(brace) = body.iter().position(|&b| b == b'{') {
                    let member = *rng.pick(members);
                    body.splice(brace + 1..brace + 1, member.iter().copied());
                }
            }
        }
    }
}

#[test]
fn agrees_with_serde_json_on_generated_bodies() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let bases: Vec<Vec<u8>> = vec![
        lease4_update(),
        br#"{"command":"ha-heartbeat","service":["dhcp4"]}"#.to_vec(),
        br#"{ "arguments": { "command": "nested", "n": [1, -0.5e3, true, null, {}] }, "command": "x" }"#
            .to_vec(),
    ];
    let (mut accepted, mut with_command) = (0, 0);
    const CASES: usize = 50_000;
    for case in 0..CASES {
        let body = match case % 4 {
            0 => {
                let mut g = Gen { rng: &mut rng, out: Vec::new() };
                g.ws();
                if g.rng.chance(90) {
                    g.object(0, true);
                } else {
                    g.value(0);
                }
                g.ws();
                g.out
            }
            1 => {
                let mut body = rng.pick(&bases).clone();
                mutate(&mut rng, &mut body);
                body
            }
            2 => {
                let mut g = Gen { rng: &mut rng, out: Vec::new() };
                g.object(0, true);
                let mut body = g.out;
                mutate(&mut rng, &mut body);
                body
            }
            _ if case % 400 == 3 => {
                let depth = 100 + rng.below(2 * INLINE_LEVELS);
                let wrong = rng.chance(50);
                deep(&mut rng, depth, wrong)
            }
            _ => {
                let mut g = Gen { rng: &mut rng, out: Vec::new() };
                g.object(0, true);
                g.out
            }
        };
        compare(&body);
        if let Some(command) = ours(&body) {
            accepted += 1;
            with_command += usize::from(command.is_some());
        }
    }
    eprintln!("{accepted} accepted, {with_command} with a command, of {CASES}");
    // Both answers are common, so the comparison means something.
    assert!(accepted > CASES / 5 && accepted < CASES * 4 / 5, "{accepted} of {CASES} accepted");
    assert!(with_command > CASES / 10, "{with_command} with a command");
}

#[test]
fn agrees_with_serde_json_on_every_single_byte_edit_of_the_lease_body() {
    let body = lease4_update();
    compare(&body);
    assert_eq!(ours(&body), Some(Some("lease4-update".to_string())));
    for at in 0..=body.len() {
        compare(&body[..at]);
        for byte in [b'"', b'\\', b'{', b'}', b',', b' ', b'\x0c', 0xff] {
            let mut edited = body.clone();
            if let Some(b) = edited.get_mut(at) {
                *b = byte;
                compare(&edited);
            }
        }
    }
}
