//! Helpers for fuzz targets over generated code (feature `fuzzing`): decode any constructor or
//! function of a schema by its id and check the round-trip properties.
//!
//! # The round-trip property, and where bytes may legitimately differ
//!
//! Anything that decodes is re-encoded, and the re-encoding must decode to the same value and
//! re-encode to itself: `decode(encode(decode(x))) == decode(x)` and
//! `encode(decode(encode(decode(x)))) == encode(decode(x))`. The re-encoding is compared with
//! `x` itself only when `x` is canonical, because the decoder accepts on purpose, as Telegram's
//! own clients do, inputs that the encoder never writes:
//! - invalid UTF-8 in a `string` is read lossily (U+FFFD);
//! - the padding after `bytes`/`string` is skipped, not checked to be zero;
//! - the long length form (`254`, three bytes) is read for lengths under 254 too;
//! - bits of a flags word that no parameter uses are ignored (the word is computed on
//!   encoding, never stored).
//!
//! A flags bit shared by several parameters (e.g. `a:flags.0?true b:flags.0?int`) needs no
//! exception: decoding sets all of them from the one bit and encoding sets the bit from any.
//! The structure-aware direction ([`encode_round_trip`]) needs no exception either: every
//! value the encoder writes must decode to itself and re-encode to the same bytes.

use crate::arbitrary::{TlArbitrary, Unstructured, Visitor};
use crate::{Bytes, Deserialize, Identifiable, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

type DecodeFn = fn(&[u8]);
type EncodeFn = fn(&mut Unstructured<'_>);
type SampleFn = fn(&mut Unstructured<'_>) -> Option<Vec<u8>>;

/// Every constructor and function of one generated schema, by id.
pub struct Table {
    decode: BTreeMap<u32, (&'static str, DecodeFn)>,
    encode: Vec<(&'static str, EncodeFn, SampleFn)>,
}

impl Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({} types)", self.encode.len())
    }
}

impl Table {
    /// Collects the types of a schema through its generated `visit_all`.
    pub fn new(visit_all: impl FnOnce(&mut Table)) -> Self {
        let mut table = Table {
            decode: BTreeMap::new(),
            encode: Vec::new(),
        };
        visit_all(&mut table);
        table
    }

    /// How many types the table holds.
    pub fn len(&self) -> usize {
        self.encode.len()
    }

    /// Whether the table holds no type.
    pub fn is_empty(&self) -> bool {
        self.encode.is_empty()
    }

    /// Decodes `data` as the constructor or function its first four bytes name, and checks
    /// the round trip. An id of no type of the schema is replaced by one that is (chosen by
    /// the id), so that every input reaches a decoder.
    pub fn decode(&self, data: &[u8]) {
        let Some(head) = data.get(..4) else {
            return;
        };
        let id = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if let Some((_, check)) = self.decode.get(&id) {
            return check(data);
        }
        if self.decode.is_empty() {
            return;
        }
        let index = id as usize % self.decode.len();
        if let Some((&id, (_, check))) = self.decode.iter().nth(index) {
            let mut data = data.to_vec();
            data[..4].copy_from_slice(&id.to_le_bytes());
            check(&data);
        }
    }

    /// Draws a type (by index) and an arbitrary value of it from `data`, and checks that its
    /// encoding decodes to the same value and re-encodes to the same bytes.
    pub fn encode(&self, data: &[u8]) {
        let mut u = Unstructured::new(data);
        let Ok(index) = u.choose_index(self.encode.len()) else {
            return;
        };
        (self.encode[index].1)(&mut u);
    }

    /// The ids of every constructor and function of the table.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.decode.keys().copied()
    }

    /// The encoding of an arbitrary value of the type with this id, drawn from `u`.
    pub fn sample_id(&self, id: u32, u: &mut Unstructured<'_>) -> Option<Vec<u8>> {
        let name = self.decode.get(&id)?.0;
        let (_, _, sample) = self.encode.iter().find(|(n, ..)| *n == name)?;
        sample(u)
    }

    /// The name of type `index` and the encoding of an arbitrary value of it drawn from
    /// `data` (seeds of a decoding target).
    pub fn sample(&self, index: usize, data: &[u8]) -> Option<(&'static str, Vec<u8>)> {
        let (name, _, sample) = self.encode.get(index)?;
        sample(&mut Unstructured::new(data)).map(|bytes| (*name, bytes))
    }
}

fn sample<T: TlArbitrary + Serialize>(u: &mut Unstructured<'_>) -> Option<Vec<u8>> {
    T::tl_arbitrary(u).ok().map(|v| v.to_bytes())
}

impl Visitor for Table {
    fn visit<T>(&mut self, tl_name: &'static str)
    where
        T: TlArbitrary + Serialize + Deserialize + Identifiable + Debug + PartialEq + 'static,
    {
        self.decode
            .insert(T::CONSTRUCTOR_ID, (tl_name, decode_round_trip::<T>));
        self.encode
            .push((tl_name, encode_round_trip_from::<T>, sample::<T>));
    }
}

/// Debug text stands in for equality: it also holds for doubles that are NaN.
fn same<T: Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Decodes `data` as a `T`; if it decodes, checks the canonical round trip (see the module
/// documentation).
pub fn decode_round_trip<T: Serialize + Deserialize + Debug>(data: &[u8]) {
    let Ok(value) = T::from_bytes(Bytes::copy_from_slice(data)) else {
        return;
    };
    let encoded = value.to_bytes();
    if encoded == data {
        return;
    }
    let again = T::from_bytes(encoded.clone())
        .unwrap_or_else(|e| panic!("the re-encoding of {value:?} does not decode: {e}"));
    assert!(
        same(&again, &value),
        "decode(encode(decode(x))) != decode(x):\n{value:?}\n{again:?}"
    );
    assert_eq!(again.to_bytes(), encoded, "encoding is not a fixed point");
}

/// Checks that an arbitrary value of `T` drawn from `u` encodes to bytes that start with its
/// id, decode to the same value and re-encode to the same bytes, and that no strict prefix of
/// them decodes.
pub fn encode_round_trip<T>(u: &mut Unstructured<'_>)
where
    T: TlArbitrary + Serialize + Deserialize + Identifiable + Debug,
{
    let Ok(value) = T::tl_arbitrary(u) else {
        return;
    };
    let bytes = value.to_bytes();
    assert_eq!(bytes[..4], T::CONSTRUCTOR_ID.to_le_bytes(), "{value:?}");
    let back = T::from_bytes(bytes.clone())
        .unwrap_or_else(|e| panic!("{value:?} encodes to bytes that do not decode: {e}"));
    assert!(same(&back, &value), "{value:?} came back as {back:?}");
    assert_eq!(back.to_bytes(), bytes, "re-encoding of {value:?} differs");
    if let Ok(cut) = u.choose_index(bytes.len()) {
        assert!(
            T::from_bytes(bytes[..cut].to_vec()).is_err(),
            "a {cut}-byte prefix of {value:?} decodes"
        );
    }
}

fn encode_round_trip_from<T>(u: &mut Unstructured<'_>)
where
    T: TlArbitrary + Serialize + Deserialize + Identifiable + Debug,
{
    encode_round_trip::<T>(u)
}
