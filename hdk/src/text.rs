//! Text from a plugin, made safe for a terminal or a log a person reads.
//!
//! A plugin controls its log lines, its error messages and their data, the
//! names in its module, its answers. Printed raw, a `\r` or an escape sequence
//! could erase a `[plugin]` prefix, a `\n` could forge a line that reads as
//! the host's own, and a sequence could retitle the window or recolour the
//! rest of the session. So the host kit passes such text through [`escape`]
//! where it writes it for people (the default logger without a `tracing`
//! subscriber, the message of an [`Error`](crate::Error)), and so should an
//! embedder that prints plugin text itself.
//!
//! ```
//! use wasplug_hdk::text::escape;
//!
//! assert_eq!(escape("plain text, café"), "plain text, café");
//! assert_eq!(escape("erase\r\x1b[2Kforged"), "erase\\r\\x1b[2Kforged");
//! ```

use std::{borrow::Cow, fmt::Write as _};

/// Whether `c` must not reach a terminal as it is:
/// - the C0 controls (U+0000–U+001F: tab, line feed and carriage return
///   included, and ESC, which starts every escape sequence) and DEL;
/// - the C1 controls (U+0080–U+009F): some terminals read U+009B as CSI even
///   in UTF-8, an escape sequence without ESC;
/// - the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
///   U+2066–U+2069): they reorder the rest of the line as it is displayed, so
///   text can read differently from what it is (the "Trojan Source" characters
///   rustc warns about). The implicit marks (U+200E, U+200F, U+061C) reorder
///   nothing beyond their neighbours and are kept;
/// - the Unicode line and paragraph separators (U+2028, U+2029), line breaks
///   for some viewers.
///
/// Everything else, accents, CJK and emoji included, is plain text.
pub fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `text` with each [unsafe](is_unsafe) character written as a Rust-style
/// escape: `\t`, `\n` and `\r`; `\x1b` for the other ASCII controls; `\u{9b}`
/// for the rest. Plain text is returned as it is, without a copy.
///
/// Backslashes are kept as they are: the point is that nothing reaches the
/// terminal that it would act on, not that the escaped text can be decoded
/// back (a Windows path stays readable).
pub fn escape(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_unsafe) else {
        return Cow::Borrowed(text);
    };
    let (clean, rest) = text.split_at(first);
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(clean);
    for c in rest.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() && is_unsafe(c) => {
                // Writing to a `String` cannot fail.
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept_without_a_copy() {
        for text in ["", "hello", "café 漢字 😀", "C:\\dir\\file", "a\u{200f}b"] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn controls_and_reordering_characters_are_escaped() {
        assert_eq!(
            escape("a\tb\nc\rd\x1b[2K\x07\0\x7f"),
            "a\\tb\\nc\\rd\\x1b[2K\\x07\\x00\\x7f"
        );
        assert_eq!(
            escape("\u{80}x\u{9b}31m\u{9f}"),
            "\\u{80}x\\u{9b}31m\\u{9f}"
        );
        assert_eq!(
            escape("é\u{202e}gnp.exe\u{2066}\u{2069}\u{2028}\u{2029}"),
            "é\\u{202e}gnp.exe\\u{2066}\\u{2069}\\u{2028}\\u{2029}"
        );
        // Just outside the ranges: kept.
        let neighbours = "\u{a0}\u{2027}\u{202f}\u{2065}\u{206a}";
        assert!(matches!(escape(neighbours), Cow::Borrowed(_)));
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = escape("\x1b]0;title\x07\u{9b}\r\n").into_owned();
        assert_eq!(escape(&once), once);
    }

    #[test]
    fn every_unsafe_character_is_escaped() {
        for c in ('\0'..='\u{2100}').filter(|&c| is_unsafe(c)) {
            let escaped = escape(&c.to_string()).into_owned();
            assert!(escaped.starts_with('\\') && escaped.is_ascii(), "{c:?}");
            assert!(!escaped.chars().any(|e| e.is_ascii_control()), "{c:?}");
        }
    }
}
