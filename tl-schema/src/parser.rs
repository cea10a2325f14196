//! The TL grammar as Telegram's schemas use it, parsed byte by byte.
//!
//! Every token of the grammar is ASCII, so the parser walks the bytes of the text and only
//! ever stops on a character boundary: a position it reports is either after ASCII bytes it
//! matched or where a search for an ASCII byte ended.

use crate::ast::{
    Category, Definition, Flag, GenericParam, Parameter, ParameterKind, Position, Schema, Type,
};
use crate::error::{ParseError, ParseErrors};
use crate::name::{INLINE, Name, Namespace};

/// Where parsing stopped (a byte offset into the text) and what the grammar wanted there.
#[derive(Debug, Clone, Copy)]
struct Expected {
    at: usize,
    what: &'static str,
}

type PResult<T> = Result<T, Expected>;

/// Byte classes, looked up in [`CLASS`].
const START: u8 = 1;
const IDENT: u8 = 2;
const BLANK: u8 = 4;
const HEX: u8 = 8;
const DIGIT: u8 = 16;
const HASH: u8 = 32;

/// The classes of each byte: `[A-Za-z_]` start identifiers, `[A-Za-z0-9_]` continue them.
static CLASS: [u8; 256] = {
    let mut class = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphabetic() || c == b'_' {
            class[b] |= START | IDENT;
        }
        if c.is_ascii_digit() {
            class[b] |= IDENT | DIGIT;
        }
        if c == b'#' {
            class[b] |= HASH;
        }
        if c.is_ascii_hexdigit() {
            class[b] |= HEX;
        }
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            class[b] |= BLANK;
        }
        b += 1;
    }
    class
};

fn is(b: u8, class: u8) -> bool {
    CLASS[usize::from(b)] & class != 0
}

fn is_ident_start(b: u8) -> bool {
    is(b, START)
}

/// What may follow a name, an id or a parameter: a blank or the `=` of the result.
fn is_separator(b: u8) -> bool {
    is(b, BLANK) || b == b'='
}

const ID: &str = "a hexadecimal constructor id of at most 8 digits";

/// The text being parsed and the scanning of it. Parsed parts are written into places the
/// caller already holds (a parameter pushed onto its list, a type inside it) rather than
/// returned: that spares copying each fresh value of the tree once more.
struct Text<'t> {
    text: &'t str,
    bytes: &'t [u8],
}

