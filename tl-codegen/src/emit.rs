//! Turns the analysed schema into Rust tokens.

use crate::model::{Model, is_bare_constructor, scalar};
use crate::names::{field_ident, ident, module_ident, type_name, variant_name};
use crate::{Error, Gate, Options};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;
use std::collections::{BTreeMap, HashMap, HashSet};
use tl_schema::{Category, Definition, Name, ParameterKind, Type};

/// How a value is written and read on the wire.
enum Wire {
    /// Through its `Serialize` / `Deserialize` impls.
    Plain,
    /// A constructor written without its id.
    BareStruct,
    /// A vector that is bare itself or holds bare items.
    Vector { bare: bool, item: Box<Wire> },
}

fn wire(ty: &Type) -> Wire {
    let name = ty.full_name();
    if name == "Vector" || name == "vector" {
        let item = ty.generic_arg.as_deref().map(wire).unwrap_or(Wire::Plain);
        let bare = name == "vector" || ty.percent;
        return match (bare, item) {
            (false, Wire::Plain) => Wire::Plain,
            (bare, item) => Wire::Vector {
                bare,
                item: Box::new(item),
            },
        };
    }
    if is_bare_constructor(ty) {
        Wire::BareStruct
    } else {
        Wire::Plain
    }
}

fn write_expr(wire: &Wire, value: TokenStream) -> TokenStream {
    match wire {
        Wire::Plain => quote!(::tl_runtime::Serialize::serialize(#value, __out)),
        Wire::BareStruct => quote!(::tl_runtime::SerializeBare::serialize_bare(#value, __out)),
        Wire::Vector { bare, item } => {
            let inner = write_expr(item, quote!(__x));
            quote!(::tl_runtime::write_vector(#value, #bare, __out, |__x, __out| #inner))
        }
    }
}

fn read_expr(wire: &Wire) -> TokenStream {
    match wire {
        Wire::Plain => quote!(::tl_runtime::Deserialize::deserialize(__reader)?),
        Wire::BareStruct => quote!(::tl_runtime::DeserializeBare::deserialize_bare(__reader)?),
        Wire::Vector { bare, item } => {
            let inner = read_expr(item);
            quote!(::tl_runtime::read_vector(__reader, #bare, |__reader| ::std::result::Result::Ok(#inner))?)
        }
    }
}

/// The local that holds the flags word `name` while (de)serializing.
fn flags_ident(name: &str) -> Ident {
    Ident::new(
        &format!("__flags_{}", name.to_ascii_lowercase()),
        proc_macro2::Span::call_site(),
    )
}

/// The wire size of an unconditional field of a fixed-size type, and whether its Rust value
/// is a byte array already (`int128`, `int256`) rather than a number.
fn fixed_size(ty: &Type) -> Option<(usize, bool)> {
    if !ty.namespace.is_empty() || ty.generic_ref || ty.generic_arg.is_some() {
        return None;
    }
    Some(match ty.name.as_str() {
        "int" => (4, false),
        "long" | "double" => (8, false),
        "int128" => (16, true),
        "int256" => (32, true),
        _ => return None,
    })
}

/// Consecutive fixed-size values written or read as one block of bytes.
#[derive(Default)]
struct FixedRun {
    /// Each value: its size, and the bytes to write or the local and type to read into.
    items: Vec<(usize, TokenStream, TokenStream)>,
    /// Locals to set to the offset in `__out` where the value of that index is written.
    offsets: Vec<(usize, Ident)>,
}

/// The local holding where flags word `word` was written, to complete it at the end.
fn at_ident(word: &Ident) -> Ident {
    Ident::new(&format!("__at{word}"), proc_macro2::Span::call_site())
}

impl FixedRun {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn len(&self) -> usize {
        self.items.iter().map(|(size, ..)| size).sum()
    }

    /// Adds a value to write, given as an expression of type `[u8; size]`.
    fn push(&mut self, size: usize, bytes: TokenStream) {
        self.items.push((size, bytes, TokenStream::new()));
    }

    /// Adds a value to write and a local `at` that will hold where in `__out` it went.
    fn push_at(&mut self, size: usize, bytes: TokenStream, at: Ident) {
        self.offsets.push((self.items.len(), at));
        self.push(size, bytes);
    }

    /// Adds a local `name: ty` to read.
    fn push_read(&mut self, size: usize, name: TokenStream, ty: TokenStream) {
        self.items.push((size, name, ty));
    }

    /// The statements appending the run to `__out`, and a new empty run.
    fn flush_write(&mut self) -> TokenStream {
        let items = std::mem::take(&mut self.items);
        let mut offsets = TokenStream::new();
        for (index, at) in std::mem::take(&mut self.offsets) {
            let before: usize = items[..index].iter().map(|(size, ..)| size).sum();
            offsets.extend(quote!(let #at: usize = __out.len() + #before;));
        }
        let write = match items.as_slice() {
            [] => TokenStream::new(),
            [(_, bytes, _)] => quote!(__out.extend_from_slice(&#bytes);),
            _ => {
                let total = items.iter().map(|(size, ..)| size).sum::<usize>();
                let mut at = 0usize;
                let puts = items.iter().map(|(size, bytes, _)| {
                    let (from, to) = (at, at + size);
                    at = to;
                    quote!(__b[#from..#to].copy_from_slice(&#bytes);)
                });
                quote! {
                    let mut __b = [0u8; #total];
                    #(#puts)*
                    __out.extend_from_slice(&__b);
                }
            }
        };
        quote!(#offsets #write)
    }

    /// The statements reading the run from `__reader` into its locals.
    fn flush_read(&mut self) -> TokenStream {
        let total = self.len();
        let items = std::mem::take(&mut self.items);
        if items.is_empty() {
            return TokenStream::new();
        }
        let mut at = 0usize;
        let lets = items.iter().map(|(size, name, ty)| {
            let from = at;
            at += size;
            quote!(let #name: #ty = ::tl_runtime::fixed::FromWire::from_wire(&__b, #from);)
        });
        quote! {
            let __b: [u8; #total] = __reader.read_array()?;
            #(#lets)*
        }
    }
}

fn hex(id: u32) -> Literal {
    format!("0x{id:08x}_u32")
        .parse()
        .unwrap_or_else(|_| Literal::u32_suffixed(id))
}

fn doc(text: &str) -> TokenStream {
    let text = format!(" {text}");
    quote!(#[doc = #text])
}

/// `super::super` for an item at `depth` modules below the generated root.
fn root_path(depth: usize) -> TokenStream {
    let supers = (0..depth).map(|_| quote!(super::));
    quote!(#(#supers)*)
}

fn item_path(root: &TokenStream, kind: &str, namespace: &[Name], name: &str) -> TokenStream {
    let kind = ident(kind);
    let parts = namespace.iter().map(|n| module_ident(n));
    let name = ident(&type_name(name));
    quote!(#root #kind :: #(#parts ::)* #name)
}

struct Field<'d> {
    ident: Ident,
    ty: TokenStream,
    tl: &'d Type,
    flag: Option<(&'d str, u32)>,
    is_bool_flag: bool,
}

/// Items another module defines: what a layer bridge takes from the primary layer.
pub struct External {
    /// The path of the module holding `types`, `enums` and `functions` (`crate`).
    pub path: TokenStream,
    /// Constructors of the model that are not emitted but referred to there.
    pub constructors: HashSet<usize>,
}

pub struct Emitter<'m, 's> {
    model: &'m Model<'s>,
    options: &'m Options,
    external: Option<External>,
}

/// The variant names of a boxed type's constructors, in order.
pub fn variant_names(model: &Model<'_>, info: &crate::model::EnumInfo) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::new();
    info.constructors
        .iter()
        .map(|&c| {
            let def = model.constructors[c];
            let short = variant_name(&def.name, &info.name);
            let chosen = if taken.contains(&short) {
                type_name(&def.name)
            } else {
                short
            };
            taken.insert(chosen.clone());
            chosen
        })
        .collect()
}

impl<'m, 's> Emitter<'m, 's> {
    pub fn new(model: &'m Model<'s>, options: &'m Options) -> Self {
        Emitter {
            model,
            options,
            external: None,
        }
    }

    /// An emitter that leaves out `external.constructors` and refers to them, and to every
    /// type the model does not define, in `external.path`.
    pub fn with_external(model: &'m Model<'s>, options: &'m Options, external: External) -> Self {
        Emitter {
            model,
            options,
            external: Some(external),
        }
    }

    fn is_external(&self, constructor: usize) -> bool {
        self.external
            .as_ref()
            .is_some_and(|e| e.constructors.contains(&constructor))
    }

    /// The path of constructor `c`'s struct from a module whose root path is `root`.
    fn constructor_path(&self, c: usize, root: &TokenStream) -> TokenStream {
        let def = self.model.constructors[c];
        match &self.external {
            Some(ext) if ext.constructors.contains(&c) => {
                item_path(&ext.path, "types", &def.namespace, &def.name)
            }
            _ => item_path(root, "types", &def.namespace, &def.name),
        }
    }

    fn rust_type(&self, ty: &Type, generics: &HashSet<&str>, root: &TokenStream) -> TokenStream {
        let name = ty.full_name();
        if ty.generic_ref || generics.contains(name.as_str()) {
            let id = ident(&name);
            return quote!(#id);
        }
        if name == "Vector" || name == "vector" {
            let inner = ty
                .generic_arg
                .as_deref()
                .map(|arg| self.rust_type(arg, generics, root))
                .unwrap_or_else(|| quote!(::tl_runtime::Blob));
            return quote!(::std::vec::Vec<#inner>);
        }
        if let Some(scalar) = scalar(&name) {
            return scalar.parse().unwrap_or_default();
        }
        if is_bare_constructor(ty) {
            if let Some(c) = self.model.bare_target(ty) {
                return self.constructor_path(c, root);
            }
            if let Some(ext) = &self.external {
                return item_path(&ext.path, "types", &ty.namespace, &ty.name);
            }
        }
        match &self.external {
            Some(ext) if !self.model.enums.contains_key(&name) => {
                item_path(&ext.path, "enums", &ty.namespace, &ty.name)
            }
            _ => item_path(root, "enums", &ty.namespace, &ty.name),
        }
    }

    fn fields<'d>(&self, def: &'d Definition, root: &TokenStream) -> Vec<Field<'d>> {
        let generics: HashSet<&str> = def.generics.iter().map(|g| g.name.as_str()).collect();
        let mut out = Vec::new();
        for param in &def.params {
            if let ParameterKind::Value { ty, flag } = &param.kind {
                let inner = self.rust_type(ty, &generics, root);
                let is_bool_flag = flag.is_some() && ty.full_name() == "true";
                let rust = match flag {
                    Some(_) if is_bool_flag => quote!(bool),
                    Some(_) => quote!(::std::option::Option<#inner>),
                    None => inner,
                };
                out.push(Field {
                    ident: field_ident(&param.name),
                    ty: rust,
                    tl: ty,
                    flag: flag.as_ref().map(|f| (f.name.as_str(), f.index)),
                    is_bool_flag,
                });
            }
        }
        out
    }

    fn derives(&self) -> TokenStream {
        let mut out = quote!(#[derive(Clone, Debug, PartialEq)]);
        if let Some(gate) = &self.options.serde {
            let derive = quote!(
                derive(
                    ::tl_runtime::serde::Serialize,
                    ::tl_runtime::serde::Deserialize
                ),
                serde(crate = "::tl_runtime::serde")
            );
            out.extend(match gate {
                Gate::Always => quote!(#[#derive]),
                Gate::Feature(f) => quote!(#[cfg_attr(feature = #f, #derive)]),
            });
        }
        out
    }

    fn arbitrary_cfg(&self) -> Option<TokenStream> {
        self.options.arbitrary.as_ref().map(|gate| match gate {
            Gate::Always => quote!(),
            Gate::Feature(f) => quote!(#[cfg(feature = #f)]),
        })
    }

    /// The statements that write a definition's parameters, after its constructor id when
    /// `id` is given. Runs of fixed-size values (the id, flags words, `int`, `long`, `double`,
    /// `int128`, `int256`) are put together in a stack array and appended at once.
    ///
    /// An optional field that is alone on its flag bit is tested once: writing it sets its bit
    /// in the flags word, which was written with its other bits and is completed in place at
    /// the end. Bits shared by several fields are computed before the word is written.
    fn write_body(&self, def: &Definition, fields: &[Field<'_>], id: Option<u32>) -> TokenStream {
        let mut out = TokenStream::new();
        let mut run = FixedRun::default();
        if let Some(id) = id {
            let id = hex(id);
            run.push(4, quote!(#id.to_le_bytes()));
        }
        // Optional fields whose bit no other field shares, and the words completed at the end.
        let mut alone: HashSet<String> = HashSet::new();
        let mut patched: Vec<Ident> = Vec::new();
        for param in &def.params {
            if let ParameterKind::Flags = param.kind {
                let word = flags_ident(&param.name);
                let mut groups: BTreeMap<u32, Vec<&Field<'_>>> = BTreeMap::new();
                for f in fields
                    .iter()
                    .filter(|f| f.flag.map(|(n, _)| n) == Some(param.name.as_str()))
                {
                    groups
                        .entry(f.flag.map(|(_, i)| i).unwrap_or_default())
                        .or_default()
                        .push(f);
                }
                let mut terms = Vec::new();
                for (bit, members) in &groups {
                    let mask = 1u32 << bit;
                    let values: Vec<_> = members.iter().filter(|f| !f.is_bool_flag).collect();
                    let cond = match values.as_slice() {
                        [] => {
                            let bools = members.iter().map(|f| {
                                let id = &f.ident;
                                quote!(self.#id)
                            });
                            quote!(#(#bools)||*)
                        }
                        [only] => {
                            alone.insert(only.ident.to_string());
                            continue;
                        }
                        _ => {
                            let somes = values.iter().map(|f| {
                                let id = &f.ident;
                                quote!(self.#id.is_some())
                            });
                            quote!(#(#somes)&&*)
                        }
                    };
                    terms.push(quote!(if #cond { #mask } else { 0 }));
                }
                let set_later = groups.values().any(|members| {
                    members
                        .iter()
                        .filter(|f| !f.is_bool_flag)
                        .any(|f| alone.contains(&f.ident.to_string()))
                });
                if set_later {
                    patched.push(word.clone());
                    out.extend(quote!(let mut #word: u32 = 0 #(| #terms)*;));
                } else {
                    out.extend(quote!(let #word: u32 = 0 #(| #terms)*;));
                }
            }
        }
        let mut field_iter = fields.iter();
        for param in &def.params {
            match &param.kind {
                ParameterKind::Flags => {
                    let word = flags_ident(&param.name);
                    if patched.contains(&word) {
                        run.push_at(4, quote!(#word.to_le_bytes()), at_ident(&word));
                    } else {
                        run.push(4, quote!(#word.to_le_bytes()));
                    }
                }
                ParameterKind::Value { .. } => {
                    let Some(field) = field_iter.next() else {
                        continue;
                    };
                    let id = &field.ident;
                    match field.flag {
                        None => match fixed_size(field.tl) {
                            Some((size, false)) => run.push(size, quote!(self.#id.to_le_bytes())),
                            Some((size, true)) => run.push(size, quote!(self.#id)),
                            None => {
                                out.extend(run.flush_write());
                                let write = write_expr(&wire(field.tl), quote!(&self.#id));
                                out.extend(quote!(#write;));
                            }
                        },
                        Some(_) if field.is_bool_flag => {}
                        Some((word, bit)) => {
                            out.extend(run.flush_write());
                            let write = write_expr(&wire(field.tl), quote!(__v));
                            let mask = 1u32 << bit;
                            let word = flags_ident(word);
                            if alone.contains(&field.ident.to_string()) {
                                out.extend(quote! {
                                    if let ::std::option::Option::Some(__v) = &self.#id {
                                        #word |= #mask;
                                        #write;
                                    }
                                });
                            } else {
                                out.extend(quote! {
                                    if #word & #mask != 0 {
                                        if let ::std::option::Option::Some(__v) = &self.#id { #write; }
                                    }
                                });
                            }
                        }
                    }
                }
                ParameterKind::Repeat { .. } | ParameterKind::Builtin => {}
            }
        }
        out.extend(run.flush_write());
        for word in &patched {
            let at = at_ident(word);
            out.extend(quote!(__out[#at..#at + 4].copy_from_slice(&#word.to_le_bytes());));
        }
        out
    }

    /// The statements that read a definition's parameters into locals, then the value:
    /// `wrap(Self { .. })` when `wrap` is set (the body of `deserialize_bare_as`), else
    /// `Self { .. }`. Runs of fixed-size values are read with one bounds check.
    fn read_body(&self, def: &Definition, fields: &[Field<'_>], wrap: bool) -> TokenStream {
        let mut out = TokenStream::new();
        let mut run = FixedRun::default();
        // Locals computed from flags words, emitted once the run holding the word is read.
        let mut pending = TokenStream::new();
        let mut field_iter = fields.iter();
        for param in &def.params {
            match &param.kind {
                ParameterKind::Flags => {
                    let word = flags_ident(&param.name);
                    run.push_read(4, quote!(#word), quote!(u32));
                }
                ParameterKind::Value { .. } => {
                    let Some(field) = field_iter.next() else {
                        continue;
                    };
                    let (id, ty) = (&field.ident, &field.ty);
                    match field.flag {
                        None => match fixed_size(field.tl) {
                            Some((size, _)) => run.push_read(size, quote!(#id), ty.clone()),
                            None => {
                                out.extend(run.flush_read());
                                out.extend(std::mem::take(&mut pending));
                                let read = read_expr(&wire(field.tl));
                                out.extend(quote!(let #id: #ty = #read;));
                            }
                        },
                        Some((word, bit)) => {
                            let word = flags_ident(word);
                            let mask = 1u32 << bit;
                            if field.is_bool_flag {
                                pending.extend(quote!(let #id: bool = #word & #mask != 0;));
                                if run.is_empty() {
                                    out.extend(std::mem::take(&mut pending));
                                }
                            } else {
                                out.extend(run.flush_read());
                                out.extend(std::mem::take(&mut pending));
                                let read = read_expr(&wire(field.tl));
                                out.extend(quote! {
                                    let #id: #ty = if #word & #mask != 0 {
                                        ::std::option::Option::Some(#read)
                                    } else {
                                        ::std::option::Option::None
                                    };
                                });
                            }
                        }
                    }
                }
                ParameterKind::Repeat { .. } | ParameterKind::Builtin => {}
            }
        }
        out.extend(run.flush_read());
        out.extend(pending);
        let names = fields.iter().map(|f| &f.ident);
        let value = quote!(Self { #(#names),* });
        out.extend(if wrap {
            quote!(::std::result::Result::Ok(__wrap(#value)))
        } else {
            quote!(::std::result::Result::Ok(#value))
        });
        out
    }

    /// `TlArbitrary` for a (non-generic) struct, keeping fields that share a flag bit
    /// consistent: the first of them decides whether all are present.
    fn arbitrary_struct(&self, name: &Ident, fields: &[Field<'_>]) -> TokenStream {
        let Some(cfg) = self.arbitrary_cfg() else {
            return TokenStream::new();
        };
        let mut leaders: HashMap<(&str, u32), usize> = HashMap::new();
        for (i, f) in fields.iter().enumerate() {
            if let Some(key) = f.flag {
                let entry = leaders.entry(key).or_insert(i);
                if fields[*entry].is_bool_flag && !f.is_bool_flag {
                    *entry = i;
                }
            }
        }
        let leader_of = |i: usize| {
            fields[i]
                .flag
                .and_then(|key| leaders.get(&key).copied())
                .filter(|&l| l != i)
        };
        // Leaders are drawn first, then the fields that follow them.
        let order = (0..fields.len())
            .filter(|&i| leader_of(i).is_none())
            .chain((0..fields.len()).filter(|&i| leader_of(i).is_some()));
        let lets = order.map(|i| {
            let f = &fields[i];
            let (id, ty) = (&f.ident, &f.ty);
            match leader_of(i) {
                None => quote!(let #id: #ty = ::tl_runtime::arbitrary::TlArbitrary::tl_arbitrary(__u)?;),
                Some(l) => {
                    let lid = &fields[l].ident;
                    let present = if fields[l].is_bool_flag {
                        quote!(#lid)
                    } else {
                        quote!(#lid.is_some())
                    };
                    if f.is_bool_flag {
                        quote!(let #id: bool = #present;)
                    } else {
                        quote! {
                            let #id: #ty = if #present {
                                ::std::option::Option::Some(::tl_runtime::arbitrary::TlArbitrary::tl_arbitrary(__u)?)
                            } else {
                                ::std::option::Option::None
                            };
                        }
                    }
                }
            }
        });
        let names = fields.iter().map(|f| &f.ident);
        let arbitrary_impl = arbitrary_via_tl(&cfg, name);
        quote! {
            #cfg
            impl ::tl_runtime::arbitrary::TlArbitrary for #name {
                fn tl_arbitrary(__u: &mut ::tl_runtime::arbitrary::Unstructured<'_>) -> ::tl_runtime::arbitrary::Result<Self> {
                    #(#lets)*
                    ::std::result::Result::Ok(Self { #(#names),* })
                }
            }
            #arbitrary_impl
        }
    }

    /// A constructor's or function's struct and its impls.
    fn struct_item(&self, def: &Definition, depth: usize) -> TokenStream {
        let root = root_path(depth);
        let name = ident(&type_name(&def.name));
        let fields = self.fields(def, &root);
        let id = hex(def.id);
        let tl_name = def.full_name();
        let line = doc(&format!("TL: `{def}`"));
        let mut derives = self.derives();
        let generic_names: Vec<Ident> = def.generics.iter().map(|g| ident(&g.name)).collect();
        // `Default` where every field has an obvious empty value (flags, numbers, strings,
        // vectors), so callers can write `User { id, ..Default::default() }`.
        let defaultable = generic_names.is_empty()
            && fields.iter().all(|f| {
                let name = f.tl.full_name();
                f.flag.is_some()
                    || crate::model::scalar(&name).is_some()
                    || name == "Vector"
                    || name == "vector"
            });
        if defaultable {
            derives.extend(quote!(#[derive(Default)]));
        }
        let (decl, ty) = if generic_names.is_empty() {
            (quote!(), quote!(#name))
        } else {
            (
                quote!(<#(#generic_names),*>),
                quote!(#name<#(#generic_names),*>),
            )
        };
        let bound = |b: TokenStream| -> TokenStream {
            if generic_names.is_empty() {
                quote!()
            } else {
                quote!(<#(#generic_names: #b),*>)
            }
        };
        let ser_bound = bound(quote!(::tl_runtime::Serialize));
        let de_bound = bound(quote!(::tl_runtime::Deserialize));
        let field_decls = fields.iter().map(|f| {
            let (id, ty) = (&f.ident, &f.ty);
            let note = match f.flag {
                Some((word, bit)) => doc(&format!(
                    "`{}`: present when bit {bit} of `{word}` is set.",
                    f.tl
                )),
                None => doc(&format!("`{}`", f.tl)),
            };
            quote!(#note pub #id: #ty,)
        });
        let write = self.write_body(def, &fields, None);
        let write_with_id = self.write_body(def, &fields, Some(def.id));
        let read = self.read_body(def, &fields, false);
        let read_as = self.read_body(def, &fields, true);
        let unused = if fields.is_empty() && def.params.is_empty() {
            quote!(let _ = __reader;)
        } else {
            quote!()
        };
        let unused_out = if def.params.is_empty() {
            quote!(let _ = __out;)
        } else {
            quote!()
        };
        let mut out = quote! {
            #line
            #derives
            pub struct #name #decl { #(#field_decls)* }

            impl #decl ::tl_runtime::Identifiable for #ty {
                const CONSTRUCTOR_ID: u32 = #id;
            }
        };
        // Without `Default`, a constructor taking the required fields, every optional one
        // empty: `SendMessage::new(peer, message, random_id)`.
        let has_optional = fields.iter().any(|f| f.flag.is_some());
        if !defaultable && has_optional && generic_names.is_empty() {
            let required: Vec<_> = fields.iter().filter(|f| f.flag.is_none()).collect();
            let params = required.iter().map(|f| {
                let (id, ty) = (&f.ident, &f.ty);
                quote!(#id: #ty)
            });
            let inits = fields.iter().map(|f| {
                let id = &f.ident;
                if f.flag.is_some() {
                    quote!(#id: ::std::default::Default::default())
                } else {
                    quote!(#id)
                }
            });
            out.extend(quote! {
                impl #name {
                    /// A value with the required fields given and every optional one empty.
                    #[allow(clippy::too_many_arguments)]
                    pub fn new(#(#params),*) -> Self {
                        Self { #(#inits),* }
                    }
                }
            });
        }
        if def.category == Category::Type {
            out.extend(quote! {
                impl ::tl_runtime::SerializeBare for #ty {
                    #[inline]
                    fn serialize_bare(&self, __out: &mut ::std::vec::Vec<u8>) { #unused_out #write }
                }
                impl ::tl_runtime::Serialize for #ty {
                    #[inline]
                    fn serialize(&self, __out: &mut ::std::vec::Vec<u8>) { #write_with_id }
                }
                impl ::tl_runtime::DeserializeBare for #ty {
                    #[inline]
                    fn deserialize_bare(__reader: &mut ::tl_runtime::Reader) -> ::std::result::Result<Self, ::tl_runtime::Error> {
                        Self::deserialize_bare_as(__reader, ::std::convert::identity)
                    }
                    fn deserialize_bare_as<__R>(__reader: &mut ::tl_runtime::Reader, __wrap: impl ::std::ops::FnOnce(Self) -> __R) -> ::std::result::Result<__R, ::tl_runtime::Error> {
                        #unused
                        #read_as
                    }
                }
                impl ::tl_runtime::Deserialize for #ty {
                    #[inline]
                    fn deserialize(__reader: &mut ::tl_runtime::Reader) -> ::std::result::Result<Self, ::tl_runtime::Error> {
                        __reader.expect_id(#id, #tl_name)?;
                        ::tl_runtime::DeserializeBare::deserialize_bare(__reader)
                    }
                }
            });
        } else {
            let generics: HashSet<&str> = def.generics.iter().map(|g| g.name.as_str()).collect();
            let ret = if def.ty.generic_ref || generics.contains(def.ty.full_name().as_str()) {
                let x = ident(&def.ty.full_name());
                quote!(#x::Return)
            } else {
                self.rust_type(&def.ty, &generics, &root)
            };
            let call_bound = bound(quote!(::tl_runtime::RemoteCall));
            out.extend(quote! {
                impl #ser_bound ::tl_runtime::Serialize for #ty {
                    #[inline]
                    fn serialize(&self, __out: &mut ::std::vec::Vec<u8>) { #write_with_id }
                }
                impl #call_bound ::tl_runtime::RemoteCall for #ty {
                    type Return = #ret;
                }
            });
            if self.options.server {
                out.extend(quote! {
                    impl #de_bound ::tl_runtime::Deserialize for #ty {
                        fn deserialize(__reader: &mut ::tl_runtime::Reader) -> ::std::result::Result<Self, ::tl_runtime::Error> {
                            __reader.expect_id(#id, #tl_name)?;
                            #read
                        }
                    }
                });
            }
        }
        if generic_names.is_empty() {
            out.extend(self.arbitrary_struct(&name, &fields));
        }
        out
    }

    /// Every [`Config::accept`](crate::Config::accept) rule names two constructors of the
    /// model, of different types, with the same fields.
    fn check_accept(&self) -> Result<(), Error> {
        for (from, into) in &self.options.accept {
            let fail = |reason: &str| Error::BadAccept {
                from: from.clone(),
                into: into.clone(),
                reason: reason.to_owned(),
            };
            let find = |name: &str| {
                self.model
                    .constructor_index
                    .get(name)
                    .map(|&c| self.model.constructors[c])
            };
            let (Some(f), Some(i)) = (find(from), find(into)) else {
                return Err(fail("both must be constructors the generated code has"));
            };
            if f.ty.full_name() == i.ty.full_name() {
                return Err(fail("they are of the same type already"));
            }
            if f.params != i.params {
                return Err(fail("their fields differ"));
            }
        }
        Ok(())
    }

    /// A boxed type's enum, its impls and the `From` conversions of its constructors.
    fn enum_item(&self, full_name: &str, depth: usize) -> TokenStream {
        let root = root_path(depth);
        let info = &self.model.enums[full_name];
        let name = ident(&type_name(&info.name));
        let variant_names = variant_names(self.model, info);
        let mut variants = Vec::new();
        let mut ser_arms = Vec::new();
        let mut de_arms = Vec::new();
        // Enums with a large variant held inline are read through `deserialize_as`, so that
        // a vector of them builds each item in its place in the vector.
        let in_place = info.constructors.iter().any(|&c| {
            !self.model.boxed.contains(&c)
                && self.model.constructors[c]
                    .params
                    .iter()
                    .filter(|p| match &p.kind {
                        ParameterKind::Value { ty, flag } => {
                            flag.is_none() || ty.full_name() != "true"
                        }
                        _ => false,
                    })
                    .count()
                    > IN_PLACE_FIELDS
        });
        let mut froms = Vec::new();
        let mut arb_arms = Vec::new();
        let last = info.constructors.len() - 1;
        for (k, (&c, vname)) in info.constructors.iter().zip(&variant_names).enumerate() {
            let def = self.model.constructors[c];
            let vid = ident(vname);
            let id = hex(def.id);
            let path = self.constructor_path(c, &root);
            let line = doc(&format!("TL: `{def}`"));
            let pattern = if k == last { quote!(_) } else { quote!(#k) };
            if def.params.is_empty() {
                variants.push(quote!(#line #vid,));
                ser_arms.push(quote!(Self::#vid => ::tl_runtime::write_id(#id, __out),));
                de_arms.push(read_empty_variant(&id, &vid, in_place));
                froms.push(quote! {
                    impl ::std::convert::From<#path> for #name {
                        #[inline]
                        fn from(_: #path) -> Self { Self::#vid }
                    }
                });
                arb_arms.push(quote!(#pattern => Self::#vid,));
            } else {
                let boxed = self.model.boxed.contains(&c);
                let (held, wrap) = if boxed {
                    (
                        quote!(::std::boxed::Box<#path>),
                        quote!(::std::boxed::Box::new),
                    )
                } else {
                    (quote!(#path), quote!())
                };
                variants.push(quote!(#line #vid(#held),));
                ser_arms.push(
                    quote!(Self::#vid(__x) => ::tl_runtime::Serialize::serialize(__x, __out),),
                );
                de_arms.push(read_variant(&id, &path, &vid, boxed, in_place));
                froms.push(quote! {
                    impl ::std::convert::From<#path> for #name {
                        #[inline]
                        fn from(x: #path) -> Self { Self::#vid(#wrap(x)) }
                    }
                });
                arb_arms.push(quote!(#pattern => Self::#vid(::tl_runtime::arbitrary::TlArbitrary::tl_arbitrary(__u)?),));
            }
        }
        for (from, into) in &self.options.accept {
            let (Some(&f), Some(&c)) = (
                self.model.constructor_index.get(from),
                self.model.constructor_index.get(into),
            ) else {
                continue;
            };
            let Some(k) = info.constructors.iter().position(|&x| x == c) else {
                continue;
            };
            let vid = ident(&variant_names[k]);
            let from_id = hex(self.model.constructors[f].id);
            if self.model.constructors[c].params.is_empty() {
                de_arms.push(read_empty_variant(&from_id, &vid, in_place));
            } else {
                let path = self.constructor_path(c, &root);
                de_arms.push(read_variant(
                    &from_id,
                    &path,
                    &vid,
                    self.model.boxed.contains(&c),
                    in_place,
                ));
            }
        }
        let constructors = info
            .constructors
            .iter()
            .map(|&c| format!("`{}`", self.model.constructors[c].full_name()))
            .collect::<Vec<_>>()
            .join(", ");
        let line = doc(&format!("TL type `{full_name}`: one of {constructors}."));
        let deserialize_head = if in_place {
            quote! {
                #[inline]
                fn deserialize(__reader: &mut ::tl_runtime::Reader) -> ::std::result::Result<Self, ::tl_runtime::Error> {
                    Self::deserialize_as(__reader, ::std::convert::identity)
                }
                fn deserialize_as<__R>(__reader: &mut ::tl_runtime::Reader, __wrap: impl ::std::ops::FnOnce(Self) -> __R) -> ::std::result::Result<__R, ::tl_runtime::Error>
            }
        } else {
            quote!(fn deserialize(__reader: &mut ::tl_runtime::Reader) -> ::std::result::Result<Self, ::tl_runtime::Error>)
        };
        let derives = self.derives();
        let mut out = quote! {
            #line
            #derives
            pub enum #name { #(#variants)* }

            impl ::tl_runtime::Serialize for #name {
                #[inline]
                fn serialize(&self, __out: &mut ::std::vec::Vec<u8>) {
                    match self { #(#ser_arms)* }
                }
            }
            impl ::tl_runtime::Deserialize for #name {
                #deserialize_head {
                    __reader.enter()?;
                    let offset = __reader.position();
                    let id = __reader.read_u32()?;
                    let value = match id {
                        #(#de_arms)*
                        _ => ::std::result::Result::Err(::tl_runtime::Error::unexpected_constructor(id, offset, #full_name)),
                    };
                    __reader.leave();
                    value
                }
            }
            #(#froms)*
        };
        if let Some(cfg) = self.arbitrary_cfg() {
            let count = info.constructors.len();
            let shallow = info
                .constructors
                .iter()
                .position(|&c| c == info.shallowest)
                .unwrap_or(0);
            let arbitrary_impl = arbitrary_via_tl(&cfg, &name);
            out.extend(quote! {
                #cfg
                impl ::tl_runtime::arbitrary::TlArbitrary for #name {
                    fn tl_arbitrary(__u: &mut ::tl_runtime::arbitrary::Unstructured<'_>) -> ::tl_runtime::arbitrary::Result<Self> {
                        let choice: usize = if ::tl_runtime::arbitrary::too_deep() { #shallow } else { __u.choose_index(#count)? };
                        ::tl_runtime::arbitrary::nested(|| ::std::result::Result::Ok(match choice { #(#arb_arms)* }))
                    }
                }
                #arbitrary_impl
            });
        }
        out
    }

    /// The whole generated file.
    pub fn file(&self) -> Result<TokenStream, Error> {
        self.check_accept()?;
        let mut types: BTreeMap<Vec<String>, Vec<TokenStream>> = BTreeMap::new();
        let mut functions: BTreeMap<Vec<String>, Vec<TokenStream>> = BTreeMap::new();
        let mut enums: BTreeMap<Vec<String>, Vec<TokenStream>> = BTreeMap::new();
        let mut seen: HashMap<(Category, Vec<String>, String), String> = HashMap::new();
        let own = self
            .model
            .constructors
            .iter()
            .enumerate()
            .filter(|(c, _)| !self.is_external(*c))
            .map(|(_, d)| d);
        for def in own.chain(&self.model.functions) {
            let key = (def.category, owned(&def.namespace), type_name(&def.name));
            if let Some(other) = seen.insert(key, def.full_name()) {
                return Err(Error::NameClash {
                    first: other,
                    second: def.full_name(),
                    rust: type_name(&def.name),
                });
            }
            let depth = def.namespace.len() + 1;
            let target = if def.category == Category::Type {
                &mut types
            } else {
                &mut functions
            };
            target
                .entry(owned(&def.namespace))
                .or_default()
                .push(self.struct_item(def, depth));
        }
        for (full, info) in &self.model.enums {
            let depth = info.namespace.len() + 1;
            enums
                .entry(owned(&info.namespace))
                .or_default()
                .push(self.enum_item(full, depth));
        }
        let types = nest(
            "types",
            "Constructors (bare types): one struct per TL constructor.",
            types,
        );
        let enums = nest(
            "enums",
            "Boxed types: one enum per TL type, a variant per constructor.",
            enums,
        );
        let functions = nest(
            "functions",
            "Functions (RPCs): one struct per TL function, with its `Return` type.",
            functions,
        );

        let mut ids: Vec<(u32, String)> = self
            .model
            .constructors
            .iter()
            .chain(&self.model.functions)
            .map(|d| (d.id, d.full_name()))
            .collect();
        ids.sort();
        ids.dedup_by_key(|(id, _)| *id);
        let arms = ids.iter().map(|(id, name)| {
            let id = hex(*id);
            quote!(#id => #name,)
        });
        let layer = self.model.layer.map(|layer| {
            let layer = layer as i32;
            quote! {
                /// The layer of the schema this code was generated from.
                pub const LAYER: i32 = #layer;
            }
        });
        let visit = self.arbitrary_cfg().map(|cfg| {
            let root = quote!();
            let calls = self
                .model
                .constructors
                .iter()
                .map(|d| (d, "types"))
                .chain(
                    self.model
                        .functions
                        .iter()
                        .filter(|d| self.options.server && d.generics.is_empty())
                        .map(|d| (d, "functions")),
                )
                .map(|(d, kind)| {
                    let path = item_path(&root, kind, &d.namespace, &d.name);
                    let name = d.full_name();
                    quote!(visitor.visit::<#path>(#name);)
                });
            quote! {
                /// Calls `visitor` once for every generated constructor (and decodable function).
                #cfg
                pub fn visit_all<V: ::tl_runtime::arbitrary::Visitor>(visitor: &mut V) {
                    #(#calls)*
                }
            }
        });
        Ok(quote! {
            #layer
            #visit
            #types
            #enums
            #functions

            /// The TL name of a constructor or function id of this schema.
            pub fn name_for_id(id: u32) -> ::std::option::Option<&'static str> {
                ::std::option::Option::Some(match id {
                    #(#arms)*
                    _ => return ::std::option::Option::None,
                })
            }
        })
    }
}

/// The match arm that reads constructor `path` (id `id`) as variant `vid` of the enum being
/// read, building the variant where the result goes rather than moving it there; `in_place`:
/// the arm of `deserialize_as`, handing the variant to `__wrap`.
fn read_variant(
    id: &Literal,
    path: &TokenStream,
    vid: &Ident,
    boxed: bool,
    in_place: bool,
) -> TokenStream {
    let value = if boxed {
        quote!(Self::#vid(::std::boxed::Box::new(__x)))
    } else {
        quote!(Self::#vid(__x))
    };
    let wrap = match (in_place, boxed) {
        (true, _) => quote!(#[inline(always)] |__x| __wrap(#value)),
        (false, true) => quote!(|__x| #value),
        (false, false) => quote!(Self::#vid),
    };
    quote!(#id => <#path as ::tl_runtime::DeserializeBare>::deserialize_bare_as(__reader, #wrap),)
}

/// The match arm of a variant without fields (see [`read_variant`]).
fn read_empty_variant(id: &Literal, vid: &Ident, in_place: bool) -> TokenStream {
    if in_place {
        quote!(#id => ::std::result::Result::Ok(__wrap(Self::#vid)),)
    } else {
        quote!(#id => ::std::result::Result::Ok(Self::#vid),)
    }
}

/// Enums with a variant held inline that has more fields than this (not counting flag
/// booleans) are read in place (see `Deserialize::deserialize_as`).
const IN_PLACE_FIELDS: usize = 4;

fn arbitrary_via_tl(cfg: &TokenStream, name: &Ident) -> TokenStream {
    quote! {
        #cfg
        impl<'__a> ::tl_runtime::arbitrary::Arbitrary<'__a> for #name {
            fn arbitrary(__u: &mut ::tl_runtime::arbitrary::Unstructured<'__a>) -> ::tl_runtime::arbitrary::Result<Self> {
                ::tl_runtime::arbitrary::TlArbitrary::tl_arbitrary(__u)
            }
        }
    }
}

/// The parts of a namespace as strings, to key maps by.
fn owned(namespace: &[Name]) -> Vec<String> {
    namespace
        .iter()
        .map(|part| part.as_str().to_owned())
        .collect()
}

/// Builds `pub mod top { items; pub mod ns { items } }` from items grouped by namespace.
fn nest(top: &str, what: &str, groups: BTreeMap<Vec<String>, Vec<TokenStream>>) -> TokenStream {
    let mut root_items = Vec::new();
    let mut children: BTreeMap<String, BTreeMap<Vec<String>, Vec<TokenStream>>> = BTreeMap::new();
    for (ns, items) in groups {
        match ns.split_first() {
            None => root_items = items,
            Some((first, rest)) => {
                children
                    .entry(first.clone())
                    .or_default()
                    .insert(rest.to_vec(), items);
            }
        }
    }
    let modules = children
        .into_iter()
        .map(|(name, groups)| nest(&name, &format!("The `{name}` namespace."), groups));
    let top_ident = module_ident(top);
    let what = doc(what);
    quote! {
        #what
        #[allow(clippy::all, clippy::pedantic, non_snake_case, unused_parens)]
        pub mod #top_ident {
            #(#root_items)*
            #(#modules)*
        }
    }
}
