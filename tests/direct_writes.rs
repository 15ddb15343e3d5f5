//! A request sent by a host thread to an idle `hamux://` connection is written by that
//! thread itself, waking no IO thread (`direct-writes` in the peer's statistics); a send
//! from a response callback (an IO thread) joins the thread's batch instead. What the
//! socket does not take at once is finished by the connection's writer before anything
//! queued behind it: a peer that reads late still gets every frame whole, in order.

use hamux::client::{Client, Reply};
use hamux::codec::{self, FrameType};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn peer_stats(client: &Client, url: &str) -> Value {
    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    let peers = stats["peers"].as_array().expect("peers in the stats");
    peers.iter().find(|p| p["url"] == url).cloned().unwrap_or_else(|| panic!("no stats for {url}: {stats}"))
}

fn echo_listener() -> Listener {
    let handler: Handler = Arc::new(|req: Request| {
        let reply = format!("[{{\"result\":0,\"echo\":{}}}]", String::from_utf8_lossy(req.body()));
        req.respond(reply.as_bytes()).unwrap();
    });
    Listener::new("{}", handler).unwrap()
}

#[test]
fn host_threads_write_to_an_idle_connection_themselves_and_callbacks_do_not() {
    let listener = echo_listener();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    // One at a time from this thread: after the first (sent before the connection is up),
    // the connection is idle at every send.
    for i in 0..50 {
        let tx = tx.clone();
        let body = format!(r#"{{"command":"lease4-update","arguments":{{"n":{i}}}}}"#);
        client
            .send(
                &url,
                body.as_bytes(),
                Box::new(move |r: Reply<'_>| tx.send((r.status, r.body.to_vec())).unwrap()),
                None,
            )
            .unwrap();
        let (status, reply) = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(status, Status::Ok);
        assert!(String::from_utf8_lossy(&reply).contains(&format!(r#""n":{i}"#)), "reply to {i}");
    }
    let direct = peer_stats(&client, &url)["direct-writes"].as_u64().unwrap();
    assert!((45..=50).contains(&direct), "direct writes from the host thread: {direct} of 50");

    // A chain of 50 where each reply's callback sends the next: on the IO thread.
    let client = Arc::new(client);
    let (done_tx, done_rx) = mpsc::channel();
    fn chain(client: Arc<Client>, url: String, left: u32, done: mpsc::Sender<Status>) {
        let (c, u) = (client.clone(), url.clone());
        let sent = client.send(
            &url,
            br#"{"command":"lease4-update"}"#,
            Box::new(move |r: Reply<'_>| {
                if r.status != Status::Ok || left == 0 {
                    done.send(r.status).unwrap();
                } else {
                    chain(c, u, left - 1, done);
                }
            }),
            None,
        );
        sent.unwrap();
    }
    // The first of the chain from this thread (direct), the other 49 from callbacks.
    chain(client.clone(), url.clone(), 49, done_tx);
    assert_eq!(done_rx.recv_timeout(WAIT).unwrap(), Status::Ok);
    let after = peer_stats(&client, &url)["direct-writes"].as_u64().unwrap();
    assert!(after - direct <= 1, "sends from response callbacks wrote directly: {} of 50", after - direct);
}

/// Frames read from `stream` until `count` requests arrived (after the peer's hello).
fn read_requests(stream: &mut std::net::TcpStream, count: usize) -> Vec<(u64, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    let mut got = Vec::new();
    let mut at = 0;
    let mut hello = false;
    while got.len() < count {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed after {} requests", got.len());
        buf.extend_from_slice(&chunk[..n]);
        if !hello {
            match codec::decode_hello(&buf).unwrap() {
                Some(_) => {
                    hello = true;
                    at = codec::HELLO_LEN;
                }
                None => continue,
            }
        }
        while let Some((frame, used)) =
            codec::decode_frame(&buf[at..], 1 << 20).expect("a whole, well-formed frame")
        {
            assert_eq!(frame.frame_type, FrameType::Request);
            got.push((frame.txid, frame.body.to_vec()));
            at += used;
        }
    }
    got
}

#[test]
fn what_the_socket_cannot_take_at_once_goes_out_whole_and_first() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    let client =
        Client::new(r#"{"connections-per-peer": 1, "ping-interval-ms": 0, "request-timeout-ms": 20000}"#)
            .unwrap();
    // The first request opens the connection; once it is up and idle (no reader on the
    // other side yet, but the socket takes it), the big ones follow from this thread.
    let (tx, rx) = mpsc::channel();
    let send = |n: usize, pad: usize| {
        let tx = tx.clone();
        let body =
            format!(r#"{{"command":"lease4-update","arguments":{{"n":{n},"pad":"{}"}}}}"#, "x".repeat(pad));
        let txid = client
            .send(
                &url,
                body.as_bytes(),
                Box::new(move |r: Reply<'_>| tx.send((r.txid, r.status)).unwrap()),
                None,
            )
            .unwrap();
        (txid, body.into_bytes())
    };
    let mut sent = vec![send(0, 10)];
    let (mut peer, _) = server.accept().unwrap();
    let mut hello = Vec::new();
    codec::encode_hello(&mut hello);
    peer.write_all(&hello).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // 40 × 256 KiB: far more than loopback's socket buffers take while nobody reads, so
    // a direct write is cut short and the rest waits for the writer.
    for n in 1..=40 {
        sent.push(send(n, 256 * 1024));
    }
    std::thread::sleep(Duration::from_millis(300));
    let got = read_requests(&mut peer, sent.len());
    assert_eq!(got.len(), sent.len());
    for ((txid, body), (got_txid, got_body)) in sent.iter().zip(&got) {
        assert_eq!(txid, got_txid, "requests out of the order they were sent");
        assert!(
            body == got_body,
            "request {txid} arrived changed ({} bytes, sent {})",
            got_body.len(),
            body.len()
        );
    }
    let mut replies = Vec::new();
    for (txid, _) in &got {
        codec::encode_frame(&mut replies, FrameType::Response, *txid, br#"[{"result":0}]"#);
    }
    peer.write_all(&replies).unwrap();
    let mut answered: Vec<u64> = (0..sent.len())
        .map(|_| {
            let (txid, status) = rx.recv_timeout(WAIT).unwrap();
            assert_eq!(status, Status::Ok, "txid {txid}");
            txid
        })
        .collect();
    answered.sort();
    let mut expected: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    expected.sort();
    assert_eq!(answered, expected, "every request answered once");
    let stats = peer_stats(&client, &url);
    assert!(stats["direct-writes"].as_u64().unwrap() >= 1, "no direct write at all: {stats}");
}
