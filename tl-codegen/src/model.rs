//! What the generator knows about a schema before it writes anything: which definitions
//! become which Rust items, which enum variants must be boxed, and how to end recursion.

use crate::Error;
use std::collections::{BTreeMap, HashMap, HashSet};
use tl_schema::{Category, Definition, Namespace, ParameterKind, Schema, Type};

/// TL types that map to Rust types directly and get no generated item.
const NATIVE_BOXED: &[&str] = &["Bool", "True", "Vector"];

/// Scalar TL types and their Rust spelling.
pub fn scalar(name: &str) -> Option<&'static str> {
    Some(match name {
        "int" => "i32",
        "long" => "i64",
        "double" => "f64",
        "#" => "u32",
        "int128" => "[u8; 16]",
        "int256" => "[u8; 32]",
        "string" => "::std::string::String",
        "bytes" => "::tl_runtime::Bytes",
        "Bool" | "true" => "bool",
        "Object" => "::tl_runtime::Blob",
        _ => return None,
    })
}

/// A boxed type and the constructors that build it.
pub struct EnumInfo {
    /// Namespace of the type.
    pub namespace: Namespace,
    /// Type name without namespace.
    pub name: String,
    /// Indexes into `Model::constructors`.
    pub constructors: Vec<usize>,
    /// The constructor to pick when arbitrary generation must stop nesting.
    pub shallowest: usize,
}

/// The analysed schema.
pub struct Model<'s> {
    /// Constructors that become structs, in file order.
    pub constructors: Vec<&'s Definition>,
    /// Functions, in file order.
    pub functions: Vec<&'s Definition>,
    /// Boxed types by full name, sorted.
    pub enums: BTreeMap<String, EnumInfo>,
    /// Constructor index by full name.
    pub constructor_index: HashMap<String, usize>,
    /// Constructors whose enum variant holds a `Box` (they can contain their own type).
    pub boxed: HashSet<usize>,
    /// The layer of the schema.
    pub layer: Option<u32>,
    /// Whether types the schema does not define are taken from elsewhere (a layer bridge's
    /// references into the primary layer) rather than an error.
    pub external_types: bool,
}

/// Whether a type is a bare reference to a constructor (`future_salt`, `%Message`).
pub fn is_bare_constructor(ty: &Type) -> bool {
    (ty.bare || ty.percent) && !ty.generic_ref && scalar(&ty.name).is_none() && ty.name != "vector"
}

impl<'s> Model<'s> {
    pub fn new(schema: &'s Schema) -> Result<Self, Error> {
        Self::build(schema, false)
    }

    /// A model whose references to types it does not define point into another module.
    pub fn with_external_types(schema: &'s Schema) -> Result<Self, Error> {
        Self::build(schema, true)
    }

    fn build(schema: &'s Schema, external_types: bool) -> Result<Self, Error> {
        let mut model = Model {
            constructors: Vec::new(),
            functions: Vec::new(),
            enums: BTreeMap::new(),
            constructor_index: HashMap::new(),
            boxed: HashSet::new(),
            layer: schema.layer,
            external_types,
        };
        for def in &schema.definitions {
            if def.is_builtin() || def.is_builtin_vector() {
                continue;
            }
            match def.category {
                Category::Function => model.functions.push(def),
                Category::Type => {
                    let ty = def.ty.full_name();
                    if NATIVE_BOXED.contains(&ty.as_str()) {
                        continue;
                    }
                    let index = model.constructors.len();
                    model.constructors.push(def);
                    model.constructor_index.insert(def.full_name(), index);
                    model
                        .enums
                        .entry(ty)
                        .or_insert_with(|| EnumInfo {
                            namespace: def.ty.namespace.clone(),
                            name: def.ty.name.as_str().to_owned(),
                            constructors: Vec::new(),
                            shallowest: index,
                        })
                        .constructors
                        .push(index);
                }
            }
        }
        model.check_references()?;
        model.find_boxed();
        model.find_shallowest();
        Ok(model)
    }

    /// The constructor a bare reference denotes.
    pub fn bare_target(&self, ty: &Type) -> Option<usize> {
        if ty.percent {
            let info = self.enums.get(&ty.full_name())?;
            return match info.constructors.as_slice() {
                [only] => Some(*only),
                _ => None,
            };
        }
        self.constructor_index.get(&ty.full_name()).copied()
    }

    fn check_references(&self) -> Result<(), Error> {
        for def in self.constructors.iter().chain(&self.functions) {
            let generics: HashSet<&str> = def.generics.iter().map(|g| g.name.as_str()).collect();
            for param in &def.params {
                match &param.kind {
                    ParameterKind::Value { ty, .. } => self.check_type(def, ty, &generics)?,
                    ParameterKind::Flags => {}
                    ParameterKind::Repeat { .. } | ParameterKind::Builtin => {
                        return Err(Error::Unsupported {
                            definition: def.full_name(),
                            reason: "repetitions `[ ]` and `?` are only supported in built-ins"
                                .into(),
                        });
                    }
                }
            }
            if def.category == Category::Function {
                self.check_type(def, &def.ty, &generics)?;
            }
        }
        Ok(())
    }

