//! A JSON validator without serde, for the hot path of a plugin kit: inside
//! an interpreted plugin, checking a small result through serde_json's
//! deserializer cost more than the rest of reading the answer.

/// Whether `json` is exactly one JSON value (RFC 8259), without whitespace
/// around it, whose arrays and objects nest at most `max_depth` deep (and
/// never deeper than 128, the bits of the scan's stack).
///
/// It accepts exactly what `serde_json::from_str::<&RawValue>` accepts at
/// those depths (as serde_json does when it skips a value, a `\u` escape is
/// four hex digits, paired surrogate or not), so a caller may take its
/// `true` for serde_json's `Ok`; its `false` is for the caller to sort out
/// (tests: `agrees_with_serde_json`).
pub(crate) fn is_one_value(json: &str, max_depth: usize) -> bool {
    Scanner {
        bytes: json.as_bytes(),
        at: 0,
    }
    .value_then_end(max_depth.min(MAX_NESTING))
    .is_some()
}

/// The deepest nesting the scan follows: one bit of its stack a level.
const MAX_NESTING: usize = 128;

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// `None`: not valid (or too deep); the scan stops there.
type Scan = Option<()>;

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> Scan {
        (self.next()? == byte).then_some(())
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// One value, then the end of the text. Containers are kept on a stack
    /// of bits (1: object), so the scan does not recurse.
    fn value_then_end(&mut self, max_depth: usize) -> Scan {
        let mut objects: u128 = 0;
        let mut depth = 0usize;
        'value: loop {
            match self.next()? {
                open @ (b'[' | b'{') => {
                    if depth == max_depth {
                        return None;
                    }
                    self.skip_whitespace();
                    let object = open == b'{';
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.at += 1;
                    } else {
                        objects = (objects << 1) | u128::from(object);
                        depth += 1;
                        if object {
                            self.member_name()?;
                        }
                        continue 'value;
                    }
                }
                b'"' => self.string_rest()?,
                b't' => self.literal_rest(b"rue")?,
                b'f' => self.literal_rest(b"alse")?,
                b'n' => self.literal_rest(b"ull")?,
                b'-' => {
                    let first = self.next()?;
                    self.number_rest(first)?;
                }
                first @ b'0'..=b'9' => self.number_rest(first)?,
                _ => return None,
            }
            // After a value: close containers, or go on to the next element.
            loop {
                if depth == 0 {
                    return (self.at == self.bytes.len()).then_some(());
                }
                self.skip_whitespace();
                let object = objects & 1 == 1;
                match self.next()? {
                    b',' => {
                        self.skip_whitespace();
                        if object {
                            self.member_name()?;
                        }
                        continue 'value;
                    }
                    b']' if !object => {}
                    b'}' if object => {}
                    _ => return None,
                }
                objects >>= 1;
                depth -= 1;
            }
        }
    }

    /// `"name"` and the `:` after it (whitespace before the name skipped),
    /// up to the member's value.
    fn member_name(&mut self) -> Scan {
        self.eat(b'"')?;
        self.string_rest()?;
        self.skip_whitespace();
        self.eat(b':')?;
        self.skip_whitespace();
        Some(())
    }

    /// A string after its opening quote.
    fn string_rest(&mut self) -> Scan {
        loop {
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            if !self.next()?.is_ascii_hexdigit() {
                                return None;
                            }
                        }
                    }
                    _ => return None,
                },
                0..0x20 => return None,
                // The text is a `&str`: every other byte belongs to valid UTF-8.
                _ => {}
            }
        }
    }

    fn literal_rest(&mut self, rest: &[u8]) -> Scan {
        let end = self.at.checked_add(rest.len())?;
        (self.bytes.get(self.at..end)? == rest).then_some(())?;
        self.at = end;
        Some(())
    }

    /// A number after its sign, from its first digit: no leading zeros, a
    /// fraction and an exponent each with one digit at least.
    fn number_rest(&mut self, first: u8) -> Scan {
        match first {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Scan {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    /// What the scan is to accept: one value, as serde_json takes it, with
    /// no whitespace around it.
    fn serde_accepts(json: &str) -> bool {
        json.trim_matches([' ', '\t', '\n', '\r']) == json
            && serde_json::from_str::<&RawValue>(json).is_ok()
    }

    #[test]
    fn agrees_with_serde_json_on_chosen_texts() {
        let texts = [
            "0",
            "-0",
            "01",
            "-",
            "1.",
            "1.5",
            "1e",
            "1e+",
            "1E-7",
            "-12.5e3",
            ".5",
            "+1",
            "true",
            "tru",
            "false",
            "null",
            "nul",
            "nullx",
            "\"\"",
            "\"a\\\"b\"",
            "\"\\u00e9\\ud800\"",
            "\"\\u12\"",
            "\"\\x\"",
            "\"\t\"",
            "\"é\"",
            "\"",
            "[]",
            "[ ]",
            "[1,2]",
            "[1,]",
            "[,1]",
            "[1 , 2 ]",
            "[[]]",
            "[[]",
            "[]]",
            "{}",
            "{ }",
            "{\"a\":1}",
            "{\"a\" : [1, {\"b\":null}] }",
            "{\"a\":1,}",
            "{\"a\"}",
            "{1:2}",
            "{\"a\":1 \"b\":2}",
            "[1}",
            "{\"a\":1]",
            " 1",
            "1 ",
            "[1] ",
            "",
            "[1][2]",
            "[\"]\"]",
            "{\"a\":1,\"a\":2}",
            "[true,false,null]",
            "[-]",
            "[0.0e0]",
            "[00]",
        ];
        for text in texts {
            assert_eq!(is_one_value(text, 64), serde_accepts(text), "{text:?}");
        }
    }

    #[test]
    fn refuses_what_nests_too_deep() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(is_one_value(&nested(3), 3));
        assert!(!is_one_value(&nested(4), 3));
        assert!(is_one_value("[{\"a\":[]},[]]", 3));
        assert!(!is_one_value("[{\"a\":[[]]}]", 3));
        // The scan's own limit, whatever the caller allows (the caller
        // asks serde_json then).
        assert!(is_one_value(&nested(128), usize::MAX));
        assert!(!is_one_value(&nested(129), usize::MAX));
        assert!(serde_accepts(&nested(129)));
    }

    /// Texts close to JSON: pieces of it glued together.
    fn jsonish() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "[", "]", "{", "}", ",", ":", " ", "\n", "\"", "\\", "\\u", "0", "1", "-", ".", "e",
            "+", "a", "\"k\"", "\"s\"", "true", "null", "fals", "\t", "12", "é", "\u{1}",
        ]);
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json(text in jsonish()) {
            prop_assert_eq!(is_one_value(&text, 64), serde_accepts(&text), "{:?}", text);
        }

        #[test]
        fn accepts_what_serde_json_writes(value in any::<Vec<(String, Option<i64>, f64, bool)>>()) {
            let text = serde_json::to_string(&value).unwrap();
            prop_assert!(is_one_value(&text, 64), "{}", text);
        }
    }
}
