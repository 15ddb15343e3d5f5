//! Writes the seed corpora under `fuzz/seeds/<target>/` with hamux's own encoders
//! (plus a few hand-written Kea-style messages and configurations).
//!
//! Run without the fuzzing flags, from the repository root:
//! `HAMUX_SKIP_HEADER=1 cargo run --manifest-path fuzz/Cargo.toml --target-dir fuzz/target/seeds --example write_seeds`
//!
//! Every fuzz target reads a selector byte first; bits 0-1 pick the maximum body size
//! (0, 16, 1024, 4 MiB) and, for `frame`, bit 7 says a hello comes first.

use hamux::codec::http::{encode_error_response, encode_request, encode_response};
use hamux::codec::{encode_error, encode_frame, encode_hello, FrameType};
use std::path::Path;

const LEASE4: &str = r#"{"command":"lease4-update","service":["dhcp4"],"arguments":{"ip-address":"192.0.2.7","hw-address":"1a:1b:1c:1d:1e:1f","subnet-id":1,"valid-lft":3600,"fqdn-fwd":false,"fqdn-rev":false,"hostname":"","state":0,"force-create":true,"origin":"ha-partner"}}"#;
const HEARTBEAT: &str = r#"{"command":"ha-heartbeat","service":["dhcp4"]}"#;
const REPLY: &str = r#"[ { "result": 0, "text": "IPv4 lease updated." } ]"#;
const HEARTBEAT_REPLY: &str = r#"[ { "arguments": { "date-time": "Tue, 24 Nov 2025 11:37:00 GMT", "scopes": [ "server1" ], "state": "hot-standby", "unsent-update-count": 0 }, "result": 0, "text": "HA peer status returned." } ]"#;

