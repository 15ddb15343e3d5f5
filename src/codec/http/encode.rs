//! Encoding HTTP/1.1 messages as Kea's HA peers send them.
//!
//! Every request and every answer goes through here, so nothing is formatted at run time
//! that can be made once: a peer's request head is fixed but for its Content-Length
//! ([`RequestHead`]), and an answer's head is constant text around two numbers. Numbers are
//! written by hand ([`push_decimal`]) rather than through `fmt`, whose machinery costs more
//! than the rest of the encoding.

use super::reason;

/// What precedes an answer's Content-Length value when its status is 200 (nearly all).
const OK_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ";

/// The head of every JSON POST to one peer, made once: all of it but the body's length.
#[derive(Clone, Debug)]
pub struct RequestHead {
    /// Up to the Content-Length value.
    before_length: Vec<u8>,
    /// From the end of the Content-Length line to the end of the head.
    after_length: Vec<u8>,
}

impl RequestHead {
    /// The head of a POST of `path` to `host`, with an Authorization header if given.
    pub fn new(host: &str, path: &str, authorization: Option<&str>) -> RequestHead {
        let mut before_length = Vec::with_capacity(80 + host.len() + path.len());
        for part in [
            "POST ",
            path,
            " HTTP/1.1\r\nHost: ",
            host,
            "\r\nContent-Type: application/json\r\nContent-Length: ",
        ] {
            before_length.extend_from_slice(part.as_bytes());
        }
        let mut after_length = b"\r\n".to_vec();
        if let Some(auth) = authorization {
            for part in ["Authorization: ", auth, "\r\n"] {
                after_length.extend_from_slice(part.as_bytes());
            }
        }
        after_length.extend_from_slice(b"\r\n");
        RequestHead { before_length, after_length }
    }

    /// How many bytes a request with a `body_len`-byte body takes, at most.
    pub fn max_len(&self, body_len: usize) -> usize {
        self.before_length.len() + MAX_DECIMAL + self.after_length.len() + body_len
    }

    /// Appends the request carrying `body`.
    pub fn encode(&self, out: &mut Vec<u8>, body: &[u8]) {
        out.reserve(self.max_len(body.len()));
        out.extend_from_slice(&self.before_length);
        push_decimal(out, body.len());
        out.extend_from_slice(&self.after_length);
        out.extend_from_slice(body);
    }
}

/// Appends a JSON POST as Kea's HA client sends it (a peer's requests are better made with
/// one [`RequestHead`]).
pub fn encode_request(out: &mut Vec<u8>, host: &str, path: &str, body: &[u8], authorization: Option<&str>) {
    RequestHead::new(host, path, authorization).encode(out, body);
}

/// Appends a JSON response (`close` adds `Connection: close`).
pub fn encode_response(out: &mut Vec<u8>, status: u16, body: &[u8], close: bool) {
    out.reserve(OK_HEAD.len() + 40 + body.len());
    if status == 200 {
        out.extend_from_slice(OK_HEAD);
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, status.into());
        out.push(b' ');
        out.extend_from_slice(reason(status).as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
    }
    push_decimal(out, body.len());
    out.extend_from_slice(if close { b"\r\nConnection: close\r\n\r\n" } else { b"\r\n\r\n" });
    out.extend_from_slice(body);
}

/// Kea's generic answer for an HTTP-level error: `{ "result": 400, "text": "Bad Request" }`.
pub fn encode_error_response(out: &mut Vec<u8>, status: u16, close: bool) {
    let body = format!("{{ \"result\": {status}, \"text\": \"{}\" }}", reason(status));
    encode_response(out, status, body.as_bytes(), close);
}

/// `Basic <base64(user:password)>`, the value of an Authorization header.
pub fn basic_authorization(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let mut out = String::from("Basic ");
    for chunk in input.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Digits of the largest `usize` (64-bit).
const MAX_DECIMAL: usize = 20;

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; MAX_DECIMAL];
    let mut at = MAX_DECIMAL;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn decimals_are_what_fmt_writes() {
        for n in [0, 1, 9, 10, 99, 100, 350, 65_535, 4 << 20, u32::MAX as usize, usize::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    /// The bytes are those the `format!`-based encoder wrote before: peers (and tests that
    /// look at raw requests) see no difference.
    #[test]
    fn requests_are_byte_for_byte_what_they_were() {
        for (host, path, auth) in [("127.0.0.1:8000", "/", None), ("[::1]:8001", "/x/y", Some("Basic eDp5"))]
        {
            let head = RequestHead::new(host, path, auth);
            for body in [&b""[..], b"{}", &[b'a'; 1000]] {
                let mut want = Vec::new();
                let _ = write!(
                    want,
                    "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
                if let Some(auth) = auth {
                    let _ = write!(want, "Authorization: {auth}\r\n");
                }
                want.extend_from_slice(b"\r\n");
                want.extend_from_slice(body);
                let mut got = b"before".to_vec();
                head.encode(&mut got, body);
                assert_eq!(&got[6..], &want[..], "{host} {path} {auth:?}");
                assert!(got.len() - 6 <= head.max_len(body.len()));
                let mut alone = Vec::new();
                encode_request(&mut alone, host, path, body, auth);
                assert_eq!(alone, want);
            }
        }
    }

    #[test]
    fn responses_are_byte_for_byte_what_they_were() {
        for status in [200, 400, 401, 413, 503, 599] {
            for close in [false, true] {
                for body in [&b""[..], b"[ { \"result\": 0 } ]"] {
                    let mut want = Vec::new();
                    let _ = write!(
                        want,
                        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                        reason(status),
                        body.len(),
                        if close { "Connection: close\r\n" } else { "" }
                    );
                    want.extend_from_slice(body);
                    let mut got = Vec::new();
                    encode_response(&mut got, status, body, close);
                    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
                }
            }
        }
    }
}
