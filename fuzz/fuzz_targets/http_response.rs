//! HTTP/1.1 responses as the HTTP client reads them off a keep-alive connection
//! (Content-Length or chunked bodies).
//!
//! Input: one selector byte (bits 0-1 pick the maximum body, so small inputs reach the
//! 413 path), then the bytes the peer sent.
#![no_main]

use hamux::codec::http::{
    decode_response, decode_response_resuming, reason, ChunkedProgress, MAX_HEAD_BYTES,
};
use libfuzzer_sys::fuzz_target;
use std::borrow::Cow;

const MAX_BODIES: [usize; 4] = [0, 16, 1024, 4 << 20];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let max_body = MAX_BODIES[(selector & 3) as usize];
    let mut at = 0;
    loop {
        let rest = &stream[at..];
        match decode_response(rest, max_body) {
            Ok(Some((resp, used))) => {
                assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
                assert!(resp.body.len() <= max_body);
                assert!(resp.status <= 999);
                if let Cow::Borrowed(body) = resp.body {
                    // A Content-Length body is the tail of what was consumed.
                    assert_eq!(body, &rest[used - body.len()..used]);
                } else {
                    // A chunked body is rebuilt from chunks no bigger than what was consumed.
                    assert!(resp.body.len() < used);
                }
                // A response is self-delimiting: what follows it does not change it.
                let (alone, alone_used) = decode_response(&rest[..used], max_body).unwrap().unwrap();
                assert_eq!((&alone, alone_used), (&resp, used));
                // However the stream is split, a response cut short asks for more bytes
                // (or is refused for its head's size alone).
                for cut in [used - 1, used / 2, 0] {
                    match decode_response(&rest[..cut], max_body) {
                        Ok(None) => {}
                        Err(e) if e.status == 431 && cut > MAX_HEAD_BYTES => {}
                        other => panic!("cut at {cut} of {used}: {other:?}"),
                    }
                }
                // Decoded as it arrives, with one progress kept between reads (as the
                // HTTP client does), the response comes out the same.
                let mut progress = ChunkedProgress::default();
                let partial_ok = [used / 3, used / 2, used - 1].into_iter().all(|cut| {
                    matches!(decode_response_resuming(&rest[..cut], max_body, &mut progress), Ok(None))
                });
                if partial_ok {
                    let (again, again_used) =
                        decode_response_resuming(&rest[..used], max_body, &mut progress).unwrap().unwrap();
                    assert_eq!((&again, again_used), (&resp, used));
                }
                at += used;
            }
            Ok(None) => return,
            Err(e) => {
                assert!(matches!(e.status, 400 | 413 | 431 | 501), "{e}");
                assert_ne!(reason(e.status), "Unknown");
                let _ = e.to_string();
                return;
            }
        }
    }
});
