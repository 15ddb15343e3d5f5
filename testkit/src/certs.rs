//! A throw-away PKI made at run time (rcgen): a CA, server and client certificates it
//! signed, an expired client certificate, one for both roles as a Kea HA server uses, and a
//! second ("rogue") CA with its own certificates. The TLS tests use all of them; `hamux
//! bench --tls` uses the CA and the two-role `peer` certificate.

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

fn ca(name: &str) -> Result<(CertificateParams, KeyPair, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let pem = params.self_signed(&key)?.pem();
    Ok((params, key, pem))
}

impl Pki {
    /// Makes every file under a fresh temporary directory named after `test`. Panics if
    /// it cannot.
    pub fn new(test: &str) -> Pki {
        Pki::try_new(test).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Pki::new`], with the error.
    pub fn try_new(test: &str) -> Result<Pki, String> {
        let dir = std::env::temp_dir().join(format!("hamux-pki-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let pki = Pki { dir };
        let rcgen = |e: rcgen::Error| format!("cannot make a certificate: {e}");
        for (prefix, ca_name) in [("", "hamux test CA"), ("rogue-", "rogue CA")] {
            let (params, key, pem) = ca(ca_name).map_err(rcgen)?;
            pki.write(&format!("{prefix}ca.pem"), &pem)?;
            let issuer = Issuer::new(params, key);
            let sign = |file: &str, sans: &[&str], eku: &[ExtendedKeyUsagePurpose], expired: bool| {
                let key = KeyPair::generate().map_err(rcgen)?;
                let sans = sans.iter().map(|s| s.to_string()).collect::<Vec<_>>();
                let mut params = CertificateParams::new(sans).map_err(rcgen)?;
                params.distinguished_name.push(DnType::CommonName, file);
                params.extended_key_usages = eku.to_vec();
                if expired {
                    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
                }
                let cert = params.signed_by(&key, &issuer).map_err(rcgen)?;
                pki.write(&format!("{prefix}{file}.pem"), &cert.pem())?;
                pki.write(&format!("{prefix}{file}-key.pem"), &key.serialize_pem())
            };
            use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
            sign("server", &["127.0.0.1", "localhost"], &[ServerAuth], false)?;
            sign("client", &["client.hamux.test"], &[ClientAuth], false)?;
            sign("expired-client", &["client.hamux.test"], &[ClientAuth], true)?;
            sign("elsewhere", &["elsewhere.hamux.test"], &[ServerAuth], false)?;
            // One certificate for both roles, as a Kea HA server uses its own.
            sign("peer", &["127.0.0.1", "localhost"], &[ServerAuth, ClientAuth], false)?;
        }
        Ok(pki)
    }

    fn write(&self, name: &str, pem: &str) -> Result<(), String> {
        let path = self.dir.join(name);
        std::fs::write(&path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))
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
