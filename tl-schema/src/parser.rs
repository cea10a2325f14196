//! The nom grammar of TL as Telegram's schemas use it.

use crate::ast::{
    Category, Definition, Flag, GenericParam, Parameter, ParameterKind, Position, Schema, Type,
};
use crate::error::{ParseError, ParseErrors};
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1, hex_digit1};
use nom::combinator::{cut, opt, recognize};
use nom::error::{ContextError, ErrorKind};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};

/// The error nom carries while parsing: where it stopped and what it wanted there.
#[derive(Debug, Clone, Copy)]
struct Expected<'a> {
    at: &'a str,
    what: &'static str,
    /// Set once a `context` named the expectation; inner, more precise contexts win.
    named: bool,
}

impl<'a> nom::error::ParseError<&'a str> for Expected<'a> {
    fn from_error_kind(at: &'a str, kind: ErrorKind) -> Self {
        let what = match kind {
            ErrorKind::Tag | ErrorKind::Char => "a punctuation mark",
            ErrorKind::Digit => "a decimal number",
            ErrorKind::HexDigit => "a hexadecimal id",
            _ => "valid TL",
        };
        Expected {
            at,
            what,
            named: false,
        }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> ContextError<&'a str> for Expected<'a> {
    fn add_context(_: &'a str, what: &'static str, other: Self) -> Self {
        if other.named {
            other
        } else {
            Expected {
                at: other.at,
                what,
                named: true,
            }
        }
    }
}

type PResult<'a, T> = IResult<&'a str, T, Expected<'a>>;

fn fail<'a, T>(at: &'a str, what: &'static str, hard: bool) -> PResult<'a, T> {
    let err = Expected {
        at,
        what,
        named: true,
    };
    Err(if hard {
        nom::Err::Failure(err)
    } else {
        nom::Err::Error(err)
    })
}

fn with_context<'a, T>(
    what: &'static str,
    mut parser: impl Parser<&'a str, Output = T, Error = Expected<'a>>,
) -> impl Parser<&'a str, Output = T, Error = Expected<'a>> {
    move |input: &'a str| nom::error::context(what, |i| parser.parse(i)).parse(input)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[A-Za-z_][A-Za-z0-9_]*`
fn ident(input: &str) -> PResult<'_, &str> {
    recognize(pair(take_while1(is_ident_start), take_while(is_ident_char))).parse(input)
}

/// `a.b.name`: namespace parts and the last name.
fn full_name(input: &str) -> PResult<'_, (Vec<String>, String)> {
    let (mut input, mut last) = ident(input)?;
    let mut namespace = Vec::new();
    while let Some(rest) = input.strip_prefix('.') {
        match ident(rest) {
            Ok((rest, part)) => {
                namespace.push(std::mem::replace(&mut last, part).to_owned());
                input = rest;
            }
            Err(_) => break,
        }
    }
    Ok((input, (namespace, last.to_owned())))
}

/// Spaces, tabs and line breaks (not comments: those only stand between definitions).
fn blanks(input: &str) -> &str {
    input.trim_start_matches([' ', '\t', '\r', '\n'])
}

/// A type expression: `!X`, `%Message`, `Vector<long>`, `messages.Messages`.
fn type_expr(input: &str) -> PResult<'_, Type> {
    let (input, generic_ref) = opt(char('!')).parse(input)?;
    let (input, percent) = opt(char('%')).parse(input)?;
    let (input, (namespace, name)) = with_context("a type name", full_name).parse(input)?;
    let (input, generic_arg) = opt(preceded(
        char('<'),
        cut(|i| {
            let (i, arg) = type_expr(i)?;
            let (i, _) = with_context("`>` closing the type argument", char('>')).parse(i)?;
            Ok((i, arg))
        }),
    ))
    .parse(input)?;
    let bare = percent.is_some() || name.starts_with(|c: char| c.is_ascii_lowercase());
    Ok((
        input,
        Type {
            namespace,
            name,
            bare,
            generic_ref: generic_ref.is_some(),
            generic_arg: generic_arg.map(Box::new),
            percent: percent.is_some(),
        },
    ))
}

