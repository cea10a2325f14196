//! The parse modes against Telethon's own parsers (`telethon.extensions.markdown.parse` and
//! `telethon.extensions.html.parse`, Telethon 1.45.0): for inputs where Telegram's flavours
//! agree, the same text and the same entities (type, offset, length, url / language / user).
//!
//! Python comes from `$TELETHON_PYTHON`, else `$VIRTUAL_ENV/bin/python3`, else the venv
//! `.ci/test.sh` makes (`../.venv-test`); without any of them the test says so and passes.
//!
//! Differences on purpose (documented in `parse_mode::markdown` and `parse_mode::html`), checked
//! to differ (`DIFFERENT`): escapes, `--underline--`, `||spoiler||`, `>` quotes and pre
//! languages in Markdown; markup inside link texts; `<tg-spoiler>`, `<ins>`, `<strike>` and
//! unfinished tags in HTML. A `tg://user?id=N` text link of Telethon counts as our mention of
//! user N (Telethon's client makes the same change when it sends).

#![cfg(all(feature = "markdown", feature = "html"))]

use client_sdk::api::enums::MessageEntity;
use client_sdk::parse_mode::{html, markdown};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const MARKDOWN: &[&str] = &[
    "👍 **bold** 𝒜",
    "**bold** and __italic__ and ~~strike~~",
    "**bold __both__** after",
    "**ab __cd** ef__",
    "__a **b__ c**",
    "~~**both**~~ 𝒜",
    "`code **not bold**` after",
    "x ```pre **block**``` y",
    "```multi line\n\npre```",
    "[link](https://example.org/?q=1) text",
    "hi [Bob](tg://user?id=123)!",
    "👍👍 [𝒜 link](https://a.b/c?d=e) 𝒜**𝒜**",
    "emoji 🇺🇦 flag **bold 👨‍👩‍👧** 🏳️‍🌈",
    "a ** b",
    "**",
    "****",
    "a****b",
    "[unclosed link(https://x.org)",
    "[a](b) [c](d)",
    "   padded **bold**   ",
    "**  bold with spaces  **",
    "**bold\nmultiline**\n__it__",
    "snake_case and snake__case__ok",
    "C:\\path\\to",
    "``",
    "`a` `b`",
    "**a**__b__~~c~~",
    "x **y",
    "",
];

const HTML: &[&str] = &[
    "👍 <b>bold</b> 𝒜",
    "<strong>a <em>b</em></strong> <u>c</u> <s>d</s><del>e</del> <i>f</i>",
    "<b>a<i>b</b>c</i>",
    "<code>x &lt; y</code> &amp; &quot;q&quot; &#x1F44D; &gt;",
    "<pre>raw\n  text</pre>",
    "<pre><code class=\"language-python\">print(1)</code></pre> after",
    "<pre><code>no language</code></pre>",
    "<a href=\"https://example.org/?a=1&amp;b=2\">link</a> 𝒜",
    "<a href=\"tg://user?id=42\">mention</a>",
    "<a href=\"mailto:a@b.c\">a@b.c</a>",
    "<blockquote>quote\nlines</blockquote> <blockquote expandable>more</blockquote>",
    "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>",
    "<b>unclosed <i>italic</i>",
    "<unknown>tag</unknown> text",
    "  <b> padded </b>  ",
    "<b><b>double</b></b> x",
    "<a>no href</a>",
    "a<br>b<br/>c",
    "<!-- comment -->text",
    "<p>para</p><p>graph</p>",
    "<B>upper</B> <A HREF=\"https://x.org\">case</A>",
    "<a href=https://x.org>unquoted</a>",
    "plain 👍 text",
    "",
];

/// The documented differences: inputs where we must not agree with Telethon (so that the
/// docs' list stays true).
const DIFFERENT: &[(&str, &str)] = &[
    ("md", "\\*not italic\\*"),
    ("md", "a --underline-- b"),
    ("md", "a ||spoiler|| b"),
    ("md", "> quoted\nnot"),
    ("md", "x ```rust\nfn main() {}``` y"),
    ("md", "x ```\ncode``` y"),
    ("md", "[**bold** link](https://x.org)"),
    ("html", "<tg-spoiler>s</tg-spoiler> x"),
    ("html", "<span class=\"tg-spoiler\">s</span> x"),
    ("html", "<ins>u</ins> x"),
    ("html", "<strike>s</strike> x"),
    ("html", "a <"),
];

/// Telethon's side: reads `mode \t hex(input)` lines, prints `hex(text) \t entities` lines.
const SCRIPT: &str = r#"
import sys
from telethon.extensions import markdown, html
from telethon.tl import types

