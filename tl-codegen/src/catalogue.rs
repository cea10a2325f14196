//! A rule catalogue as text: the hand-written [`Rule`]s a crate offers to its layer bridges,
//! one per line, so that `build.rs` and the `tl bridge` command read the same file.
//!
//! ```text
//! # comments and blank lines are ignored
//! result channels.joinChannel crate::rules::join_channel_updates
//! down messageActionGiftPremium.months crate::rules::gift_premium_months
//! up keyboardButton.type crate::rules::keyboard_button_type
//! refuse down replyInlineMarkup inline keyboards are not carried
//! ```
//!
//! `down`/`up` are [`Rule::field`] (definition `.` field, then the function's Rust path),
//! `result` is [`Rule::result`], `refuse` is [`Rule::refuse`] (direction, constructor, then
//! the reason: the rest of the line).

use crate::{Direction, Rule};

/// A line of a rule catalogue that is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule catalogue line {line}: {reason}: {text:?}")]
pub struct CatalogueError {
    /// The line number, from 1.
    pub line: usize,
    /// The line.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Reads a rule catalogue (see the module's documentation for the format).
///
/// ```
/// let rules = tl_codegen::parse_catalogue(
///     "# the join result\nresult channels.joinChannel crate::rules::join\n",
/// )
/// .unwrap();
/// assert_eq!(rules.len(), 1);
/// assert!(tl_codegen::parse_catalogue("sideways a.b c").is_err());
/// ```
pub fn parse_catalogue(text: &str) -> Result<Vec<Rule>, CatalogueError> {
    let mut rules = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |reason| CatalogueError {
            line: index + 1,
            text: raw.to_owned(),
            reason,
        };
        let mut words = line.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let rule = match kind {
            "down" | "up" => {
                let direction = direction(kind).ok_or_else(|| error("unknown direction"))?;
                let target = words.next().ok_or_else(|| error("no definition.field"))?;
                let (definition, field) = target
                    .split_once('.')
                    .filter(|(d, f)| !d.is_empty() && !f.is_empty())
                    .ok_or_else(|| error("expected definition.field"))?;
                let function = words.next().ok_or_else(|| error("no function path"))?;
                if words.next().is_some() {
                    return Err(error("unexpected words after the rule"));
                }
                Rule::field(direction, definition, field, function)
            }
            "result" => {
                let function = words.next().ok_or_else(|| error("no function name"))?;
                let rule = words.next().ok_or_else(|| error("no rule path"))?;
                if words.next().is_some() {
                    return Err(error("unexpected words after the rule"));
                }
                Rule::result(function, rule)
            }
            "refuse" => {
                let direction = words
                    .next()
                    .and_then(direction)
                    .ok_or_else(|| error("expected `up` or `down` after `refuse`"))?;
                let definition = words.next().ok_or_else(|| error("no constructor"))?;
                let reason = words.collect::<Vec<_>>().join(" ");
                if reason.is_empty() {
                    return Err(error("a refusal needs a reason"));
                }
                Rule::refuse(direction, definition, &reason)
            }
            _ => return Err(error("expected down, up, result or refuse")),
        };
        rules.push(rule);
    }
    Ok(rules)
}

fn direction(word: &str) -> Option<Direction> {
    match word {
        "down" => Some(Direction::Down),
        "up" => Some(Direction::Up),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_line_reads_as_its_rule() {
        let rules = parse_catalogue(
            "# c\n\n  down a.b crate::f\nup c.d crate::g\nresult x.y crate::h\nrefuse down z not here\n",
        )
        .unwrap();
        assert_eq!(
            rules,
            vec![
                Rule::field(Direction::Down, "a", "b", "crate::f"),
                Rule::field(Direction::Up, "c", "d", "crate::g"),
                Rule::result("x.y", "crate::h"),
                Rule::refuse(Direction::Down, "z", "not here"),
            ]
        );
    }

    #[test]
    fn bad_lines_are_named_with_their_number() {
        for (text, reason) in [
            ("down ab crate::f", "expected definition.field"),
            ("down a.b", "no function path"),
            ("result x.y", "no rule path"),
            (
                "refuse sideways z why",
                "expected `up` or `down` after `refuse`",
            ),
            ("refuse up z", "a refusal needs a reason"),
            ("down a.b crate::f extra", "unexpected words after the rule"),
            ("keep a.b", "expected down, up, result or refuse"),
        ] {
            let err = parse_catalogue(&format!("# first\n{text}")).unwrap_err();
            assert_eq!((err.line, err.reason), (2, reason), "{text}");
        }
    }
}
