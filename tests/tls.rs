//! TLS on both transports (`hamuxs://`, `https://`) with certificates made at run time:
//! mutual authentication works, and a wrong CA, a missing, expired or foreign client
//! certificate, or a server certificate for another name is refused with TLS and a message
//! that says what was wrong.

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use serde_json::{json, Value};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use testkit::certs::Pki;

const WAIT: Duration = Duration::from_secs(20);
const LEASE: &[u8] = br#"{"command":"lease4-update","arguments":{"ip-address":"192.0.2.1"}}"#;

fn answering_listener(config: Value) -> Listener {
    let handler: Handler = Arc::new(|req: Request| {
        req.respond(br#"[{"result":0,"text":"ok"}]"#).unwrap();
    });
    Listener::new(&config.to_string(), handler).unwrap()
}

/// A listener presenting `server` of the test CA, trusting the test CA for clients.
fn tls_listener(pki: &Pki, extra: Value) -> Listener {
    let server = pki.identity("", "server");
    let mut config = json!({"cert-file": server.cert, "key-file": server.key, "trust-anchor": pki.ca("")});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    answering_listener(config)
}

/// Sends `n` requests to `url` and returns every (status, body) in completion order.
fn exchange(client: &Client, url: &str, n: usize) -> Vec<(Status, String)> {
    let (tx, rx) = mpsc::channel();
    for _ in 0..n {
        let tx = tx.clone();
        let done = Box::new(move |r: Reply<'_>| {
            let _ = tx.send((r.status, String::from_utf8_lossy(r.body).into_owned()));
        });
        client.send(url, LEASE, done, None).unwrap();
    }
    (0..n).map(|_| rx.recv_timeout(WAIT).expect("every request completes")).collect()
}

fn client_for(url: &str, peer: Value) -> Client {
    let mut entry = peer;
    entry["url"] = url.into();
    // One attempt per request: no backoff between the tests' attempts.
    Client::new(&json!({"connect-timeout-ms": 5000, "peers": [entry]}).to_string()).unwrap()
}

fn urls(listener: &Listener) -> [String; 2] {
    let port = listener.local_addr().port();
    [format!("hamuxs://127.0.0.1:{port}"), format!("https://127.0.0.1:{port}/")]
}

fn listener_stat(listener: &Listener, key: &str) -> u64 {
    let stats: Value = serde_json::from_str(&listener.stats_json()).unwrap();
    stats[key].as_u64().unwrap()
}

#[test]
fn mutual_tls_round_trips_on_both_transports() {
    let pki = Pki::new("mutual");
    let listener = tls_listener(&pki, json!({}));
    let me = pki.identity("", "client");
    for url in urls(&listener) {
        let client =
            client_for(&url, json!({"trust-anchor": pki.ca(""), "cert-file": me.cert, "key-file": me.key}));
        let outcomes = exchange(&client, &url, 300);
        assert!(outcomes.iter().all(|(s, b)| *s == Status::Ok && b.contains("\"result\":0")), "{url}");
        // Connections are kept and reused through TLS (2 per peer by default).
        let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
        assert!(stats["peers"][0]["connects"].as_u64().unwrap() <= 2, "{url}: {stats}");
    }
    assert_eq!(listener.counters().requests(), 600);
    assert_eq!(listener_stat(&listener, "tls-failures"), 0);
}

#[test]
fn top_level_tls_settings_serve_unlisted_peers() {
    let pki = Pki::new("toplevel");
    let listener = tls_listener(&pki, json!({}));
    let me = pki.identity("", "client");
    let config = json!({"trust-anchor": pki.ca(""), "cert-file": me.cert, "key-file": me.key});
    let client = Client::new(&config.to_string()).unwrap();
    for url in urls(&listener) {
        assert!(exchange(&client, &url, 10).iter().all(|(s, _)| *s == Status::Ok), "{url}");
    }
}

/// Every request to each URL fails with TLS and a message containing `why`.
fn assert_refused(listener: &Listener, peer: Value, why: &str) {
    for url in urls(listener) {
        let client = client_for(&url, peer.clone());
        for (status, text) in exchange(&client, &url, 5) {
            assert_eq!(status, Status::Tls, "{url}: {text}");
            assert!(text.contains(why), "{url}: expected '{why}' in: {text}");
        }
    }
}

#[test]
fn a_server_from_another_ca_is_refused() {
    let pki = Pki::new("wrongca");
    let listener = tls_listener(&pki, json!({}));
    let me = pki.identity("", "client");
    let peer = json!({"trust-anchor": pki.ca("rogue-"), "cert-file": me.cert, "key-file": me.key});
    assert_refused(&listener, peer, "invalid peer certificate: UnknownIssuer");
    // The listener learns why from the client's alert, and counts it.
    assert!(listener_stat(&listener, "tls-failures") >= 2);
    assert_eq!(listener.counters().requests(), 0);
}

#[test]
fn a_server_certificate_for_another_name_is_refused() {
    let pki = Pki::new("wrongname");
    let elsewhere = pki.identity("", "elsewhere");
    let listener = answering_listener(json!({
        "cert-file": elsewhere.cert, "key-file": elsewhere.key, "require-client-certs": false
    }));
    assert_refused(&listener, json!({"trust-anchor": pki.ca("")}), "certificate not valid for name");
}

