//! `Blob`: the raw bytes of a value whose type is only known later (a `!X` query).

use crate::{Deserialize, Error, Reader, Serialize};
use bytes::Bytes;

/// The serialized bytes of a value, kept as they are.
///
/// Servers decode `invokeWithLayer {X:Type} layer:int query:!X` as
/// `InvokeWithLayer<Blob>`: the query is the rest of the message and is decoded once the layer
/// is known. Clients can send pre-serialized requests the same way.
///
/// ```
/// use tl_runtime::{Blob, Deserialize, Serialize};
/// let blob = Blob::from_bytes(vec![1u8, 2, 3, 4]).unwrap();
/// assert_eq!(blob.to_bytes(), [1, 2, 3, 4]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Bytes);

impl Serialize for Blob {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

/// Takes everything left in the reader: a `!X` argument is always the last parameter.
impl Deserialize for Blob {
    #[inline]
    fn deserialize(reader: &mut Reader) -> Result<Self, Error> {
        Ok(Blob(reader.read_rest()))
    }
}
