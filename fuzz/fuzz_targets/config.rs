//! The client's and the listener's JSON configuration: any text gives a configuration or
//! an error, never a panic.
#![no_main]

use hamux::client::ClientConfig;
use hamux::listener::ListenerConfig;
use hamux::{PeerUrl, Status};
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    match ClientConfig::parse(text) {
        Ok(config) => {
            assert!((1..=64).contains(&config.io_threads));
            for (url, settings) in std::iter::once(("", &config.defaults))
                .chain(config.peers.iter().map(|(u, s)| (u.as_str(), s)))
            {
                if !url.is_empty() {
                    PeerUrl::parse(url).expect("a listed peer's URL parses");
                }
                assert!(settings.connections >= 1 && settings.max_in_flight >= 1);
                assert!(settings.max_frame_bytes >= 64);
                if settings.source.is_some_and(|s| s.port() != 0) {
                    assert_eq!(settings.connections, 1);
                }
            }
            let _ = format!("{config:?}");
        }
        Err(e) => {
            assert_eq!(e.status, Status::Config, "{}", e.message);
            assert!(!e.message.is_empty());
        }
    }

    match ListenerConfig::parse(text) {
        Ok(config) => {
            assert!((1..=64).contains(&config.io_threads));
            // handler-threads 0 is the inline mode.
            assert!(config.handler_threads <= 256 && config.max_pending >= 1 && config.max_connections >= 1);
            // The allow-list answers for any peer address, v4, v6 and v4-mapped.
            for peer in ["192.0.2.1:5000", "[2001:db8::1]:547", "[::ffff:10.0.0.1]:1", "0.0.0.0:0"] {
                let peer: SocketAddr = peer.parse().unwrap();
                let allowed = config.allowed_peers.allows(peer);
                assert!(allowed || !config.allowed_peers.is_empty());
            }
            let _ = format!("{config:?}");
        }
        Err(e) => {
            assert_eq!(e.status, Status::Config, "{}", e.message);
            assert!(!e.message.is_empty());
        }
    }
});
