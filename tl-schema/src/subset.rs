//! Selecting part of a schema together with every type it needs.

use crate::ast::{Category, ParameterKind, Schema, Type};
use crate::validate::for_each_type;
use std::collections::{HashMap, HashSet};

/// A root of a selection named nothing in the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{root}` names no definition, type or namespace of the schema")]
pub struct UnknownRoot {
    /// The root as given.
    pub root: String,
}

impl Schema {
    /// The definitions `roots` name plus the closure of every type they use, in file order.
    ///
    /// A root is a definition's full name (`messages.sendMessage`, `inputPeerSelf`), a boxed
    /// type (`InputPeer`, all of its constructors), a namespace's functions (`messages.*`,
    /// `.*` for the functions without namespace) or `*` for everything.
    ///
    /// ```
    /// let schema = tl_schema::parse("
    ///     peerUser#1 user_id:long = Peer;
    ///     peerChat#2 chat_id:long = Peer;
    ///     unused#3 = Unused;
    ///     ---functions---
    ///     getPeer#4 = Peer;
    /// ").unwrap();
    /// let subset = schema.subset(["getPeer"]).unwrap();
    /// let names: Vec<_> = subset.definitions.iter().map(|d| d.full_name()).collect();
    /// assert_eq!(names, ["peerUser", "peerChat", "getPeer"]);
    /// ```
    pub fn subset<I, S>(&self, roots: I) -> Result<Schema, UnknownRoot>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let defs = &self.definitions;
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_type: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, def) in defs.iter().enumerate() {
            by_name.entry(def.full_name()).or_default().push(i);
            if def.category == Category::Type {
                by_type.entry(def.ty.full_name()).or_default().push(i);
            }
        }

        let mut chosen = vec![false; defs.len()];
        let mut stack: Vec<usize> = Vec::new();
        for root in roots {
            let root = root.as_ref();
            let before = stack.len();
            if root == "*" {
                stack.extend(0..defs.len());
            } else if let Some(namespace) = root.strip_suffix(".*") {
                let namespace: Vec<&str> = namespace.split('.').filter(|s| !s.is_empty()).collect();
                stack.extend(defs.iter().enumerate().filter_map(|(i, d)| {
                    (d.category == Category::Function && d.namespace == namespace).then_some(i)
                }));
            } else {
                if let Some(found) = by_name.get(root) {
                    stack.extend(found);
                }
                if let Some(found) = by_type.get(root) {
                    stack.extend(found);
                }
            }
            if stack.len() == before {
                return Err(UnknownRoot {
                    root: root.to_owned(),
                });
            }
        }

        let mut seen_types: HashSet<String> = HashSet::new();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut chosen[i], true) {
                continue;
            }
            let def = &defs[i];
            let mut need = |ty: &Type| {
                for_each_type(ty, &mut |t| {
                    let full = t.full_name();
                    if t.generic_ref || !seen_types.insert(full.clone()) {
                        return;
                    }
                    if t.bare && !t.percent {
                        if let Some(found) = by_name.get(&full) {
                            stack.extend(
                                found
                                    .iter()
                                    .filter(|&&j| defs[j].category == Category::Type),
                            );
                        }
                    } else if let Some(found) = by_type.get(&full) {
                        stack.extend(found);
                    }
                });
            };
            for param in &def.params {
                match &param.kind {
                    ParameterKind::Value { ty, .. } => need(ty),
                    ParameterKind::Repeat { items } => items.iter().for_each(&mut need),
                    ParameterKind::Flags | ParameterKind::Builtin => {}
                }
            }
            need(&def.ty);
        }

        Ok(Schema {
            definitions: defs
                .iter()
                .zip(&chosen)
                .filter(|(_, c)| **c)
                .map(|(d, _)| d.clone())
                .collect(),
            layer: self.layer,
        })
    }

    /// Writes the schema back as TL text: types, then functions, one canonical line each.
    ///
    /// ```
    /// let schema = tl_schema::parse("---functions---\nping#7abe77ec ping_id:long = Pong;\n---types---\npong#347773c5 msg_id:long ping_id:long = Pong;").unwrap();
    /// let text = schema.to_tl();
    /// assert!(text.starts_with("pong#347773c5"));
    /// assert_eq!(tl_schema::parse(&text).unwrap().definitions.len(), 2);
    /// ```
    pub fn to_tl(&self) -> String {
        let mut out = String::new();
        for category in [Category::Type, Category::Function] {
            if category == Category::Function {
                out.push_str("\n---functions---\n\n");
            }
            for def in self.definitions.iter().filter(|d| d.category == category) {
                out.push_str(&def.to_string());
                out.push('\n');
            }
        }
        if let Some(layer) = self.layer {
            out.push_str(&format!("\n// LAYER {layer}\n"));
        }
        out
    }
}
