//! `source-address` / `source-port`: outgoing connections leave from the configured
//! address and port, so a partner's allow-list can pin them.

use hamux::client::{Client, Reply};
use hamux::codec::{self, FrameType};
use hamux::Status;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

/// A one-connection hamux peer that reports where the connection came from and answers
/// the first request.
fn peer_reporting_source() -> (String, mpsc::Receiver<SocketAddr>) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, from) = server.accept().unwrap();
        tx.send(from).unwrap();
        let mut buf = vec![0u8; codec::HELLO_LEN + codec::HEADER_LEN + 2];
        s.read_exact(&mut buf).unwrap();
        let txid = u64::from_be_bytes(buf[codec::HELLO_LEN + 8..codec::HELLO_LEN + 16].try_into().unwrap());
        let mut reply = Vec::new();
        codec::encode_hello(&mut reply);
        codec::encode_frame(&mut reply, FrameType::Response, txid, b"[]");
        s.write_all(&reply).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    (url, rx)
}

fn round_trip(config: &str, url: &str) {
    let client = Client::new(config).unwrap();
    let (tx, rx) = mpsc::channel();
    client.send(url, b"{}", Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), Status::Ok);
}

#[test]
fn connections_leave_from_the_source_address_and_port() {
    // All of 127.0.0.0/8 is local on Linux, so 127.0.0.2 needs no setup.
    let (url, from) = peer_reporting_source();
    round_trip(r#"{"source-address": "127.0.0.2"}"#, &url);
    assert_eq!(from.recv().unwrap().ip().to_string(), "127.0.0.2");

    let port = TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let (url, from) = peer_reporting_source();
    let config = format!(
        r#"{{"peers": [{{"url": "{url}", "source-address": "127.0.0.2", "source-port": {port}, "connections-per-peer": 1}}]}}"#
    );
    round_trip(&config, &url);
    assert_eq!(from.recv().unwrap(), SocketAddr::from(([127, 0, 0, 2], port)));
}
