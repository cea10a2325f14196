//! Rust names for TL names.

use proc_macro2::{Ident, Span};

/// `inputPeerUser` -> `InputPeerUser`, `server_DH_params_ok` -> `ServerDhParamsOk`.
pub fn type_name(tl: &str) -> String {
    let mut out = String::with_capacity(tl.len());
    for part in tl.split('_').filter(|p| !p.is_empty()) {
        let all_upper = part.len() > 1
            && part
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            if all_upper {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(chars);
            }
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    out
}

/// `srp_B` -> `srp_b`; keywords become raw identifiers, `self` becomes `is_self`.
pub fn field_ident(tl: &str) -> Ident {
    let name = tl.to_ascii_lowercase();
    match name.as_str() {
        "self" => Ident::new("is_self", Span::call_site()),
        "super" | "crate" => Ident::new(&format!("{name}_"), Span::call_site()),
        _ => ident(&name),
    }
}

/// A module name for a namespace part.
pub fn module_ident(tl: &str) -> Ident {
    field_ident(tl)
}

/// Words that are not identifiers (the strict and reserved keywords, and `_`): they are
/// written as raw identifiers.
const KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "Self", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Whether `name` can be written as a plain identifier: `[A-Za-z_][A-Za-z0-9_]*` and not a
/// keyword.
pub fn is_plain_ident(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// An identifier, raw if it is a keyword.
pub fn ident(name: &str) -> Ident {
    if is_plain_ident(name) {
        Ident::new(name, Span::call_site())
    } else {
        Ident::new_raw(name, Span::call_site())
    }
}

/// The name of an enum variant: the constructor name without the type's own name in front
/// (`inputPeerUser` in `InputPeer` -> `User`), when what is left is a valid, distinct name.
pub fn variant_name(constructor: &str, type_name_tl: &str) -> String {
    let full = type_name(constructor);
    let ty = type_name(type_name_tl);
    if let Some(rest) = full.strip_prefix(&ty) {
        if rest.starts_with(|c: char| c.is_ascii_uppercase()) && is_plain_ident(rest) {
            return rest.to_owned();
        }
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("inputPeerUser"), "InputPeerUser");
        assert_eq!(type_name("server_DH_params_ok"), "ServerDhParamsOk");
        assert_eq!(type_name("p_q_inner_data_dc"), "PQInnerDataDc");
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("self").to_string(), "is_self");
        assert_eq!(field_ident("srp_B").to_string(), "srp_b");
        assert_eq!(variant_name("inputPeerUser", "InputPeer"), "User");
        assert_eq!(variant_name("inputPeerSelf", "InputPeer"), "InputPeerSelf");
        assert_eq!(variant_name("user", "User"), "User");
        assert_eq!(variant_name("messagesSlice", "Messages"), "Slice");
        assert_eq!(ident("match").to_string(), "r#match");
        assert_eq!(ident("matches").to_string(), "matches");
    }
}