/// `{X:Type}`
fn generic_param(input: &str) -> PResult<'_, GenericParam> {
    let (input, _) = char('{').parse(input)?;
    let (input, name) = cut(with_context("a type parameter name", ident)).parse(input)?;
    let (input, _) =
        cut(with_context("`:` after the type parameter name", char(':'))).parse(input)?;
    let (input, kind) = cut(with_context(
        "the type parameter's kind (`Type` or `#`)",
        recognize(take_while1(|c: char| is_ident_char(c) || c == '#')),
    ))
    .parse(input)?;
    let (input, _) = cut(with_context("`}` closing the type parameter", char('}'))).parse(input)?;
    Ok((
        input,
        GenericParam {
            name: name.to_owned(),
            kind: kind.to_owned(),
        },
    ))
}

/// `flags.3?`
fn flag_ref(input: &str) -> PResult<'_, Flag> {
    let (input, name) = ident(input)?;
    let (input, _) = char('.').parse(input)?;
    // Errors point into the text by what is left of it: the digits and everything after.
    let at_digits = input;
    let (input, digits) = digit1(input)?;
    let (input, _) = char('?').parse(input)?;
    let index = match digits.parse::<u32>() {
        Ok(index) if index < 32 => index,
        _ => return fail(at_digits, "a flag bit from 0 to 31", true),
    };
    Ok((
        input,
        Flag {
            name: name.to_owned(),
            index,
        },
    ))
}

/// `[ t ]`: the repetition of the built-in vector definition.
fn repetition(input: &str) -> PResult<'_, ParameterKind> {
    let (mut input, _) = char('[').parse(input)?;
    let mut items = Vec::new();
    loop {
        input = blanks(input);
        if let Ok((rest, _)) = char::<&str, Expected<'_>>(']').parse(input) {
            return Ok((rest, ParameterKind::Repeat { items }));
        }
        let (rest, item) = cut(with_context("a type or `]`", type_expr)).parse(input)?;
        items.push(item);
        input = rest;
    }
}

/// `name:type`, `name:#`, `name:flags.N?type`, `#`, `?` or `[ t ]`.
fn parameter(input: &str) -> PResult<'_, Parameter> {
    if let Some(rest) = input.strip_prefix('#') {
        return Ok((
            rest,
            Parameter {
                name: String::new(),
                kind: ParameterKind::Flags,
            },
        ));
    }
    if let Some(rest) = input.strip_prefix('?') {
        return Ok((
            rest,
            Parameter {
                name: String::new(),
                kind: ParameterKind::Builtin,
            },
        ));
    }
    if input.starts_with('[') {
        let (rest, kind) = repetition(input)?;
        return Ok((
            rest,
            Parameter {
                name: String::new(),
                kind,
            },
        ));
    }
    let (input, name) =
        with_context("a parameter `name:type`, `{X:Type}` or `=`", ident).parse(input)?;
    let (input, _) = cut(with_context("`:` after the parameter name", char(':'))).parse(input)?;
    if let Some(rest) = input.strip_prefix('#') {
        return Ok((
            rest,
            Parameter {
                name: name.to_owned(),
                kind: ParameterKind::Flags,
            },
        ));
    }
    let (input, flag) = opt(flag_ref).parse(input)?;
    let (input, ty) = cut(with_context("the parameter's type", type_expr)).parse(input)?;
    Ok((
        input,
        Parameter {
            name: name.to_owned(),
            kind: ParameterKind::Value { ty, flag },
        },
    ))
}

