//! `hamux send`: the closed-loop client alone, against a listener running elsewhere.

use crate::bench::{run_load, Load};
use crate::report;

pub struct SendOptions {
    pub url: String,
    pub load: Load,
    pub json: bool,
}

pub fn run(o: &SendOptions) -> Result<(), String> {
    let load = &o.load;
    let row = run_load(&o.url, "send", load.connections, load.window, load, false)?;
    if o.json {
        let mut v = report::row_json(&row);
        v["url"] = o.url.as_str().into();
        v["body-size"] = load.body_size.into();
        v["io-threads"] = load.io_threads.into();
        println!("{v}");
    } else {
        println!(
            "hamux {} send to {}: {:.1} s, body {} bytes, io-threads {}",
            hamux::VERSION,
            o.url,
            load.duration.as_secs_f64(),
            load.body_size,
            load.io_threads
        );
        print!("{}", report::table(std::slice::from_ref(&row)));
        println!("CPU µs/rt: this (client) process's CPU per round trip.");
    }
    report::check_errors(std::slice::from_ref(&row))
}
