//! `tl`: check, generate from, diff and subset TL schemas.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tl_schema::{Category, Schema, Severity};

#[derive(Parser)]
#[command(
    name = "tl",
    version,
    about = "TL schema toolchain: check, gen, diff, subset"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate a schema; print counts per section and the layer.
    Check {
        /// Schema files, read as one schema.
        files: Vec<PathBuf>,
    },
    /// Generate Rust code.
    Gen {
        /// Schema files, read as one schema.
        files: Vec<PathBuf>,
        /// Output file.
        #[arg(short, long)]
        out: PathBuf,
        /// Emit only these roots (definitions, types, `ns.*`) and what they need.
        #[arg(long = "emit")]
        roots: Vec<String>,
        /// Derive serde behind this feature of the including crate.
        #[arg(long)]
        serde_feature: Option<String>,
        /// Implement arbitrary behind this feature of the including crate.
        #[arg(long)]
        arbitrary_feature: Option<String>,
        /// Server mode: functions are decodable too.
        #[arg(long)]
        server: bool,
    },
    /// Compare two layers: constructors and functions added, removed, and with changed ids.
    Diff {
        /// The old schema.
        old: PathBuf,
        /// The new schema.
        new: PathBuf,
    },
    /// Show what a layer bridge from an older layer to the primary one holds; with `-o`,
    /// generate it.
    Bridge {
        /// The primary schema.
        primary: PathBuf,
        /// The older layer's schema.
        old: PathBuf,
        /// Write the generated bridge here.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// The Rust path of the primary layer's module in the including crate.
        #[arg(long, default_value = "crate")]
        primary_path: String,
        /// A rule catalogue offered to the bridge (one rule per line: see
        /// `tl_codegen::parse_catalogue`), e.g. mtproto/api/layer-rules.txt. Repeatable.
        #[arg(long, value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
    /// Print the named definitions and every type they need, as TL.
    Subset {
        /// The schema.
        file: PathBuf,
        /// Roots: definitions, types, `ns.*`.
        roots: Vec<String>,
        /// Write here instead of standard output.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Declare this layer (`// LAYER N` at the end), for schemas whose copy lost that line.
        #[arg(long)]
        layer: Option<u32>,
        /// Leave out roots the schema does not have (listed on standard error and in the
        /// header) instead of failing.
        #[arg(long)]
        skip_missing: bool,
    },
}

fn load(files: &[PathBuf]) -> Result<Schema, String> {
    tl_codegen::read_schemas(files).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Check { files } => {
            if files.is_empty() {
                return Err("give at least one schema file".into());
            }
            let schema = load(&files)?;
            let types = schema
                .definitions
                .iter()
                .filter(|d| d.category == Category::Type)
                .count();
            let functions = schema.definitions.len() - types;
            let layer = schema
                .layer
                .map_or_else(|| "none".to_owned(), |l| l.to_string());
            println!("constructors: {types}\nfunctions: {functions}\nlayer: {layer}");
            let diagnostics = tl_schema::validate(&schema);
            for d in &diagnostics {
                eprintln!("{d}");
            }
            let errors = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            if errors > 0 {
                return Err(format!("{errors} errors"));
            }
        }
        Command::Gen {
            files,
            out,
            roots,
            serde_feature,
            arbitrary_feature,
            server,
        } => {
            let schema = load(&files)?;
            let mut config = tl_codegen::Config::new();
            config.emit(roots).server_mode(server);
            if let Some(f) = serde_feature {
                config.derive_serde(tl_codegen::Gate::Feature(f));
            }
            if let Some(f) = arbitrary_feature {
                config.derive_arbitrary(tl_codegen::Gate::Feature(f));
            }
            let code = config
                .generate_from_schema(&schema)
                .map_err(|e| e.to_string())?;
            let written = tl_codegen::write_if_changed(&out, &code).map_err(|e| e.to_string())?;
            println!(
                "{} {}",
                if written { "wrote" } else { "unchanged" },
                out.display()
            );
        }
        Command::Diff { old, new } => {
            let d = tl_schema::diff(&load(&[old])?, &load(&[new])?);
            for e in &d.added {
                println!("+ {:?} {}#{:08x}", e.category, e.name, e.id);
            }
            for e in &d.removed {
                println!("- {:?} {}#{:08x}", e.category, e.name, e.id);
            }
            for c in &d.changed_id {
                println!(
                    "~ {:?} {} {:08x} -> {:08x}",
                    c.category, c.name, c.old_id, c.new_id
                );
            }
            println!(
                "added: {}, removed: {}, changed id: {}",
                d.added.len(),
                d.removed.len(),
                d.changed_id.len()
            );
        }
        Command::Bridge {
            primary,
            old,
            out,
            primary_path,
            rules,
        } => {
            let (primary_schema, old_schema) =
                (load(&[primary])?, load(std::slice::from_ref(&old))?);
            let report = tl_codegen::bridge_report(&primary_schema, &old_schema);
            for (what, items) in [
                ("types", &report.types),
                ("constructors", &report.constructors),
                ("functions (request converted)", &report.functions),
                ("functions (result converted)", &report.results),
            ] {
                println!("{what}: {}", items.len());
                for item in items {
                    println!("  {item}");
                }
            }
            let mut bridge = tl_codegen::Bridge::new(&old).primary_path(&primary_path);
            for file in &rules {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let catalogue = tl_codegen::parse_catalogue(&text)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                bridge = catalogue
                    .into_iter()
                    .fold(bridge, tl_codegen::Bridge::offer);
            }
            let code = bridge.generate_from_schemas(&primary_schema, &old_schema);
            match (out, code) {
                (Some(out), code) => {
                    let code = code.map_err(|e| e.to_string())?;
                    tl_codegen::write_if_changed(&out, &code).map_err(|e| e.to_string())?;
                    println!("wrote {}", out.display());
                }
                (None, Ok(_)) => println!("generates with the rules offered"),
                (None, Err(e)) => println!("does not generate yet: {e}"),
            }
        }
        Command::Subset {
            file,
            roots,
            out,
            layer,
            skip_missing,
        } => {
            let mut schema = load(std::slice::from_ref(&file))?;
            if layer.is_some() {
                schema.layer = layer;
            }
            let (kept, missing): (Vec<String>, Vec<String>) = if skip_missing {
                roots
                    .iter()
                    .cloned()
                    .partition(|r| schema.subset([r.as_str()]).is_ok())
            } else {
                (roots.clone(), Vec::new())
            };
            for root in &missing {
                eprintln!("skipped `{root}`: the schema has no such definition, type or namespace");
            }
            let subset = schema.subset(&kept).map_err(|e| e.to_string())?;
            let mut options = String::new();
            if let Some(layer) = layer {
                options.push_str(&format!("--layer {layer} "));
            }
            if skip_missing {
                options.push_str("--skip-missing ");
            }
            let skipped = if missing.is_empty() {
                String::new()
            } else {
                format!("// Skipped (not in this schema): {}\n", missing.join(" "))
            };
            let text = format!(
                "// Generated by `tl subset {options}{} {}`: the definitions named and every type they use.\n{skipped}\n{}",
                file.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                roots.join(" "),
                subset.to_tl()
            );
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
