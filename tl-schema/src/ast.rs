//! The syntax tree of a TL schema.

use crate::name::{Name, Namespace};
use std::fmt;

/// A parsed TL schema: its definitions in file order and the layer it declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// Every constructor and function, in the order they appear.
    pub definitions: Vec<Definition>,
    /// The number of the `// LAYER N` line, if the file has one.
    pub layer: Option<u32>,
}

/// Whether a definition is a constructor of a type or a function (an RPC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Declared under `---types---` (the default section).
    Type,
    /// Declared under `---functions---`.
    Function,
}

/// One combinator: `name#id {X:Type} params... = Result;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// Namespace parts before the name (`["messages"]` for `messages.sendMessage`).
    pub namespace: Namespace,
    /// The name without namespace (`sendMessage`).
    pub name: Name,
    /// The constructor id: the explicit `#id` when given, else the computed CRC32.
    pub id: u32,
    /// Whether `id` was written in the schema (`#1cb5c415`) rather than computed.
    pub explicit_id: bool,
    /// Type parameters, `{X:Type}`.
    pub generics: Vec<GenericParam>,
    /// The parameters in order.
    pub params: Vec<Parameter>,
    /// The type this constructor builds or this function returns.
    pub ty: Type,
    /// Constructor or function.
    pub category: Category,
    /// Where the definition starts in its file (1-based line and column).
    pub position: Position,
}

/// A 1-based line and column in a schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub column: usize,
}

/// A type parameter `{X:Type}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericParam {
    /// Its name (`X`).
    pub name: Name,
    /// Its kind (`Type`, or `#` for natural numbers).
    pub kind: Name,
}

/// A parameter of a combinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its name; empty for the anonymous parameters of the built-in `vector` form.
    pub name: Name,
    /// What it holds.
    pub kind: ParameterKind,
}

/// What a parameter holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterKind {
    /// A flags word, `flags:#` (or the anonymous count `#` of the built-in vector).
    Flags,
    /// A value of a type, present only when a flag bit is set if `flag` is given.
    Value {
        /// The value's type.
        ty: Type,
        /// `flags.N?`: the flags word and bit that say whether the value is present.
        flag: Option<Flag>,
    },
    /// A repetition `[ t ]` (only the built-in `vector` definition uses it).
    Repeat {
        /// The types repeated.
        items: Vec<Type>,
    },
    /// `?`: a built-in whose layout is not expressible in TL (`int ? = Int;`).
    Builtin,
}

/// A reference to a flag bit, `flags2.5?`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flag {
    /// The flags parameter it reads (`flags`, `flags2`).
    pub name: Name,
    /// The bit, 0 to 31.
    pub index: u32,
}

/// A type expression: `Vector<long>`, `%Message`, `!X`, `messages.Messages`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Type {
    /// Namespace parts (`["messages"]` for `messages.Messages`).
    pub namespace: Namespace,
    /// The name without namespace.
    pub name: Name,
    /// Whether the type is bare: written with `%` or starting with a lowercase letter.
    pub bare: bool,
    /// Written with `!` (a generic type argument passed by value, as in `query:!X`).
    pub generic_ref: bool,
    /// The argument of a generic type (`long` in `Vector<long>` or `Vector long`).
    pub generic_arg: Option<Box<Type>>,
    /// Written with a leading `%`.
    pub percent: bool,
}

impl Definition {
    /// The full name with namespace, `messages.sendMessage`.
    pub fn full_name(&self) -> String {
        join_name(&self.namespace, &self.name)
    }

    /// Whether this is the built-in `vector {t:Type} # [ t ] = Vector t` definition.
    pub fn is_builtin_vector(&self) -> bool {
        self.namespace.is_empty() && self.name == "vector"
    }

    /// Whether this is a core built-in written as `int ? = Int;` in some schemas.
    pub fn is_builtin(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.kind, ParameterKind::Builtin))
    }
}

impl Type {
    /// A plain boxed or bare type with no namespace and no argument.
    pub fn named(name: &str) -> Self {
        Type {
            namespace: Namespace::new(),
            name: Name::new(name),
            bare: name.starts_with(|c: char| c.is_ascii_lowercase()),
            generic_ref: false,
            generic_arg: None,
            percent: false,
        }
    }

    /// The full name with namespace, `messages.Messages`.
    pub fn full_name(&self) -> String {
        join_name(&self.namespace, &self.name)
    }

    /// A boxed type with an empty name, for the parser to fill in.
    pub(crate) fn blank() -> Self {
        Type {
            namespace: Namespace::new(),
            name: Name::default(),
            bare: false,
            generic_ref: false,
            generic_arg: None,
            percent: false,
        }
    }
}

fn join_name(namespace: &[Name], name: &str) -> String {
    let mut out =
        String::with_capacity(name.len() + namespace.iter().map(|p| p.len() + 1).sum::<usize>());
    for part in namespace {
        out.push_str(part);
        out.push('.');
    }
    out.push_str(name);
    out
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.generic_ref {
            f.write_str("!")?;
        }
        if self.percent {
            f.write_str("%")?;
        }
        for part in &self.namespace {
            write!(f, "{part}.")?;
        }
        f.write_str(&self.name)?;
        if let Some(arg) = &self.generic_arg {
            write!(f, "<{arg}>")?;
        }
        Ok(())
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ParameterKind::Flags if self.name.is_empty() => f.write_str("#"),
            ParameterKind::Flags => write!(f, "{}:#", self.name),
            ParameterKind::Value { ty, flag } => {
                write!(f, "{}:", self.name)?;
                if let Some(flag) = flag {
                    write!(f, "{}.{}?", flag.name, flag.index)?;
                }
                write!(f, "{ty}")
            }
            ParameterKind::Repeat { items } => {
                f.write_str("[")?;
                for item in items {
                    write!(f, " {item}")?;
                }
                f.write_str(" ]")
            }
            ParameterKind::Builtin => f.write_str("?"),
        }
    }
}

/// Prints the definition as one canonical TL line, `name#id params = Type;`.
impl fmt::Display for Definition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{:08x}", self.full_name(), self.id)?;
        for generic in &self.generics {
            write!(f, " {{{}:{}}}", generic.name, generic.kind)?;
        }
        for param in &self.params {
            write!(f, " {param}")?;
        }
        if self.is_builtin_vector() {
            // The built-in form applies its result type with a space: `Vector t`. The `!` and
            // `%` marks are kept, as in the other form.
            f.write_str(" = ")?;
            if self.ty.generic_ref {
                f.write_str("!")?;
            }
            if self.ty.percent {
                f.write_str("%")?;
            }
            f.write_str(&self.ty.full_name())?;
            if let Some(arg) = &self.ty.generic_arg {
                write!(f, " {arg}")?;
            }
            return f.write_str(";");
        }
        write!(f, " = {};", self.ty)
    }
}

#[cfg(test)]
mod tests {
    /// Found by the `tl_parse` fuzz target: the built-in vector form printed its result type
    /// without its `!`, so the printed line parsed to another definition.
    #[test]
    fn printing_keeps_the_marks_of_a_vector_result_type() {
        for line in [
            "vector#1cb5c415 {t:Type} # [ t ] = Vector t;",
            "vector#1cb5c415 {t:Type} # [ t ] = !Vector t;",
            "vector#1cb5c415 {t:Type} # [ t ] = %Vector t;",
        ] {
            let def = &crate::parse(line).unwrap().definitions[0];
            assert_eq!(def.to_string(), line);
            let again = &crate::parse(&def.to_string()).unwrap().definitions[0];
            assert_eq!(again.ty, def.ty);
        }
    }
}