impl<'t> Text<'t> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    fn is(&self, at: usize, b: u8) -> bool {
        self.byte(at) == Some(b)
    }

    /// The first offset from `at` whose byte is not of `class` (or the end of the text).
    fn skip(&self, at: usize, class: u8) -> usize {
        let rest = self.bytes.get(at..).unwrap_or_default();
        at + rest
            .iter()
            .position(|&b| !is(b, class))
            .unwrap_or(rest.len())
    }

    /// The end of the identifier `[A-Za-z_][A-Za-z0-9_]*` starting at `at`, if there is one.
    fn ident(&self, at: usize) -> Option<usize> {
        if !self.byte(at).is_some_and(is_ident_start) {
            return None;
        }
        Some(self.skip(at + 1, IDENT))
    }

    /// Spaces and tabs only: what may stand between parts that must share a line.
    fn spaces(&self, at: usize) -> usize {
        let rest = self.bytes.get(at..).unwrap_or_default();
        at + rest
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(rest.len())
    }

    /// The identifier `text[start..end]`.
    fn name(&self, start: usize, end: usize) -> Name {
        let len = end - start;
        // Short names copy a fixed-size window of the text, cheaper than a copy of their length.
        if len <= INLINE {
            if let Some(window) = self
                .bytes
                .get(start..start + INLINE)
                .and_then(|w| <[u8; INLINE]>::try_from(w).ok())
            {
                return Name::from_window(window, len);
            }
        }
        Name::new(self.text.get(start..end).unwrap_or_default())
    }

    /// `a.b.name` into `namespace` and `name`; returns where the last name starts and where it
    /// ends.
    fn full_name(
        &self,
        at: usize,
        namespace: &mut Namespace,
        name: &mut Name,
    ) -> Option<(usize, usize)> {
        let mut end = self.ident(at)?;
        let mut last = at;
        while self.is(end, b'.') {
            let Some(next_end) = self.ident(end + 1) else {
                break;
            };
            namespace.push(self.name(last, end));
            last = end + 1;
            end = next_end;
        }
        *name = self.name(last, end);
        Some((last, end))
    }

    /// A type expression into `ty`: `!X`, `%Message`, `Vector<long>`, `messages.Messages`.
    /// Returns where it ends.
    fn type_expr(&self, mut at: usize, ty: &mut Type) -> PResult<usize> {
        ty.generic_ref = self.is(at, b'!');
        at += usize::from(ty.generic_ref);
        ty.percent = self.is(at, b'%');
        at += usize::from(ty.percent);
        let Some((last, mut at)) = self.full_name(at, &mut ty.namespace, &mut ty.name) else {
            return Err(Expected {
                at,
                what: "a type name",
            });
        };
        ty.bare = ty.percent || self.byte(last).is_some_and(|b| b.is_ascii_lowercase());
        if self.is(at, b'<') {
            let arg = ty.generic_arg.insert(Box::new(Type::blank()));
            let end = self.type_expr(at + 1, arg)?;
            if !self.is(end, b'>') {
                return Err(Expected {
                    at: end,
                    what: "`>` closing the type argument",
                });
            }
            at = end + 1;
        }
        Ok(at)
    }

    /// `{X:Type}`, starting at the `{`.
    fn generic_param(&self, at: usize) -> PResult<(GenericParam, usize)> {
        let start = at + 1;
        let name_end = self.ident(start).ok_or(Expected {
            at: start,
            what: "a type parameter name",
        })?;
        if !self.is(name_end, b':') {
            return Err(Expected {
                at: name_end,
                what: "`:` after the type parameter name",
            });
        }
        let kind_start = name_end + 1;
        let kind_end = self.skip(kind_start, IDENT | HASH);
        if kind_end == kind_start {
            return Err(Expected {
                at: kind_start,
                what: "the type parameter's kind (`Type` or `#`)",
            });
        }
        if !self.is(kind_end, b'}') {
            return Err(Expected {
                at: kind_end,
                what: "`}` closing the type parameter",
            });
        }
        let generic = GenericParam {
            name: self.name(start, name_end),
            kind: self.name(kind_start, kind_end),
        };
        Ok((generic, kind_end + 1))
    }

    /// `flags.3?`, if one starts at `at`: the flag and where it ends. A bit over 31 is an
    /// error; text of another shape is no flag (it is read as a type).
    fn flag_ref(&self, at: usize) -> PResult<Option<(Flag, usize)>> {
        let Some(name_end) = self.ident(at) else {
            return Ok(None);
        };
        if !self.is(name_end, b'.') {
            return Ok(None);
        }
        let digits = name_end + 1;
        let digits_end = self.skip(digits, DIGIT);
        if digits_end == digits || !self.is(digits_end, b'?') {
            return Ok(None);
        }
        let index = match self.text.get(digits..digits_end).map(str::parse::<u32>) {
            Some(Ok(index)) if index < 32 => index,
            _ => {
                return Err(Expected {
                    at: digits,
                    what: "a flag bit from 0 to 31",
                });
            }
        };
        let flag = Flag {
            name: self.name(at, name_end),
            index,
        };
        Ok(Some((flag, digits_end + 1)))
    }

    /// `---types---`, `---functions---` or another `---name---` section marker, starting at
    /// the first `-`: the section's name and where the marker ends.
    fn section_marker(&self, at: usize) -> PResult<(&'t str, usize)> {
        let start = at + 3;
        let end = self.ident(start).ok_or(Expected {
            at: start,
            what: "a section name such as `functions`",
        })?;
        if !self
            .bytes
            .get(end..)
            .unwrap_or_default()
            .starts_with(b"---")
        {
            return Err(Expected {
                at: end,
                what: "`---` closing the section marker",
            });
        }
        Ok((self.text.get(start..end).unwrap_or_default(), end + 3))
    }

    /// After an error at `at`, where to resume: after the next `;` or line break (`;` too
    /// when `definition` is false).
    fn resume(&self, at: usize, definition: bool) -> usize {
        let rest = self.bytes.get(at..).unwrap_or_default();
        let found = if definition {
            rest.iter().position(|&b| b == b';' || b == b'\n')
        } else {
            rest.iter().position(|&b| b == b'\n')
        };
        found.map_or(self.bytes.len(), |i| at + i + 1)
    }
}

