//! Constructor ids: the CRC32 of a definition's normalised text.
//!
//! The rule (core.telegram.org/mtproto/serialize, plus the normalisation every client
//! generator applies): drop the `#id`, the braces of type parameters and the
//! `name:flags.N?true` parameters, write `bytes` as `string`, write `Vector<T>` as `Vector T`,
//! separate tokens with single spaces and drop the final `;`. A handful of real definitions
//! carry an explicit id that differs; the explicit id always wins and the difference is only a
//! validation warning.

use crate::ast::{Definition, ParameterKind, Type};
use std::fmt::Write;

/// The normalised text of a definition, whose CRC32 is its computed id.
///
/// ```
/// let schema = tl_schema::parse("inputFile#f52ff27f id:long parts:int name:string md5_checksum:string = InputFile;").unwrap();
/// let def = &schema.definitions[0];
/// assert_eq!(tl_schema::normalized_line(def), "inputFile id:long parts:int name:string md5_checksum:string = InputFile");
/// assert_eq!(tl_schema::compute_id(def), 0xf52ff27f);
/// ```
pub fn normalized_line(def: &Definition) -> String {
    let mut out = def.full_name();
    for generic in &def.generics {
        let _ = write!(out, " {}:{}", generic.name, generic.kind);
    }
    for param in &def.params {
        match &param.kind {
            ParameterKind::Flags if param.name.is_empty() => out.push_str(" #"),
            ParameterKind::Flags => {
                let _ = write!(out, " {}:#", param.name);
            }
            ParameterKind::Value { ty, flag } => {
                if let Some(flag) = flag {
                    if is_true(ty) {
                        continue;
                    }
                    let _ = write!(out, " {}:{}.{}?", param.name, flag.name, flag.index);
                } else {
                    let _ = write!(out, " {}:", param.name);
                }
                write_type(&mut out, ty);
            }
            ParameterKind::Repeat { items } => {
                out.push_str(" [");
                for item in items {
                    out.push(' ');
                    write_type(&mut out, item);
                }
                out.push_str(" ]");
            }
            ParameterKind::Builtin => out.push_str(" ?"),
        }
    }
    out.push_str(" = ");
    write_type(&mut out, &def.ty);
    out
}

impl Definition {
    /// The normalised text whose CRC32 is the constructor id (see [`compute_id`]).
    pub fn normalized(&self) -> String {
        normalized_line(self)
    }
}

/// The id computed from the definition's text, whatever `#id` the schema wrote.
pub fn compute_id(def: &Definition) -> u32 {
    crc32fast::hash(normalized_line(def).as_bytes())
}

fn is_true(ty: &Type) -> bool {
    ty.namespace.is_empty() && ty.name == "true" && ty.generic_arg.is_none()
}

/// Writes a type; only a parameter's own `bytes` (not a type argument) becomes `string`.
fn write_type(out: &mut String, ty: &Type) {
    write_type_at(out, ty, true);
}

fn write_type_at(out: &mut String, ty: &Type, top: bool) {
    if ty.generic_ref {
        out.push('!');
    }
    if ty.percent {
        out.push('%');
    }
    for part in &ty.namespace {
        out.push_str(part);
        out.push('.');
    }
    if ty.namespace.is_empty() && ty.name == "bytes" && top {
        out.push_str("string");
    } else {
        out.push_str(&ty.name);
    }
    if let Some(arg) = &ty.generic_arg {
        out.push(' ');
        write_type_at(out, arg, false);
    }
}