#[test]
fn a_missing_client_certificate_is_refused() {
    let pki = Pki::new("nocert");
    let listener = tls_listener(&pki, json!({}));
    assert_refused(&listener, json!({"trust-anchor": pki.ca("")}), "CertificateRequired");
    assert!(listener_stat(&listener, "tls-failures") >= 2);
    assert_eq!(listener.counters().requests(), 0);
}

#[test]
fn an_expired_client_certificate_is_refused() {
    let pki = Pki::new("expired");
    let listener = tls_listener(&pki, json!({}));
    let old = pki.identity("", "expired-client");
    let peer = json!({"trust-anchor": pki.ca(""), "cert-file": old.cert, "key-file": old.key});
    assert_refused(&listener, peer, "CertificateExpired");
    assert_eq!(listener.counters().requests(), 0);
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let pki = Pki::new("rogueclient");
    let listener = tls_listener(&pki, json!({}));
    let rogue = pki.identity("rogue-", "client");
    let peer = json!({"trust-anchor": pki.ca(""), "cert-file": rogue.cert, "key-file": rogue.key});
    assert_refused(&listener, peer, "the peer refused the session");
    assert_eq!(listener.counters().requests(), 0);
}

#[test]
fn client_certificates_can_be_optional() {
    let pki = Pki::new("optional");
    let listener = tls_listener(&pki, json!({"require-client-certs": false}));
    for url in urls(&listener) {
        let client = client_for(&url, json!({"trust-anchor": pki.ca("")}));
        assert!(exchange(&client, &url, 10).iter().all(|(s, _)| *s == Status::Ok), "{url}");
    }
    // A certificate that is sent is still checked.
    let rogue = pki.identity("rogue-", "client");
    let peer = json!({"trust-anchor": pki.ca(""), "cert-file": rogue.cert, "key-file": rogue.key});
    assert_refused(&listener, peer, "the peer refused the session");
}

#[test]
fn plain_and_tls_ends_do_not_mix() {
    let pki = Pki::new("mixed");
    let listener = tls_listener(&pki, json!({}));
    let port = listener.local_addr().port();
    // A plain client at a TLS listener: closed during the handshake, counted.
    for url in [format!("hamux://127.0.0.1:{port}"), format!("http://127.0.0.1:{port}/")] {
        let client = Client::new("{}").unwrap();
        for (status, text) in exchange(&client, &url, 3) {
            assert_ne!(status, Status::Ok, "{url}: {text}");
        }
    }
    assert!(listener_stat(&listener, "tls-failures") >= 2);
    assert_eq!(listener.counters().requests(), 0);
    // A TLS client at a plain listener: its handshake fails, with TLS.
    let plain = answering_listener(json!({}));
    let url = format!("hamuxs://127.0.0.1:{}", plain.local_addr().port());
    let client = client_for(&url, json!({"trust-anchor": pki.ca("")}));
    for (status, text) in exchange(&client, &url, 3) {
        assert!(matches!(status, Status::Tls | Status::Connect), "{status:?}: {text}");
        assert!(text.contains("TLS"), "{text}");
    }
}

#[test]
fn tls_configuration_errors_name_the_problem() {
    let pki = Pki::new("config");
    let server = pki.identity("", "server");
    for (config, why) in [
        (json!({"peers": [{"url": "hamuxs://127.0.0.1:1"}]}), "needs 'trust-anchor'"),
        (
            json!({"peers": [{"url": "https://127.0.0.1:1/", "trust-anchor": "/nonexistent/ca.pem"}]}),
            "/nonexistent/ca.pem",
        ),
        (
            json!({"peers": [{"url": "https://127.0.0.1:1/", "trust-anchor": server.key}]}),
            "no PEM certificate",
        ),
        (
            json!({"peers": [{"url": "https://127.0.0.1:1/", "trust-anchor": pki.ca(""),
                   "cert-file": server.cert, "key-file": pki.identity("", "client").key}]}),
            "do not go together",
        ),
        (json!({"cert-file": server.cert}), "'key-file'"),
    ] {
        let e = Client::new(&config.to_string()).err().expect("refused");
        assert_eq!(e.status, Status::Config, "{config}");
        assert!(e.message.contains(why), "{config}: {}", e.message);
    }
    let handler: Handler = Arc::new(|_req: Request| {});
    let listener_config = json!({"cert-file": server.cert, "key-file": server.key});
    let e = Listener::new(&listener_config.to_string(), handler.clone()).err().expect("refused");
    assert!(e.message.contains("'require-client-certs' needs 'trust-anchor'"), "{}", e.message);
    // An unlisted TLS peer without a trust anchor: the send itself is refused.
    let client = Client::new("{}").unwrap();
    let e = client.send("hamuxs://127.0.0.1:1", LEASE, Box::new(|_r: Reply<'_>| {}), None).unwrap_err();
    assert!(e.message.contains("trust-anchor"), "{}", e.message);
}

#[test]
fn a_peer_that_accepts_but_never_handshakes_is_unreachable() {
    let pki = Pki::new("stalled");
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamuxs://{}", stalled.local_addr().unwrap());
    let client = Client::new(
        &json!({"connect-timeout-ms": 300, "peers": [{"url": url, "trust-anchor": pki.ca("")}]}).to_string(),
    )
    .unwrap();
    // The kernel completes the TCP handshake; nobody ever answers the ClientHello.
    for (status, text) in exchange(&client, &url, 2) {
        assert_eq!(status, Status::Connect, "{text}");
        assert!(text.contains("no answer within 300 ms"), "{text}");
    }
    drop(stalled);
}
