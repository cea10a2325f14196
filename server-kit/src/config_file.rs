//! The server's config file: `--config FILE` names a TOML file whose keys are the long flag
//! names (`listen = "0.0.0.0:443"`, `store = "postgres://..."`, `handshakes-per-minute =
//! 600`). A flag given on the command line wins over the same key in the file, so one file
//! can be shared by every node of a deployment and each node overrides what differs
//! (`--listen`, `--data`).
//!
//! The file is turned into flags placed before the command line's own, and the whole is
//! parsed by clap with `args_override_self`: the file gets exactly the checks and the help
//! text of the flags, and the later (command-line) value wins.
//!
//! ```
//! use server_kit::config_file::flags_from_toml;
//! let flags = flags_from_toml("listen = \"127.0.0.1:4430\"\ndc = 2\n", |name| {
//!     ["listen", "dc"].contains(&name)
//! })
//! .unwrap();
//! assert_eq!(flags, ["--dc=2", "--listen=127.0.0.1:4430"]);
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML.
    #[error("config file {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key that is not a flag of the server.
    #[error(
        "config file {path}: unknown key `{key}` (keys are the long flag names, e.g. `listen`)"
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value of a kind flags do not take (a table, a date, `false`).
    #[error("config file {path}: key `{key}`: {why}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        why: &'static str,
    },
    /// `--config` without a file name.
    #[error("--config needs a file name")]
    MissingPath,
}

/// The flags a config file's text stands for, in key order (an array gives its flag once per
/// item, in item order). `known(name)` says whether
/// `--name` is a flag. Errors carry an empty path: [`expand`] fills it in.
pub fn flags_from_toml(
    text: &str,
    known: impl Fn(&str) -> bool,
) -> Result<Vec<String>, ConfigFileError> {
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ConfigFileError::Syntax {
                path: PathBuf::new(),
                message: e.to_string().trim_end().to_owned(),
            })?;
    let mut flags = Vec::new();
    for (key, value) in table {
        if key == "config" || !known(&key) {
            return Err(ConfigFileError::UnknownKey {
                path: PathBuf::new(),
                key,
            });
        }
        let bad = |why| ConfigFileError::BadValue {
            path: PathBuf::new(),
            key: key.clone(),
            why,
        };
        let values = match value {
            toml::Value::Array(items) => items,
            single => vec![single],
        };
        for value in values {
            match value {
                toml::Value::String(s) => flags.push(format!("--{key}={s}")),
                toml::Value::Integer(i) => flags.push(format!("--{key}={i}")),
                toml::Value::Float(f) => flags.push(format!("--{key}={f}")),
                toml::Value::Boolean(true) => flags.push(format!("--{key}")),
                toml::Value::Boolean(false) => {
                    return Err(bad("`false` is the default: leave the key out"));
                }
                toml::Value::Array(_) => return Err(bad("arrays cannot nest")),
                toml::Value::Table(_) => return Err(bad("expected a value, not a table")),
                toml::Value::Datetime(_) => return Err(bad("dates are not flag values")),
            }
        }
    }
    Ok(flags)
}

fn with_path(error: ConfigFileError, file: &Path) -> ConfigFileError {
    let path = file.to_path_buf();
    match error {
        ConfigFileError::Syntax { message, .. } => ConfigFileError::Syntax { path, message },
        ConfigFileError::UnknownKey { key, .. } => ConfigFileError::UnknownKey { path, key },
        ConfigFileError::BadValue { key, why, .. } => ConfigFileError::BadValue { path, key, why },
        other => other,
    }
}

/// The command line with the flags of its `--config FILE` (if any) inserted right after the
/// program name, so that the command line's own flags come later and win. `known(name)`
/// says whether `--name` is a flag.
pub fn expand(
    args: Vec<OsString>,
    known: impl Fn(&str) -> bool,
) -> Result<Vec<OsString>, ConfigFileError> {
    let mut file = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            file = Some(PathBuf::from(
                iter.next().ok_or(ConfigFileError::MissingPath)?,
            ));
        } else if let Some(path) = arg.strip_prefix("--config=") {
            file = Some(PathBuf::from(path));
        }
    }
    let Some(file) = file else { return Ok(args) };
    let text = std::fs::read_to_string(&file).map_err(|source| ConfigFileError::Read {
        path: file.clone(),
        source,
    })?;
    let flags = flags_from_toml(&text, known).map_err(|e| with_path(e, &file))?;
    let mut out = Vec::with_capacity(args.len() + flags.len());
    let mut args = args.into_iter();
    out.extend(args.next());
    out.extend(flags.into_iter().map(OsString::from));
    out.extend(args);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> bool {
        ["listen", "store", "dc", "verbose", "peer"].contains(&name)
    }

    #[test]
    fn values_become_flags_in_file_order() {
        let flags = flags_from_toml(
            "store = \"postgres://a@b/c\"\ndc = 4\nverbose = true\npeer = [\"x\", \"y\"]\n",
            known,
        )
        .unwrap();
        // toml::Table keeps keys sorted; order among different flags does not matter.
        assert!(flags.contains(&"--store=postgres://a@b/c".to_owned()));
        assert!(flags.contains(&"--dc=4".to_owned()));
        assert!(flags.contains(&"--verbose".to_owned()));
        let peers: Vec<_> = flags.iter().filter(|f| f.starts_with("--peer")).collect();
        assert_eq!(peers, ["--peer=x", "--peer=y"]);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let unknown = flags_from_toml("lisen = \"x\"", known).unwrap_err();
        assert!(matches!(unknown, ConfigFileError::UnknownKey { ref key, .. } if key == "lisen"));
        let nested = flags_from_toml("[listen]\na = 1", known).unwrap_err();
        assert!(
            matches!(nested, ConfigFileError::BadValue { .. }),
            "{nested}"
        );
        let syntax = flags_from_toml("listen = ", known).unwrap_err();
        let ConfigFileError::Syntax { message, .. } = syntax else {
            panic!("{syntax}");
        };
        assert!(message.contains("line 1"), "{message}");
        let config = flags_from_toml("config = \"other.toml\"", known).unwrap_err();
        assert!(matches!(config, ConfigFileError::UnknownKey { .. }));
    }

    #[test]
    fn file_flags_go_before_the_command_line() {
        let dir = std::env::temp_dir().join(format!("config-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("node.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:1\"\n").unwrap();
        let args: Vec<OsString> = ["server", "--config", file.to_str().unwrap(), "--dc", "3"]
            .map(OsString::from)
            .into();
        let out = expand(args, known).unwrap();
        assert_eq!(out[0], "server");
        assert_eq!(out[1], "--listen=0.0.0.0:1");
        assert_eq!(out.len(), 6);

        let missing = expand(
            ["server", "--config=/nonexistent/x.toml"]
                .map(OsString::from)
                .into(),
            known,
        )
        .unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/x.toml"),
            "{missing}"
        );
        std::fs::write(&file, "nope = 1\n").unwrap();
        let unknown = expand(
            [
                "server".into(),
                format!("--config={}", file.display()).into(),
            ]
            .into(),
            known,
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("node.toml"), "{unknown}");
        assert!(matches!(
            expand(["server", "--config"].map(OsString::from).into(), known),
            Err(ConfigFileError::MissingPath)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
