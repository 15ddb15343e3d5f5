//! `hamux://` framing: the hello, then frames read off a stream as a connection does.
//!
//! Input: one selector byte, then the stream. Bits 0-1 of the selector pick the receiver's
//! maximum body (so small inputs reach the Oversized path), bit 7 says the stream starts
//! with a hello (as on a fresh connection) rather than straight with frames.
#![no_main]

use hamux::codec::{
    decode_frame, decode_hello, encode_frame, parse_error_body, DecodeError, FrameType, HEADER_LEN,
    HELLO_LEN, VERSION,
};
use libfuzzer_sys::fuzz_target;

const MAX_BODIES: [usize; 4] = [0, 16, 1024, 4 << 20];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let max_body = MAX_BODIES[(selector & 3) as usize];

    let hello = check_hello(stream);
    let frames = if selector & 0x80 != 0 {
        match hello {
            Some(true) => &stream[HELLO_LEN..],
            _ => return,
        }
    } else {
        stream
    };
    read_frames(frames, max_body);
    // The Error body parser takes any bytes.
    check_error_body(stream);
});

/// `Some(true)`: a complete valid hello; `Some(false)`: needs more; `None`: refused.
fn check_hello(buf: &[u8]) -> Option<bool> {
    match decode_hello(buf) {
        Ok(Some(version)) => {
            assert!(buf.len() >= HELLO_LEN);
            assert_eq!(version, VERSION);
            assert_eq!(&buf[..4], b"HAMX");
            // A hello is self-delimiting: what follows it does not change the answer.
            assert_eq!(decode_hello(&buf[..HELLO_LEN]), Ok(Some(VERSION)));
            Some(true)
        }
        Ok(None) => {
            assert!(buf.len() < HELLO_LEN, "a complete hello must be decided");
            let have = buf.len().min(4);
            assert_eq!(&buf[..have], &b"HAMX"[..have]);
            Some(false)
        }
        Err(e) => {
            let _ = e.to_string();
            None
        }
    }
}

/// Consumes frames until the decoder wants more bytes or refuses the stream.
fn read_frames(buf: &[u8], max_body: usize) {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        match decode_frame(rest, max_body) {
            Ok(Some((frame, used))) => {
                assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
                assert!(used >= HEADER_LEN);
                assert!(frame.body.len() <= max_body);
                assert_eq!(used, HEADER_LEN + frame.body.len());
                assert_eq!(frame.body, &rest[HEADER_LEN..used]);
                assert_eq!(frame.flags, 0);

                // Re-encoding gives the same bytes, which decode to the same frame.
                let mut again = Vec::new();
                encode_frame(&mut again, frame.frame_type, frame.txid, frame.body);
                assert_eq!(&again[..], &rest[..used]);
                assert_eq!(decode_frame(&again, max_body), Ok(Some((frame_copy(&frame, &again), used))));

                // However the stream is split, a frame cut short asks for more bytes.
                for cut in [0, 1, HEADER_LEN - 1, HEADER_LEN, used - 1] {
                    if cut < used {
                        assert_eq!(decode_frame(&rest[..cut], max_body), Ok(None), "cut at {cut}");
                    }
                }

                if frame.frame_type == FrameType::Error {
                    check_error_body(frame.body);
                }
                at += used;
            }
            Ok(None) => {
                // Only a frame that is not all there yet may ask for more.
                if rest.len() >= HEADER_LEN {
                    let len = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
                    assert!(rest.len() < HEADER_LEN + len, "complete frame of {len} left undecoded");
                }
                return;
            }
            Err(e) => {
                let _ = e.to_string();
                if let DecodeError::Oversized { len, max, txid } = e {
                    assert_eq!(max, max_body);
                    assert!(len > max as u64);
                    assert_eq!(txid, u64::from_be_bytes(rest[8..16].try_into().unwrap()));
                }
                return;
            }
        }
    }
}

fn frame_copy<'a>(frame: &hamux::codec::Frame<'_>, buf: &'a [u8]) -> hamux::codec::Frame<'a> {
    hamux::codec::Frame {
        frame_type: frame.frame_type,
        flags: frame.flags,
        txid: frame.txid,
        body: &buf[HEADER_LEN..],
    }
}

fn check_error_body(body: &[u8]) {
    let (code, message) = parse_error_body(body);
    if body.len() >= 4 {
        assert_eq!(code, u32::from_be_bytes(body[..4].try_into().unwrap()));
        assert_eq!(message, String::from_utf8_lossy(&body[4..]));
        // A status and a UTF-8 message round-trip through encode_error.
        let mut buf = Vec::new();
        hamux::codec::encode_error(&mut buf, 1, code, &message);
        let (frame, _) = decode_frame(&buf, usize::MAX).unwrap().unwrap();
        assert_eq!(parse_error_body(frame.body), (code, message));
    } else {
        assert_eq!((code, message.as_str()), (0, &*String::from_utf8_lossy(body)));
    }
}
