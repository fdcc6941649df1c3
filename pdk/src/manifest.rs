//! The plugin's manifest, recorded in the module at compile time.
//!
//! A custom section can only hold the bytes of a `static`, so the manifest's
//! JSON is built by `const fn`s: [`StaticManifest::json_len`] measures it and
//! [`StaticManifest::to_json`] writes it, both through one writer, so the two
//! cannot disagree. [`manifest!`](crate::manifest!) puts them together.

use wasplug_protocol::{Manifest, PROTOCOL_VERSION};

/// A plugin's manifest as compile-time constants: what
/// [`manifest!`](crate::manifest!) records in the module's
/// `wasplug_manifest` custom section, and what
/// [`Plugin::from_manifest`](crate::Plugin::from_manifest) takes its name,
/// version and description from.
///
/// ```
/// use wasplug_pdk::StaticManifest;
///
/// const M: StaticManifest = StaticManifest {
///     description: Some("Says \"hi\""),
///     methods: &["hi"],
///     ..StaticManifest::new("greeter", "0.1.0")
/// };
/// const JSON: [u8; M.json_len()] = M.to_json();
/// assert_eq!(
///     std::str::from_utf8(&JSON).unwrap(),
///     r#"{"name":"greeter","version":"0.1.0","protocol":1,"description":"Says \"hi\"","methods":["hi"],"capabilities":[]}"#
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticManifest {
    /// The plugin's name.
    pub name: &'static str,
    /// The plugin's version.
    pub version: &'static str,
    /// The protocol version: [`PROTOCOL_VERSION`], which this kit speaks.
    pub protocol: u32,
    /// What the plugin does.
    pub description: Option<&'static str>,
    /// The methods it answers (besides `rpc.discover`).
    pub methods: &'static [&'static str],
    /// The host methods it calls or notifies.
    pub capabilities: &'static [&'static str],
}

impl StaticManifest {
    /// A manifest for `name` at `version`, speaking [`PROTOCOL_VERSION`],
    /// without description, methods or capabilities.
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        Self {
            name,
            version,
            protocol: PROTOCOL_VERSION,
            description: None,
            methods: &[],
            capabilities: &[],
        }
    }

    /// The length in bytes of [`StaticManifest::to_json`].
    pub const fn json_len(&self) -> usize {
        self.write(&mut [])
    }

    /// The manifest as JSON, exactly as `serde_json` writes a
    /// [`Manifest`] (one line, strings escaped); `N` must be
    /// [`StaticManifest::json_len`].
    ///
    /// # Panics
    /// When `N` is not [`StaticManifest::json_len`] (at compile time, in a
    /// constant).
    pub const fn to_json<const N: usize>(&self) -> [u8; N] {
        let mut buf = [0; N];
        let len = self.write(&mut buf);
        assert!(len == N, "the array must be `json_len()` bytes long");
        buf
    }

    /// The manifest as the protocol's type.
    pub fn to_manifest(&self) -> Manifest {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Manifest {
            name: self.name.to_owned(),
            version: self.version.to_owned(),
            protocol: self.protocol,
            description: self.description.map(str::to_owned),
            methods: owned(self.methods),
            capabilities: owned(self.capabilities),
        }
    }

    /// Writes the JSON into `buf` as far as it goes; returns its full length.
    const fn write(&self, buf: &mut [u8]) -> usize {
        let mut out = Writer { buf, len: 0 };
        out.raw(b"{\"name\":");
        out.string(self.name);
        out.raw(b",\"version\":");
        out.string(self.version);
        out.raw(b",\"protocol\":");
        out.number(self.protocol);
        if let Some(description) = self.description {
            out.raw(b",\"description\":");
            out.string(description);
        }
        out.raw(b",\"methods\":");
        out.list(self.methods);
        out.raw(b",\"capabilities\":");
        out.list(self.capabilities);
        out.raw(b"}");
        out.len
    }
}

/// Writes bytes into a buffer while they fit, and counts them all.
struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    const fn byte(&mut self, byte: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = byte;
        }
        self.len += 1;
    }

    const fn raw(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    const fn number(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 {
            count -= 1;
            self.byte(digits[count]);
        }
    }

    /// A JSON string, escaped as `serde_json` escapes it: `"`, `\` and the
    /// control characters (short forms where JSON has them, else `\u00xx`).
    const fn string(&mut self, text: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = text.as_bytes();
        self.byte(b'"');
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'"' => self.raw(b"\\\""),
                b'\\' => self.raw(b"\\\\"),
                b'\n' => self.raw(b"\\n"),
                b'\r' => self.raw(b"\\r"),
                b'\t' => self.raw(b"\\t"),
                0x08 => self.raw(b"\\b"),
                0x0c => self.raw(b"\\f"),
                0..0x20 => {
                    self.raw(b"\\u00");
                    self.byte(HEX[(b >> 4) as usize]);
                    self.byte(HEX[(b & 0xf) as usize]);
                }
                // Every other byte of valid UTF-8 stands for itself.
                _ => self.byte(b),
            }
            i += 1;
        }
        self.byte(b'"');
    }

    const fn list(&mut self, items: &[&str]) {
        self.byte(b'[');
        let mut i = 0;
        while i < items.len() {
            if i > 0 {
                self.byte(b',');
            }
            self.string(items[i]);
            i += 1;
        }
        self.byte(b']');
    }
}

