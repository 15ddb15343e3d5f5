//! Loading PEM files, with errors that name the file and what was wrong with it.

use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;
use std::path::Path;

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::config(format!("cannot read {what} '{}': {e}", path.display())))
}

fn parse_certificates(pem: &[u8], path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("{what} '{}' is not valid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::config(format!("{what} '{}' holds no PEM certificate", path.display())));
    }
    Ok(certs)
}

/// The certificates of `cert-file`: this end's first, then its intermediates.
pub(super) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    parse_certificates(&read(path, "cert-file")?, path, "cert-file")
}

/// The private key of `key-file`.
pub(super) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read(path, "key-file")?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| Error::config(format!("key-file '{}' holds no usable private key: {e}", path.display())))
}

/// The CA certificates of `trust-anchor`: a PEM file, or (like OpenSSL's CA path, which
/// Kea accepts) a directory whose PEM files are all read.
pub(super) fn trust_anchor(path: &Path) -> Result<RootCertStore, Error> {
    let mut certs = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| {
            Error::config(format!("cannot read trust-anchor directory '{}': {e}", path.display()))
        })?;
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            // Directories of CAs hold other files too (hash links, READMEs): take what parses.
            if let Ok(found) = parse_certificates(&read(file, "trust-anchor")?, file, "trust-anchor") {
                certs.extend(found);
            }
        }
    } else {
        certs = parse_certificates(&read(path, "trust-anchor")?, path, "trust-anchor")?;
    }
    let mut roots = RootCertStore::empty();
    let (added, refused) = roots.add_parsable_certificates(certs);
    if added == 0 {
        let why = if refused > 0 { "no usable CA certificate" } else { "no PEM certificate" };
        return Err(Error::config(format!("trust-anchor '{}' holds {why}", path.display())));
    }
    Ok(roots)
}
