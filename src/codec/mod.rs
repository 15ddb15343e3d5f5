//! Wire formats: `frame` is the `hamux://` framing (specified in `docs/protocol.md`),
//! `http` the HTTP/1.1 that Kea HA peers speak; `json_object` (crate-private) the check
//! every request body gets, for both: one JSON object, and its top-level `command`.

pub mod frame;
pub mod http;
mod json_object;

pub use frame::{
    decode_frame, decode_hello, encode_error, encode_frame, encode_hello, parse_error_body, DecodeError,
    Frame, FrameType, HEADER_LEN, HELLO_LEN, VERSION,
};
pub(crate) use json_object::{check_is_object, check_object, Command};

/// For the `json_object` fuzz target only (`json_object` is crate-private): the body
/// check with its answer owned, the command as text, an error as its offset and message.
/// A bug comes back as an error at `usize::MAX`: a command that is not text, or the
/// client's check ([`check_is_object`]) answering otherwise.
#[doc(hidden)]
pub fn fuzz_check_object(body: &[u8]) -> Result<Option<String>, (usize, String)> {
    let checked = check_object(body);
    if checked.is_ok() != check_is_object(body).is_ok() {
        return Err((usize::MAX, format!("check_is_object disagrees with check_object ({checked:?})")));
    }
    match checked {
        Ok(None) => Ok(None),
        Ok(Some(command)) => match command.as_str(body) {
            Some(text) => Ok(Some(text.to_string())),
            None => Err((usize::MAX, format!("command {command:?} is not text"))),
        },
        Err(e) => Err((e.at, e.to_string())),
    }
}