/// Records the plugin's manifest in its module, where a host reads it before
/// running anything, and returns it (a `&'static` [`StaticManifest`]) for
/// [`Plugin::from_manifest`](crate::Plugin::from_manifest).
///
/// Every field is optional: `name` and `version` default to the plugin
/// crate's `CARGO_PKG_NAME` and `CARGO_PKG_VERSION`, `description` to none,
/// `methods` and `capabilities` (the host methods the plugin calls) to empty
/// lists. The protocol version is the kit's own.
///
/// ```
/// use wasplug_pdk::{Plugin, manifest};
///
/// fn plugin() -> Plugin {
///     let manifest = manifest! {
///         description: "Greets people",
///         methods: ["greet"],
///         capabilities: ["user_name"],
///     };
///     Plugin::from_manifest(manifest).method("greet", |name: String| async move {
///         Ok(format!("hello, {name}"))
///     })
/// }
///
/// // A unit test of the plugin crate catches a method missing from the list.
/// assert_eq!(plugin().check_manifest(), Ok(()));
/// ```
///
/// Invoke it once per plugin: the linker joins sections of the same name, and
/// a host refuses a section holding two manifests.
///
/// The section is written on wasm targets only (a crate with
/// `#![forbid(unsafe_code)]` may use the macro: the lint does not apply to
/// the `#[unsafe(link_section)]` inside it).
#[macro_export]
macro_rules! manifest {
    ($($field:ident : $value:expr),* $(,)?) => {{
        const MANIFEST: $crate::StaticManifest = $crate::StaticManifest {
            $($field: $crate::manifest!(@field $field $value),)*
            ..$crate::StaticManifest::new(
                ::core::env!("CARGO_PKG_NAME"),
                ::core::env!("CARGO_PKG_VERSION"),
            )
        };
        // `link_section` must be spelled `unsafe(...)` since edition 2024; it
        // only places these bytes in a custom section of the module.
        #[cfg(target_family = "wasm")]
        #[used]
        #[unsafe(link_section = "wasplug_manifest")]
        static SECTION: [u8; MANIFEST.json_len()] = MANIFEST.to_json();
        &MANIFEST
    }};
    (@field name $value:expr) => { $value };
    (@field version $value:expr) => { $value };
    (@field description $value:expr) => { ::core::option::Option::Some($value) };
    (@field methods $value:expr) => { &$value };
    (@field capabilities $value:expr) => { &$value };
    (@field $other:ident $value:expr) => {
        ::core::compile_error!(::core::concat!(
            "`manifest!` takes `name`, `version`, `description`, `methods` and `capabilities`, not `",
            ::core::stringify!($other),
            "`"
        ))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: StaticManifest = StaticManifest {
        name: "n\"a\\m\u{1}e",
        version: "1.0.0-beta+ü",
        protocol: 4_294_967_295,
        description: Some("line\nbreak\ttab\r\u{8}\u{c}\u{1f}\u{7f} ✓ 漢 😀 </script>"),
        methods: &["a", "b\"c", ""],
        capabilities: &["echo"],
    };
    const FULL_JSON: [u8; FULL.json_len()] = FULL.to_json();

    fn json(m: &StaticManifest) -> String {
        let mut buf = vec![0; m.json_len()];
        assert_eq!(m.write(&mut buf), buf.len());
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn the_const_json_is_what_serde_writes() {
        for m in [
            FULL,
            StaticManifest::new("p", ""),
            StaticManifest {
                protocol: 0,
                methods: &["only"],
                ..StaticManifest::new("", "v")
            },
        ] {
            let expected = serde_json::to_string(&m.to_manifest()).unwrap();
            assert_eq!(json(&m), expected);
        }
        assert_eq!(
            std::str::from_utf8(&FULL_JSON).unwrap(),
            serde_json::to_string(&FULL.to_manifest()).unwrap()
        );
    }

    #[test]
    fn escaping_round_trips_every_ascii_character() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let text: &'static str = Box::leak(all.into_boxed_str());
        let m = StaticManifest {
            description: Some(text),
            ..StaticManifest::new("p", "1")
        };
        let parsed = Manifest::from_json(json(&m).as_bytes()).unwrap();
        assert_eq!(parsed.description.as_deref(), Some(text));
        assert_eq!(parsed, m.to_manifest());
    }

    #[test]
    fn numbers_are_decimal() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u32::MAX] {
            let mut buf = [0; 10];
            let mut out = Writer {
                buf: &mut buf,
                len: 0,
            };
            out.number(n);
            let len = out.len;
            assert_eq!(std::str::from_utf8(&buf[..len]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn the_macro_defaults_to_the_crate_and_the_kit() {
        let m = crate::manifest! {};
        assert_eq!(
            *m,
            StaticManifest::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(m.protocol, PROTOCOL_VERSION);
        let m = crate::manifest! {
            capabilities: ["echo"],
            name: "named",
            methods: ["a", "b"],
            description: "d",
            version: "9",
        };
        assert_eq!(
            m.to_manifest(),
            Manifest {
                description: Some("d".into()),
                methods: vec!["a".into(), "b".into()],
                capabilities: vec!["echo".into()],
                ..Manifest::new("named", "9")
            }
        );
    }
}
