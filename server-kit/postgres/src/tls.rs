//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert` connection parameters over rustls
//! (its `ring` provider, chosen explicitly: no process-wide default, no aws-lc-rs).
//!
//! tokio-postgres knows `sslmode=disable|prefer|require` and no `sslrootcert`, so [`split`]
//! takes both parameters out of the connection string before tokio-postgres parses it (URL
//! and key=value forms, parsed as tokio-postgres parses them), and [`MakeTls`] does what each
//! mode means in libpq ([`PgSslMode`]).
//!
//! The system's roots come from `rustls-native-certs`, loaded once at open. Unlike libpq,
//! `~/.postgresql/root.crt`, the `PGSSL*` environment variables, client certificates
//! (`sslcert`, `sslkey`: refused by tokio-postgres as unknown), certificate revocation lists
//! and `sslmode=allow` are not supported, and `prefer` does not try again without TLS when
//! the handshake itself fails.
//!
//! SCRAM's channel binding (`tls-server-end-point`, RFC 5929) is offered: the hash of the
//! server's certificate, under the hash of its signature algorithm, ties the password
//! exchange to this TLS session, so that a certificate swapped in the middle fails
//! authentication even under `require`. Certificates signed with algorithms that name no
//! hash there (Ed25519, RSA-PSS) get no channel binding, as in tokio-postgres-rustls.

use super::{Fail, StoreError};
use ::postgres::config::SslMode;
use ::postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// libpq's `sslmode`: whether the connection to PostgreSQL is encrypted, and what of the
/// server's certificate is checked.
///
/// | `sslmode`     | TLS                             | the server's certificate            |
/// |---------------|---------------------------------|-------------------------------------|
/// | `disable`     | never                           | -                                   |
/// | `prefer`      | if the server offers it (default) | not checked                       |
/// | `require`     | always                          | not checked                         |
/// | `verify-ca`   | always                          | signed by a trusted root, in date   |
/// | `verify-full` | always                          | as `verify-ca`, and made for the host connected to |
///
/// "Not checked" is libpq's meaning: any certificate is taken, but the handshake's
/// signatures are still verified (the server holds the key of the certificate it shows), so
/// the connection is private from anyone merely listening, not from someone in the middle.
/// `verify-full` compares the host name (or IP address) of the connection string with the
/// certificate's subject alternative names.
///
/// The trusted roots are the PEM certificates in `sslrootcert=FILE`, or the operating system's
/// when it is not given or is `system`. As in libpq, `prefer` and `require` with an
/// `sslrootcert` file check the chain as `verify-ca` does, and `sslrootcert=system` allows
/// only `verify-full` (and makes it the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PgSslMode {
    /// Never TLS.
    Disable,
    /// TLS if the server offers it, the certificate not checked (libpq's default).
    #[default]
    Prefer,
    /// Always TLS, the certificate not checked (only the handshake's signatures).
    Require,
    /// Always TLS, the certificate signed by a trusted root, whatever name it is for.
    VerifyCa,
    /// Always TLS, the certificate signed by a trusted root and made for the host.
    VerifyFull,
}

impl PgSslMode {
    /// The mode by its libpq name (`disable`, `prefer`, `require`, `verify-ca`,
    /// `verify-full`).
    pub fn from_name(name: &str) -> Result<Self, PgTlsError> {
        Ok(match name {
            "disable" => PgSslMode::Disable,
            "prefer" => PgSslMode::Prefer,
            "require" => PgSslMode::Require,
            "verify-ca" => PgSslMode::VerifyCa,
            "verify-full" => PgSslMode::VerifyFull,
            _ => {
                return Err(PgTlsError::UnknownMode {
                    value: name.to_owned(),
                });
            }
        })
    }

    /// Its libpq name.
    pub fn name(self) -> &'static str {
        match self {
            PgSslMode::Disable => "disable",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: it only decides whether to ask for TLS; the checks are
    /// [`MakeTls`]'s.
    fn driver(self) -> SslMode {
        match self {
            PgSslMode::Disable => SslMode::Disable,
            PgSslMode::Prefer => SslMode::Prefer,
            PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull => SslMode::Require,
        }
    }
}

impl std::fmt::Display for PgSslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the server's certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// It is not made for the host name or address connected to (`verify-full`).
    WrongName,
    /// No trusted root signed it (`sslrootcert`, or the system's roots).
    UnknownIssuer,
    /// It has expired.
    Expired,
    /// It is not valid yet.
    NotYetValid,
    /// Something else (the error's source says what).
    Other,
}

