//! `hamux bench --tls`: the test kit's throw-away PKI (made at run time in a temporary
//! directory, removed afterwards). The bench uses its CA and its `peer` certificate
//! (serverAuth and clientAuth, for 127.0.0.1, as a Kea HA server uses one certificate both
//! ways) at both ends.

use serde_json::{json, Value};
use testkit::certs::Pki;

pub struct BenchTls(Pki);

impl BenchTls {
    pub fn make() -> Result<BenchTls, String> {
        Pki::try_new("bench").map(BenchTls).map_err(|e| format!("--tls: {e}"))
    }

    /// Kea's TLS keys, the same for the listener and the client: each presents the
    /// certificate and requires the other's, signed by the throw-away CA.
    pub fn keys(&self) -> Value {
        let peer = self.0.identity("", "peer");
        json!({
            "trust-anchor": self.0.ca(""),
            "cert-file": peer.cert,
            "key-file": peer.key,
        })
    }
}
