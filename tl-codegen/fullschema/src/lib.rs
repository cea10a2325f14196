//! Every constructor and function of Telegram's layer 229 and of mtproto.tl, generated at
//! build time by `tl-codegen` from `tl-schema/schemas/telegram`. Used by the property tests, the
//! cross-implementation check against Telethon and the benchmarks.

include!(concat!(env!("OUT_DIR"), "/tl.rs"));

/// Entry points of the fuzz targets (`fuzz/`, feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use std::sync::OnceLock;
    use tl_runtime::fuzzing::Table;

    fn table() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| Table::new(crate::visit_all))
    }

    /// Decodes the input as the constructor or function of layer 229 or mtproto.tl that its
    /// first four bytes name (an unknown id is mapped to a known one) and checks the
    /// round-trip property described in `tl_runtime::fuzzing`.
    pub fn decode(data: &[u8]) {
        table().decode(data)
    }

    /// Draws a type and an arbitrary value of it from the input, and checks that its encoding
    /// decodes to the same value and re-encodes to the same bytes.
    pub fn encode(data: &[u8]) {
        table().encode(data)
    }

    /// The name of type `index` and the encoding of an arbitrary value of it drawn from
    /// `data`: seeds of the decoding target.
    pub fn sample(index: usize, data: &[u8]) -> Option<(&'static str, Vec<u8>)> {
        table().sample(index, data)
    }

    /// How many constructors and functions the targets reach.
    pub fn type_count() -> usize {
        table().len()
    }
}
