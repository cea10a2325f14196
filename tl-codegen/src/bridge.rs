//! Layer bridges: the definitions of an older layer whose shape differs from the primary
//! layer's, and generated conversions between the two.
//!
//! A definition of the old layer is *affected* when the primary layer has nothing of that name,
//! a different id, different parameters, or when one of its parameters holds an affected type
//! (transitively). A boxed type is affected when one of its constructors is. Only affected
//! items get Rust types in the bridge; everything else is the primary layer's own type.
//! Values are converted field by field, by name: a field the target layer lacks is dropped, an
//! optional target field without a source is left empty, and a required one needs a
//! hand-written [`Rule`].

use crate::emit::{Emitter, External, variant_names};
use crate::model::{Model, is_bare_constructor, scalar};
use crate::names::{field_ident, ident, module_ident, type_name};
use crate::{Error, Options};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use tl_schema::{Category, Definition, Name, ParameterKind, Schema, Type};

/// Which way values go through a bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From the old layer to the primary one (requests of old clients).
    Up,
    /// From the primary layer to the old one (results and updates for old clients).
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RuleTarget {
    Field {
        direction: Direction,
        definition: String,
        field: String,
    },
    Result {
        function: String,
    },
    Refuse {
        direction: Direction,
        definition: String,
    },
}

/// A hand-written conversion the generator cannot derive, named by the Rust path of a function
/// in the crate that includes the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    target: RuleTarget,
    function: String,
    /// Registered with [`Bridge::offer`]: used only where the bridge needs it.
    offered: bool,
}

impl Rule {
    /// The value of a required `field` of `definition` (its name in the target layer of
    /// `direction`) that has no counterpart in the source layer. `function` is called as
    /// `function(&source) -> Result<FieldType, tl_runtime::LayerError>`, where `source` is the
    /// whole source value.
    pub fn field(direction: Direction, definition: &str, field: &str, function: &str) -> Self {
        Rule {
            target: RuleTarget::Field {
                direction,
                definition: definition.to_owned(),
                field: field.to_owned(),
            },
            function: function.to_owned(),
            offered: false,
        }
    }

    /// Values of constructor `definition` are not carried in `direction`: converting one fails
    /// with `LayerError::Rule { reason }`. For what the other layer cannot express and the
    /// including program never sends.
    pub fn refuse(direction: Direction, definition: &str, reason: &str) -> Self {
        Rule {
            target: RuleTarget::Refuse {
                direction,
                definition: definition.to_owned(),
            },
            function: reason.to_owned(),
            offered: false,
        }
    }

    /// The result of `function` when its return type differs by name between the layers:
    /// `rule(primary_result) -> Result<T, tl_runtime::LayerError>` where `T` is the primary
    /// layer's type named like the old layer's return type; that is then converted down.
    pub fn result(function: &str, rule: &str) -> Self {
        Rule {
            target: RuleTarget::Result {
                function: function.to_owned(),
            },
            function: rule.to_owned(),
            offered: false,
        }
    }
}

/// A layer bridge to generate next to the primary layer's code: see
/// [`Config::layer_bridge`](crate::Config::layer_bridge).
#[derive(Debug, Clone)]
pub struct Bridge {
    old: PathBuf,
    out_file: Option<PathBuf>,
    primary_path: String,
    rules: Vec<Rule>,
    both_ways: bool,
}

impl Bridge {
    /// A bridge from the old layer in `old_schema` to the primary layer.
    pub fn new(old_schema: impl AsRef<Path>) -> Self {
        Bridge {
            old: old_schema.as_ref().to_owned(),
            out_file: None,
            primary_path: "crate".to_owned(),
            rules: Vec::new(),
            both_ways: false,
        }
    }

    /// Where to write; relative paths are inside `$OUT_DIR`. Default `layer_<N>.rs`.
    pub fn out_file(mut self, path: impl AsRef<Path>) -> Self {
        self.out_file = Some(path.as_ref().to_owned());
        self
    }

    /// The Rust path of the module holding the primary layer's `types`, `enums` and
    /// `functions` (default `crate`).
    pub fn primary_path(mut self, path: &str) -> Self {
        self.primary_path = path.to_owned();
        self
    }

    /// Converts every generated type both ways, not only the way a server needs it (requests
    /// up, results and updates down): for clients of the old layer and round-trip tests.
    pub fn both_ways(mut self, on: bool) -> Self {
        self.both_ways = on;
        self
    }

    /// Registers a hand-written rule. It must apply to something the bridge generates, and it
    /// takes the place of what the generator would derive.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Offers a rule that is used only where the bridge needs one and is not an error where it
    /// applies to nothing: a field rule only for a required field with no counterpart, a
    /// result rule only where the return types differ by name, a refusal only for a
    /// constructor that would otherwise lack a required field. Rules registered with
    /// [`rule`](Self::rule) come first. For one catalogue of rules offered to every layer's
    /// bridge, so that a new layer needs no code as long as the catalogue covers its gaps (a
    /// gap it does not cover is still reported, naming the rule to write).
    ///
    /// ```
    /// use tl_codegen::{Bridge, Direction, Rule};
    /// let bridge = Bridge::new("schemas/api-227.tl").offer(Rule::refuse(
    ///     Direction::Down,
    ///     "replyInlineMarkup",
    ///     "inline keyboards are not carried between these layers",
    /// ));
    /// assert_eq!(bridge.old_schema(), std::path::Path::new("schemas/api-227.tl"));
    /// ```
    pub fn offer(mut self, mut rule: Rule) -> Self {
        rule.offered = true;
        self.rules.push(rule);
        self
    }