impl std::fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CertificateProblem::WrongName => "it is not made for this host name",
            CertificateProblem::UnknownIssuer => "no trusted root signed it",
            CertificateProblem::Expired => "it has expired",
            CertificateProblem::NotYetValid => "it is not valid yet",
            CertificateProblem::Other => "it is not acceptable",
        })
    }
}

/// A failure of the PostgreSQL store's TLS: its settings in the connection string, or the
/// handshake with the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgTlsError {
    /// `sslmode` has a value this build does not know.
    #[error("sslmode={value:?}: expected one of disable, prefer, require, verify-ca, verify-full")]
    UnknownMode {
        /// The value given.
        value: String,
    },
    /// `sslrootcert=system` with a mode that would not check the host name (libpq refuses
    /// it too: the system's roots vouch for names, not for servers).
    #[error("sslrootcert=system needs sslmode=verify-full, not sslmode={mode}")]
    SystemRootsNeedVerifyFull {
        /// The mode given.
        mode: PgSslMode,
    },
    /// The `sslrootcert` file could not be read.
    #[error("sslrootcert={}: {source}", path.display())]
    RootCertUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The `sslrootcert` file holds no usable PEM certificate.
    #[error("sslrootcert={}: {reason}", path.display())]
    RootCertInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A mode that checks certificates, no `sslrootcert`, and no roots in the system's store.
    #[error(
        "sslmode={mode} without sslrootcert needs the system's trusted roots, and none were found ({reason})"
    )]
    NoSystemRoots {
        /// The mode given.
        mode: PgSslMode,
        /// What loading them said.
        reason: String,
    },
    /// The TLS client could not be set up.
    #[error("TLS setup: {reason}")]
    Setup {
        /// What failed.
        reason: String,
    },
    /// The server's certificate was refused.
    #[error(
        "the certificate of the PostgreSQL server {host} is refused (sslmode={mode}): {problem}: {source}"
    )]
    CertificateRejected {
        /// The host name or address connected to.
        host: String,
        /// The mode in force.
        mode: PgSslMode,
        /// Why, in short.
        problem: CertificateProblem,
        /// rustls's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The TLS handshake failed for another reason (no common protocol version or cipher,
    /// an alert from the server, the connection closed).
    #[error("TLS handshake with the PostgreSQL server {host} failed (sslmode={mode}): {source}")]
    Handshake {
        /// The host name or address connected to.
        host: String,
        /// The mode in force.
        mode: PgSslMode,
        /// rustls's or the connection's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

// ---------------------------------------------------------------------------------------------
// The connection string.

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// Not given: the system's, for the modes that check certificates.
    Default,
    /// `sslrootcert=system`.
    System,
    /// `sslrootcert=FILE`.
    File(PathBuf),
}

/// The TLS parameters a connection string gives, and the string without them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Split {
    rest: String,
    mode: Option<PgSslMode>,
    roots: Roots,
}

/// A parameter in the connection string: where it is (byte range) and what it says.
struct Param {
    span: std::ops::Range<usize>,
    key: String,
    value: Vec<u8>,
}

