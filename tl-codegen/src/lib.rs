//! Generates Rust code from TL schemas: a struct per constructor, an enum per boxed type and a
//! struct per function implementing `RemoteCall` with its `Return` type. The generated code
//! depends only on the `tl-runtime` crate.
//!
//! Use it from `build.rs`, as prost-build is used:
//!
//! ```no_run
//! // build.rs
//! tl_codegen::Config::new()
//!     .schema("schema/api.tl")
//!     .emit(["messages.*", "help.getConfig"])
//!     .derive_serde(tl_codegen::Gate::feature("serde"))
//!     .generate()
//!     .unwrap();
//! // src/lib.rs: include!(concat!(env!("OUT_DIR"), "/tl.rs"));
//! ```
//!
//! or in memory:
//!
//! ```
//! let code = tl_codegen::Config::new()
//!     .generate_from_str("pong#347773c5 msg_id:long ping_id:long = Pong;\n---functions---\nping#7abe77ec ping_id:long = Pong;")
//!     .unwrap();
//! assert!(code.contains("pub struct Ping"));
//! assert!(code.contains("type Return = super::enums::Pong;"));
//! ```
//!
//! Older layers of the same API are served through a generated layer bridge
//! ([`Config::layer_bridge`], [`Bridge`]): types only for the old definitions that differ, and
//! conversions both ways, field by field by name, with named hand-written [`Rule`]s where a
//! required field has no counterpart.

mod bridge;
mod catalogue;
mod emit;
mod model;
mod names;
mod print;

pub use bridge::{Bridge, BridgeReport, Direction, Rule, bridge_report};
pub use catalogue::{CatalogueError, parse_catalogue};

use std::path::{Path, PathBuf};
use tl_schema::{Schema, Severity};

/// When a derive or impl is emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Always.
    Always,
    /// Only when the crate that includes the code enables this Cargo feature.
    Feature(String),
}

impl Gate {
    /// Behind the Cargo feature `name` of the including crate.
    pub fn feature(name: &str) -> Self {
        Gate::Feature(name.to_owned())
    }
}

/// Generation options shared by [`Config`] and the `tl` tool.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Derive `serde::Serialize`/`Deserialize` (through `tl_runtime::serde`, so the including
    /// crate enables `tl-runtime/serde` rather than depending on serde itself).
    pub serde: Option<Gate>,
    /// Implement `arbitrary::Arbitrary` (needs `tl-runtime/arbitrary`).
    pub arbitrary: Option<Gate>,
    /// Server mode: functions can also be decoded (results are always encodable).
    pub server: bool,
    /// Constructors decoded as another type's where that type is expected
    /// ([`Config::accept`]): `(from, into)` by full constructor name.
    pub accept: Vec<(String, String)>,
}

/// Why code could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema or output file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A schema file has syntax errors.
    #[error("{path}:\n{errors}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Its errors.
        errors: tl_schema::ParseErrors,
    },
    /// The schema failed validation.
    #[error("the schema is invalid:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<tl_schema::Diagnostic>),
    /// A root given to [`Config::emit`] names nothing in the schema.
    #[error(transparent)]
    UnknownRoot(#[from] tl_schema::UnknownRoot),
    /// A definition uses something the generator cannot express.
    #[error("`{definition}`: {reason}")]
    Unsupported {
        /// The definition.
        definition: String,
        /// What it uses.
        reason: String,
    },
    /// Two definitions would become the same Rust item.
    #[error("`{first}` and `{second}` would both become `{rust}`")]
    NameClash {
        /// The first definition.
        first: String,
        /// The second definition.
        second: String,
        /// The Rust name they share.
        rust: String,
    },
    /// A [`Config::accept`] rule names a constructor the generated code does not have, or two
    /// constructors whose fields differ.
    #[error("accept `{from}` as `{into}`: {reason}")]
    BadAccept {
        /// The constructor a peer may send.
        from: String,
        /// The constructor it is decoded as.
        into: String,
        /// What is wrong.
        reason: String,
    },
    /// The generated tokens did not parse as Rust (a bug of the generator).
    #[cfg(feature = "format")]
    #[error("generated code does not parse: {0}")]
    Syntax(#[from] syn::Error),
}

/// Builder for code generation, meant for `build.rs`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    schemas: Vec<PathBuf>,
    roots: Vec<String>,
    options: Options,
    out_file: Option<PathBuf>,
    bridges: Vec<Bridge>,
    /// Set to skip prettyplease although the `format` feature is on.
    #[cfg_attr(not(feature = "format"), allow(dead_code))]
    unformatted: bool,
}

