//! Finding numbers that `serde_json` would not keep exactly.
//!
//! `serde_json` (without its `arbitrary_precision` feature, which would change
//! `Value` for every crate in a build) reads an integer that fits neither
//! `i64` nor `u64` as the nearest `f64`: `18446744073709551617` becomes
//! `1.8446744073709552e19`. A number with a fraction or an exponent is read
//! as the nearest `f64`, as JSON's own text suggests, and the host kit turns
//! on `float_roundtrip` so that this read is correctly rounded (the shortest
//! text of an `f64` gives that `f64` back).

/// The first integer literal in the JSON text `json` (already valid JSON)
/// that fits neither `i64` nor `u64`.
pub(crate) fn first_inexact_integer(json: &str) -> Option<&str> {
    let bytes = json.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => at = string_end(bytes, at + 1),
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, at);
                let literal = json.get(at..end).unwrap_or_default();
                if !fits_64_bits(literal) {
                    return Some(literal);
                }
                at = end;
            }
            _ => at += 1,
        }
    }
    None
}

/// The index just past the string whose contents start at `at`.
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    at
}

/// The index just past the number starting at `at`.
fn number_end(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    let len = rest
        .iter()
        .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        .unwrap_or(rest.len());
    at + len
}

/// Whether `serde_json` keeps the number `literal` exactly: always for a
/// fraction or an exponent (those are `f64`s), and for an integer that fits
/// `i64` or `u64`.
fn fits_64_bits(literal: &str) -> bool {
    if literal.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return true;
    }
    match literal.strip_prefix('-') {
        Some(_) => literal.parse::<i64>().is_ok(),
        None => literal.parse::<u64>().is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_beyond_64_bits_are_found() {
        assert_eq!(
            first_inexact_integer("[1, 18446744073709551617]"),
            Some("18446744073709551617")
        );
        assert_eq!(
            first_inexact_integer(r#"{"a":-9223372036854775809}"#),
            Some("-9223372036854775809")
        );
        assert_eq!(
            first_inexact_integer("100000000000000000000000000000"),
            Some("100000000000000000000000000000")
        );
    }

    #[test]
    fn what_serde_json_keeps_passes() {
        for json in [
            "[18446744073709551615, -9223372036854775808, 0, -0]",
            "[1.5, 1e400000, 18446744073709551617.0, 1E2, -2.5e-3]",
            r#"{"18446744073709551617": "18446744073709551617 \" 99999999999999999999"}"#,
            r#"["\\", 1]"#,
            "true",
            "null",
        ] {
            assert_eq!(first_inexact_integer(json), None, "{json}");
        }
    }

    #[test]
    fn the_check_agrees_with_serde_json() {
        for literal in [
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123",
        ] {
            let value: serde_json::Value = serde_json::from_str(literal).unwrap();
            let kept = value.is_i64() || value.is_u64();
            assert_eq!(first_inexact_integer(literal).is_none(), kept, "{literal}");
        }
    }
}