/// Takes `sslmode` and `sslrootcert` out of a connection string (URL or key=value form, as
/// tokio-postgres reads them; the last of a repeated parameter wins). A string tokio-postgres
/// would not parse is left whole, for it to report.
fn split(s: &str) -> Result<Split, PgTlsError> {
    let url = s.starts_with("postgres://") || s.starts_with("postgresql://");
    let params = if url {
        url_params(s)
    } else {
        key_value_params(s)
    };
    let mut out = Split {
        rest: s.to_owned(),
        mode: None,
        roots: Roots::Default,
    };
    let Some((query, params)) = params else {
        return Ok(out);
    };
    let ours = |p: &&Param| p.key == "sslmode" || p.key == "sslrootcert";
    for p in params.iter().filter(ours) {
        if p.key == "sslmode" {
            out.mode = Some(PgSslMode::from_name(&String::from_utf8_lossy(&p.value))?);
        } else if p.value.is_empty() {
            out.roots = Roots::Default;
        } else if p.value == b"system" {
            out.roots = Roots::System;
        } else {
            out.roots = Roots::File(path_from_bytes(p.value.clone()));
        }
    }
    if url {
        // The query again without them (`query` is where it starts, after the `?`).
        let kept: Vec<&str> = params
            .iter()
            .filter(|p| !ours(p))
            .map(|p| &s[p.span.clone()])
            .collect();
        out.rest = if kept.is_empty() {
            s[..query - 1].to_owned()
        } else {
            format!("{}{}", &s[..query], kept.join("&"))
        };
    } else {
        // Cut them out, last first so that the earlier ranges stay put.
        for p in params.iter().filter(ours).rev() {
            out.rest.replace_range(p.span.clone(), "");
        }
    }
    Ok(out)
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// The query parameters of a `postgres://` URL with their ranges, and where the query
/// starts (after its `?`; `None` if there is none). The query starts at the first `?` after
/// the credentials (everything up to the first `@`), as in tokio-postgres.
fn url_params(s: &str) -> Option<(usize, Vec<Param>)> {
    let after_credentials = s.find('@').map_or(0, |at| at + 1);
    let start = after_credentials + s[after_credentials..].find('?')? + 1;
    let mut params = Vec::new();
    let mut at = start;
    while at < s.len() {
        let end = s[at..].find('&').map_or(s.len(), |i| at + i);
        let (key, value) = s[at..end].split_once('=')?;
        params.push(Param {
            span: at..end,
            key: String::from_utf8(percent_decode(key)).ok()?,
            value: percent_decode(value),
        });
        at = end + 1;
    }
    Some((start, params))
}

/// `%XX` decoded; a `%` not followed by two hex digits is kept as it is (as the
/// `percent-encoding` crate tokio-postgres uses does).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|&b| (b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The parameters of the key=value form (`host=h sslmode = 'verify-full'`), each with its
/// range, read as tokio-postgres reads them: values plain up to white space or in single
/// quotes, a backslash escaping the next character. `None` if tokio-postgres would refuse it.
/// (The 0 is there to look like [`url_params`].)
fn key_value_params(s: &str) -> Option<(usize, Vec<Param>)> {
    let mut it = s.char_indices().peekable();
    let mut params = Vec::new();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    let at = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        it.peek().map_or(s.len(), |&(i, _)| i)
    };
    loop {
        skip_ws(&mut it);
        let start = at(&mut it);
        while it
            .next_if(|&(_, c)| !c.is_whitespace() && c != '=')
            .is_some()
        {}
        let key = &s[start..at(&mut it)];
        if key.is_empty() {
            // tokio-postgres stops here too (and ignores whatever follows).
            return Some((0, params));
        }
        skip_ws(&mut it);
        it.next_if(|&(_, c)| c == '=')?;
        skip_ws(&mut it);
        let mut value = String::new();
        if it.next_if(|&(_, c)| c == '\'').is_some() {
            loop {
                match it.next()? {
                    (_, '\'') => break,
                    (_, '\\') => value.extend(it.next().map(|(_, c)| c)),
                    (_, c) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = it.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(it.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return None;
            }
        }
        params.push(Param {
            span: start..at(&mut it),
            key: key.to_owned(),
            value: value.into_bytes(),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The connector.

/// The TLS side of the store's connections: what `sslmode` and `sslrootcert` ask for, given
/// to tokio-postgres for each new connection.
#[derive(Clone)]
pub(crate) struct MakeTls {
    mode: PgSslMode,
    /// `None` under `disable` (tokio-postgres then never asks for TLS).
    config: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for MakeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakeTls").field("mode", &self.mode).finish()
    }
}

impl MakeTls {
    /// Reads the TLS parameters out of a connection string: the string tokio-postgres is to
    /// parse (without them), and the connector. The roots are loaded here, so a bad
    /// `sslrootcert` fails at open, not at the first connection.
    pub(crate) fn from_url(url: &str) -> Result<(String, MakeTls), PgTlsError> {
        let split = split(url)?;
        let mode = match (split.mode, &split.roots) {
            (Some(mode), _) => mode,
            (None, Roots::System) => PgSslMode::VerifyFull,
            (None, _) => PgSslMode::Prefer,
        };
        Ok((split.rest, MakeTls::new(mode, &split.roots)?))
    }

    fn new(mode: PgSslMode, roots: &Roots) -> Result<MakeTls, PgTlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (mode, roots) {
            (PgSslMode::Disable, _) => return Ok(MakeTls { mode, config: None }),
            (PgSslMode::VerifyFull, _) => {
                rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(load_roots(mode, roots)?),
                    provider.clone(),
                )
                .build()
                .map_err(|e| PgTlsError::Setup {
                    reason: e.to_string(),
                })?
            }
            (_, Roots::System) => return Err(PgTlsError::SystemRootsNeedVerifyFull { mode }),
            (PgSslMode::Prefer | PgSslMode::Require, Roots::Default) => Arc::new(NoCertCheck {
                provider: provider.clone(),
            }),
            _ => Arc::new(ChainCheck {
                roots: Arc::new(load_roots(mode, roots)?),
                provider: provider.clone(),
            }),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PgTlsError::Setup {
                reason: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // What libpq 17 sends (and what PostgreSQL 17 requires under sslnegotiation=direct).
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(MakeTls {
            mode,
            config: Some(Arc::new(config)),
        })
    }

    /// What tokio-postgres is to be told (`Config::ssl_mode`).
    pub(crate) fn ssl_mode(&self) -> SslMode {
        self.mode.driver()
    }

    /// A failed connection attempt as the store reports it: a failed TLS handshake as
    /// [`StoreError::Backend`] holding a [`PgTlsError`], anything else as it was.
    pub(crate) fn failure(&self, e: ::postgres::Error) -> Fail {
        let failed =
            std::error::Error::source(&e).and_then(|s| s.downcast_ref::<HandshakeFailed>());
        let Some(failed) = failed else {
            return Fail::Pg(e);
        };
        let host = failed.host.clone();
        let mode = self.mode;
        let rustls = failed
            .error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>());
        let error = match rustls {
            Some(rustls::Error::InvalidCertificate(c)) => PgTlsError::CertificateRejected {
                host,
                mode,
                problem: match c {
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => {
                        CertificateProblem::WrongName
                    }
                    CertificateError::UnknownIssuer => CertificateProblem::UnknownIssuer,
                    CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                        CertificateProblem::Expired
                    }
                    CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                        CertificateProblem::NotYetValid
                    }
                    _ => CertificateProblem::Other,
                },
                source: Box::new(rustls::Error::InvalidCertificate(c.clone())),
            },
            Some(other) => PgTlsError::Handshake {
                host,
                mode,
                source: Box::new(other.clone()),
            },
            None => PgTlsError::Handshake {
                host,
                mode,
                source: Box::new(io::Error::new(
                    failed.error.kind(),
                    failed.error.to_string(),
                )),
            },
        };
        Fail::Store(StoreError::Backend(Box::new(error)))
    }
}

/// The trusted roots: the PEM certificates of the `sslrootcert` file, or the system's.
fn load_roots(mode: PgSslMode, roots: &Roots) -> Result<RootCertStore, PgTlsError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let pem = std::fs::read(path).map_err(|source| PgTlsError::RootCertUnreadable {
                path: path.clone(),
                source,
            })?;
            let invalid = |reason: String| PgTlsError::RootCertInvalid {
                path: path.clone(),
                reason,
            };
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| invalid(format!("not PEM: {e}")))?;
                store
                    .add(cert)
                    .map_err(|e| invalid(format!("a certificate that cannot be a root: {e}")))?;
            }
            if store.is_empty() {
                return Err(invalid(
                    "no certificate in it (PEM: -----BEGIN CERTIFICATE-----)".into(),
                ));
            }
        }
        Roots::System | Roots::Default => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                let reason = if found.errors.is_empty() {
                    "the store is empty".to_owned()
                } else {
                    let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
                    errors.join("; ")
                };
                return Err(PgTlsError::NoSystemRoots { mode, reason });
            }
        }
    }
    Ok(store)
}