    /// The old schema's file.
    pub fn old_schema(&self) -> &Path {
        &self.old
    }

    pub(crate) fn out_name(&self, layer: Option<u32>) -> PathBuf {
        self.out_file.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "layer_{}.rs",
                layer.map_or_else(|| "old".to_owned(), |l| l.to_string())
            ))
        })
    }

    /// Generates the bridge's code from the primary and the old schema (formatted with
    /// prettyplease when the `format` feature is on).
    pub fn generate_from_schemas(&self, primary: &Schema, old: &Schema) -> Result<String, Error> {
        self.generate_with(primary, old, cfg!(feature = "format"))
    }

    /// [`Bridge::generate_from_schemas`], formatted with prettyplease if `format`.
    pub(crate) fn generate_with(
        &self,
        primary: &Schema,
        old: &Schema,
        format: bool,
    ) -> Result<String, Error> {
        let analysis = Analysis::new(primary, old);
        let tokens = analysis.emit(self)?;
        crate::render(
            tokens,
            "// @generated by tl-codegen (layer bridge). Do not edit: change the schemas and regenerate.\n\n",
            format,
        )
    }
}

/// A report of what differs between two layers, for the `tl bridge` command and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeReport {
    /// Old-layer constructors that get their own Rust type.
    pub constructors: Vec<String>,
    /// Old-layer boxed types that get their own enum.
    pub types: Vec<String>,
    /// Old-layer functions whose request is converted.
    pub functions: Vec<String>,
    /// Old-layer functions whose result is converted.
    pub results: Vec<String>,
}

/// What differs between `old` and `primary` and what a bridge would generate.
pub fn bridge_report(primary: &Schema, old: &Schema) -> BridgeReport {
    let a = Analysis::new(primary, old);
    let sets = a.sets(false);
    BridgeReport {
        constructors: sets.local_ctors.iter().cloned().collect(),
        types: sets.enums.iter().cloned().collect(),
        functions: a.up_functions.iter().map(|f| f.full_name()).collect(),
        results: a.result_functions.iter().map(|f| f.full_name()).collect(),
    }
}

/// How a parameter is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Required,
    Optional,
    /// `flags.N?true`: a `bool`.
    Flag,
}

struct FieldInfo<'d> {
    name: &'d str,
    ty: &'d Type,
    presence: Presence,
}

fn field_infos(def: &Definition) -> Vec<FieldInfo<'_>> {
    def.params
        .iter()
        .filter_map(|p| match &p.kind {
            ParameterKind::Value { ty, flag } => Some(FieldInfo {
                name: &p.name,
                ty,
                presence: match flag {
                    None => Presence::Required,
                    Some(_) if ty.full_name() == "true" => Presence::Flag,
                    Some(_) => Presence::Optional,
                },
            }),
            _ => None,
        })
        .collect()
}

/// How one value becomes the other layer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueConv {
    Identity,
    Convert,
    /// `int` to `long`.
    Widen,
}

const NATIVE: &[&str] = &["Bool", "True", "Vector"];

struct Analysis<'a> {
    primary: &'a Schema,
    old: &'a Schema,
    new_defs: HashMap<(Category, String), &'a Definition>,
    new_enums: HashMap<String, Vec<&'a Definition>>,
    old_ctors: HashMap<String, &'a Definition>,
    old_enums: BTreeMap<String, Vec<&'a Definition>>,
    affected_ctors: HashSet<String>,
    affected_enums: HashSet<String>,
    /// Old functions whose request must be converted.
    up_functions: Vec<&'a Definition>,
    /// Old functions whose result must be converted.
    result_functions: Vec<&'a Definition>,
}

/// The items a bridge emits.
struct Sets {
    /// Affected old enums to emit.
    enums: BTreeSet<String>,
    /// Affected old constructors to emit as local structs.
    local_ctors: BTreeSet<String>,
    /// Enums and constructors needed in each direction.
    up: (BTreeSet<String>, BTreeSet<String>),
    down: (BTreeSet<String>, BTreeSet<String>),
}

fn for_each_named(ty: &Type, f: &mut impl FnMut(&Type)) {
    if let Some(arg) = &ty.generic_arg {
        for_each_named(arg, f);
    }
    let name = ty.full_name();
    if ty.generic_ref || name == "Vector" || name == "vector" || scalar(&name).is_some() {
        return;
    }
    f(ty);
}

impl<'a> Analysis<'a> {
    fn new(primary: &'a Schema, old: &'a Schema) -> Self {
        let mut new_defs = HashMap::new();
        let mut new_enums: HashMap<String, Vec<&Definition>> = HashMap::new();
        for def in &primary.definitions {
            if def.is_builtin() || def.is_builtin_vector() {
                continue;
            }
            new_defs.insert((def.category, def.full_name()), def);
            if def.category == Category::Type {
                new_enums.entry(def.ty.full_name()).or_default().push(def);
            }
        }
        let mut old_ctors = HashMap::new();
        let mut old_enums: BTreeMap<String, Vec<&Definition>> = BTreeMap::new();
        for def in &old.definitions {
            if def.is_builtin() || def.is_builtin_vector() || def.category != Category::Type {
                continue;
            }
            if NATIVE.contains(&def.ty.full_name().as_str()) {
                continue;
            }
            old_ctors.insert(def.full_name(), def);
            old_enums.entry(def.ty.full_name()).or_default().push(def);
        }
        let mut a = Analysis {
            primary,
            old,
            new_defs,
            new_enums,
            old_ctors,
            old_enums,
            affected_ctors: HashSet::new(),
            affected_enums: HashSet::new(),
            up_functions: Vec::new(),
            result_functions: Vec::new(),
        };
        a.find_affected();
        a.find_functions();
        a
    }