/// The parser's state: the text, the line it has reached, and a list reused for the
/// parameters of each definition.
struct Cursor<'t> {
    text: Text<'t>,
    /// Parameters of the definition being parsed, reused from one definition to the next so
    /// each definition's list is allocated once, at its final size.
    params: Vec<Parameter>,
    /// The line the blanks skipped so far end on (1-based), and the offset where it starts.
    /// Every line break outside comments is skipped as a blank, so this is the line of the
    /// next token; after an error it is set again from a [`LineIndex`].
    line: usize,
    line_start: usize,
}

impl Cursor<'_> {
    /// Spaces, tabs and line breaks (not comments: those only stand between definitions).
    /// Counts the line breaks.
    fn blanks(&mut self, mut at: usize) -> usize {
        while let Some(b) = self.text.byte(at) {
            match b {
                b' ' | b'\t' | b'\r' => {}
                b'\n' => {
                    self.line += 1;
                    self.line_start = at + 1;
                }
                _ => break,
            }
            at += 1;
        }
        at
    }

    /// `[ t ]`, starting at the `[`: the repetition of the built-in vector definition.
    fn repetition(&mut self, mut at: usize) -> PResult<(ParameterKind, usize)> {
        at += 1;
        let mut items = Vec::new();
        loop {
            at = self.blanks(at);
            if self.text.is(at, b']') {
                return Ok((ParameterKind::Repeat { items }, at + 1));
            }
            items.push(Type::blank());
            let item = items.last_mut().ok_or(Expected { at, what: "a type" })?;
            at = self.text.type_expr(at, item)?;
        }
    }

    /// `name:type`, `name:#`, `name:flags.N?type`, `#`, `?` or `[ t ]`, pushed onto
    /// `self.params`. Returns where it ends.
    fn parameter(&mut self, at: usize) -> PResult<usize> {
        let anonymous = |kind| Parameter {
            name: Name::default(),
            kind,
        };
        let (param, end) = match self.text.byte(at) {
            Some(b'#') => (anonymous(ParameterKind::Flags), at + 1),
            Some(b'?') => (anonymous(ParameterKind::Builtin), at + 1),
            Some(b'[') => {
                let (kind, end) = self.repetition(at)?;
                (anonymous(kind), end)
            }
            _ => return self.named_parameter(at),
        };
        self.params.push(param);
        Ok(end)
    }

    /// `name:type`, `name:#` or `name:flags.N?type`.
    fn named_parameter(&mut self, at: usize) -> PResult<usize> {
        let text = &self.text;
        let name_end = text.ident(at).ok_or(Expected {
            at,
            what: "a parameter `name:type`, `{X:Type}` or `=`",
        })?;
        if !text.is(name_end, b':') {
            return Err(Expected {
                at: name_end,
                what: "`:` after the parameter name",
            });
        }
        let name = text.name(at, name_end);
        let at = name_end + 1;
        if text.is(at, b'#') {
            self.params.push(Parameter {
                name,
                kind: ParameterKind::Flags,
            });
            return Ok(at + 1);
        }
        let (flag, at) = match text.flag_ref(at)? {
            Some((flag, end)) => (Some(flag), end),
            None => (None, at),
        };
        self.params.push(Parameter {
            name,
            kind: ParameterKind::Value {
                ty: Type::blank(),
                flag,
            },
        });
        match self.params.last_mut() {
            Some(Parameter {
                kind: ParameterKind::Value { ty, .. },
                ..
            }) => self.text.type_expr(at, ty),
            _ => Err(Expected {
                at,
                what: "the parameter's type",
            }),
        }
    }

    /// The result type after `=` into `ty`: `Type`, `Vector<t>`, or the built-in form
    /// `Vector t`. Returns where it ends.
    fn result_type(&self, at: usize, ty: &mut Type) -> PResult<usize> {
        let end = self.text.type_expr(at, ty)?;
        if ty.generic_arg.is_none() {
            // `Vector t`: the argument follows on the same line.
            let after = self.text.spaces(end);
            if self.text.byte(after).is_some_and(is_ident_start) {
                let arg = ty.generic_arg.insert(Box::new(Type::blank()));
                return self.text.type_expr(after, arg);
            }
        }
        Ok(end)
    }

    /// One definition, from its name up to and including the `;`, pushed onto `out`. Returns
    /// where it ends and whether it was written with its id.
    fn definition(
        &mut self,
        at: usize,
        category: Category,
        out: &mut Vec<Definition>,
    ) -> PResult<(usize, bool)> {
        let position = self.position(at);
        let mut namespace = Namespace::new();
        let mut name = Name::default();
        let (_, mut at) = self
            .text
            .full_name(at, &mut namespace, &mut name)
            .ok_or(Expected {
                at,
                what: "a definition `name#id params = Type;`",
            })?;
        let mut id = None;
        if self.text.is(at, b'#') {
            let digits = at + 1;
            let end = self.text.skip(digits, HEX);
            let hex = self.text.text.get(digits..end).unwrap_or_default();
            if hex.is_empty() || hex.len() > 8 {
                return Err(Expected {
                    at: digits,
                    what: ID,
                });
            }
            id = Some(u32::from_str_radix(hex, 16).unwrap_or_default());
            at = end;
        }
        if self.text.byte(at).is_some_and(|b| !is_separator(b)) {
            return Err(Expected {
                at,
                what: "a space, `#id` or `=` after the name",
            });
        }
        let mut generics = Vec::new();
        self.params.clear();
        let mut at = self.blanks(at);
        loop {
            match self.text.byte(at) {
                Some(b'=') => {
                    // The result type follows `=` on the same line.
                    at = self.text.spaces(at + 1);
                    if !self
                        .text
                        .byte(at)
                        .is_some_and(|b| b == b'%' || b == b'!' || is_ident_start(b))
                    {
                        return Err(Expected {
                            at,
                            what: "the result type after `=`",
                        });
                    }
                    break;
                }
                Some(b'{') => {
                    let (generic, end) = self.text.generic_param(at)?;
                    generics.push(generic);
                    at = self.blanks(end);
                }
                None | Some(b';') => {
                    return Err(Expected {
                        at,
                        what: "a parameter or `=` before the end of the definition",
                    });
                }
                Some(_) => {
                    let end = self.parameter(at)?;
                    if self.text.byte(end).is_some_and(|b| !is_separator(b)) {
                        return Err(Expected {
                            at: end,
                            what: "a space between parameters",
                        });
                    }
                    at = self.blanks(end);
                }
            }
        }
        let mut ty = Type::blank();
        let end = self.result_type(at, &mut ty)?;
        let semicolon = self.blanks(end);
        if !self.text.is(semicolon, b';') {
            return Err(Expected {
                at: end,
                what: "`;` ending the definition",
            });
        }
        out.push(Definition {
            namespace,
            name,
            id: id.unwrap_or_default(),
            explicit_id: id.is_some(),
            generics,
            params: self.params.drain(..).collect(),
            ty,
            category,
            position,
        });
        Ok((semicolon + 1, id.is_some()))
    }

    /// Skips blanks and comments; returns where the next token starts, and sets `layer` from a
    /// `// LAYER N` line. An unclosed block comment is an error at its `/*`.
    fn trivia(&mut self, mut at: usize, layer: &mut Option<u32>) -> PResult<usize> {
        loop {
            at = self.blanks(at);
            let rest = self.text.text.get(at..).unwrap_or_default();
            if let Some(comment) = rest.strip_prefix("//") {
                let end = comment.find('\n').unwrap_or(comment.len());
                let comment = comment[..end].trim();
                if let Some(number) = comment.strip_prefix("LAYER") {
                    if let Ok(n) = number.trim().parse::<u32>() {
                        *layer = Some(n);
                    }
                }
                // The line break is left to `blanks`, which counts it.
                at += 2 + end;
            } else if let Some(comment) = rest.strip_prefix("/*") {
                let Some(end) = comment.find("*/") else {
                    return Err(Expected {
                        at,
                        what: "`*/` closing the comment",
                    });
                };
                let comment = &comment.as_bytes()[..end];
                if let Some(last) = comment.iter().rposition(|&b| b == b'\n') {
                    self.line += comment.iter().filter(|&&b| b == b'\n').count();
                    self.line_start = at + 2 + last + 1;
                }
                at += 2 + end + 2;
            } else {
                return Ok(at);
            }
        }
    }

    /// The position of `at`, which must be on the line of the last blanks skipped.
    fn position(&self, at: usize) -> Position {
        let column = self
            .text
            .text
            .get(self.line_start..at)
            .map_or(0, |s| s.chars().count())
            + 1;
        Position {
            line: self.line,
            column,
        }
    }

    /// Takes the line count from `lines` at `at` (after an error, whose definition's blanks
    /// were only partly counted).
    fn resync(&mut self, lines: &mut LineIndex<'_>, at: usize) {
        lines.position(at);
        self.line = lines.line;
        self.line_start = lines.line_start;
    }
}