/// `prefer` and `require` without roots: any certificate, as libpq. The handshake's
/// signatures are still checked, so the server must hold the key of the certificate it shows.
#[derive(Debug)]
struct NoCertCheck {
    provider: Arc<CryptoProvider>,
}

/// `verify-ca` (and `prefer`, `require` with an `sslrootcert` file): the chain up to a
/// trusted root and the dates, not the name.
#[derive(Debug)]
struct ChainCheck {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

/// The handshake signature checks both verifiers share.
macro_rules! signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

impl ServerCertVerifier for NoCertCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    signatures!();
}

impl ServerCertVerifier for ChainCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    signatures!();
}

impl<S> MakeTlsConnect<S> for MakeTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, Self::Error> {
        Ok(Connect {
            host: host.to_owned(),
            config: self.config.clone(),
        })
    }
}

/// One connection's handshake, with the host it is for.
pub(crate) struct Connect {
    host: String,
    config: Option<Arc<ClientConfig>>,
}

/// A failed handshake, with the host it was for; [`MakeTls::failure`] makes it a
/// [`PgTlsError`].
#[derive(Debug)]
pub(crate) struct HandshakeFailed {
    host: String,
    error: io::Error,
}

impl std::fmt::Display for HandshakeFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS handshake with {}: {}", self.host, self.error)
    }
}

