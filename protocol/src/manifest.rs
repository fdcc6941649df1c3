//! The plugin manifest: what a plugin is and what it asks for, readable
//! without running it.

use crate::error::{ManifestError, excerpt};
use crate::version::PROTOCOL_VERSION;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Name of the wasm custom section holding a plugin's [`Manifest`] as JSON.
///
/// It generalizes the one-byte [`VERSION_SECTION`](crate::VERSION_SECTION),
/// which plugins keep writing so that older hosts still read their version.
pub const MANIFEST_SECTION: &str = "wasplug_manifest";

/// The largest manifest [`Manifest::from_json`] reads: 64 KiB, room for
/// thousands of method names.
pub const MAX_MANIFEST_LEN: usize = 64 * 1024;

/// What a plugin is and what it asks for: its name, version and protocol
/// version, the methods it offers and the host methods it calls
/// (capabilities), readable before any of its code runs.
///
/// Stored as JSON in the [`MANIFEST_SECTION`] custom section (the Rust plugin
/// kit writes it at compile time) or, for a plugin whose toolchain cannot
/// write custom sections, in a sidecar file next to the module:
///
/// ```json
/// {"name":"greeter","version":"0.1.0","protocol":1,"description":"Greets people",
///  "methods":["greet"],"capabilities":["user_name"]}
/// ```
///
/// `name` and `protocol` are required; `version` defaults to `""`, the lists
/// to empty, `description` to none. Unknown members are ignored, so later
/// versions can add some.
///
/// ```
/// use wasplug_protocol::{Manifest, ManifestError};
///
/// let m = Manifest::from_json(br#"{"name":"greeter","protocol":1,"methods":["greet"]}"#)?;
/// assert_eq!((m.name.as_str(), m.version.as_str()), ("greeter", ""));
/// assert!(matches!(
///     Manifest::from_json(br#"{"name":"","protocol":1}"#),
///     Err(ManifestError::EmptyName)
/// ));
/// # Ok::<(), ManifestError>(())
/// ```
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version (free text, usually semver). Default: `""`.
    #[serde(default)]
    pub version: String,
    /// The wasplug protocol version it speaks ([`PROTOCOL_VERSION`]).
    pub protocol: u32,
    /// What it does, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The methods it answers (besides `rpc.discover`).
    #[serde(default)]
    pub methods: Vec<String>,
    /// The host methods it calls (or notifies), which an embedder may grant.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

impl Default for Manifest {
    /// An empty manifest (no name) for [`PROTOCOL_VERSION`].
    fn default() -> Self {
        Self::new("", "")
    }
}

