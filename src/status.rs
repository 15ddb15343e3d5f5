//! Outcome codes shared by the Rust API and (renamed) the C ABI.

/// Why an operation or a transaction ended the way it did.
///
/// The numeric values are the C ABI's `hamux_status` values and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Success: for a transaction, the peer's reply is in the body.
    Ok = 0,
    /// An argument was invalid (null pointer, body that is not a JSON object, bad URL...).
    Invalid = 1,
    /// The configuration JSON was refused.
    Config = 2,
    /// The per-peer in-flight limit (or a listener queue) is full; retry later.
    Busy = 3,
    /// The object is shutting down and accepts no more work.
    Shutdown = 4,
    /// No reply arrived before the request deadline.
    Timeout = 5,
    /// The peer could not be reached, or the connection was lost.
    Connect = 6,
    /// The peer broke the protocol (malformed frame, unexpected data) or reported an error.
    Protocol = 7,
    /// The transaction was cancelled (client freed before a reply arrived).
    Cancelled = 8,
    /// TLS negotiation or verification failed.
    Tls = 9,
    /// A bug in hamux (a caught panic, an impossible state).
    Internal = 10,
    /// An HTTP peer answered with a non-2xx status; the body is the peer's.
    Http = 11,
}

impl Status {
    /// Every status, in numeric order.
    pub const ALL: [Status; 12] = [
        Status::Ok,
        Status::Invalid,
        Status::Config,
        Status::Busy,
        Status::Shutdown,
        Status::Timeout,
        Status::Connect,
        Status::Protocol,
        Status::Cancelled,
        Status::Tls,
        Status::Internal,
        Status::Http,
    ];

    /// The stable C name of the status, e.g. `"HAMUX_E_TIMEOUT"`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("HAMUX_E_INTERNAL")
    }

    /// [`name`](Self::name) as a NUL-terminated string, for the C ABI.
    pub fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            Status::Ok => c"HAMUX_OK",
            Status::Invalid => c"HAMUX_E_INVALID",
            Status::Config => c"HAMUX_E_CONFIG",
            Status::Busy => c"HAMUX_E_BUSY",
            Status::Shutdown => c"HAMUX_E_SHUTDOWN",
            Status::Timeout => c"HAMUX_E_TIMEOUT",
            Status::Connect => c"HAMUX_E_CONNECT",
            Status::Protocol => c"HAMUX_E_PROTOCOL",
            Status::Cancelled => c"HAMUX_E_CANCELLED",
            Status::Tls => c"HAMUX_E_TLS",
            Status::Internal => c"HAMUX_E_INTERNAL",
            Status::Http => c"HAMUX_E_HTTP",
        }
    }

    /// A short lower-case label, used as a key in stats JSON.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Invalid => "invalid",
            Status::Config => "config",
            Status::Busy => "busy",
            Status::Shutdown => "shutdown",
            Status::Timeout => "timeout",
            Status::Connect => "connect",
            Status::Protocol => "protocol",
            Status::Cancelled => "cancelled",
            Status::Tls => "tls",
            Status::Internal => "internal",
            Status::Http => "http",
        }
    }

    /// The status with this numeric value, if any (used for error frames from a peer).
    pub fn from_code(code: u32) -> Option<Status> {
        Status::ALL.get(code as usize).copied()
    }
}
