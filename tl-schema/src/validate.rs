//! Checks a parsed schema for mistakes the grammar cannot see.

use crate::ast::{Category, Definition, ParameterKind, Position, Schema, Type};
use std::collections::{HashMap, HashSet};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Code generated from the schema would be wrong or would not compile.
    Error,
    /// Suspicious but seen in real schemas (an explicit id that differs from the computed one).
    Warning,
}

/// What a diagnostic is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A parameter or result refers to a type nothing in the schema constructs.
    #[error("`{definition}` uses type `{ty}`, which no constructor in the schema builds")]
    UndefinedType {
        /// The definition with the reference.
        definition: String,
        /// The type that is not defined.
        ty: String,
    },
    /// Two definitions share an id.
    #[error("`{second}` has id {id:#010x}, already used by `{first}`")]
    DuplicateId {
        /// The shared id.
        id: u32,
        /// The definition that had it first.
        first: String,
        /// The definition that has it again.
        second: String,
    },
    /// Two constructors (or two functions) share a name.
    #[error("`{name}` is defined twice as a {category:?}")]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// Constructor or function.
        category: Category,
    },
    /// The written `#id` differs from the CRC32 of the normalised line.
    #[error(
        "`{name}` is written with id {explicit:#010x}, but its line computes to {computed:#010x}"
    )]
    IdMismatch {
        /// The definition.
        name: String,
        /// The id written in the schema.
        explicit: u32,
        /// The id computed from the line.
        computed: u32,
    },
    /// A `name.N?` refers to a flags word that is not an earlier `name:#` parameter.
    #[error(
        "`{definition}` parameter `{param}` reads flags word `{flags}`, which is not declared before it"
    )]
    UndefinedFlags {
        /// The definition.
        definition: String,
        /// The conditional parameter.
        param: String,
        /// The flags word it names.
        flags: String,
    },
    /// `!X` names a type parameter the definition does not declare.
    #[error("`{definition}` uses `!{name}`, but declares no type parameter `{name}`")]
    UndefinedGeneric {
        /// The definition.
        definition: String,
        /// The parameter name.
        name: String,
    },
}

/// One finding of [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the definition concerned starts.
    pub position: Position,
    /// What is wrong.
    pub problem: Problem,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: line {}: {}", self.position.line, self.problem)
    }
}

/// Types every schema may use without defining them.
pub const BUILTIN_TYPES: &[&str] = &[
    "int", "long", "double", "string", "bytes", "int128", "int256", "#", "true", "Type", "Object",
    "Vector", "vector",
];

/// Checks for undefined types, duplicate ids and names, undeclared flags or type parameters,
/// and (as warnings) explicit ids that differ from the computed ones.
///
/// ```
/// let schema = tl_schema::parse("foo#00000001 x:Bar = Foo;").unwrap();
/// let diagnostics = tl_schema::validate(&schema);
/// assert!(diagnostics.iter().any(|d| d.to_string().contains("uses type `Bar`")));
/// // 00000001 is not the CRC32 of `foo x:Bar = Foo`: a warning, not an error.
/// assert!(diagnostics.iter().any(|d| d.severity == tl_schema::Severity::Warning));
/// ```
pub fn validate(schema: &Schema) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let boxed: HashSet<String> = schema
        .definitions
        .iter()
        .filter(|d| d.category == Category::Type)
        .map(|d| d.ty.full_name())
        .collect();
    let constructors: HashSet<String> = schema
        .definitions
        .iter()
        .filter(|d| d.category == Category::Type)
        .map(Definition::full_name)
        .collect();
    let mut ids: HashMap<u32, String> = HashMap::new();
    let mut names: HashSet<(Category, String)> = HashSet::new();

    for def in &schema.definitions {
        let name = def.full_name();
        let mut report = |severity, problem| {
            out.push(Diagnostic {
                severity,
                position: def.position,
                problem,
            })
        };
        if let Some(first) = ids.get(&def.id) {
            report(
                Severity::Error,
                Problem::DuplicateId {
                    id: def.id,
                    first: first.clone(),
                    second: name.clone(),
                },
            );
        } else {
            ids.insert(def.id, name.clone());
        }
        if !names.insert((def.category, name.clone())) {
            report(
                Severity::Error,
                Problem::DuplicateName {
                    name: name.clone(),
                    category: def.category,
                },
            );
        }
        if def.explicit_id && !def.is_builtin() {
            let computed = crate::id::compute_id(def);
            if computed != def.id {
                report(
                    Severity::Warning,
                    Problem::IdMismatch {
                        name: name.clone(),
                        explicit: def.id,
                        computed,
                    },
                );
            }
        }

        let generics: HashSet<&str> = def.generics.iter().map(|g| g.name.as_str()).collect();
        let mut flags_seen: HashSet<&str> = HashSet::new();
        let check_type = |ty: &Type, report: &mut dyn FnMut(Severity, Problem)| {
            for_each_type(ty, &mut |t| {
                let full = t.full_name();
                if t.generic_ref || generics.contains(full.as_str()) {
                    if !generics.contains(full.as_str()) {
                        report(
                            Severity::Error,
                            Problem::UndefinedGeneric {
                                definition: name.clone(),
                                name: full,
                            },
                        );
                    }
                    return;
                }
                let known = BUILTIN_TYPES.contains(&full.as_str())
                    || if t.bare && !t.percent {
                        constructors.contains(&full)
                    } else {
                        boxed.contains(&full)
                    };
                if !known {
                    report(
                        Severity::Error,
                        Problem::UndefinedType {
                            definition: name.clone(),
                            ty: t.to_string(),
                        },
                    );
                }
            });
        };
        for param in &def.params {
            match &param.kind {
                ParameterKind::Flags => {
                    flags_seen.insert(param.name.as_str());
                }
                ParameterKind::Value { ty, flag } => {
                    if let Some(flag) = flag {
                        if !flags_seen.contains(flag.name.as_str()) {
                            report(
                                Severity::Error,
                                Problem::UndefinedFlags {
                                    definition: name.clone(),
                                    param: param.name.as_str().to_owned(),
                                    flags: flag.name.as_str().to_owned(),
                                },
                            );
                        }
                    }
                    check_type(ty, &mut report);
                }
                ParameterKind::Repeat { items } => {
                    for item in items {
                        check_type(item, &mut report);
                    }
                }
                ParameterKind::Builtin => {}
            }
        }
        if !def.is_builtin() && !def.is_builtin_vector() {
            check_type(&def.ty, &mut report);
        }
    }
    out
}

/// Calls `f` on a type and on each type argument inside it.
pub(crate) fn for_each_type(ty: &Type, f: &mut dyn FnMut(&Type)) {
    f(ty);
    if let Some(arg) = &ty.generic_arg {
        for_each_type(arg, f);
    }
}