/// Tracks line numbers while the parser moves forward through the text.
struct LineIndex<'t> {
    text: &'t str,
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        LineIndex {
            text,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The position of `offset`, a character boundary. Cheapest when offsets only grow.
    fn position(&mut self, offset: usize) -> Position {
        if offset < self.offset {
            *self = LineIndex::new(self.text);
        }
        let skipped = self
            .text
            .as_bytes()
            .get(self.offset..offset)
            .unwrap_or_default();
        if let Some(last) = skipped.iter().rposition(|&b| b == b'\n') {
            self.line += skipped.iter().filter(|&&b| b == b'\n').count();
            self.line_start = self.offset + last + 1;
        }
        self.offset = offset;
        let column = self
            .text
            .get(self.line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Position {
            line: self.line,
            column,
        }
    }

    fn line_text(&self, line_start: usize) -> &'t str {
        let rest = self.text.get(line_start..).unwrap_or_default();
        rest.split('\n').next().unwrap_or("").trim_end_matches('\r')
    }
}

/// Parses a whole schema. All syntax errors are reported, each with its line and column.
///
/// ```
/// let schema = tl_schema::parse("
///     boolTrue#997275b5 = Bool;
///     ---functions---
///     help.getConfig#c4f9186b = Config;
///     // LAYER 7
/// ").unwrap();
/// assert_eq!(schema.definitions.len(), 2);
/// assert_eq!(schema.definitions[1].full_name(), "help.getConfig");
/// assert_eq!(schema.layer, Some(7));
/// ```
pub fn parse(text: &str) -> Result<Schema, ParseErrors> {
    let mut cursor = Cursor {
        text: Text {
            text,
            bytes: text.as_bytes(),
        },
        params: Vec::new(),
        line: 1,
        line_start: 0,
    };
    // Telegram's schemas hold about one definition per 110 bytes: reserve a little more.
    let mut schema = Schema {
        definitions: Vec::with_capacity(text.len() / 96),
        layer: None,
    };
    let mut errors = Vec::new();
    let mut lines = LineIndex::new(text);
    let mut category = Category::Type;
    let mut at = 0;

    loop {
        at = match cursor.trivia(at, &mut schema.layer) {
            Ok(at) => at,
            Err(e) => {
                errors.push(make_error(&mut lines, e));
                break;
            }
        };
        if at >= text.len() {
            break;
        }
        if text.as_bytes()[at..].starts_with(b"---") {
            match cursor.text.section_marker(at) {
                Ok((name, end)) => {
                    category = match name {
                        "functions" => Category::Function,
                        _ => Category::Type,
                    };
                    at = end;
                }
                Err(e) => {
                    errors.push(make_error(&mut lines, e));
                    at = cursor.text.resume(e.at, false);
                    cursor.resync(&mut lines, at);
                }
            }
            continue;
        }
        match cursor.definition(at, category, &mut schema.definitions) {
            Ok((end, explicit_id)) => {
                if !explicit_id {
                    if let Some(def) = schema.definitions.last_mut() {
                        def.id = crate::id::compute_id(def);
                    }
                }
                at = end;
            }
            Err(e) => {
                errors.push(make_error(&mut lines, e));
                at = cursor.text.resume(e.at, true);
                cursor.resync(&mut lines, at);
            }
        }
    }

    if errors.is_empty() {
        Ok(schema)
    } else {
        Err(ParseErrors { errors })
    }
}

fn make_error(lines: &mut LineIndex<'_>, e: Expected) -> ParseError {
    let position = lines.position(e.at);
    let line_text = lines.line_text(lines.line_start);
    let found: String = lines
        .text
        .get(e.at..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| *c != '\n')
        .take(24)
        .collect();
    ParseError {
        line: position.line,
        column: position.column,
        expected: e.what,
        found: if found.trim().is_empty() {
            "end of line".to_owned()
        } else {
            found.trim_end().to_owned()
        },
        line_text: line_text.to_owned(),
    }
}
