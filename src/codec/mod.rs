//! Wire formats: `frame` is the `hamux://` framing (specified in `docs/protocol.md`),
//! `http` the HTTP/1.1 that Kea HA peers speak.

pub mod frame;
pub mod http;

pub use frame::{
    decode_frame, decode_hello, encode_error, encode_frame, encode_hello, parse_error_body, DecodeError,
    Frame, FrameType, HEADER_LEN, HELLO_LEN, VERSION,
};