    fn counterpart(&self, def: &Definition) -> Option<&'a Definition> {
        self.new_defs.get(&(def.category, def.full_name())).copied()
    }

    fn changed(&self, def: &Definition) -> bool {
        match self.counterpart(def) {
            None => true,
            Some(n) => n.id != def.id || n.params != def.params || n.ty != def.ty,
        }
    }

    /// Whether a type reference (of the old layer) holds an affected type.
    fn ty_affected(&self, ty: &Type) -> bool {
        let mut hit = false;
        for_each_named(ty, &mut |t| {
            let name = t.full_name();
            if is_bare_constructor(t) && !t.percent {
                hit |= self.affected_ctors.contains(&name);
            } else {
                hit |= self.affected_enums.contains(&name);
            }
        });
        hit
    }

    fn params_affected(&self, def: &Definition) -> bool {
        def.params.iter().any(|p| match &p.kind {
            ParameterKind::Value { ty, .. } => self.ty_affected(ty),
            _ => false,
        })
    }

    fn find_affected(&mut self) {
        let ctors: Vec<&Definition> = self.old_ctors.values().copied().collect();
        for def in &ctors {
            if self.changed(def) {
                self.affected_ctors.insert(def.full_name());
                self.affected_enums.insert(def.ty.full_name());
            }
        }
        loop {
            let mut grew = false;
            for def in &ctors {
                if !self.affected_ctors.contains(&def.full_name()) && self.params_affected(def) {
                    self.affected_ctors.insert(def.full_name());
                    self.affected_enums.insert(def.ty.full_name());
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
    }

    fn find_functions(&mut self) {
        for def in &self.old.definitions {
            if def.category != Category::Function || !def.generics.is_empty() {
                continue;
            }
            let Some(new) = self.counterpart(def) else {
                continue;
            };
            if new.id != def.id || new.params != def.params || self.params_affected(def) {
                self.up_functions.push(def);
            }
            if new.ty != def.ty || self.ty_affected(&def.ty) {
                self.result_functions.push(def);
            }
        }
    }

    /// The affected enums and constructors reachable from `roots`.
    fn closure<'t>(
        &self,
        roots: impl IntoIterator<Item = &'t Type>,
    ) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut enums = BTreeSet::new();
        let mut ctors = BTreeSet::new();
        let mut stack: Vec<Type> = Vec::new();
        for root in roots {
            for_each_named(root, &mut |t| stack.push(t.clone()));
        }
        while let Some(t) = stack.pop() {
            let name = t.full_name();
            let enum_name = if is_bare_constructor(&t) && !t.percent {
                match self.old_ctors.get(&name) {
                    Some(def) if self.affected_ctors.contains(&name) => def.ty.full_name(),
                    _ => continue,
                }
            } else if self.affected_enums.contains(&name) {
                name
            } else {
                continue;
            };
            if !enums.insert(enum_name.clone()) {
                continue;
            }
            for def in self.old_enums.get(&enum_name).into_iter().flatten() {
                if !self.affected_ctors.contains(&def.full_name()) {
                    continue;
                }
                ctors.insert(def.full_name());
                for p in &def.params {
                    if let ParameterKind::Value { ty, .. } = &p.kind {
                        for_each_named(ty, &mut |t| stack.push(t.clone()));
                    }
                }
            }
        }
        (enums, ctors)
    }

    fn sets(&self, both_ways: bool) -> Sets {
        let up_roots: Vec<&Type> = self
            .up_functions
            .iter()
            .flat_map(|f| f.params.iter())
            .filter_map(|p| match &p.kind {
                ParameterKind::Value { ty, .. } => Some(ty),
                _ => None,
            })
            .collect();
        let mut up = self.closure(up_roots);
        let mut down = self.closure(self.result_functions.iter().map(|f| &f.ty));
        if both_ways {
            up.0.extend(down.0.iter().cloned());
            up.1.extend(down.1.iter().cloned());
            down = up.clone();
        }
        let enums = up.0.union(&down.0).cloned().collect();
        let local_ctors = up.1.union(&down.1).cloned().collect();
        Sets {
            enums,
            local_ctors,
            up,
            down,
        }
    }

    /// How a value of `from` (source layer) becomes one of `to` (target layer).
    fn value_conv(&self, from: &Type, to: &Type, dir: Direction) -> Option<ValueConv> {
        let (f, t) = (from.full_name(), to.full_name());
        let vector = |n: &str| n == "Vector" || n == "vector";
        if vector(&f) && vector(&t) {
            let inner = self.value_conv(
                from.generic_arg.as_deref()?,
                to.generic_arg.as_deref()?,
                dir,
            )?;
            return (inner != ValueConv::Widen).then_some(inner);
        }
        let boolish = |n: &str| n == "Bool" || n == "true";
        if boolish(&f) && boolish(&t) {
            return Some(ValueConv::Identity);
        }
        if f != t {
            return (f == "int" && t == "long").then_some(ValueConv::Widen);
        }
        if scalar(&f).is_some() {
            return Some(ValueConv::Identity);
        }
        let old_ty = match dir {
            Direction::Up => from,
            Direction::Down => to,
        };
        let bare = is_bare_constructor(old_ty) && !old_ty.percent;
        let affected = if bare {
            self.affected_ctors.contains(&f)
        } else {
            self.affected_enums.contains(&f)
        };
        if !affected {
            return Some(ValueConv::Identity);
        }
        let exists = if bare {
            self.new_defs.contains_key(&(Category::Type, f.clone()))
        } else {
            self.new_enums.contains_key(&f)
        };
        exists.then_some(ValueConv::Convert)
    }

    fn emit(&self, bridge: &Bridge) -> Result<TokenStream, Error> {
        let sets = self.sets(bridge.both_ways);
        let ext: TokenStream = format!("{}::", bridge.primary_path.trim_end_matches("::"))
            .parse()
            .map_err(|_| Error::Unsupported {
                definition: bridge.primary_path.clone(),
                reason: "not a Rust path".into(),
            })?;

        // The old layer's part that gets Rust items: every constructor of the emitted enums
        // (the unaffected ones stay the primary layer's structs) and the converted functions.
        let sub = Schema {
            definitions: self
                .old
                .definitions
                .iter()
                .filter(|d| match d.category {
                    Category::Type => sets.enums.contains(&d.ty.full_name()),
                    Category::Function => self.up_functions.iter().any(|f| std::ptr::eq(*f, *d)),
                })
                .cloned()
                .collect(),
            layer: self.old.layer,
        };
        let old_model = Model::with_external_types(&sub)?;
        let primary_model = Model::new(self.primary)?;
        let external: HashSet<usize> = old_model
            .constructors
            .iter()
            .enumerate()
            .filter(|(_, d)| !sets.local_ctors.contains(&d.full_name()))
            .map(|(i, _)| i)
            .collect();
        let options = Options {
            server: true,
            ..Options::default()
        };
        let emitter = Emitter::with_external(
            &old_model,
            &options,
            External {
                path: ext.clone(),
                constructors: external.clone(),
            },
        );
        let items = emitter.file()?;

        let mut rules_used: HashSet<usize> = HashSet::new();
        let ctx = Ctx {
            a: self,
            bridge,
            ext: &ext,
            sets: &sets,
            old_model: &old_model,
            primary_model: &primary_model,
            external: &external,
            new_layer: self.primary.layer.map_or(0, |l| l as i32),
            old_layer: self.old.layer.map_or(0, |l| l as i32),
            missing: std::cell::RefCell::new(Vec::new()),
        };
        let mut convs = TokenStream::new();
        for def in &old_model.constructors {
            let name = def.full_name();
            if !sets.local_ctors.contains(&name) {
                continue;
            }
            let Some(new) = self.counterpart(def) else {
                continue;
            };
            if new.ty.full_name() != def.ty.full_name() {
                continue;
            }
            for dir in [Direction::Up, Direction::Down] {
                let needed = match dir {
                    Direction::Up => &sets.up.1,
                    Direction::Down => &sets.down.1,
                };
                if needed.contains(&name) {
                    convs.extend(ctx.struct_conv(def, new, dir, "types", &mut rules_used)?);
                }
            }
        }
        for name in &sets.enums {
            for dir in [Direction::Up, Direction::Down] {
                let needed = match dir {
                    Direction::Up => &sets.up.0,
                    Direction::Down => &sets.down.0,
                };
                if needed.contains(name) && self.new_enums.contains_key(name) {
                    convs.extend(ctx.enum_conv(name, dir));
                }
            }
        }
        for def in &self.up_functions {
            if let Some(new) = self.counterpart(def) {
                convs.extend(ctx.struct_conv(
                    def,
                    new,
                    Direction::Up,
                    "functions",
                    &mut rules_used,
                )?);
            }
        }
        let api = ctx.api(&mut rules_used)?;
        let missing = ctx.missing.take();
        if !missing.is_empty() {
            return Err(Error::Unsupported {
                definition: format!("the bridge from layer {}", ctx.old_layer),
                reason: format!("rules are needed:\n{}", missing.join("\n")),
            });
        }
        if let Some((i, _)) = bridge
            .rules
            .iter()
            .enumerate()
            .find(|(i, r)| !r.offered && !rules_used.contains(i))
        {
            let rule = &bridge.rules[i];
            return Err(Error::Unsupported {
                definition: format!("{:?}", rule.target),
                reason: format!("rule `{}` applies to nothing of the bridge", rule.function),
            });
        }
        Ok(quote! {
            #items
            #convs
            #api
        })
    }
}

