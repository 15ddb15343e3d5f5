//! TLS for both transports (`hamuxs://`, `https://`) with rustls, configured with Kea's
//! parameter names: `trust-anchor`, `cert-file`, `key-file` and, on a listener,
//! `require-client-certs`.
//!
//! HA partners authenticate each other with a private CA, so there are no system roots:
//! a TLS client must name its `trust-anchor`. The server's certificate must match the host
//! in the peer URL (an IP address SAN for `https://192.0.2.1:8000/`). The crypto provider
//! is *ring*, chosen explicitly so the library never depends on a process-wide default
//! that its host (or another copy of rustls in it) may have installed.

mod pem;

use crate::config::ConfigObject;
use crate::{Error, Status};
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use std::path::PathBuf;
use std::sync::Arc;

pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Where the TLS material of one end lives (Kea's `trust-anchor`, `cert-file`, `key-file`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file (or directory of PEM files) with the CA certificates the other end's
    /// certificate must chain to.
    pub trust_anchor: Option<PathBuf>,
    /// PEM file with this end's certificate (and any intermediates after it).
    pub cert_file: Option<PathBuf>,
    /// PEM file with the private key of `cert_file` (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the three keys of `obj`, inheriting each one absent from `base`.
    pub(crate) fn read(obj: &mut ConfigObject<'_>, base: &TlsFiles) -> Result<TlsFiles, Error> {
        let mut path = |key: &'static str, inherited: &Option<PathBuf>| -> Result<Option<PathBuf>, Error> {
            match obj.string(key)? {
                Some("") => Err(Error::config(format!("'{}' must not be empty", obj.key_name(key)))),
                Some(text) => Ok(Some(PathBuf::from(text))),
                None => Ok(inherited.clone()),
            }
        };
        let files = TlsFiles {
            trust_anchor: path("trust-anchor", &base.trust_anchor)?,
            cert_file: path("cert-file", &base.cert_file)?,
            key_file: path("key-file", &base.key_file)?,
        };
        if files.cert_file.is_some() != files.key_file.is_some() {
            let (set, missing) =
                if files.cert_file.is_some() { ("cert-file", "key-file") } else { ("key-file", "cert-file") };
            return Err(Error::config(format!("'{}' needs '{}'", obj.key_name(set), obj.key_name(missing))));
        }
        Ok(files)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(e: rustls::Error) -> Error {
    Error::config(format!("TLS configuration refused: {e}"))
}

/// A TLS client configuration for one peer: verifies the peer against `trust-anchor` and
/// presents `cert-file` when the peer asks for a client certificate.
pub fn connector(files: &TlsFiles, url: &str) -> Result<TlsConnector, Error> {
    let Some(anchor) = &files.trust_anchor else {
        return Err(Error::config(format!(
            "{url} needs 'trust-anchor': the CA that signed the peer's certificate"
        )));
    };
    let roots = pem::trust_anchor(anchor)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_root_certificates(roots);
    let mut config = match (&files.cert_file, &files.key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(pem::certificates(cert)?, pem::private_key(key)?)
            .map_err(|e| Error::config(format!("'cert-file' and 'key-file' do not go together: {e}")))?,
        _ => builder.with_no_client_auth(),
    };
    // No session resumption: Kea 2.2's TLS listener fails a resumed handshake ("session
    // id context uninitialized") when it verifies client certificates, and HA connections
    // live long enough that a full handshake per connection costs nothing that matters.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A TLS server configuration for a listener: presents `cert-file` and, with
/// `require_client_certs` (Kea's default), refuses clients without a certificate that
/// chains to `trust-anchor`; without it, a certificate is checked only when sent.
pub fn acceptor(files: &TlsFiles, require_client_certs: bool) -> Result<TlsAcceptor, Error> {
    let (Some(cert), Some(key)) = (&files.cert_file, &files.key_file) else {
        return Err(Error::config("a TLS listener needs 'cert-file' and 'key-file'"));
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = match &files.trust_anchor {
        Some(anchor) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(pem::trust_anchor(anchor)?), provider());
            let verifier = if require_client_certs { verifier } else { verifier.allow_unauthenticated() };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| {
                Error::config(format!("'trust-anchor' cannot verify client certificates: {e}"))
            })?)
        }
        None if require_client_certs => {
            return Err(Error::config(
                "'require-client-certs' needs 'trust-anchor' (the CA of the clients' certificates); \
                 set it, or set 'require-client-certs' to false",
            ))
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(pem::certificates(cert)?, pem::private_key(key)?)
        .map_err(|e| Error::config(format!("'cert-file' and 'key-file' do not go together: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The name a client checks the peer's certificate against: the URL's host.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_string())
        .map_err(|_| Error::config(format!("'{host}' is not a host name or address TLS can verify")))
}

/// The status and message for an IO error on a connection: TLS (with what went wrong)
/// when rustls refused the peer or the peer refused us, CONNECT for anything else.
pub fn describe_io_error(e: &std::io::Error) -> (Status, String) {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::AlertReceived(alert)) => {
            use rustls::AlertDescription as A;
            let hint = match alert {
                A::CertificateRequired => ": it requires a client certificate ('cert-file', 'key-file')",
                A::UnknownCA => ": it does not trust the CA of our certificate",
                A::CertificateExpired => ": it finds our certificate expired",
                A::BadCertificate | A::UnsupportedCertificate | A::CertificateUnknown => {
                    ": it does not accept our certificate"
                }
                _ => "",
            };
            (Status::Tls, format!("TLS: the peer refused the session (alert {alert:?}){hint}"))
        }
        Some(tls) => (Status::Tls, format!("TLS: {tls}")),
        None => (Status::Connect, format!("connection lost: {e}")),
    }
}
