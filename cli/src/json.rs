//! JSON text printed as it is written: on one line or indented, never parsed
//! into a tree.
//!
//! The CLI only forwards a plugin's JSON (a result, a discover document), and
//! the host kit has already checked that it is valid. Building a
//! `serde_json::Value` to print it would round integers beyond `f64` (and
//! drop numbers beyond its range), and costs about twenty times the text in
//! memory. [`write`] instead copies the text through, token by token: the
//! numbers stay as the plugin wrote them, and the only memory used is the
//! writer's buffer.

use crate::text;
use std::io::{self, Write};

/// How [`write`] lays out the JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One line, without whitespace between tokens.
    OneLine,
    /// Indented by two spaces per level, one member or element per line, as
    /// `serde_json::to_string_pretty` writes it.
    Indented,
}

/// Writes the JSON `json` to `out` in `layout`, without a final newline.
///
/// Inside strings, the characters [`text::is_unsafe`] names are written as
/// `\u00XX` escapes (JSON already escapes the C0 controls; DEL, the C1
/// controls and the bidirectional overrides it allows raw): the value is the
/// same, and nothing reaches a terminal that it would act on. Whitespace
/// between tokens is dropped (or replaced by the indentation); everything
/// else is copied unchanged, numbers included.
///
/// `json` is expected to be valid JSON. If it is not, the output is not
/// either, but the unsafe characters are escaped all the same.
///
/// # Errors
/// When `out` fails.
pub(crate) fn write(json: &str, layout: Layout, out: &mut impl Write) -> io::Result<()> {
    let mut copy = Output {
        json,
        out,
        done: 0,
        depth: 0,
    };
    let indented = layout == Layout::Indented;
    let mut in_string = false;
    let mut escaped = false;
    // Whether the last `[` or `{` opened an empty array or object.
    let mut empty = false;
    for (at, c) in json.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if text::is_unsafe(c) {
                copy.replace(at, c, Token::Escape(c))?;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            ' ' | '\t' | '\n' | '\r' => copy.replace(at, c, Token::Nothing)?,
            '[' | '{' if indented => {
                let close = if c == '[' { ']' } else { '}' };
                empty = json
                    .get(at + 1..)
                    .is_some_and(|rest| rest.trim_start_matches(is_whitespace).starts_with(close));
                if !empty {
                    copy.depth += 1;
                    copy.replace(at, c, Token::Open(c))?;
                }
            }
            ']' | '}' if indented => {
                if empty {
                    // Closes `[]` or `{}`: copied as it is, like its opening.
                    empty = false;
                } else {
                    copy.depth = copy.depth.saturating_sub(1);
                    copy.replace(at, c, Token::Close(c))?;
                }
            }
            ',' if indented => copy.replace(at, c, Token::Comma)?,
            ':' if indented => copy.replace(at, c, Token::Colon)?,
            c if text::is_unsafe(c) => copy.replace(at, c, Token::Escape(c))?,
            _ => {}
        }
    }
    copy.finish()
}

/// JSON's whitespace between tokens.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// What [`Output::replace`] writes in place of one character.
enum Token {
    Nothing,
    Escape(char),
    Open(char),
    Close(char),
    Comma,
    Colon,
}

/// Copies `json` to `out` in runs, replacing single characters on the way.
struct Output<'a, W> {
    json: &'a str,
    out: &'a mut W,
    /// Bytes of `json` already written (or replaced).
    done: usize,
    /// Nesting depth, for the indentation.
    depth: usize,
}

impl<W: Write> Output<'_, W> {
    /// Writes what was copied since the last replacement, then `token` in
    /// place of the character `c` at byte `at`.
    fn replace(&mut self, at: usize, c: char, token: Token) -> io::Result<()> {
        let run = self.json.get(self.done..at).unwrap_or_default();
        self.out.write_all(run.as_bytes())?;
        self.done = at + c.len_utf8();
        match token {
            Token::Nothing => Ok(()),
            Token::Escape(c) => write!(self.out, "\\u{:04x}", u32::from(c)),
            Token::Open(c) => {
                write!(self.out, "{c}")?;
                self.newline()
            }
            Token::Close(c) => {
                self.newline()?;
                write!(self.out, "{c}")
            }
            Token::Comma => {
                self.out.write_all(b",")?;
                self.newline()
            }
            Token::Colon => self.out.write_all(b": "),
        }
    }

    fn newline(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n")?;
        for _ in 0..self.depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        let rest = self.json.get(self.done..).unwrap_or_default();
        self.out.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn layout(json: &str, layout: Layout) -> String {
        let mut out = Vec::new();
        write(json, layout, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_line_drops_the_whitespace_between_tokens_only() {
        let text = " {\"a b\" :\r\n [1, 2.50 ,\t{ } , [ ]],\"c\": \"x , y: [z]\" } ";
        assert_eq!(
            layout(text, Layout::OneLine),
            r#"{"a b":[1,2.50,{},[]],"c":"x , y: [z]"}"#
        );
    }

    #[test]
    fn indented_is_what_serde_json_writes() {
        let value = json!({
            "name": "x, {y}: [z]", "list": [1, [], {}, [true, null], {"k": "v \" ] }"}],
            "empty": {}, "nested": {"a": {"b": [[]]}}, "quote\\": "\\\""
        });
        let compact = value.to_string();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(layout(&compact, Layout::Indented), pretty);
        assert_eq!(layout(&pretty, Layout::Indented), pretty);
        assert_eq!(layout(&pretty, Layout::OneLine), compact);
        for scalar in ["5", "\"s\"", "null", "[]", "{}"] {
            assert_eq!(layout(scalar, Layout::Indented), scalar);
        }
    }

    #[test]
    fn numbers_are_copied_as_written() {
        let text =
            "[18446744073709551617,-1e400,1.0E+2,-0,0.10,123456789012345678901234567890.5e-999]";
        assert_eq!(layout(text, Layout::OneLine), text);
        assert_eq!(
            layout(text, Layout::Indented).replace(['\n', ' '], ""),
            text
        );
    }

    #[test]
    fn unsafe_characters_in_strings_become_json_escapes() {
        let text = "[\"a\u{7f}b\u{9b}31m\u{202e}c\u{2028}\",\"é 漢 😀 \\u001b \\\" \\\\\"]";
        let out = layout(text, Layout::OneLine);
        assert_eq!(
            out,
            "[\"a\\u007fb\\u009b31m\\u202ec\\u2028\",\"é 漢 😀 \\u001b \\\" \\\\\"]"
        );
        let before: Value = serde_json::from_str(text).unwrap();
        let after: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(before, after);
        assert!(!out.chars().any(text::is_unsafe));
    }

    #[test]
    fn invalid_json_still_reaches_no_terminal_raw() {
        let out = layout("[\"a\x1b[2K\rb\"]\x1b\u{9b}", Layout::OneLine);
        assert!(!out.chars().any(text::is_unsafe), "{out}");
    }
}