fn write(dir: &Path, name: &str, selector: Option<u8>, bytes: &[u8]) {
    let mut data = Vec::new();
    data.extend(selector);
    data.extend_from_slice(bytes);
    std::fs::write(dir.join(name), data).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let dir = |name: &str| {
        let d = root.join(name);
        std::fs::create_dir_all(&d).expect("create seed dir");
        d
    };

    // frame: a connection's stream.
    let d = dir("frame");
    let mut s = Vec::new();
    encode_hello(&mut s);
    encode_frame(&mut s, FrameType::Request, 1, LEASE4.as_bytes());
    encode_frame(&mut s, FrameType::Request, 2, HEARTBEAT.as_bytes());
    encode_frame(&mut s, FrameType::Response, 2, HEARTBEAT_REPLY.as_bytes());
    encode_frame(&mut s, FrameType::Response, 1, REPLY.as_bytes());
    encode_frame(&mut s, FrameType::Ping, 7, b"");
    encode_frame(&mut s, FrameType::Pong, 7, b"");
    encode_error(&mut s, 3, 7, "peer refused the request");
    encode_error(&mut s, 0, 6, "connection closing");
    encode_frame(&mut s, FrameType::Goaway, 0, b"");
    write(&d, "hello_and_every_type", Some(0x83), &s);
    let mut s = Vec::new();
    encode_frame(&mut s, FrameType::Request, u64::MAX, LEASE4.as_bytes());
    encode_frame(&mut s, FrameType::Response, u64::MAX, REPLY.as_bytes());
    write(&d, "request_response", Some(0x02), &s);
    let mut s = Vec::new();
    encode_frame(&mut s, FrameType::Request, 9, LEASE4.as_bytes());
    write(&d, "oversized_for_16", Some(0x01), &s);
    write(&d, "partial", Some(0x02), &s[..s.len() / 2]);
    let mut s = Vec::new();
    encode_hello(&mut s);
    write(&d, "hello_only", Some(0x80), &s);

    // http_request: what a Kea HA partner sends (hamux's encoder, then Kea's own layout).
    let d = dir("http_request");
    let mut s = Vec::new();
    encode_request(
        &mut s,
        "127.0.0.1:8001",
        "/",
        LEASE4.as_bytes(),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
    );
    encode_request(&mut s, "127.0.0.1:8001", "/", HEARTBEAT.as_bytes(), None);
    write(&d, "pipelined_hamux", Some(0x03), &s);
    let kea = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\nContent-Type: application/json\r\nHost: 127.0.0.1:8001\r\n\r\n{HEARTBEAT}",
        HEARTBEAT.len()
    );
    write(&d, "kea_heartbeat", Some(0x02), kea.as_bytes());
    let close = format!(
        "POST /x?y=1 HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\ncontent-type: Application/JSON; charset=utf-8\r\ncontent-length: {0}\r\nContent-Length: {0}\r\n\r\n{HEARTBEAT}GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        HEARTBEAT.len()
    );
    write(&d, "http10_keepalive_then_get_close", Some(0x03), close.as_bytes());
    write(
        &d,
        "chunked_refused",
        Some(0x03),
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );

    // http_response: what a Kea HA partner answers.
    let d = dir("http_response");
    let mut s = Vec::new();
    encode_response(&mut s, 200, HEARTBEAT_REPLY.as_bytes(), false);
    encode_response(&mut s, 200, REPLY.as_bytes(), false);
    encode_error_response(&mut s, 400, true);
    write(&d, "pipelined_hamux", Some(0x03), &s);
    let kea = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\nDate: Tue, 24 Nov 2025 11:37:00 GMT\r\n\r\n{REPLY}",
        REPLY.len()
    );
    write(&d, "kea_reply", Some(0x02), kea.as_bytes());
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4;x=y\r\n[ { \r\nb\r\n\"result\": 0\r\n4\r\n } ]\r\n0\r\nTrailer: v\r\n\r\n";
    write(&d, "chunked_with_trailer", Some(0x03), chunked);
    write(&d, "no_body_statuses", Some(0x00), b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
    write(&d, "http10_close", Some(0x01), b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}");

    // config: client and listener configurations using every key.
    let d = dir("config");
    write(&d, "empty", None, b"{}");
    let client = r#"{
  "io-threads": 4, "drain-timeout-ms": 500, "callbacks": "poll",
  "connections-per-peer": 2, "max-in-flight": 1024, "request-timeout-ms": 2000,
  "connect-timeout-ms": 1000, "max-frame-bytes": 65536, "ping-interval-ms": 0, "ping-timeout-ms": 3000,
  "basic-auth-user": "kea", "basic-auth-password": "secret", "resend-after-idle-close": false,
  "source-address": "127.0.0.1",
  "peers": [
    {"url": "hamux://127.0.0.1:8001", "connections-per-peer": 1, "source-address": "::1", "source-port": 4000},
    {"url": "http://[::1]:8000/", "basic-auth-user": "a", "resend-after-idle-close": true, "max-frame-bytes": 64}
  ]
}"#;
    hamux::client::ClientConfig::parse(client).expect("the client seed is valid");
    write(&d, "client_every_key", None, client.as_bytes());
    let listener = r#"{
  "address": "::", "port": 8001, "io-threads": 2, "handler-threads": 8, "max-frame-bytes": 1048576,
  "max-pending": 100, "callbacks": "threads", "max-connections": 16,
  "handshake-timeout-ms": 1000, "idle-timeout-ms": 0,
  "allowed-peers": ["192.0.2.1", "10.0.0.0/8:5000-5010", "[2001:db8::/32]:547", "127.0.0.1:4000", "::ffff:10.0.0.1"],
  "parallel-commands": ["ha-heartbeat", "lease4-update", "lease6-bulk-apply"]
}"#;
    hamux::listener::ListenerConfig::parse(listener).expect("the listener seed is valid");
    write(&d, "listener_every_key", None, listener.as_bytes());
    write(&d, "listener_all_parallel", None, br#"{"parallel-commands": ["*"], "allowed-peers": []}"#);

    // json_object: request bodies, compact (hamux's own) and as Kea writes them, and the
    // corners the check must answer as serde_json does.
    let d = dir("json_object");
    write(&d, "lease4_update", None, LEASE4.as_bytes());
    write(&d, "heartbeat", None, HEARTBEAT.as_bytes());
    let kea = r#"{ "arguments": { "expire": 1764000000, "fqdn-fwd": false, "hostname": "", "ip-address": "192.0.2.7", "state": 0 }, "command": "lease4-update", "service": [ "dhcp4" ] }"#;
    write(&d, "kea_style", None, kea.as_bytes());
    write(
        &d,
        "nested_command",
        None,
        br#"{"arguments": {"command": "nested", "n": [1, -0.5e3, true, null, {}]}, "command": "x"}"#,
    );
    write(&d, "escapes", None, br#"{"comm\u0061nd": "a\"\\\/\b\f\n\r\t\ud83d\ude00", "lone": "\ud800"}"#);
    write(&d, "duplicate_command", None, br#"{"command": 1, "command": "second"}"#);
    write(&d, "not_text", None, b"{\"k\xff\": 1, \"command\": \"x\"}");
    write(&d, "deep", None, format!("{{\"a\":{}0{}}}", "[{\"k\":".repeat(100), "}]".repeat(100)).as_bytes());
}