impl Config {
    /// A configuration that emits everything, with no optional derives; the code is formatted
    /// with prettyplease when the `format` feature is on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to format the code with prettyplease (default: yes). Off, the code is written
    /// one statement or field per line: a full layer generates several times faster.
    #[cfg(feature = "format")]
    pub fn format(&mut self, on: bool) -> &mut Self {
        self.unformatted = !on;
        self
    }

    /// Whether the code is formatted with prettyplease.
    fn formats(&self) -> bool {
        cfg!(feature = "format") && !self.unformatted
    }

    /// Adds a schema file; several files are read as one schema, in order.
    pub fn schema(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.schemas.push(path.as_ref().to_owned());
        self
    }

    /// Emits only these definitions and every type they need. Roots are definition names
    /// (`messages.sendMessage`), boxed types (`InputPeer`), a namespace's functions
    /// (`messages.*`) or `*`. Without roots, everything is emitted.
    pub fn emit<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, roots: I) -> &mut Self {
        self.roots.extend(roots.into_iter().map(Into::into));
        self
    }

    /// Derives serde's traits, when `gate` says.
    pub fn derive_serde(&mut self, gate: Gate) -> &mut Self {
        self.options.serde = Some(gate);
        self
    }

    /// Implements `arbitrary::Arbitrary`, when `gate` says.
    pub fn derive_arbitrary(&mut self, gate: Gate) -> &mut Self {
        self.options.arbitrary = Some(gate);
        self
    }

    /// Where the schema expects the type of constructor `into`, also decodes constructor
    /// `from` (of another type) as `into`. The two must have the same fields, in the same
    /// order, so `from`'s bytes read as `into`'s. Real clients rely on this leniency of
    /// Telegram's: several send `inputPeerChannel` where the schema says `InputChannel`, or
    /// `inputPeerUser` inside `users.getUsers`. Encoding is unchanged.
    ///
    /// ```no_run
    /// tl_codegen::Config::new()
    ///     .schema("schemas/api.tl")
    ///     .accept("inputPeerChannel", "inputChannel")
    ///     .accept("inputPeerUser", "inputUser")
    ///     .generate()
    ///     .unwrap();
    /// ```
    pub fn accept(&mut self, from: &str, into: &str) -> &mut Self {
        self.options.accept.push((from.to_owned(), into.to_owned()));
        self
    }

    /// Server mode: functions implement `Deserialize` too.
    pub fn server_mode(&mut self, on: bool) -> &mut Self {
        self.options.server = on;
        self
    }

    /// Where to write; a relative path is taken inside `$OUT_DIR`. Default: `$OUT_DIR/tl.rs`.
    pub fn out_file(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.out_file = Some(path.as_ref().to_owned());
        self
    }

    /// Also generates a layer bridge: the types of an older layer that differ from this
    /// schema's, with conversions both ways (see [`Bridge`]). Written to its own file, to be
    /// included in a module of its own next to the primary code.
    ///
    /// ```no_run
    /// // build.rs
    /// tl_codegen::Config::new()
    ///     .schema("schemas/api-229.tl")
    ///     .server_mode(true)
    ///     .out_file("api_229.rs")
    ///     .layer_bridge(
    ///         tl_codegen::Bridge::new("schemas/api-198.tl")
    ///             .out_file("layer_198.rs")
    ///             .rule(tl_codegen::Rule::result("channels.joinChannel", "crate::rules::join_result")),
    ///     )
    ///     .generate()
    ///     .unwrap();
    /// // src/lib.rs:
    /// // include!(concat!(env!("OUT_DIR"), "/api_229.rs"));
    /// // pub mod layer198 { include!(concat!(env!("OUT_DIR"), "/layer_198.rs")); }
    /// ```
    pub fn layer_bridge(&mut self, bridge: Bridge) -> &mut Self {
        self.bridges.push(bridge);
        self
    }

    /// Reads the schemas, generates, and writes the output (and the layer bridges') if it
    /// changed. Prints the `cargo:rerun-if-changed` lines for the schema files. Returns the
    /// output path.
    pub fn generate(&self) -> Result<PathBuf, Error> {
        for path in &self.schemas {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        let schema = read_schemas(&self.schemas)?;
        let code = self.generate_from_schema(&schema)?;
        let out = out_path(self.out_file.as_deref(), "tl.rs");
        write_if_changed(&out, &code)?;
        if !self.bridges.is_empty() {
            let selected;
            let primary = if self.roots.is_empty() {
                &schema
            } else {
                selected = schema.subset(&self.roots)?;
                &selected
            };
            for bridge in &self.bridges {
                println!("cargo:rerun-if-changed={}", bridge.old_schema().display());
                let old = read_schemas(&[bridge.old_schema().to_owned()])?;
                let code = bridge.generate_with(primary, &old, self.formats())?;
                let name = bridge.out_name(old.layer);
                write_if_changed(&out_path(Some(&name), ""), &code)?;
            }
        }
        Ok(out)
    }

    /// Generates code from schema text.
    pub fn generate_from_str(&self, text: &str) -> Result<String, Error> {
        let schema = tl_schema::parse(text).map_err(|errors| Error::Parse {
            path: PathBuf::from("<input>"),
            errors,
        })?;
        self.generate_from_schema(&schema)
    }

    /// Generates code from a parsed schema.
    pub fn generate_from_schema(&self, schema: &Schema) -> Result<String, Error> {
        let errors: Vec<_> = tl_schema::validate(schema)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let selected;
        let schema = if self.roots.is_empty() {
            schema
        } else {
            selected = schema.subset(&self.roots)?;
            &selected
        };
        let model = model::Model::new(schema)?;
        let tokens = emit::Emitter::new(&model, &self.options).file()?;
        render(
            tokens,
            "// @generated by tl-codegen. Do not edit: change the schema and regenerate.\n\n",
            self.formats(),
        )
    }

    /// The options, for callers that set them directly.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }
}

