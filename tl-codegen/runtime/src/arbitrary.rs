//! Random TL values for property tests and fuzzing (feature `arbitrary`).
//!
//! Generated types implement [`TlArbitrary`] (and `arbitrary::Arbitrary` through it). Values
//! stay small: vectors hold at most [`MAX_LEN`] items, and past [`MAX_DEPTH`] levels options
//! are `None`, vectors empty and enums take their shallowest constructor, so generation
//! always ends.

pub use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;
use std::cell::Cell;

/// Most items an arbitrary vector holds.
pub const MAX_LEN: usize = 4;
/// Nesting depth past which generation picks the shallowest choices.
pub const MAX_DEPTH: u32 = 6;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether generation is deep enough that it should stop nesting.
pub fn too_deep() -> bool {
    DEPTH.with(|d| d.get() >= MAX_DEPTH)
}

/// Runs `f` one level deeper.
pub fn nested<T>(f: impl FnOnce() -> T) -> T {
    DEPTH.with(|d| d.set(d.get() + 1));
    let out = f();
    DEPTH.with(|d| d.set(d.get() - 1));
    out
}

/// Random values of TL field types (`Bytes` included, which has no `Arbitrary` of its own).
pub trait TlArbitrary: Sized {
    /// A value drawn from `u`.
    fn tl_arbitrary(u: &mut Unstructured<'_>) -> Result<Self>;
}

macro_rules! via_arbitrary {
    ($($ty:ty),*) => {$(
        impl TlArbitrary for $ty {
            fn tl_arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
                u.arbitrary()
            }
        }
    )*};
}

via_arbitrary!(i32, u32, i64, f64, bool, String, [u8; 16], [u8; 32]);

impl TlArbitrary for Bytes {
    fn tl_arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Bytes::from(u.arbitrary::<Vec<u8>>()?))
    }
}

impl<T: TlArbitrary> TlArbitrary for Box<T> {
    fn tl_arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
        T::tl_arbitrary(u).map(Box::new)
    }
}

impl<T: TlArbitrary> TlArbitrary for Option<T> {
    fn tl_arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
        if too_deep() || !u.arbitrary::<bool>()? {
            return Ok(None);
        }
        nested(|| T::tl_arbitrary(u)).map(Some)
    }
}

impl<T: TlArbitrary> TlArbitrary for Vec<T> {
    fn tl_arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
        if too_deep() {
            return Ok(Vec::new());
        }
        let len = u.int_in_range(0..=MAX_LEN)?;
        nested(|| (0..len).map(|_| T::tl_arbitrary(u)).collect())
    }
}

/// Receives every generated constructor (and, in server mode, function) type in turn; the
/// generated `visit_all` calls it once per type. Property tests and fuzzers use it to reach
/// each type without naming them all.
pub trait Visitor {
    /// Called with one generated type and its TL name.
    fn visit<T>(&mut self, tl_name: &'static str)
    where
        T: TlArbitrary
            + crate::Serialize
            + crate::Deserialize
            + crate::Identifiable
            + std::fmt::Debug
            + PartialEq
            + 'static;
}