/// The result type after `=`: `Type`, `Vector<t>`, or the built-in form `Vector t`.
fn result_type(input: &str) -> PResult<'_, Type> {
    let (input, mut ty) = with_context("the result type after `=`", type_expr).parse(input)?;
    if ty.generic_arg.is_none() {
        // `Vector t`: the argument follows on the same line.
        let after = input.trim_start_matches([' ', '\t']);
        if after.starts_with(is_ident_start) {
            let (rest, arg) = type_expr(after)?;
            ty.generic_arg = Some(Box::new(arg));
            return Ok((rest, ty));
        }
    }
    Ok((input, ty))
}

/// The parts of a definition other than its position and category.
struct Parsed {
    namespace: Vec<String>,
    name: String,
    id: Option<u32>,
    generics: Vec<GenericParam>,
    params: Vec<Parameter>,
    ty: Type,
}

/// One definition, from its name up to and including the `;`.
fn definition(input: &str) -> PResult<'_, Parsed> {
    let (input, (namespace, name)) =
        with_context("a definition `name#id params = Type;`", full_name).parse(input)?;
    // Errors point into the text by what is left of it: the id and everything after.
    let at_id = input.get(1..).unwrap_or(input);
    let (input, id) = opt(preceded(
        char('#'),
        cut(with_context(
            "a hexadecimal constructor id of at most 8 digits",
            hex_digit1,
        )),
    ))
    .parse(input)?;
    let id = match id {
        Some(hex) if hex.len() <= 8 => Some(u32::from_str_radix(hex, 16).unwrap_or_default()),
        Some(_) => {
            return fail(
                at_id,
                "a hexadecimal constructor id of at most 8 digits",
                true,
            );
        }
        None => None,
    };
    if let Some(next) = input.chars().next() {
        if !matches!(next, ' ' | '\t' | '\r' | '\n' | '=') {
            return fail(input, "a space, `#id` or `=` after the name", true);
        }
    }
    let mut generics = Vec::new();
    let mut params = Vec::new();
    let mut input = blanks(input);
    loop {
        if let Some(rest) = input.strip_prefix('=') {
            // The result type follows `=` on the same line.
            input = rest.trim_start_matches([' ', '\t']);
            if !input.starts_with(|c: char| c == '%' || c == '!' || is_ident_start(c)) {
                return fail(input, "the result type after `=`", true);
            }
            break;
        }
        if input.starts_with('{') {
            let (rest, generic) = generic_param(input)?;
            generics.push(generic);
            input = blanks(rest);
            continue;
        }
        if input.is_empty() || input.starts_with(';') {
            return fail(
                input,
                "a parameter or `=` before the end of the definition",
                true,
            );
        }
        let (rest, param) = cut(parameter).parse(input)?;
        if let Some(next) = rest.chars().next() {
            if !matches!(next, ' ' | '\t' | '\r' | '\n' | '=') {
                return fail(rest, "a space between parameters", true);
            }
        }
        params.push(param);
        input = blanks(rest);
    }
    let (input, ty) = cut(result_type).parse(input)?;
    let Some(input) = blanks(input).strip_prefix(';') else {
        return fail(input, "`;` ending the definition", true);
    };
    Ok((
        input,
        Parsed {
            namespace,
            name,
            id,
            generics,
            params,
            ty,
        },
    ))
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

    /// The position of `offset`, which must not be before the last one asked for.
    fn position(&mut self, offset: usize) -> Position {
        if offset < self.offset {
            *self = LineIndex::new(self.text);
        }
        let skipped = &self.text.as_bytes()[self.offset..offset];
        for (i, &b) in skipped.iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = offset;
        let column = self.text[self.line_start..offset].chars().count() + 1;
        Position {
            line: self.line,
            column,
        }
    }

    fn line_text(&self, line_start: usize) -> &'t str {
        let rest = &self.text[line_start..];
        rest.split('\n').next().unwrap_or("").trim_end_matches('\r')
    }
}

