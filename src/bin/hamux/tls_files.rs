//! `hamux bench --tls`: a throw-away CA and one certificate (serverAuth and clientAuth,
//! for 127.0.0.1, as a Kea HA server uses one certificate both ways), made with the
//! `openssl` command in a temporary directory that is removed afterwards.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct BenchTls {
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().map_err(|e| {
        format!("--tls makes its certificates with the openssl command, which did not run: {e}")
    })?;
    if !out.status.success() {
        return Err(format!("openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

impl BenchTls {
    pub fn make() -> Result<BenchTls, String> {
        let dir = std::env::temp_dir().join(format!("hamux-bench-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let tls = BenchTls { dir };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        let ca = [&["req", "-x509"][..], &ec, &["-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2"]];
        let ca_ext = [
            "-subj",
            "/CN=hamux bench CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ];
        openssl(&tls.dir, &[ca.concat(), ca_ext.to_vec()].concat())?;
        let csr =
            [&["req"][..], &ec, &["-keyout", "peer-key.pem", "-out", "peer.csr", "-subj", "/CN=127.0.0.1"]];
        openssl(&tls.dir, &csr.concat())?;
        std::fs::write(
            tls.dir.join("peer.ext"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .map_err(|e| e.to_string())?;
        openssl(
            &tls.dir,
            &[
                "x509",
                "-req",
                "-in",
                "peer.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-out",
                "peer.pem",
                "-days",
                "2",
                "-extfile",
                "peer.ext",
            ],
        )?;
        Ok(tls)
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// Kea's TLS keys, the same for the listener and the client: each presents the
    /// certificate and requires the other's, signed by the throw-away CA.
    pub fn keys(&self) -> Value {
        json!({
            "trust-anchor": self.path("ca.pem"),
            "cert-file": self.path("peer.pem"),
            "key-file": self.path("peer-key.pem"),
        })
    }
}

impl Drop for BenchTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
