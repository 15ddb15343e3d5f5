//! The loop's server: `raw_bench.c`'s structure in Rust. Each thread has its own epoll
//! and the connections given to it; it runs every request to completion where it was read
//! (decode every complete request, [`LeaseStore::apply`], encode the answer), then writes
//! the batch's answers at once. No queue, no hand-off between threads, no timers, no limits.

use super::conn::{Conn, Filled};
use super::epoll::{Epoll, Event, Events};
use crate::bench::Transport;
use crate::lease_store::{Answer, LeaseStore};
use hamux::codec::{self, HELLO_LEN};
use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often an idle server thread looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// One server thread's connections and what they read.
struct ServerConn {
    conn: Conn,
    wire: Transport,
    /// The client's hello has been read (and ours queued); HTTP has none.
    greeted: bool,
}

/// Connections handed to a thread, not yet picked up by it.
#[derive(Default)]
struct Incoming {
    next_token: u64,
    streams: Vec<(u64, TcpStream, Transport)>,
}

/// What the bench's thread shares with one server thread.
struct Lane {
    epoll: Epoll,
    incoming: Mutex<Incoming>,
}

/// The server threads; stopped and joined on drop.
pub struct Server {
    lanes: Vec<Arc<Lane>>,
    next_lane: usize,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    pub fn start(threads: usize, store: Arc<LeaseStore>, max_body: usize) -> Result<Server, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut server = Server { lanes: Vec::new(), next_lane: 0, stop: stop.clone(), threads: Vec::new() };
        for i in 0..threads.max(1) {
            let epoll = Epoll::new().map_err(|e| format!("epoll_create1: {e}"))?;
            let lane = Arc::new(Lane { epoll, incoming: Mutex::default() });
            let (lane2, store, stop) = (lane.clone(), store.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("loop-server-{i}"))
                .spawn(move || serve(&lane2, &store, &stop, max_body))
                .map_err(|e| format!("cannot start a loop server thread: {e}"))?;
            server.lanes.push(lane);
            server.threads.push(thread);
        }
        Ok(server)
    }

    /// Gives an accepted connection speaking `wire` to the next thread, round-robin.
    pub fn adopt(&mut self, stream: TcpStream, wire: Transport) -> Result<(), String> {
        use std::os::fd::AsRawFd;
        let lane = &self.lanes[self.next_lane % self.lanes.len()];
        self.next_lane += 1;
        let fd = stream.as_raw_fd();
        let token = {
            let mut incoming = lane.incoming.lock().unwrap_or_else(|p| p.into_inner());
            let token = incoming.next_token;
            incoming.next_token += 1;
            incoming.streams.push((token, stream, wire));
            token
        };
        // Registered after it is queued: the thread finds it when the first event comes.
        lane.epoll.add(fd, token).map_err(|e| format!("epoll_ctl: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn serve(lane: &Lane, store: &LeaseStore, stop: &AtomicBool, max_body: usize) {
    let mut conns: HashMap<u64, ServerConn> = HashMap::new();
    let mut events = Events::new();
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = lane.epoll.wait(STOP_CHECK, &mut events) {
            eprintln!("hamux bench: loop server: epoll_wait: {e}");
            return;
        }
        for event in events.iter() {
            if !conns.contains_key(&event.token) {
                pick_up(lane, &mut conns, max_body);
            }
            let Some(c) = conns.get_mut(&event.token) else { continue };
            if let Err(why) = on_event(c, event, &lane.epoll, store) {
                if !why.is_empty() {
                    eprintln!("hamux bench: loop server: {why}");
                }
                lane.epoll.remove(c.conn.fd());
                conns.remove(&event.token);
            }
        }
    }
}

/// Takes the connections the bench's thread queued for this one.
fn pick_up(lane: &Lane, conns: &mut HashMap<u64, ServerConn>, max_body: usize) {
    let streams = std::mem::take(&mut lane.incoming.lock().unwrap_or_else(|p| p.into_inner()).streams);
    for (token, stream, wire) in streams {
        match Conn::new(stream, token, wire, max_body) {
            Ok(conn) => {
                conns.insert(token, ServerConn { conn, wire, greeted: wire == Transport::Http });
            }
            Err(e) => eprintln!("hamux bench: loop server: a connection failed to set up: {e}"),
        }
    }
}

/// Reads, answers every complete request, writes the answers. `Err` closes the connection
/// (empty: the peer closed it).
fn on_event(c: &mut ServerConn, event: Event, epoll: &Epoll, store: &LeaseStore) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    if event.writable {
        c.conn.flush(epoll).map_err(io)?;
    }
    if !event.readable {
        return Ok(());
    }
    if let Filled::Closed = c.conn.fill().map_err(io)? {
        return Err(String::new());
    }
    let mut used = 0;
    if !c.greeted {
        match codec::decode_hello(c.conn.input()).map_err(|e| e.to_string())? {
            None => return Ok(()),
            Some(_) => {
                codec::encode_hello(&mut c.conn.output);
                c.greeted = true;
                used = HELLO_LEN;
            }
        }
    }
    let max_body = c.conn.max_body;
    let (input, output) = c.conn.split();
    while let Some((request, n)) = c.wire.decode_request(&input[used..], max_body)? {
        let answer = store.apply(request.body);
        let bytes = match &answer {
            Answer::Stored { answer, .. } => *answer,
            Answer::Refused(text) => text.as_bytes(),
        };
        c.wire.encode_answer(output, request.txid, bytes);
        used += n;
    }
    c.conn.consume(used);
    c.conn.flush(epoll).map_err(io)
}