impl std::error::Error for HandshakeFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

type Handshake<S> = Pin<Box<dyn Future<Output = Result<Stream<S>, HandshakeFailed>> + Send>>;

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = HandshakeFailed;
    type Future = Handshake<S>;

    fn connect(self, stream: S) -> Handshake<S> {
        Box::pin(async move {
            let fail = |error| HandshakeFailed {
                host: self.host.clone(),
                error,
            };
            let config = self
                .config
                .clone()
                .ok_or_else(|| fail(io::Error::other("TLS asked for under sslmode=disable")))?;
            let name = ServerName::try_from(self.host.clone())
                .map_err(|e| fail(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
            tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map(Stream)
                .map_err(fail)
        })
    }
}

/// A TLS connection to PostgreSQL.
pub(crate) struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, connection) = self.0.get_ref();
        connection
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|cert| end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// Channel binding.

/// The `tls-server-end-point` channel binding of a certificate (RFC 5929 section 4.1): its
/// hash under the hash function of its signature algorithm, SHA-256 for MD5 and SHA-1.
/// `None` for algorithms that name no hash there (Ed25519, RSA-PSS) and for bytes that are
/// not a certificate.
fn end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    // 1.2.840.113549.1.1.x (RSA PKCS #1) and 1.2.840.10045.4.x (ECDSA), DER-encoded.
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    enum Hash {
        Sha256,
        Sha384,
        Sha512,
    }
    let oid = signature_algorithm(cert)?;
    let hash = if let Some(rest) = oid.strip_prefix(RSA) {
        match rest {
            // md5WithRSAEncryption, sha1WithRSAEncryption, sha256WithRSAEncryption
            [0x04] | [0x05] | [0x0b] => Hash::Sha256,
            [0x0c] => Hash::Sha384,
            [0x0d] => Hash::Sha512,
            _ => return None,
        }
    } else if let Some(rest) = oid.strip_prefix(ECDSA) {
        match rest {
            // ecdsa-with-SHA1, ecdsa-with-SHA256
            [0x01] | [0x03, 0x02] => Hash::Sha256,
            [0x03, 0x03] => Hash::Sha384,
            [0x03, 0x04] => Hash::Sha512,
            _ => return None,
        }
    } else {
        return None;
    };
    Some(match hash {
        Hash::Sha256 => sha2::Sha256::digest(cert).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(cert).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(cert).to_vec(),
    })
}

/// The OID (its content bytes) of a certificate's `signatureAlgorithm`:
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE {
/// algorithm OBJECT IDENTIFIER, ... }, ... }`.
fn signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    let (certificate, _) = der(cert, SEQUENCE)?;
    let (_tbs, rest) = der(certificate, SEQUENCE)?;
    let (algorithm, _) = der(rest, SEQUENCE)?;
    let (oid, _) = der(algorithm, OID)?;
    Some(oid)
}

