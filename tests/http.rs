//! HTTP/1.1: the hamux client against the hamux listener and against scripted peers, and
//! the listener against raw HTTP clients.

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

type Outcome = (u64, Status, String);

fn send(client: &Client, url: &str, body: &str, tx: &mpsc::Sender<Outcome>) -> u64 {
    let tx = tx.clone();
    let done = Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.txid, r.status, String::from_utf8_lossy(r.body).into_owned()));
    });
    client.send(url, body.as_bytes(), done, None).unwrap()
}

fn echo_listener() -> Listener {
    let handler: Handler = Arc::new(|req: Request| {
        let reply = format!("[ {{ \"result\": 0, \"echo\": {} }} ]", String::from_utf8_lossy(req.body()));
        req.respond(reply.as_bytes()).unwrap();
    });
    Listener::new("{}", handler).unwrap()
}

#[test]
fn client_and_listener_over_http() {
    let listener = echo_listener();
    let client = Client::new(r#"{"connections-per-peer": 4}"#).unwrap();
    let url = format!("http://127.0.0.1:{}/", listener.local_addr().port());
    let (tx, rx) = mpsc::channel();
    let mut want = std::collections::HashMap::new();
    for i in 0..500 {
        let body = format!("{{\"command\":\"lease4-update\",\"n\":{i}}}");
        want.insert(send(&client, &url, &body, &tx), body);
    }
    for _ in 0..500 {
        let (txid, status, body) = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body, format!("[ {{ \"result\": 0, \"echo\": {} }} ]", want.remove(&txid).unwrap()));
    }
    assert!(want.is_empty());
    let stats: serde_json::Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert!(stats["peers"][0]["connects"].as_u64().unwrap() <= 4, "{stats}");
}

/// Writes raw bytes to the listener and reads `count` HTTP responses (bodies in order).
fn read_responses(stream: &mut TcpStream, count: usize) -> Vec<(u16, String)> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut reader = BufReader::new(stream);
    let mut out = Vec::new();
    for _ in 0..count {
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        out.push((status, String::from_utf8(body).unwrap()));
    }
    out
}

fn post(body: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn pipelined_http_requests_are_answered_in_order_even_when_the_host_answers_backwards() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let listener = Listener::new("{}", Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    let lease = |n: u32| post(&format!(r#"{{"command":"lease4-update","n":{n}}}"#));
    s.write_all(format!("{}{}{}", lease(0), lease(1), lease(2)).as_bytes()).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while held.lock().unwrap().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "the three requests never reached the host");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut reqs: Vec<Request> = held.lock().unwrap().drain(..).collect();
    reqs.sort_by_key(|r| r.txid());
    for req in reqs.into_iter().rev() {
        let answer = format!("[{{\"n\":{}}}]", req.txid() - 1);
        req.respond(answer.as_bytes()).unwrap();
    }
    let got = read_responses(&mut s, 3);
    let bodies: Vec<&str> = got.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(bodies, [r#"[{"n":0}]"#, r#"[{"n":1}]"#, r#"[{"n":2}]"#]);
}

#[test]
fn bad_http_requests_get_keas_answer_and_never_reach_the_host() {
    let seen = Arc::new(Mutex::new(0));
    let s2 = seen.clone();
    let listener = Listener::new(
        r#"{"max-frame-bytes": 1024}"#,
        Arc::new(move |req: Request| {
            *s2.lock().unwrap() += 1;
            req.respond(b"[]").unwrap();
        }),
    )
    .unwrap();
    let cases = [
        ("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}".to_string(), 400),
        ("POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nnope!".to_string(), 400),
        (
            "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"
                .to_string(),
            400,
        ),
        ("POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n".to_string(), 413),
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), 405),
    ];
    for (request, status) in cases {
        let mut s = TcpStream::connect(listener.local_addr()).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let got = read_responses(&mut s, 1);
        assert_eq!(got[0].0, status, "{request}");
        assert!(got[0].1.contains(&format!("\"result\": {status}")), "{}", got[0].1);
        let mut rest = Vec::new();
        assert_eq!(s.read_to_end(&mut rest).unwrap(), 0, "connection closed after the refusal");
    }
    assert_eq!(*seen.lock().unwrap(), 0);
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    s.write_all(post("{}").as_bytes()).unwrap();
    assert_eq!(read_responses(&mut s, 1)[0], (200, "[]".to_string()));
}

#[test]
fn connection_close_request_is_answered_then_closed() {
    let listener = echo_listener();
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    let req = post("{}").replacen("Host: x\r\n", "Host: x\r\nConnection: close\r\n", 1);
    s.write_all(req.as_bytes()).unwrap();
    assert_eq!(read_responses(&mut s, 1)[0].0, 200);
    let mut rest = Vec::new();
    assert_eq!(s.read_to_end(&mut rest).unwrap(), 0);
}

/// What a scripted peer does with one request.
enum Answer {
    Reply(String),
    /// Reply, then close the connection without saying so (an idle keep-alive timeout).
    ReplyThenClose(String),
    /// Close without answering.
    Close,
}

/// A scripted HTTP peer: each accepted connection (on its own thread) reads requests and
/// answers each as `answer` says for (connection index, request index, raw request).
fn scripted_peer(answer: impl Fn(usize, usize, &str) -> Answer + Send + Sync + 'static) -> String {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", server.local_addr().unwrap());
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for (conn, stream) in server.incoming().enumerate() {
            let answer = answer.clone();
            std::thread::spawn(move || serve_script(stream.unwrap(), conn, &*answer));
        }
    });
    url
}

