//! The server's RSA key pair on disk: `rsa-private.pem` (PKCS#1) and `rsa-public.pem`
//! (PKCS#1, the form Telethon's `add_key` loads), created on first start.

use mtproto::crypto::{PemError, RsaPrivateKey};
use std::path::Path;

/// Why the key files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The private key file is not a usable RSA key.
    #[error("{path}: {source}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        source: PemError,
    },
}

/// Loads `dir/rsa-private.pem`, or creates a 2048-bit key pair there.
pub fn load_or_create(dir: &Path) -> Result<RsaPrivateKey, KeyFileError> {
    let private_path = dir.join("rsa-private.pem");
    let public_path = dir.join("rsa-public.pem");
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| KeyFileError::Io { path, source }
    };
    if private_path.exists() {
        let text = std::fs::read_to_string(&private_path).map_err(io(&private_path))?;
        let key = RsaPrivateKey::from_pem(&text).map_err(|source| KeyFileError::Pem {
            path: private_path.display().to_string(),
            source,
        })?;
        if !public_path.exists() {
            std::fs::write(&public_path, key.public_key().to_pkcs1_pem())
                .map_err(io(&public_path))?;
        }
        return Ok(key);
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let key = RsaPrivateKey::generate(2048, &mut crate::os::rng());
    let tmp = dir.join("rsa-private.pem.tmp");
    std::fs::write(&tmp, key.to_pkcs1_pem()).map_err(io(&tmp))?;
    restrict(&tmp);
    std::fs::rename(&tmp, &private_path).map_err(io(&private_path))?;
    std::fs::write(&public_path, key.public_key().to_pkcs1_pem()).map_err(io(&public_path))?;
    Ok(key)
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}
