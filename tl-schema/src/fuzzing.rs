//! Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`). Each takes the fuzzer's
//! bytes and panics only when a property of this crate is broken.

use crate::{Category, Schema, diff, parse, validate};

/// The TL text parser on arbitrary text (mutations of the real schemas come from the seed
/// corpus). Properties: parsing never panics; error positions point into the text; a schema
/// that parses is printed back by [`Schema::to_tl`] as text that parses to the same
/// definitions (printing is a fixed point), and validation, layer diffs and subsets of it never
/// panic.
pub fn parse_schema(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let schema = match parse(&text) {
        Ok(schema) => schema,
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "an Err without errors");
            let lines = text.split('\n').count();
            for e in &errors.errors {
                assert!(
                    e.line >= 1 && e.line <= lines,
                    "error line {} of {lines}",
                    e.line
                );
                assert!(e.column >= 1, "error column {}", e.column);
            }
            let _ = errors.to_string();
            return;
        }
    };
    let _ = validate(&schema);
    let printed = schema.to_tl();
    let reparsed = parse(&printed)
        .unwrap_or_else(|e| panic!("to_tl printed text that does not parse:\n{printed}\n{e}"));
    assert_eq!(
        canonical(&schema),
        canonical(&reparsed),
        "to_tl changed the definitions:\n{printed}"
    );
    assert_eq!(reparsed.layer, schema.layer, "to_tl changed the layer");
    assert_eq!(reparsed.to_tl(), printed, "to_tl is not a fixed point");
    let d = diff(&schema, &reparsed);
    assert!(
        d.changed_id.is_empty(),
        "diff of a schema and its reprint: {d:?}"
    );
    let _ = schema.subset(["*"]);
    if let Some(first) = schema.definitions.first() {
        let _ = schema.subset([first.full_name(), first.ty.full_name()]);
    }
}

/// Each definition as `to_tl` writes it with its category, in `to_tl`'s order (types, then
/// functions), ignoring source positions.
fn canonical(schema: &Schema) -> Vec<(Category, String, String, u32)> {
    let mut out: Vec<_> = schema
        .definitions
        .iter()
        .map(|d| (d.category, d.to_string(), d.normalized(), d.id))
        .collect();
    out.sort_by_key(|(category, ..)| *category != Category::Type);
    out
}