fn serve_script(mut stream: TcpStream, conn: usize, answer: &dyn Fn(usize, usize, &str) -> Answer) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for index in 0.. {
        let mut head = String::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        head.push_str(&String::from_utf8_lossy(&body));
        match answer(conn, index, &head) {
            Answer::Reply(reply) => stream.write_all(reply.as_bytes()).unwrap(),
            Answer::ReplyThenClose(reply) => {
                stream.write_all(reply.as_bytes()).unwrap();
                return;
            }
            Answer::Close => return,
        }
    }
}

fn ok_reply(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn chunked_replies_http_errors_and_basic_auth() {
    let url = scripted_peer(|_, index, request| {
        assert!(request.contains("Content-Type: application/json\r\n"), "{request}");
        assert!(request.contains("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"), "{request}");
        Answer::Reply(match index {
            0 => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[ { \"\r\nc\r\nresult\": 0 }\r\n2\r\n ]\r\n0\r\n\r\n".into(),
            _ => {
                let body = r#"{ "result": 401, "text": "Unauthorized" }"#;
                format!("HTTP/1.1 401 Unauthorized\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            }
        })
    });
    let config = format!(
        r#"{{"connections-per-peer": 1, "peers": [{{"url": "{url}", "basic-auth-user": "Aladdin", "basic-auth-password": "open sesame"}}]}}"#
    );
    let client = Client::new(&config).unwrap();
    let (tx, rx) = mpsc::channel();
    send(&client, &url, "{}", &tx);
    let (_, status, body) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((status, body.as_str()), (Status::Ok, r#"[ { "result": 0 } ]"#));
    send(&client, &url, "{}", &tx);
    let (_, status, body) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((status, body.as_str()), (Status::Http, r#"{ "result": 401, "text": "Unauthorized" }"#));
}

#[test]
fn idle_connection_closed_by_peer_is_replaced_before_sending() {
    // The peer answers one request per connection and then closes it (as an idle
    // keep-alive timeout would); every request must still succeed, none re-sent.
    let requests = Arc::new(Mutex::new(0));
    let r2 = requests.clone();
    let url = scripted_peer(move |_, _, _| {
        *r2.lock().unwrap() += 1;
        Answer::ReplyThenClose(ok_reply("[ { \"result\": 0 } ]"))
    });
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..5 {
        send(&client, &url, "{}", &tx);
        let (_, status, body) = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(status, Status::Ok, "{body}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(*requests.lock().unwrap(), 5);
}

#[test]
fn request_lost_with_the_connection_is_not_resent_unless_asked() {
    // The peer reads the request, then closes without answering.
    let url =
        scripted_peer(|conn, _, _| if conn == 0 { Answer::Close } else { Answer::Reply(ok_reply("[]")) });
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    send(&client, &url, "{}", &tx);
    let (_, status, _) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(status, Status::Connect);
    // The next request goes on a new connection and succeeds.
    send(&client, &url, "{}", &tx);
    assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Ok);
}

#[test]
fn http_request_times_out_and_connection_is_replaced() {
    let url = scripted_peer(|conn, _, _| {
        if conn == 0 {
            std::thread::sleep(Duration::from_millis(400));
        }
        Answer::Reply(ok_reply("[]"))
    });
    let client = Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 100}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    send(&client, &url, "{}", &tx);
    assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Timeout);
    send(&client, &url, "{}", &tx);
    assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Ok);
}

#[test]
fn resend_after_idle_close_is_opt_in() {
    // Connection 0 answers its first request and silently drops its second; later
    // connections answer everything.
    let script = |conn: usize, index: usize, _: &str| {
        if conn == 0 && index == 1 {
            Answer::Close
        } else {
            Answer::Reply(ok_reply("[]"))
        }
    };
    for (resend, want) in [(false, Status::Connect), (true, Status::Ok)] {
        let url = scripted_peer(script);
        let config = format!(
            r#"{{"connections-per-peer": 1, "peers": [{{"url": "{url}", "resend-after-idle-close": {resend}}}]}}"#
        );
        let client = Client::new(&config).unwrap();
        let (tx, rx) = mpsc::channel();
        send(&client, &url, "{}", &tx);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Ok);
        send(&client, &url, "{}", &tx);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().1, want, "resend-after-idle-close: {resend}");
    }
}

#[test]
fn a_reply_padded_with_chunk_framing_cannot_grow_the_buffer_without_bound() {
    // Each chunk carries one body byte behind a 1000-byte extension: the body stays far
    // below max-frame-bytes while the bytes keep coming. (The reply never ends; Answer::Reply
    // holds 200 KiB of it, more than the client may buffer for max-frame-bytes 1024.)
    let chunk = format!("1;{}\r\nx\r\n", "e".repeat(1000));
    let reply = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{}", chunk.repeat(200));
    let url = scripted_peer(move |_, _, _| Answer::Reply(reply.clone()));
    let client = Client::new(r#"{"max-frame-bytes": 1024}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    send(&client, &url, "{}", &tx);
    let (_, status, text) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(status, Status::Protocol, "{text}");
    assert!(text.contains("still incomplete after"), "{text}");
}