    fn check_type(
        &self,
        def: &Definition,
        ty: &Type,
        generics: &HashSet<&str>,
    ) -> Result<(), Error> {
        let name = ty.full_name();
        if ty.generic_ref || generics.contains(name.as_str()) {
            return Ok(());
        }
        if name == "Vector" || name == "vector" {
            return match &ty.generic_arg {
                Some(arg) => self.check_type(def, arg, generics),
                None => Err(Error::Unsupported {
                    definition: def.full_name(),
                    reason: "a vector without item type".into(),
                }),
            };
        }
        if scalar(&name).is_some() {
            return Ok(());
        }
        let known = if is_bare_constructor(ty) {
            self.bare_target(ty).is_some()
        } else {
            self.enums.contains_key(&name)
        };
        if known || self.external_types {
            Ok(())
        } else {
            Err(Error::Unsupported {
                definition: def.full_name(),
                reason: format!("type `{ty}` is not defined by a constructor of the schema"),
            })
        }
    }

    /// Enums and structs a constructor holds inline (not behind a `Vec`).
    fn inline_refs(&self, def: &Definition) -> Vec<Inline> {
        let mut out = Vec::new();
        for param in &def.params {
            if let ParameterKind::Value { ty, .. } = &param.kind {
                if ty.generic_ref || ty.generic_arg.is_some() || scalar(&ty.name).is_some() {
                    continue;
                }
                if is_bare_constructor(ty) {
                    if let Some(i) = self.bare_target(ty) {
                        out.push(Inline::Struct(i));
                    }
                } else {
                    out.push(Inline::Enum(ty.full_name()));
                }
            }
        }
        out
    }

    /// Boxes every variant whose struct can contain, inline, the enum it belongs to.
    fn find_boxed(&mut self) {
        for (index, def) in self.constructors.iter().enumerate() {
            let own = def.ty.full_name();
            let mut seen_enums: HashSet<String> = HashSet::new();
            let mut seen_structs: HashSet<usize> = HashSet::from([index]);
            let mut stack = self.inline_refs(def);
            let mut recursive = false;
            while let Some(item) = stack.pop() {
                match item {
                    Inline::Enum(name) => {
                        if name == own {
                            recursive = true;
                            break;
                        }
                        if seen_enums.insert(name.clone()) {
                            if let Some(info) = self.enums.get(&name) {
                                for &c in &info.constructors {
                                    if seen_structs.insert(c) {
                                        stack.extend(self.inline_refs(self.constructors[c]));
                                    }
                                }
                            }
                        }
                    }
                    Inline::Struct(c) => {
                        if seen_structs.insert(c) {
                            stack.extend(self.inline_refs(self.constructors[c]));
                        }
                    }
                }
            }
            if recursive {
                self.boxed.insert(index);
            }
        }
    }

    /// For each enum, the constructor that nests least when optional fields are left out.
    fn find_shallowest(&mut self) {
        let mandatory: Vec<Vec<Inline>> = self
            .constructors
            .iter()
            .map(|def| {
                let mut refs = Vec::new();
                for param in &def.params {
                    if let ParameterKind::Value { ty, flag: None } = &param.kind {
                        if ty.generic_ref || ty.generic_arg.is_some() || scalar(&ty.name).is_some()
                        {
                            continue;
                        }
                        if is_bare_constructor(ty) {
                            if let Some(i) = self.bare_target(ty) {
                                refs.push(Inline::Struct(i));
                            }
                        } else {
                            refs.push(Inline::Enum(ty.full_name()));
                        }
                    }
                }
                refs
            })
            .collect();
        let mut enum_cost: HashMap<String, u32> = HashMap::new();
        let mut struct_cost: Vec<Option<u32>> = vec![None; self.constructors.len()];
        loop {
            let mut changed = false;
            for (i, refs) in mandatory.iter().enumerate() {
                let mut cost = Some(0u32);
                for r in refs {
                    let c = match r {
                        Inline::Enum(name) => enum_cost.get(name).copied(),
                        Inline::Struct(s) => struct_cost[*s],
                    };
                    cost = match (cost, c) {
                        (Some(a), Some(b)) => Some(a.max(b + 1)),
                        _ => None,
                    };
                }
                if cost.is_some() && (struct_cost[i].is_none() || cost < struct_cost[i]) {
                    struct_cost[i] = cost;
                    changed = true;
                }
            }
            for (name, info) in &mut self.enums {
                let best = info
                    .constructors
                    .iter()
                    .filter_map(|&c| struct_cost[c].map(|cost| (cost, c)))
                    .min();
                if let Some((cost, c)) = best {
                    if enum_cost.get(name).is_none_or(|&old| cost < old) {
                        enum_cost.insert(name.clone(), cost);
                        info.shallowest = c;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }
}

enum Inline {
    Enum(String),
    Struct(usize),
}