/// One DER element with this tag at the start of `input`: its content and what follows it.
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, mut rest) = rest.split_first()?;
    let len = if len < 0x80 {
        usize::from(len)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA certificate (ECDSA P-256 with SHA-256) made for the tests and for nothing else.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBvTCCAWOgAwIBAgIUcgPmJfvG25N982sVbgMjuWaE7X8wCgYIKoZIzj0EAwIw
KzEpMCcGA1UEAwwgc2VydmVyLWtpdCB0ZXN0OiBhbiB1bnJlbGF0ZWQgQ0EwIBcN
MjYxMTIyMDI0NDAyWhgPMjEyNjEwMjkwMjQ0MDJaMCsxKTAnBgNVBAMMIHNlcnZl
ci1raXQgdGVzdDogYW4gdW5yZWxhdGVkIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEsaX5XPQbfoUJ6kq2mJf9ON/wVUd0Ge7E+mt7bx7R/VGTdSF9r2/e/cYc
d6oAQeFJqrkNSN7ZrwcgjJZEH8Ao2qNjMGEwHQYDVR0OBBYEFJn+1K5GMPl5XukN
Otv0KcDv/3FmMB8GA1UdIwQYMBaAFJn+1K5GMPl5XukNOtv0KcDv/3FmMA8GA1Ud
EwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0gAMEUCIB2s
jPasaFlP4ZteHhvSDUD51a/qV7iRB+WyWFxYCR5sAiEAjPJsmSY43n6iH1vSRyKH
2RBW+ZVR9Z8nhxzIm8kbHtI=
-----END CERTIFICATE-----
";

    fn split_ok(s: &str) -> (String, Option<PgSslMode>, Roots) {
        let split = split(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (split.rest, split.mode, split.roots)
    }

    #[test]
    fn url_parameters_are_taken_out() {
        let file = |p: &str| Roots::File(PathBuf::from(p));
        assert_eq!(
            split_ok("postgres://u:p@h:5432/db?sslmode=verify-full&sslrootcert=/etc/ca.pem"),
            (
                "postgres://u:p@h:5432/db".into(),
                Some(PgSslMode::VerifyFull),
                file("/etc/ca.pem")
            )
        );
        assert_eq!(
            split_ok(
                "postgresql://h/db?application_name=x&sslrootcert=%2Ftmp%2Fa%20b.pem&connect_timeout=3"
            ),
            (
                "postgresql://h/db?application_name=x&connect_timeout=3".into(),
                None,
                file("/tmp/a b.pem")
            )
        );
        assert_eq!(
            split_ok("postgres://h/db?sslmode=require&connect_timeout=3"),
            (
                "postgres://h/db?connect_timeout=3".into(),
                Some(PgSslMode::Require),
                Roots::Default
            )
        );
        // The last of a repeated parameter wins; a password with `?` and `&` is not a query.
        assert_eq!(
            split_ok(
                "postgres://u:a?b&sslmode=x@h/db?sslmode=disable&sslmode=verify-ca&sslrootcert=system"
            ),
            (
                "postgres://u:a?b&sslmode=x@h/db".into(),
                Some(PgSslMode::VerifyCa),
                Roots::System
            )
        );
        assert_eq!(
            split_ok("postgres://h/db"),
            ("postgres://h/db".into(), None, Roots::Default)
        );
        assert_eq!(
            split_ok("postgres://h/db?sslrootcert="),
            ("postgres://h/db".into(), None, Roots::Default)
        );
    }

    #[test]
    fn key_value_parameters_are_taken_out() {
        assert_eq!(
            split_ok("host=h sslmode = verify-full  sslrootcert='/a b/c\\'d.pem' user=u"),
            (
                "host=h    user=u".into(),
                Some(PgSslMode::VerifyFull),
                Roots::File(PathBuf::from("/a b/c'd.pem"))
            )
        );
        assert_eq!(
            split_ok("sslrootcert=/x\\ y.pem"),
            ("".into(), None, Roots::File(PathBuf::from("/x y.pem")))
        );
        // Malformed strings are left for tokio-postgres to refuse.
        assert_eq!(
            split_ok("host=h sslmode"),
            ("host=h sslmode".into(), None, Roots::Default)
        );
        assert_eq!(
            split_ok("host='h sslmode=verify-full"),
            ("host='h sslmode=verify-full".into(), None, Roots::Default)
        );
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        assert!(matches!(
            MakeTls::from_url("postgres://h/db?sslmode=allow"),
            Err(PgTlsError::UnknownMode { value }) if value == "allow"
        ));
        assert!(matches!(
            MakeTls::from_url("host=h sslmode=VERIFY-FULL"),
            Err(PgTlsError::UnknownMode { value }) if value == "VERIFY-FULL"
        ));
        assert!(matches!(
            MakeTls::from_url("postgres://h/db?sslmode=require&sslrootcert=system"),
            Err(PgTlsError::SystemRootsNeedVerifyFull {
                mode: PgSslMode::Require
            })
        ));
        let missing = std::env::temp_dir().join(format!("sk-no-such-{}.pem", std::process::id()));
        match MakeTls::from_url(&format!(
            "postgres://h/db?sslmode=verify-full&sslrootcert={}",
            missing.display()
        )) {
            Err(PgTlsError::RootCertUnreadable { path, source }) => {
                assert_eq!(path, missing);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
        let dir = std::env::temp_dir();
        for (name, content, expected) in [
            ("empty", "", "no certificate"),
            (
                "key",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "no certificate",
            ),
            ("broken", "-----BEGIN CERTIFICATE-----\nAAAA\n", "not PEM"),
            (
                "garbage",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "cannot be a root",
            ),
        ] {
            let path = dir.join(format!("sk-tls-{name}-{}.pem", std::process::id()));
            std::fs::write(&path, content).expect("write");
            let out = MakeTls::from_url(&format!(
                "sslmode=verify-ca sslrootcert='{}'",
                path.display()
            ));
            let _ = std::fs::remove_file(&path);
            match out {
                Err(PgTlsError::RootCertInvalid { path: p, reason }) => {
                    assert_eq!(p, path);
                    assert!(reason.contains(expected), "{name}: {reason}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn modes() {
        let path = std::env::temp_dir().join(format!("sk-tls-ca-{}.pem", std::process::id()));
        std::fs::write(&path, CERT).expect("write");
        let with_ca = |mode: &str| {
            MakeTls::from_url(&format!(
                "postgres://h/db?sslmode={mode}&sslrootcert={}",
                path.display()
            ))
            .map(|(rest, tls)| (rest, tls.mode, tls.ssl_mode(), tls.config.is_some()))
            .unwrap_or_else(|e| panic!("{mode}: {e}"))
        };
        assert_eq!(
            with_ca("verify-ca"),
            (
                "postgres://h/db".into(),
                PgSslMode::VerifyCa,
                SslMode::Require,
                true
            )
        );
        assert_eq!(
            with_ca("disable"),
            (
                "postgres://h/db".into(),
                PgSslMode::Disable,
                SslMode::Disable,
                false
            )
        );
        assert_eq!(with_ca("prefer").2, SslMode::Prefer);
        let _ = std::fs::remove_file(&path);
        let (_, tls) = MakeTls::from_url("postgres://h/db").expect("default");
        assert_eq!(
            (tls.mode, tls.ssl_mode()),
            (PgSslMode::Prefer, SslMode::Prefer)
        );
        for name in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            assert_eq!(PgSslMode::from_name(name).expect(name).to_string(), name);
        }
    }

    #[test]
    fn channel_binding_hash() {
        use sha2::Digest;
        let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).expect("PEM");
        assert_eq!(
            end_point(&cert),
            Some(sha2::Sha256::digest(&cert).to_vec()),
            "ecdsa-with-SHA256: SHA-256"
        );
        // Cut anywhere: no hash, no panic.
        for len in 0..cert.len() {
            assert_eq!(end_point(&cert[..len]), None, "{len}");
        }
        assert_eq!(der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], 0x30), None);
        assert_eq!(der(&[0x30, 0x80], 0x30), None);
    }
}
