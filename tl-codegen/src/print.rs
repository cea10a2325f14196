//! Writes generated tokens as Rust source text, one statement, field or item per line and
//! indented by nesting: readable enough to debug and much cheaper than a full formatter (the
//! `format` feature adds prettyplease for that).
//!
//! Spaces are left out only where dropping them cannot join two tokens into another one.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// The source text of `tokens`.
pub fn print(tokens: TokenStream) -> String {
    let mut printer = Printer {
        out: String::new(),
        depth: 0,
        prev: Prev::LineStart,
    };
    printer.stream(tokens, false);
    printer.newline();
    printer.out
}

/// Keywords that may stand before a path or a parenthesis, written with a space after them.
const KEYWORDS_BEFORE_PATHS: &[&str] = &[
    "as", "const", "dyn", "else", "enum", "fn", "for", "if", "impl", "in", "let", "match", "mod",
    "move", "mut", "pub", "ref", "return", "static", "struct", "type", "unsafe", "use", "where",
    "while",
];

/// What was written last, to decide on the space before the next token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    LineStart,
    /// An identifier, or a group that closed: `(`, `.` or `::` may follow without a space.
    Word,
    Literal,
    /// A punctuation mark that must join the next one (the first `:` of `::`).
    Joint,
    /// A `::` or `.`: an identifier follows without a space.
    Path,
    /// `#` starting an attribute.
    Hash,
    Other,
}

struct Printer {
    out: String,
    depth: usize,
    prev: Prev,
}

impl Printer {
    fn newline(&mut self) {
        if self.prev != Prev::LineStart {
            self.out.push('\n');
            self.prev = Prev::LineStart;
        }
    }

    fn indent(&mut self) {
        if self.prev == Prev::LineStart {
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
        }
    }

    /// Writes a space unless the last token and the next one may touch.
    fn space_before(&mut self, next: &TokenTree) {
        let touch = match (self.prev, next) {
            (Prev::LineStart | Prev::Joint | Prev::Hash, _) => true,
            (_, TokenTree::Punct(p)) if matches!(p.as_char(), ',' | ';') => true,
            (Prev::Path, TokenTree::Ident(_)) => true,
            (Prev::Word, TokenTree::Punct(p)) => matches!(p.as_char(), '.' | ':'),
            (Prev::Word, TokenTree::Group(g)) => g.delimiter() == Delimiter::Parenthesis,
            _ => false,
        };
        self.indent();
        if !touch {
            self.out.push(' ');
        }
    }

    /// Writes a stream; `in_braces` when it is the inside of `{ }`, where a `,` ends a line.
    fn stream(&mut self, tokens: TokenStream, in_braces: bool) {
        let mut path_colon = false;
        for tree in tokens {
            self.space_before(&tree);
            match tree {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Brace => {
                            self.out.push('{');
                            self.prev = Prev::Other;
                            self.newline();
                            self.depth += 1;
                            self.stream(group.stream(), true);
                            self.depth -= 1;
                            self.newline();
                            self.indent();
                            self.out.push('}');
                            self.prev = Prev::Word;
                            self.newline();
                            continue;
                        }
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    let attribute = self.prev == Prev::Hash && open == "[";
                    self.out.push_str(open);
                    self.prev = Prev::Joint;
                    self.stream(group.stream(), false);
                    self.out.push_str(close);
                    self.prev = Prev::Word;
                    if attribute {
                        self.newline();
                    }
                }
                TokenTree::Ident(ident) => {
                    let word = ident.to_string();
                    // A keyword before a path keeps its space: `impl ::x::T`, `&mut ::x::T`.
                    self.prev = if KEYWORDS_BEFORE_PATHS.contains(&word.as_str()) {
                        Prev::Other
                    } else {
                        Prev::Word
                    };
                    self.out.push_str(&word);
                }
                TokenTree::Literal(literal) => {
                    self.out.push_str(&literal.to_string());
                    self.prev = Prev::Literal;
                }
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    self.out.push(c);
                    let joint = punct.spacing() == Spacing::Joint;
                    self.prev = match c {
                        ':' if joint => {
                            path_colon = true;
                            Prev::Joint
                        }
                        ':' if path_colon => Prev::Path,
                        '.' if !joint => Prev::Path,
                        '#' => Prev::Hash,
                        _ if joint => Prev::Joint,
                        _ => Prev::Other,
                    };
                    if c != ':' || !joint {
                        path_colon = false;
                    }
                    if c == ';' || (c == ',' && in_braces) {
                        self.newline();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn lines_and_spaces() {
        let code = super::print(quote! {
            #[doc = "A thing."]
            pub struct Thing { pub a: ::std::vec::Vec<u8>, pub b: i32, }
            impl Thing {
                fn f(&self) -> usize { let x = self.a.len(); x + 1 }
            }
        });
        assert_eq!(
            code,
            "#[doc = \"A thing.\"]\npub struct Thing {\n    pub a: ::std::vec::Vec < u8 >,\n    \
             pub b: i32,\n}\nimpl Thing {\n    fn f(& self) -> usize {\n        let x = \
             self.a.len();\n        x + 1\n    }\n}\n"
        );
        // The printed text is the same tokens.
        let again: proc_macro2::TokenStream = code.parse().unwrap();
        assert_eq!(
            again.to_string().replace(' ', ""),
            code.replace([' ', '\n'], "")
        );
    }
}