struct Ctx<'c, 'a> {
    a: &'c Analysis<'a>,
    bridge: &'c Bridge,
    ext: &'c TokenStream,
    sets: &'c Sets,
    old_model: &'c Model<'c>,
    primary_model: &'c Model<'a>,
    external: &'c HashSet<usize>,
    new_layer: i32,
    old_layer: i32,
    /// Required fields without a source or a rule, reported all at once.
    missing: std::cell::RefCell<Vec<String>>,
}

fn path(root: &TokenStream, kind: &str, def_ns: &[Name], name: &str) -> TokenStream {
    let kind = ident(kind);
    let parts = def_ns.iter().map(|n| module_ident(n));
    let name = ident(&type_name(name));
    quote!(#root #kind :: #(#parts ::)* #name)
}

fn defaultable(ty: &Type) -> bool {
    let n = ty.full_name();
    scalar(&n).is_some() || n == "Vector" || n == "vector"
}

impl Ctx<'_, '_> {
    /// Rust tokens of a type reference on one side (`old`: the bridge's own items where it
    /// has them; else the primary layer's).
    fn ty(&self, ty: &Type, old: bool) -> TokenStream {
        let name = ty.full_name();
        if name == "Vector" || name == "vector" {
            let inner = ty
                .generic_arg
                .as_deref()
                .map(|t| self.ty(t, old))
                .unwrap_or_else(|| quote!(::tl_runtime::Blob));
            return quote!(::std::vec::Vec<#inner>);
        }
        if let Some(s) = scalar(&name) {
            return s.parse().unwrap_or_default();
        }
        let local = quote!();
        if is_bare_constructor(ty) && !ty.percent {
            let root = if old && self.sets.local_ctors.contains(&name) {
                &local
            } else {
                self.ext
            };
            return path(root, "types", &ty.namespace, &ty.name);
        }
        let root = if old && self.sets.enums.contains(&name) {
            &local
        } else {
            self.ext
        };
        path(root, "enums", &ty.namespace, &ty.name)
    }

    /// The rule (registered, or else offered when `offered`) for a field.
    fn find_rule(
        &self,
        dir: Direction,
        definition: &str,
        field: &str,
        offered: bool,
    ) -> Option<usize> {
        let target = RuleTarget::Field {
            direction: dir,
            definition: definition.to_owned(),
            field: field.to_owned(),
        };
        self.find(&target, offered)
    }

    /// The registered rule for `target`, or else, when `offered`, the offered one.
    fn find(&self, target: &RuleTarget, offered: bool) -> Option<usize> {
        let rules = &self.bridge.rules;
        rules
            .iter()
            .position(|r| !r.offered && r.target == *target)
            .or_else(|| {
                offered
                    .then(|| rules.iter().position(|r| r.offered && r.target == *target))
                    .flatten()
            })
    }

    /// Whether converting `src` into `dst` leaves a required field of `dst` without a value:
    /// no registered rule, no source field, no offered rule.
    fn lacks_field(&self, src: &Definition, dst: &Definition, dir: Direction) -> bool {
        let dst_name = dst.full_name();
        let src_fields = field_infos(src);
        field_infos(dst).iter().any(|d| {
            d.presence == Presence::Required
                && self.find_rule(dir, &dst_name, d.name, true).is_none()
                && src_fields
                    .iter()
                    .find(|s| s.name == d.name)
                    .and_then(|s| self.a.value_conv(s.ty, d.ty, dir))
                    .is_none()
        })
    }

    fn rule_path(&self, i: usize) -> Result<TokenStream, Error> {
        let f = &self.bridge.rules[i].function;
        let bad = || Error::Unsupported {
            definition: f.clone(),
            reason: "a rule must name a function by its Rust path".into(),
        };
        let path = f.trim();
        for segment in path.strip_prefix("::").unwrap_or(path).split("::") {
            let segment = segment.trim();
            let special = matches!(segment, "crate" | "self" | "super" | "Self");
            if !(special || crate::names::is_plain_ident(segment)) {
                return Err(bad());
            }
        }
        f.parse::<TokenStream>().map_err(|_| bad())
    }

    /// `impl Convert<Target> for Source` for a constructor or function in one direction.
    fn struct_conv(
        &self,
        old: &Definition,
        new: &Definition,
        dir: Direction,
        kind: &str,
        rules_used: &mut HashSet<usize>,
    ) -> Result<TokenStream, Error> {
        let local = quote!();
        let old_path = path(&local, kind, &old.namespace, &old.name);
        let new_path = path(self.ext, kind, &new.namespace, &new.name);
        let (src, dst, src_path, dst_path) = match dir {
            Direction::Up => (old, new, old_path, new_path),
            Direction::Down => (new, old, new_path, old_path),
        };
        let dst_name = dst.full_name();
        let refusal = RuleTarget::Refuse {
            direction: dir,
            definition: dst_name.clone(),
        };
        let refuse = self
            .find(&refusal, false)
            .or_else(|| self.find(&refusal, self.lacks_field(src, dst, dir)));
        if let Some(i) = refuse {
            rules_used.insert(i);
            let reason = &self.bridge.rules[i].function;
            return Ok(quote! {
                #[allow(clippy::all)]
            impl ::tl_runtime::Convert<#dst_path> for #src_path {
                    fn convert(self) -> ::std::result::Result<#dst_path, ::tl_runtime::LayerError> {
                        let _ = self;
                        ::std::result::Result::Err(::tl_runtime::LayerError::Rule { rule: #dst_name, reason: #reason })
                    }
                }
            });
        }
        let src_fields = field_infos(src);
        let dst_fields = field_infos(dst);
        let mut pre = TokenStream::new();
        let mut used: Vec<proc_macro2::Ident> = Vec::new();
        let mut inits = Vec::new();
        for d in &dst_fields {
            let did = field_ident(d.name);
            if let Some(i) = self.find_rule(dir, &dst_name, d.name, false) {
                rules_used.insert(i);
                let rule = self.rule_path(i)?;
                let local = ident(&format!("__rule_{}", d.name.to_ascii_lowercase()));
                pre.extend(quote!(let #local = #rule(&self)?;));
                inits.push(quote!(#did: #local));
                continue;
            }
            let source = src_fields.iter().find(|s| s.name == d.name);
            let conv = source.and_then(|s| self.a.value_conv(s.ty, d.ty, dir).map(|c| (s, c)));
            let offered = (conv.is_none() && d.presence == Presence::Required)
                .then(|| self.find_rule(dir, &dst_name, d.name, true))
                .flatten();
            if let Some(i) = offered {
                rules_used.insert(i);
                let rule = self.rule_path(i)?;
                let local = ident(&format!("__rule_{}", d.name.to_ascii_lowercase()));
                pre.extend(quote!(let #local = #rule(&self)?;));
                inits.push(quote!(#did: #local));
                continue;
            }
            let Some((s, conv)) = conv else {
                let value = match d.presence {
                    Presence::Optional => quote!(::std::option::Option::None),
                    Presence::Flag => quote!(false),
                    Presence::Required => {
                        self.missing.borrow_mut().push(format!(
                            "`{dst_name}.{}` (layer {}) has no counterpart in layer {}: register \
                             tl_codegen::Rule::field(Direction::{dir:?}, \"{dst_name}\", \"{}\", ...)",
                            d.name,
                            self.layer_of(dir),
                            self.source_layer(dir),
                            d.name
                        ));
                        quote!(::std::unreachable!())
                    }
                };
                inits.push(quote!(#did: #value));
                continue;
            };
            let sid = field_ident(s.name);
            used.push(sid.clone());
            let one = |v: TokenStream| -> TokenStream {
                match conv {
                    ValueConv::Identity => v,
                    ValueConv::Convert => quote!(::tl_runtime::Convert::convert(#v)?),
                    ValueConv::Widen => quote!(i64::from(#v)),
                }
            };
            let sp = if s.presence == Presence::Flag {
                Presence::Required
            } else {
                s.presence
            };
            let dp = if d.presence == Presence::Flag {
                Presence::Required
            } else {
                d.presence
            };
            let value = match (sp, dp) {
                (Presence::Required, Presence::Required) => one(quote!(#sid)),
                (Presence::Required, _) => {
                    let v = one(quote!(#sid));
                    quote!(::std::option::Option::Some(#v))
                }
                (_, Presence::Optional) => match conv {
                    ValueConv::Identity => quote!(#sid),
                    ValueConv::Convert => quote!(::tl_runtime::Convert::convert(#sid)?),
                    ValueConv::Widen => quote!(#sid.map(i64::from)),
                },
                (_, _) => {
                    let v = one(quote!(__v));
                    let missing = if defaultable(d.ty) || d.presence == Presence::Flag {
                        quote!(::std::default::Default::default())
                    } else {
                        let field = d.name;
                        quote!(return ::std::result::Result::Err(::tl_runtime::LayerError::MissingField { definition: #dst_name, field: #field }))
                    };
                    quote!(match #sid { ::std::option::Option::Some(__v) => #v, ::std::option::Option::None => #missing })
                }
            };
            inits.push(quote!(#did: #value));
        }
        let destructure = if used.is_empty() {
            quote!(let _ = self;)
        } else {
            quote!(let Self { #(#used,)* .. } = self;)
        };
        Ok(quote! {
            #[allow(clippy::all)]
            impl ::tl_runtime::Convert<#dst_path> for #src_path {
                #[allow(unused_variables)]
                fn convert(self) -> ::std::result::Result<#dst_path, ::tl_runtime::LayerError> {
                    #pre
                    #destructure
                    ::std::result::Result::Ok(#dst_path { #(#inits),* })
                }
            }
        })
    }

    fn layer_of(&self, dir: Direction) -> i32 {
        match dir {
            Direction::Up => self.new_layer,
            Direction::Down => self.old_layer,
        }
    }

    fn source_layer(&self, dir: Direction) -> i32 {
        match dir {
            Direction::Up => self.old_layer,
            Direction::Down => self.new_layer,
        }
    }

    /// `impl Convert` between the old and the primary enum of a boxed type.
    fn enum_conv(&self, name: &str, dir: Direction) -> TokenStream {
        let local = quote!();
        let (Some(old_info), Some(new_info)) = (
            self.old_model.enums.get(name),
            self.primary_model.enums.get(name),
        ) else {
            return TokenStream::new();
        };
        let ns = &old_info.namespace;
        let old_enum = path(&local, "enums", ns, &old_info.name);
        let new_enum = path(self.ext, "enums", ns, &new_info.name);
        let (src_model, src_info, dst_model, src_enum, dst_enum, dst_root, target_layer) = match dir
        {
            Direction::Up => (
                self.old_model,
                old_info,
                self.primary_model,
                &old_enum,
                &new_enum,
                self.ext.clone(),
                self.new_layer,
            ),
            Direction::Down => (
                self.primary_model,
                new_info,
                self.old_model,
                &new_enum,
                &old_enum,
                local.clone(),
                self.old_layer,
            ),
        };
        let names = variant_names(src_model, src_info);
        let mut arms = Vec::new();
        for (&c, vname) in src_info.constructors.iter().zip(&names) {
            let def = src_model.constructors[c];
            let vid = ident(vname);
            let full = def.full_name();
            let src_struct = match dir {
                Direction::Up if !self.external.contains(&c) => {
                    path(&local, "types", &def.namespace, &def.name)
                }
                _ => path(self.ext, "types", &def.namespace, &def.name),
            };
            let (pattern, bind) = if def.params.is_empty() {
                (quote!(Self::#vid), quote!(let __x = #src_struct {};))
            } else if src_model.boxed.contains(&c) {
                (quote!(Self::#vid(__x)), quote!(let __x = *__x;))
            } else {
                (quote!(Self::#vid(__x)), quote!())
            };
            let target = dst_model
                .constructor_index
                .get(&full)
                .copied()
                .filter(|&t| dst_model.constructors[t].ty.full_name() == name);
            let body = match target {
                None => quote! {
                    let _ = __x;
                    return ::std::result::Result::Err(::tl_runtime::LayerError::NoCounterpart { name: #full, layer: #target_layer });
                },
                Some(t) => {
                    let tdef = dst_model.constructors[t];
                    // The old side's struct is the primary one unless it is affected.
                    let old_local = self.sets.local_ctors.contains(&full);
                    if old_local {
                        let tpath = match dir {
                            Direction::Up => path(&dst_root, "types", &tdef.namespace, &tdef.name),
                            Direction::Down => path(&local, "types", &tdef.namespace, &tdef.name),
                        };
                        quote!(#dst_enum::from(::tl_runtime::Convert::<#tpath>::convert(__x)?))
                    } else {
                        quote!(#dst_enum::from(__x))
                    }
                }
            };
            arms.push(quote!(#pattern => { #bind #body }));
        }
        quote! {
            #[allow(clippy::all)]
            impl ::tl_runtime::Convert<#dst_enum> for #src_enum {
                fn convert(self) -> ::std::result::Result<#dst_enum, ::tl_runtime::LayerError> {
                    ::std::result::Result::Ok(match self { #(#arms)* })
                }
            }
        }
    }

    /// `upgrade_call`, `downgrade_result` and `downgrade_boxed`.
    fn api(&self, rules_used: &mut HashSet<usize>) -> Result<TokenStream, Error> {
        let local = quote!();
        let mut up_arms = Vec::new();
        for def in &self.a.up_functions {
            let Some(new) = self.a.counterpart(def) else {
                continue;
            };
            let id = hex(def.id);
            let old_fn = path(&local, "functions", &def.namespace, &def.name);
            let new_fn = path(self.ext, "functions", &new.namespace, &new.name);
            up_arms.push(quote! {
                #id => {
                    let call = <#old_fn as ::tl_runtime::Deserialize>::from_bytes(::tl_runtime::Bytes::copy_from_slice(body))?;
                    let call: #new_fn = ::tl_runtime::Convert::convert(call)?;
                    ::tl_runtime::Serialize::to_bytes(&call)
                }
            });
        }
        let mut down_arms = Vec::new();
        for def in &self.a.result_functions {
            let Some(new) = self.a.counterpart(def) else {
                continue;
            };
            let id = hex(def.id);
            let new_ret = self.ty(&new.ty, false);
            let old_ret = self.ty(&def.ty, true);
            let renamed = self.ty(&def.ty, false);
            let rule = self.find(
                &RuleTarget::Result {
                    function: def.full_name(),
                },
                new.ty != def.ty,
            );
            let step = match rule {
                Some(i) => {
                    rules_used.insert(i);
                    let rule = self.rule_path(i)?;
                    quote!(let value: #renamed = #rule(value)?;)
                }
                None if new.ty != def.ty => {
                    self.missing.borrow_mut().push(format!(
                        "`{}` returns `{}` in layer {} but `{}` in layer {}: register \
                         tl_codegen::Rule::result(\"{}\", ...)",
                        def.full_name(),
                        def.ty,
                        self.old_layer,
                        new.ty,
                        self.new_layer,
                        def.full_name()
                    ));
                    quote!()
                }
                None => quote!(),
            };
            let convert = if self.a.ty_affected(&def.ty) {
                quote!(let value: #old_ret = ::tl_runtime::Convert::convert(value)?;)
            } else {
                quote!()
            };
            down_arms.push(quote! {
                #id => {
                    let value = <#new_ret as ::tl_runtime::Deserialize>::from_bytes(::tl_runtime::Bytes::copy_from_slice(result))?;
                    #step
                    #convert
                    ::tl_runtime::Serialize::to_bytes(&value)
                }
            });
        }
        let mut boxed_arms = Vec::new();
        for name in &self.sets.down.0 {
            let (Some(old_info), Some(_)) = (
                self.old_model.enums.get(name),
                self.primary_model.enums.get(name),
            ) else {
                continue;
            };
            let old_enum = path(&local, "enums", &old_info.namespace, &old_info.name);
            let new_enum = path(self.ext, "enums", &old_info.namespace, &old_info.name);
            boxed_arms.push(quote! {
                #name => {
                    let value = <#new_enum as ::tl_runtime::Deserialize>::from_bytes(::tl_runtime::Bytes::copy_from_slice(bytes))?;
                    let value: #old_enum = ::tl_runtime::Convert::convert(value)?;
                    ::tl_runtime::Serialize::to_bytes(&value)
                }
            });
        }
        let (old_layer, new_layer) = (self.old_layer, self.new_layer);
        let up_doc = format!(
            " A call of layer {old_layer} (`body`: the function with its constructor id) as the \
             bytes of the same function in layer {new_layer}; `None` when the call is the same \
             in both."
        );
        let down_doc = format!(
            " The result of layer-{old_layer} function `function_id` (as the old client sent \
             it), given as the layer-{new_layer} result bytes, in layer {old_layer}; `None` when \
             the bytes are the same in both."
        );
        let boxed_doc = format!(
            " A layer-{new_layer} value of boxed type `tl_type` (`\"Updates\"`) in layer \
             {old_layer}; `None` when the type is the same in both."
        );
        Ok(quote! {
            /// The layer this bridge converts to and from.
            pub const PRIMARY_LAYER: i32 = #new_layer;

            #[doc = #up_doc]
            pub fn upgrade_call(body: &[u8]) -> ::std::result::Result<::std::option::Option<::std::vec::Vec<u8>>, ::tl_runtime::LayerError> {
                let id = match body.get(..4) {
                    ::std::option::Option::Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    ::std::option::Option::None => return ::std::result::Result::Ok(::std::option::Option::None),
                };
                ::std::result::Result::Ok(::std::option::Option::Some(match id {
                    #(#up_arms)*
                    _ => return ::std::result::Result::Ok(::std::option::Option::None),
                }))
            }

            #[doc = #down_doc]
            pub fn downgrade_result(function_id: u32, result: &[u8]) -> ::std::result::Result<::std::option::Option<::std::vec::Vec<u8>>, ::tl_runtime::LayerError> {
                ::std::result::Result::Ok(::std::option::Option::Some(match function_id {
                    #(#down_arms)*
                    _ => return ::std::result::Result::Ok(::std::option::Option::None),
                }))
            }

            #[doc = #boxed_doc]
            pub fn downgrade_boxed(tl_type: &str, bytes: &[u8]) -> ::std::result::Result<::std::option::Option<::std::vec::Vec<u8>>, ::tl_runtime::LayerError> {
                ::std::result::Result::Ok(::std::option::Option::Some(match tl_type {
                    #(#boxed_arms)*
                    _ => return ::std::result::Result::Ok(::std::option::Option::None),
                }))
            }
        })
    }
}

fn hex(id: u32) -> proc_macro2::Literal {
    format!("0x{id:08x}_u32")
        .parse()
        .unwrap_or_else(|_| proc_macro2::Literal::u32_suffixed(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = "
        peerUser#1 user_id:long = Peer;
        message#10 flags:# out:flags.1?true id:int peer:Peer text:string views:flags.2?int = Message;
        user#20 id:long name:string = User;
        ---functions---
        send#30 flags:# silent:flags.0?true peer:Peer text:string = Message;
        getUser#40 id:long = User;
        // LAYER 3
    ";
    const OLD: &str = "
        peerUser#1 user_id:long = Peer;
        message#11 id:int peer:Peer text:string legacy:int = Message;
        user#20 id:long name:string = User;
        ---functions---
        send#31 peer:Peer text:string = Message;
        getUser#40 id:long = User;
        // LAYER 2
    ";

    fn schemas() -> (Schema, Schema) {
        (
            tl_schema::parse(PRIMARY).unwrap(),
            tl_schema::parse(OLD).unwrap(),
        )
    }

    #[test]
    fn only_what_differs_is_generated() {
        let (primary, old) = schemas();
        let report = bridge_report(&primary, &old);
        assert_eq!(report.constructors, ["message"]);
        assert_eq!(report.types, ["Message"]);
        assert_eq!(report.functions, ["send"]);
        assert_eq!(report.results, ["send"]);
    }

    #[test]
    fn a_required_field_without_counterpart_needs_a_rule() {
        let (primary, old) = schemas();
        let err = Bridge::new("old.tl")
            .generate_from_schemas(&primary, &old)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`message.legacy` (layer 2)"), "{err}");
        let code = Bridge::new("old.tl")
            .rule(Rule::field(
                Direction::Down,
                "message",
                "legacy",
                "crate::rules::legacy",
            ))
            .generate_from_schemas(&primary, &old)
            .unwrap();
        assert!(code.contains("pub struct Message"));
        assert!(
            !code.contains("pub struct User"),
            "unchanged: not generated"
        );
        assert!(code.contains("crate::rules::legacy(&self)?"));
        assert!(code.contains("pub fn upgrade_call"));
        let unused = Bridge::new("old.tl")
            .rule(Rule::field(
                Direction::Down,
                "message",
                "legacy",
                "crate::rules::legacy",
            ))
            .rule(Rule::result("getUser", "crate::rules::nothing"))
            .generate_from_schemas(&primary, &old)
            .unwrap_err()
            .to_string();
        assert!(unused.contains("applies to nothing"), "{unused}");
    }

    #[test]
    fn offered_rules_apply_only_where_needed() {
        let (primary, old) = schemas();
        let code = Bridge::new("old.tl")
            // Needed: `message.legacy` has no counterpart.
            .offer(Rule::field(
                Direction::Down,
                "message",
                "legacy",
                "crate::rules::legacy",
            ))
            // Not needed: `message.text` has one, so the offer is not taken.
            .offer(Rule::field(
                Direction::Down,
                "message",
                "text",
                "crate::rules::text",
            ))
            // Applies to nothing: no error for an offer.
            .offer(Rule::result("getUser", "crate::rules::nothing"))
            .offer(Rule::refuse(Direction::Up, "message", "not needed"))
            .generate_from_schemas(&primary, &old)
            .unwrap();
        assert!(code.contains("crate::rules::legacy(&self)?"), "{code}");
        assert!(!code.contains("crate::rules::text"), "{code}");
        assert!(!code.contains("crate::rules::nothing"), "{code}");
        assert!(!code.contains("not needed"), "{code}");
        // An offered refusal stands in for a missing field rule.
        let code = Bridge::new("old.tl")
            .offer(Rule::refuse(Direction::Down, "message", "no legacy value"))
            .generate_from_schemas(&primary, &old)
            .unwrap();
        assert!(code.contains("no legacy value"), "{code}");
        // A registered rule still wins over the generator's own conversion.
        let code = Bridge::new("old.tl")
            .rule(Rule::field(
                Direction::Down,
                "message",
                "legacy",
                "crate::rules::legacy",
            ))
            .rule(Rule::field(
                Direction::Down,
                "message",
                "text",
                "crate::rules::text",
            ))
            .generate_from_schemas(&primary, &old)
            .unwrap();
        assert!(code.contains("crate::rules::text(&self)?"), "{code}");
    }
}