def describe(e):
    name = type(e).__name__[len('MessageEntity'):]
    extra = ''
    if isinstance(e, types.MessageEntityTextUrl):
        if e.url.startswith('tg://user?id='):
            name, extra = 'MentionName', e.url[len('tg://user?id='):]
        else:
            extra = e.url
    elif isinstance(e, types.MessageEntityPre):
        extra = e.language
    elif isinstance(e, types.MessageEntityCustomEmoji):
        extra = str(e.document_id)
    elif isinstance(e, types.MessageEntityBlockquote):
        extra = 'collapsed' if e.collapsed else ''
    return '%s:%d:%d:%s' % (name, e.offset, e.length, extra.encode().hex())

for line in sys.stdin.read().splitlines():
    mode, data = line.split('\t')
    source = bytes.fromhex(data).decode()
    text, entities = (markdown if mode == 'md' else html).parse(source)
    print(text.encode().hex() + '\t' + ','.join(sorted(describe(e) for e in entities)))
"#;

/// Ours, in the script's format.
fn describe(entity: &MessageEntity) -> String {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let (name, offset, length, extra) = match entity {
        MessageEntity::Bold(e) => ("Bold", e.offset, e.length, String::new()),
        MessageEntity::Italic(e) => ("Italic", e.offset, e.length, String::new()),
        MessageEntity::Underline(e) => ("Underline", e.offset, e.length, String::new()),
        MessageEntity::Strike(e) => ("Strike", e.offset, e.length, String::new()),
        MessageEntity::Spoiler(e) => ("Spoiler", e.offset, e.length, String::new()),
        MessageEntity::Code(e) => ("Code", e.offset, e.length, String::new()),
        MessageEntity::Email(e) => ("Email", e.offset, e.length, String::new()),
        MessageEntity::Pre(e) => ("Pre", e.offset, e.length, e.language.clone()),
        MessageEntity::TextUrl(e) => ("TextUrl", e.offset, e.length, e.url.clone()),
        MessageEntity::MentionName(e) => ("MentionName", e.offset, e.length, e.user_id.to_string()),
        MessageEntity::CustomEmoji(e) => {
            ("CustomEmoji", e.offset, e.length, e.document_id.to_string())
        }
        MessageEntity::Blockquote(e) => (
            "Blockquote",
            e.offset,
            e.length,
            if e.collapsed { "collapsed" } else { "" }.to_string(),
        ),
        other => panic!("the parse modes made {other:?}"),
    };
    format!("{name}:{offset}:{length}:{}", hex(&extra))
}

fn python() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("TELETHON_PYTHON") {
        return Some(python.into());
    }
    let venvs = [
        std::env::var_os("VIRTUAL_ENV").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-test")),
    ];
    venvs
        .into_iter()
        .flatten()
        .map(|venv| venv.join("bin/python3"))
        .find(|python| python.exists())
}

#[test]
fn parse_modes_agree_with_telethon() {
    let Some(python) = python() else {
        println!(
            "skipped: no Telethon venv (set TELETHON_PYTHON, or run `bash .ci/test.sh \
             --setup-only` to make ../.venv-test)"
        );
        return;
    };
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let agreeing = MARKDOWN.len() + HTML.len();
    let cases: Vec<(&str, &str)> = MARKDOWN
        .iter()
        .map(|i| ("md", *i))
        .chain(HTML.iter().map(|i| ("html", *i)))
        .chain(DIFFERENT.iter().copied())
        .collect();
    let input: String = cases
        .iter()
        .map(|(mode, source)| format!("{mode}\t{}\n", hex(source)))
        .collect();
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to python");
    let output = child.wait_with_output().expect("python");
    assert!(
        output.status.success(),
        "{} with telethon 1.45.0 failed",
        python.display()
    );
    let theirs = String::from_utf8(output.stdout).expect("utf-8");
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(theirs.len(), cases.len());
    let mut differences = Vec::new();
    for (n, ((mode, source), theirs)) in cases.iter().zip(theirs).enumerate() {
        let (text, entities) = match *mode {
            "md" => markdown::parse(source),
            _ => html::parse(source),
        };
        let mut ours: Vec<String> = entities.iter().map(describe).collect();
        ours.sort();
        let ours = format!("{}\t{}", hex(&text), ours.join(","));
        match (n < agreeing, ours == theirs) {
            (true, false) => differences.push(format!(
                "{mode} {source:?}:\n  ours   {ours}\n  theirs {theirs}"
            )),
            (false, true) => differences.push(format!(
                "{mode} {source:?}: a documented difference, but Telethon agrees: {ours}"
            )),
            _ => {}
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} inputs are not as expected:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
    println!(
        "{agreeing} inputs parse as Telethon parses them; {} differ as documented",
        DIFFERENT.len()
    );
}
