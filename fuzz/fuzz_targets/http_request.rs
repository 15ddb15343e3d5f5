//! HTTP/1.1 requests as the listener reads them: pipelined off one connection's buffer.
//!
//! Input: one selector byte (bits 0-1 pick the maximum body, so small inputs reach the
//! 413 path), then the bytes the peer sent.
#![no_main]

use hamux::codec::http::{decode_request, reason, MAX_HEAD_BYTES};
use libfuzzer_sys::fuzz_target;

const MAX_BODIES: [usize; 4] = [0, 16, 1024, 4 << 20];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let max_body = MAX_BODIES[(selector & 3) as usize];
    let mut at = 0;
    loop {
        let rest = &stream[at..];
        match decode_request(rest, max_body) {
            Ok(Some((req, used))) => {
                assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
                assert!(req.body.len() <= max_body);
                assert!(!req.method.is_empty());
                // The body is the tail of what was consumed, borrowed from the input.
                let head_len = used - req.body.len();
                assert!(head_len >= 2 && rest[head_len - 1] == b'\n', "a head ends with an empty line");
                assert_eq!(req.body, &rest[head_len..used]);
                // A request is self-delimiting: what follows it does not change it.
                let (alone, alone_used) = decode_request(&rest[..used], max_body).unwrap().unwrap();
                assert_eq!((&alone, alone_used), (&req, used));
                // However the stream is split, a request cut short asks for more bytes
                // (or is refused for its head's size alone).
                for cut in [used - 1, head_len - 1, head_len / 2] {
                    match decode_request(&rest[..cut], max_body) {
                        Ok(None) => {}
                        Err(e) if e.status == 431 && cut > MAX_HEAD_BYTES => {}
                        other => panic!("cut at {cut} of {used}: {other:?}"),
                    }
                }
                at += used;
            }
            Ok(None) => return,
            Err(e) => {
                assert!(matches!(e.status, 400 | 411 | 413 | 431 | 501), "{e}");
                assert_ne!(reason(e.status), "Unknown");
                let _ = e.to_string();
                return;
            }
        }
    }
});
