//! The protocol version and its record in a plugin's wasm custom section.

use crate::error::{VersionError, excerpt};

/// The version of the wasplug protocol this crate implements.
pub const PROTOCOL_VERSION: u32 = 1;

/// Name of the wasm custom section in which a plugin records the protocol version it was built for.
pub const VERSION_SECTION: &str = "wasplug_protocol";

/// The content of the [`VERSION_SECTION`] for [`PROTOCOL_VERSION`] (`b"1"`), as an array so a
/// plugin can place it in a `#[link_section]` static directly.
pub const VERSION_SECTION_BYTES: [u8; 1] = *b"1";

/// The bytes a plugin stores in the [`VERSION_SECTION`]: `version` as ASCII decimal (e.g. `"1"`).
pub fn encode_version_section(version: u32) -> String {
    version.to_string()
}

/// Reads the content of a [`VERSION_SECTION`].
///
/// Strict: only ASCII decimal digits, at least one, and the number must fit in a `u32`.
pub fn decode_version_section(bytes: &[u8]) -> Result<u32, VersionError> {
    if bytes.is_empty() {
        return Err(VersionError::Empty);
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(VersionError::NotDecimal {
            content: excerpt(&String::from_utf8_lossy(bytes)),
        });
    }
    let mut value: u32 = 0;
    for &b in bytes {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(b - b'0')))
            .ok_or_else(|| VersionError::TooLarge {
                digits: excerpt(&String::from_utf8_lossy(bytes)),
            })?;
    }
    Ok(value)
}

/// Checks that a plugin built for `plugin_version` can talk to this host.
///
/// Errors with [`VersionError::Incompatible`] unless it equals [`PROTOCOL_VERSION`].
pub fn check_compatible(plugin_version: u32) -> Result<(), VersionError> {
    if plugin_version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(VersionError::Incompatible {
            plugin: plugin_version,
            host: PROTOCOL_VERSION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_bytes_match_version() {
        assert_eq!(
            encode_version_section(PROTOCOL_VERSION).as_bytes(),
            VERSION_SECTION_BYTES
        );
        assert_eq!(
            decode_version_section(&VERSION_SECTION_BYTES),
            Ok(PROTOCOL_VERSION)
        );
    }

    #[test]
    fn decode_is_strict() {
        assert_eq!(decode_version_section(b"0"), Ok(0));
        assert_eq!(decode_version_section(b"4294967295"), Ok(u32::MAX));
        assert_eq!(decode_version_section(b""), Err(VersionError::Empty));
        assert!(matches!(
            decode_version_section(b"4294967296"),
            Err(VersionError::TooLarge { .. })
        ));
        for bad in [&b" 1"[..], b"1\n", b"+1", b"-1", b"1.0", b"0x1", b"\xff"] {
            assert!(
                matches!(
                    decode_version_section(bad),
                    Err(VersionError::NotDecimal { .. })
                ),
                "{bad:?}"
            );
        }
        for v in [0, 1, 42, u32::MAX] {
            assert_eq!(
                decode_version_section(encode_version_section(v).as_bytes()),
                Ok(v)
            );
        }
    }

    #[test]
    fn compatibility() {
        assert_eq!(check_compatible(PROTOCOL_VERSION), Ok(()));
        assert_eq!(
            check_compatible(2),
            Err(VersionError::Incompatible {
                plugin: 2,
                host: PROTOCOL_VERSION
            })
        );
    }
}
