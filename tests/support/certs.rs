//! A throw-away PKI made at run time: a CA, server and client certificates it signed, an
//! expired client certificate, and a second ("rogue") CA with its own certificates.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The directory holding the PEM files; removed on drop.
pub struct Pki {
    pub dir: PathBuf,
}

/// A certificate and its key, as PEM file paths.
pub struct Identity {
    pub cert: String,
    pub key: String,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

impl Pki {
    /// Makes every file under a fresh temporary directory named after `test`.
    pub fn new(test: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("hamux-pki-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki { dir };
        for (prefix, ca_name) in [("", "hamux test CA"), ("rogue-", "rogue CA")] {
            let (params, key, pem) = ca(ca_name);
            pki.write(&format!("{prefix}ca.pem"), &pem);
            let issuer = Issuer::new(params, key);
            let sign = |file: &str, sans: &[&str], eku: &[ExtendedKeyUsagePurpose], expired: bool| {
                let key = KeyPair::generate().unwrap();
                let mut params =
                    CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
                params.distinguished_name.push(DnType::CommonName, file);
                params.extended_key_usages = eku.to_vec();
                if expired {
                    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
                }
                let cert = params.signed_by(&key, &issuer).unwrap();
                pki.write(&format!("{prefix}{file}.pem"), &cert.pem());
                pki.write(&format!("{prefix}{file}-key.pem"), &key.serialize_pem());
            };
            use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
            sign("server", &["127.0.0.1", "localhost"], &[ServerAuth], false);
            sign("client", &["client.hamux.test"], &[ClientAuth], false);
            sign("expired-client", &["client.hamux.test"], &[ClientAuth], true);
            sign("elsewhere", &["elsewhere.hamux.test"], &[ServerAuth], false);
            // One certificate for both roles, as a Kea HA server uses its own.
            sign("peer", &["127.0.0.1", "localhost"], &[ServerAuth, ClientAuth], false);
        }
        pki
    }

    fn write(&self, name: &str, pem: &str) {
        std::fs::write(self.dir.join(name), pem).unwrap();
    }

    /// The path of one file, as a string for a JSON configuration.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The CA file (`ca.pem` or `rogue-ca.pem`).
    pub fn ca(&self, prefix: &str) -> String {
        self.path(&format!("{prefix}ca.pem"))
    }

    /// `server`, `client`, `expired-client`, `elsewhere` or `peer` (server and client), from
    /// the CA named by `prefix`.
    pub fn identity(&self, prefix: &str, name: &str) -> Identity {
        Identity {
            cert: self.path(&format!("{prefix}{name}.pem")),
            key: self.path(&format!("{prefix}{name}-key.pem")),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
