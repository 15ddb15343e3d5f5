//! `hamux send`: the closed-loop client alone, against a peer running elsewhere
//! (`hamux://` or `http://`).

use crate::bench::{run_load, Load, Transport};
use crate::report;

pub struct SendOptions {
    pub url: String,
    pub transport: Transport,
    pub load: Load,
    pub json: bool,
}

pub fn run(o: &SendOptions) -> Result<(), String> {
    let load = &o.load;
    let (connections, window) = match o.transport {
        Transport::Hamux => (load.connections, load.window),
        Transport::Http => (load.http_connections, load.http_connections),
    };
    let row = run_load(&o.url, "send", connections, window, load, false)?;
    if o.json {
        let mut v = report::row_json(&row);
        v["url"] = o.url.as_str().into();
        v["body-size"] = load.body_size.into();
        v["io-threads"] = load.io_threads.into();
        v["subnet"] = load.subnet.to_string().into();
        v["subnet-id"] = load.subnet.id.into();
        println!("{v}");
    } else {
        println!(
            "hamux {} send to {}: {:.1} s, body {} bytes, leases in {} (subnet-id {}), io-threads {}",
            hamux::VERSION,
            o.url,
            load.duration.as_secs_f64(),
            load.body_size,
            load.subnet,
            load.subnet.id,
            load.io_threads
        );
        print!("{}", report::table(std::slice::from_ref(&row)));
        println!("CPU µs/rt: this (client) process's CPU per round trip.");
    }
    report::check_errors(std::slice::from_ref(&row))
}