/// Skips blanks and comments; returns the rest and a layer number found in a `// LAYER N` line.
fn skip_trivia<'a>(mut input: &'a str, layer: &mut Option<u32>) -> Result<&'a str, &'a str> {
    loop {
        input = blanks(input);
        if let Some(rest) = input.strip_prefix("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            let comment = rest[..end].trim();
            if let Some(number) = comment.strip_prefix("LAYER") {
                if let Ok(n) = number.trim().parse::<u32>() {
                    *layer = Some(n);
                }
            }
            input = &rest[end..];
        } else if let Some(rest) = input.strip_prefix("/*") {
            match rest.find("*/") {
                Some(end) => input = &rest[end + 2..],
                None => return Err(input),
            }
        } else {
            return Ok(input);
        }
    }
}

/// `---types---`, `---functions---` or another `---name---` section marker.
fn section_marker(input: &str) -> PResult<'_, &str> {
    let (input, _) = tag("---").parse(input)?;
    let (input, name) =
        cut(with_context("a section name such as `functions`", ident)).parse(input)?;
    let (input, _) =
        cut(with_context("`---` closing the section marker", tag("---"))).parse(input)?;
    Ok((input, name))
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
    let mut schema = Schema::default();
    let mut errors = Vec::new();
    let mut lines = LineIndex::new(text);
    let mut category = Category::Type;
    let mut input = text;
    let offset_of = |rest: &str| text.len() - rest.len();

    loop {
        input = match skip_trivia(input, &mut schema.layer) {
            Ok(rest) => rest,
            Err(at) => {
                errors.push(make_error(
                    &mut lines,
                    offset_of(at),
                    "`*/` closing the comment",
                ));
                break;
            }
        };
        if input.is_empty() {
            break;
        }
        if input.starts_with("---") {
            match section_marker(input) {
                Ok((rest, name)) => {
                    category = match name {
                        "functions" => Category::Function,
                        _ => Category::Type,
                    };
                    input = rest;
                }
                Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                    errors.push(make_error(&mut lines, offset_of(e.at), e.what));
                    input = skip_line(e.at);
                }
                Err(nom::Err::Incomplete(_)) => break,
            }
            continue;
        }
        let start = offset_of(input);
        match definition(input) {
            Ok((rest, parsed)) => {
                let position = lines.position(start);
                let mut def = Definition {
                    namespace: parsed.namespace,
                    name: parsed.name,
                    id: parsed.id.unwrap_or_default(),
                    explicit_id: parsed.id.is_some(),
                    generics: parsed.generics,
                    params: parsed.params,
                    ty: parsed.ty,
                    category,
                    position,
                };
                if !def.explicit_id {
                    def.id = crate::id::compute_id(&def);
                }
                schema.definitions.push(def);
                input = rest;
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                errors.push(make_error(&mut lines, offset_of(e.at), e.what));
                input = skip_definition(e.at);
            }
            Err(nom::Err::Incomplete(_)) => break,
        }
    }

    if errors.is_empty() {
        Ok(schema)
    } else {
        Err(ParseErrors { errors })
    }
}

fn make_error(lines: &mut LineIndex<'_>, offset: usize, expected: &'static str) -> ParseError {
    let position = lines.position(offset);
    let line_text = lines.line_text(lines.line_start);
    let found: String = lines.text[offset..]
        .chars()
        .take_while(|c| *c != '\n')
        .take(24)
        .collect();
    ParseError {
        line: position.line,
        column: position.column,
        expected,
        found: if found.trim().is_empty() {
            "end of line".to_owned()
        } else {
            found.trim_end().to_owned()
        },
        line_text: line_text.to_owned(),
    }
}

/// After an error, resume after the next `;` (or the end of the line, whichever is first).
fn skip_definition(input: &str) -> &str {
    match input.find([';', '\n']) {
        Some(i) => &input[i + 1..],
        None => "",
    }
}

fn skip_line(input: &str) -> &str {
    match input.find('\n') {
        Some(i) => &input[i + 1..],
        None => "",
    }
}