impl Manifest {
    /// A manifest for plugin `name` at `version`, speaking
    /// [`PROTOCOL_VERSION`], with no description, methods or capabilities.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            protocol: PROTOCOL_VERSION,
            description: None,
            methods: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Reads a manifest from its JSON (the content of a [`MANIFEST_SECTION`],
    /// or a `.json` sidecar file), and [validates](Self::validate) it.
    ///
    /// Strict: at most [`MAX_MANIFEST_LEN`] bytes of UTF-8 holding one JSON
    /// object and nothing after it (but whitespace).
    ///
    /// # Errors
    /// [`ManifestError::TooLarge`], [`ManifestError::InvalidUtf8`],
    /// [`ManifestError::Syntax`] (not JSON, or a member of the wrong type or
    /// missing), or what [`Manifest::validate`] finds.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(ManifestError::TooLarge {
                len: bytes.len(),
                limit: MAX_MANIFEST_LEN,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| ManifestError::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let manifest: Self = serde_json::from_str(text).map_err(|e| ManifestError::Syntax {
            reason: e.to_string(),
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as one line of JSON, as [`Manifest::from_json`] reads it.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and lists always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks what the types do not: the name is not empty, and no method or
    /// capability is empty or listed twice.
    ///
    /// # Errors
    /// [`ManifestError::EmptyName`], [`ManifestError::EmptyEntry`],
    /// [`ManifestError::Duplicate`].
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.name.is_empty() {
            return Err(ManifestError::EmptyName);
        }
        for (field, list) in [
            ("methods", &self.methods),
            ("capabilities", &self.capabilities),
        ] {
            let mut seen = HashSet::with_capacity(list.len());
            for entry in list {
                if entry.is_empty() {
                    return Err(ManifestError::EmptyEntry { field });
                }
                if !seen.insert(entry.as_str()) {
                    return Err(ManifestError::Duplicate {
                        field,
                        entry: excerpt(entry),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full() -> Manifest {
        Manifest {
            name: "greeter".into(),
            version: "1.2.3".into(),
            protocol: PROTOCOL_VERSION,
            description: Some("Greets \"people\"\n\tby name \\ ü ✓ \u{1}".into()),
            methods: vec!["greet".into(), "ping".into()],
            capabilities: vec!["user_name".into()],
        }
    }

    #[test]
    fn round_trips_through_json() {
        let m = full();
        let json = m.to_json();
        assert!(!json.contains('\n'), "{json}");
        assert_eq!(Manifest::from_json(json.as_bytes()), Ok(m));
    }

    #[test]
    fn the_documented_shape() {
        let mut m = Manifest::new("greeter", "0.1.0");
        m.methods.push("greet".into());
        assert_eq!(
            m.to_json(),
            r#"{"name":"greeter","version":"0.1.0","protocol":1,"methods":["greet"],"capabilities":[]}"#
        );
        assert_eq!(Manifest::default().protocol, PROTOCOL_VERSION);
    }

    #[test]
    fn defaults_and_unknown_members() {
        let m = Manifest::from_json(
            br#" {"name":"n","protocol":7,"future":{"nested":[1,{"x":null}]},"x-vendor":true} "#,
        )
        .unwrap();
        assert_eq!(
            m,
            Manifest {
                protocol: 7,
                ..Manifest::new("n", "")
            }
        );
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let syntax = |bytes: &[u8]| {
            matches!(
                Manifest::from_json(bytes),
                Err(ManifestError::Syntax { .. })
            )
        };
        for bad in [
            &b""[..],
            b"null",
            b"[]",
            b"{",
            br#"{"protocol":1}"#,
            br#"{"name":"n"}"#,
            br#"{"name":"n","protocol":-1}"#,
            br#"{"name":"n","protocol":4294967296}"#,
            br#"{"name":1,"protocol":1}"#,
            br#"{"name":"n","protocol":1,"methods":"ping"}"#,
            br#"{"name":"n","protocol":1,"methods":[1]}"#,
            br#"{"name":"n","protocol":1,"description":5}"#,
            // Two manifests in one section: what a linker makes of two `manifest!`s.
            br#"{"name":"n","protocol":1}{"name":"n","protocol":1}"#,
        ] {
            assert!(syntax(bad), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            Manifest::from_json(b"{\"name\":\"\xff\",\"protocol\":1}"),
            Err(ManifestError::InvalidUtf8 { valid_up_to: 9 })
        );
        assert_eq!(
            Manifest::from_json(br#"{"name":"","protocol":1}"#),
            Err(ManifestError::EmptyName)
        );
        assert_eq!(
            Manifest::from_json(br#"{"name":"n","protocol":1,"capabilities":[""]}"#),
            Err(ManifestError::EmptyEntry {
                field: "capabilities"
            })
        );
        assert_eq!(
            Manifest::from_json(br#"{"name":"n","protocol":1,"methods":["a","b","a"]}"#),
            Err(ManifestError::Duplicate {
                field: "methods",
                entry: "a".into()
            })
        );
        let Err(ManifestError::Syntax { reason }) = Manifest::from_json(br#"{"name":"n"}"#) else {
            panic!("a missing protocol is a syntax error");
        };
        assert!(reason.contains("protocol"), "{reason}");
    }

    #[test]
    fn the_size_is_capped() {
        let mut m = Manifest::new("n", "");
        m.description = Some("x".repeat(MAX_MANIFEST_LEN));
        let json = m.to_json();
        assert_eq!(
            Manifest::from_json(json.as_bytes()),
            Err(ManifestError::TooLarge {
                len: json.len(),
                limit: MAX_MANIFEST_LEN
            })
        );
        m.description = Some("x".repeat(MAX_MANIFEST_LEN - 100));
        assert!(Manifest::from_json(m.to_json().as_bytes()).is_ok());
    }

    proptest! {
        #[test]
        fn any_text_round_trips(
            name in "\\PC{1,20}|[\\x00-\\x7f]{1,20}",
            description in proptest::option::of(any::<String>()),
            methods in proptest::collection::btree_set(any::<String>().prop_filter("non-empty", |s| !s.is_empty()), 0..5),
        ) {
            let m = Manifest {
                description,
                methods: methods.into_iter().collect(),
                ..Manifest::new(name, "v")
            };
            prop_assert_eq!(Manifest::from_json(m.to_json().as_bytes()), Ok(m));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Manifest::from_json(&bytes);
        }
    }
}
