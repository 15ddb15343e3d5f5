//! Fault test with a real second process: a `hamux listen` peer is killed with SIGKILL
//! in the middle of a stream of requests, then restarted on the same port. Every accepted
//! request gets exactly one callback (a reply, or an error for what was lost), none twice,
//! and traffic resumes by itself once the peer is back.

use hamux::client::{Client, Reply};
use hamux::Status;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::peer_process::{PeerProcess, PeerSpec};

/// `hamux listen` with its default threads (this package's binary).
fn peer_spec() -> PeerSpec {
    PeerSpec { hamux: env!("CARGO_BIN_EXE_hamux").into(), io_threads: 2, handler_threads: 2 }
}

type Outcomes = Arc<Mutex<HashMap<u64, Vec<Status>>>>;

#[test]
fn sigkill_mid_stream_loses_no_callback_and_traffic_resumes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("hamux://127.0.0.1:{port}");
    let peer = PeerProcess::start(&peer_spec(), port).expect("hamux listen starts");
    let client = Arc::new(Client::new(r#"{"connections-per-peer": 2, "max-in-flight": 100000}"#).unwrap());
    let outcomes: Outcomes = Arc::default();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2)
        .map(|t| {
            let (client, url, outcomes, accepted, stop) =
                (client.clone(), url.clone(), outcomes.clone(), accepted.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = format!(
                        r#"{{"command":"lease4-update","arguments":{{"ip-address":"10.{t}.{}.{}","hw-address":"1a:1b:1c:1d:1e:1f","subnet-id":1,"valid-lft":3600}}}}"#,
                        n / 256 % 256,
                        n % 256
                    );
                    let o = outcomes.clone();
                    let done = Box::new(move |r: Reply<'_>| o.lock().unwrap().entry(r.txid).or_default().push(r.status));
                    if let Ok(txid) = client.send(&url, body.as_bytes(), done, None) {
                        accepted.lock().unwrap().push(txid);
                    }
                    if n % 64 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();

    let count =
        |status: Status| outcomes.lock().unwrap().values().flatten().filter(|s| **s == status).count();
    let wait_for_oks = |at_least: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while count(Status::Ok) < at_least {
            assert!(Instant::now() < deadline, "traffic did not flow: {} OK", count(Status::Ok));
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for_oks(2000);
    peer.kill(); // SIGKILL: no goodbye, connections reset by the kernel
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(Status::Connect) == 0 {
        assert!(Instant::now() < deadline, "no CONNECT after the peer died");
        std::thread::sleep(Duration::from_millis(10));
    }
    let ok_before_restart = count(Status::Ok);
    let peer = PeerProcess::restart(&peer_spec(), port).expect("hamux listen starts again");
    wait_for_oks(ok_before_restart + 2000);
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
    drop(Arc::try_unwrap(client).ok().expect("the senders are done")); // free: all callbacks run
    peer.kill();

    let outcomes = outcomes.lock().unwrap();
    let accepted = accepted.lock().unwrap();
    assert_eq!(outcomes.len(), accepted.len(), "every accepted request has a callback");
    for txid in accepted.iter() {
        let got = &outcomes[txid];
        assert_eq!(got.len(), 1, "txid {txid} completed {} times: {got:?}", got.len());
        assert!(
            matches!(got[0], Status::Ok | Status::Connect | Status::Cancelled),
            "txid {txid}: unexpected {:?}",
            got[0]
        );
    }
    println!(
        "{} accepted: {} OK, {} CONNECT, {} CANCELLED",
        accepted.len(),
        outcomes.values().flatten().filter(|s| **s == Status::Ok).count(),
        outcomes.values().flatten().filter(|s| **s == Status::Connect).count(),
        outcomes.values().flatten().filter(|s| **s == Status::Cancelled).count()
    );
}
