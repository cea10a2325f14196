//! [`Name`] and [`Namespace`]: the identifiers of the syntax tree, stored inline when short.
//!
//! A full schema holds about 25,000 identifiers (definition, parameter, type and flag names);
//! nearly all are at most 22 bytes, and no namespace has more than one part. Keeping those
//! inline instead of in one heap allocation each makes parsing and dropping a schema several
//! times cheaper.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest name kept inline.
pub(crate) const INLINE: usize = 22;

/// An identifier of a schema (`messages`, `sendMessage`, `flags`, `Vector`): a string that
/// needs no allocation when it is at most 22 bytes long. Dereferences to `str` and compares
/// with `str`, `&str` and `String`.
///
/// ```
/// let name = tl_schema::Name::new("sendMessage");
/// assert_eq!(name, "sendMessage");
/// assert_eq!(name.len(), 11);
/// assert_eq!(String::from(name), "sendMessage");
/// ```
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Name {
    /// A name holding `text`.
    pub fn new(text: &str) -> Self {
        if text.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Name(Repr::Inline {
                len: text.len() as u8,
                bytes,
            })
        } else {
            Name(Repr::Heap(text.into()))
        }
    }

    /// The name `window[..len]`, where `window` starts with a whole string of `len` bytes
    /// (what follows it does not matter): a copy of fixed size, cheaper than [`Name::new`].
    pub(crate) fn from_window(window: [u8; INLINE], len: usize) -> Self {
        Name(Repr::Inline {
            len: len.min(INLINE) as u8,
            bytes: window,
        })
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied from a `str` whole, so they are valid UTF-8.
            Repr::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Repr::Heap(text) => text,
        }
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::new("")
    }
}

impl Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Self {
        Name::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Self {
        if text.len() <= INLINE {
            Name::new(&text)
        } else {
            Name(Repr::Heap(text.into_boxed_str()))
        }
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        match name.0 {
            Repr::Heap(text) => text.into_string(),
            Repr::Inline { .. } => name.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes as the `str` it holds, so maps keyed by `Name` can be searched with a `&str`.
impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

macro_rules! eq_with {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for Name {
            fn eq(&self, other: &$other) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
        impl PartialEq<Name> for $other {
            fn eq(&self, other: &Name) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_with!(str, &str, String);

/// The namespace parts before a name: `["messages"]` for `messages.sendMessage`, empty for
/// `inputPeerSelf`. Dereferences to a slice of [`Name`]s; needs no allocation for up to one
/// part.
///
/// ```
/// let schema = tl_schema::parse("messages.getHistory#1 = X;").unwrap();
/// let namespace = &schema.definitions[0].namespace;
/// assert_eq!(*namespace, ["messages"]);
/// assert_eq!(namespace.len(), 1);
/// assert_eq!(namespace[0], "messages");
/// ```
#[derive(Clone, Default)]
pub struct Namespace(Parts);

#[derive(Clone, Default)]
enum Parts {
    #[default]
    Zero,
    One(Name),
    Many(Box<[Name]>),
}

impl Namespace {
    /// The empty namespace.
    pub fn new() -> Self {
        Namespace(Parts::Zero)
    }

    /// The parts, outermost first.
    pub fn as_slice(&self) -> &[Name] {
        match &self.0 {
            Parts::Zero => &[],
            Parts::One(name) => std::slice::from_ref(name),
            Parts::Many(names) => names,
        }
    }

    /// Adds an innermost part.
    pub fn push(&mut self, part: Name) {
        self.0 = match std::mem::take(&mut self.0) {
            Parts::Zero => Parts::One(part),
            Parts::One(first) => Parts::Many(Box::new([first, part])),
            Parts::Many(names) => {
                let mut names = names.into_vec();
                names.push(part);
                Parts::Many(names.into_boxed_slice())
            }
        };
    }
}

impl Deref for Namespace {
    type Target = [Name];

    fn deref(&self) -> &[Name] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Namespace {
    type Item = &'a Name;
    type IntoIter = std::slice::Iter<'a, Name>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<N: Into<Name>> FromIterator<N> for Namespace {
    fn from_iter<I: IntoIterator<Item = N>>(parts: I) -> Self {
        let mut namespace = Namespace::new();
        for part in parts {
            namespace.push(part.into());
        }
        namespace
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl PartialEq for Namespace {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Namespace {}

impl PartialOrd for Namespace {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Namespace {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Namespace {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Namespace {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Namespace {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Namespace {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn short_and_long_names_read_back() {
        for text in [
            "",
            "a",
            "exactly_22_bytes_long_",
            "twenty_three_bytes_long",
            "ünïcödé",
        ] {
            let name = Name::new(text);
            assert_eq!(name.as_str(), text);
            assert_eq!(Name::from(text.to_owned()), text);
            assert_eq!(String::from(name), text);
        }
        assert_eq!(std::mem::size_of::<Name>(), 24);
    }

    #[test]
    fn namespaces_of_any_length() {
        use super::Namespace;
        for parts in [&[][..], &["a"], &["a", "b"], &["a", "b", "c"]] {
            let namespace: Namespace = parts.iter().copied().collect();
            assert_eq!(namespace, *parts);
            assert_eq!(namespace.len(), parts.len());
        }
        assert_eq!(std::mem::size_of::<Namespace>(), 24);
    }
}
