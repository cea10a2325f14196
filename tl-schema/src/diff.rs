//! Differences between two layers of a schema.

use crate::ast::{Category, Schema};
use std::collections::BTreeMap;

/// A definition named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Constructor or function.
    pub category: Category,
    /// Full name, `messages.sendMessage`.
    pub name: String,
    /// Its id in the schema it comes from.
    pub id: u32,
}

/// A definition whose id differs between the two schemas.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdChange {
    /// Constructor or function.
    pub category: Category,
    /// Full name.
    pub name: String,
    /// The id in the old schema.
    pub old_id: u32,
    /// The id in the new schema.
    pub new_id: u32,
}

/// What changed between an old and a new schema, matched by name and category.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerDiff {
    /// Definitions only in the new schema.
    pub added: Vec<Entry>,
    /// Definitions only in the old schema.
    pub removed: Vec<Entry>,
    /// Definitions in both whose id changed (their parameters changed).
    pub changed_id: Vec<IdChange>,
}

/// Compares two schemas definition by definition, by name.
///
/// ```
/// let old = tl_schema::parse("a#00000001 = A; b#00000002 = B;").unwrap();
/// let new = tl_schema::parse("a#00000003 x:int = A; c#00000004 = C;").unwrap();
/// let d = tl_schema::diff(&old, &new);
/// assert_eq!((d.added.len(), d.removed.len(), d.changed_id.len()), (1, 1, 1));
/// assert_eq!(d.changed_id[0].new_id, 3);
/// ```
pub fn diff(old: &Schema, new: &Schema) -> LayerDiff {
    let index = |schema: &Schema| -> BTreeMap<(Category, String), u32> {
        schema
            .definitions
            .iter()
            .map(|d| ((d.category, d.full_name()), d.id))
            .collect()
    };
    let old_index = index(old);
    let new_index = index(new);
    let mut out = LayerDiff::default();
    for ((category, name), &new_id) in &new_index {
        match old_index.get(&(*category, name.clone())) {
            None => out.added.push(Entry {
                category: *category,
                name: name.clone(),
                id: new_id,
            }),
            Some(&old_id) if old_id != new_id => out.changed_id.push(IdChange {
                category: *category,
                name: name.clone(),
                old_id,
                new_id,
            }),
            Some(_) => {}
        }
    }
    for ((category, name), &old_id) in &old_index {
        if !new_index.contains_key(&(*category, name.clone())) {
            out.removed.push(Entry {
                category: *category,
                name: name.clone(),
                id: old_id,
            });
        }
    }
    out
}