/// The source text of `tokens` after `header`: formatted by prettyplease if `format`, else by
/// [`print::print`].
fn render(tokens: proc_macro2::TokenStream, header: &str, format: bool) -> Result<String, Error> {
    let mut code = String::from(header);
    #[cfg(feature = "format")]
    if format {
        let file: syn::File = syn::parse2(tokens)?;
        code.push_str(&prettyplease::unparse(&file));
        return Ok(code);
    }
    let _ = format;
    code.push_str(&print::print(tokens));
    Ok(code)
}

/// `path` if absolute, else inside `$OUT_DIR` (`default` when `path` is `None`).
fn out_path(path: Option<&Path>, default: &str) -> PathBuf {
    match path {
        Some(p) if p.is_absolute() => p.to_owned(),
        other => {
            let dir = std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .unwrap_or_default();
            dir.join(other.map_or_else(|| PathBuf::from(default), Path::to_path_buf))
        }
    }
}

/// Reads several schema files as one schema; each file starts in the types section.
pub fn read_schemas(paths: &[PathBuf]) -> Result<Schema, Error> {
    let mut text = String::new();
    for path in paths {
        let part = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if !text.is_empty() {
            text.push_str("\n---types---\n");
        }
        text.push_str(&part);
    }
    tl_schema::parse(&text).map_err(|errors| Error::Parse {
        path: paths.first().cloned().unwrap_or_default(),
        errors,
    })
}

/// Writes `contents` to `path` unless the file already holds exactly that (so builds that
/// depend on it are not redone).
pub fn write_if_changed(path: &Path, contents: &str) -> Result<bool, Error> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(true)
}
