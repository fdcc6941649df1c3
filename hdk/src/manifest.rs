//! A plugin's manifest, read when it loads: from its `wasplug_manifest`
//! custom section, else from a sidecar file next to it, else made up from
//! what the module records (its name, and the protocol version of its
//! older `wasplug_protocol` section).

use crate::ErrorKind;
use std::{
    fmt,
    path::{Path, PathBuf},
};
use wasplug_protocol::{
    MANIFEST_SECTION, Manifest, ManifestError, PROTOCOL_VERSION, VERSION_SECTION,
};

/// Where a plugin's [`Manifest`] came from ([`crate::Plugin::manifest_source`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestSource {
    /// The module's `wasplug_manifest` custom section (written by the Rust
    /// plugin kit's `manifest!`).
    Section,
    /// A sidecar file next to the module: `name.json` or `name.toml` beside
    /// `name.wasm` (native hosts only, for plugins loaded from a file).
    Sidecar(PathBuf),
    /// Given with [`crate::PluginBuilder::manifest`].
    Builder,
    /// Made up: the module has no manifest, but records its protocol
    /// version in the older `wasplug_protocol` section.
    Legacy,
    /// Made up: the module records nothing (no section, no sidecar).
    None,
}

impl ManifestSource {
    /// A stable one-word tag for the source: `"section"`, `"sidecar"`,
    /// `"builder"`, `"legacy"` or `"none"` (for reports and JSON output).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Section => "section",
            Self::Sidecar(_) => "sidecar",
            Self::Builder => "builder",
            Self::Legacy => "legacy",
            Self::None => "none",
        }
    }

    /// Whether the manifest was made up from the plugin's name (and its
    /// protocol version, if recorded): it lists no methods or capabilities.
    pub fn is_synthesized(&self) -> bool {
        matches!(self, Self::Legacy | Self::None)
    }
}

impl fmt::Display for ManifestSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Section => write!(f, "the `{MANIFEST_SECTION}` custom section"),
            Self::Sidecar(path) => write!(f, "sidecar file {}", path.display()),
            Self::Builder => f.write_str("given by the host"),
            Self::Legacy => write!(f, "made up from the `{VERSION_SECTION}` section"),
            Self::None => f.write_str("made up: the module records none"),
        }
    }
}

/// Reads a plugin's manifest as [`crate::PluginBuilder::build`] does,
/// without compiling or running anything: from the module's
/// `wasplug_manifest` custom section; else, natively and when `wasm_path`
/// is given, from a sidecar file beside it (`name.json` or `name.toml` for
/// `name.wasm`); else a manifest named `name`, with version `""`, the
/// protocol version of the `wasplug_protocol` section (or
/// [`PROTOCOL_VERSION`]) and no methods or capabilities.
///
/// `custom_sections` are the module's `(name, content)` pairs, in order.
/// The protocol version is not checked here (`build` does).
///
/// A sidecar file is JSON or TOML with the manifest's members:
///
/// ```toml
/// name = "greeter"
/// version = "1.0.0"
/// protocol = 1
/// description = "Greets people"
/// methods = ["greet"]
/// capabilities = ["user_name"]
/// ```
///
/// # Errors
/// [`ErrorKind::BadManifest`] for a malformed section or sidecar (or
/// `wasplug_manifest` sections found twice); [`ErrorKind::AmbiguousManifest`]
/// when both sidecars exist; [`ErrorKind::BadVersionSection`] for a
/// malformed `wasplug_protocol` section; [`ErrorKind::Io`] when a sidecar
/// exists but cannot be read.
pub fn read_manifest<'a>(
    custom_sections: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    wasm_path: Option<&Path>,
    name: &str,
) -> Result<(Manifest, ManifestSource), ErrorKind> {
    let mut manifest_section = None;
    let mut version_section = None;
    for (section, data) in custom_sections {
        let slot = match section {
            MANIFEST_SECTION => &mut manifest_section,
            VERSION_SECTION => &mut version_section,
            _ => continue,
        };
        if slot.replace(data).is_some() {
            return Err(twice(section));
        }
    }
    if let Some(data) = manifest_section {
        let manifest = Manifest::from_json(data).map_err(|source| ErrorKind::BadManifest {
            origin: ManifestSource::Section,
            source,
        })?;
        return Ok((manifest, ManifestSource::Section));
    }
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    if let Some(path) = wasm_path
        && let Some(found) = sidecar::read(path)?
    {
        return Ok(found);
    }
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    let _ = wasm_path;
    let legacy = version_section.map(legacy_version).transpose()?;
    let manifest = Manifest {
        protocol: legacy.unwrap_or(PROTOCOL_VERSION),
        ..Manifest::new(name, "")
    };
    let source = match legacy {
        Some(_) => ManifestSource::Legacy,
        None => ManifestSource::None,
    };
    Ok((manifest, source))
}

/// The error for a custom section found twice: a module carries one
/// manifest and one protocol version.
fn twice(section: &str) -> ErrorKind {
    let reason = format!("the module has more than one `{section}` custom section");
    if section == MANIFEST_SECTION {
        ErrorKind::BadManifest {
            origin: ManifestSource::Section,
            source: ManifestError::Syntax { reason },
        }
    } else {
        ErrorKind::BadVersionSection { reason }
    }
}

/// The protocol version of a `wasplug_protocol` section.
pub(crate) fn legacy_version(data: &[u8]) -> Result<u32, ErrorKind> {
    wasplug_protocol::decode_version_section(data).map_err(|e| ErrorKind::BadVersionSection {
        reason: e.to_string(),
    })
}

/// Manifests in files beside the module.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod sidecar {
    use super::{ManifestSource, sidecar_error};
    use crate::ErrorKind;
    use std::{io::Read as _, path::Path};
    use wasplug_protocol::{MAX_MANIFEST_LEN, Manifest, ManifestError};

    /// The manifest in `name.json` or `name.toml` beside `wasm`, if one of
    /// them exists.
    pub(super) fn read(wasm: &Path) -> Result<Option<(Manifest, ManifestSource)>, ErrorKind> {
        let json = wasm.with_extension("json");
        let toml = wasm.with_extension("toml");
        let (path, is_toml) = match (exists(&json)?, exists(&toml)?) {
            (false, false) => return Ok(None),
            (true, true) => return Err(ErrorKind::AmbiguousManifest { json, toml }),
            (true, false) => (json, false),
            (false, true) => (toml, true),
        };
        let bytes = read_capped(&path)?;
        let parsed = if is_toml {
            parse_toml(&bytes)
        } else {
            Manifest::from_json(&bytes)
        };
        match parsed {
            Ok(manifest) => Ok(Some((manifest, ManifestSource::Sidecar(path)))),
            Err(source) => Err(sidecar_error(path, source)),
        }
    }

    /// Whether the sidecar `path` exists. One that is not a regular file
    /// (a directory, a FIFO, a device: opening it could block forever) is
    /// refused: [`ErrorKind::BadManifest`].
    fn exists(path: &Path) -> Result<bool, ErrorKind> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Ok(true),
            Ok(_) => Err(sidecar_error(
                path.to_owned(),
                ManifestError::Syntax {
                    reason: "the sidecar is not a regular file".to_owned(),
                },
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(io(path, source)),
        }
    }

    fn io(path: &Path, source: std::io::Error) -> ErrorKind {
        ErrorKind::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// The file's bytes, refusing one larger than [`MAX_MANIFEST_LEN`]
    /// without reading more than one byte past it.
    fn read_capped(path: &Path) -> Result<Vec<u8>, ErrorKind> {
        let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io(path, e))?;
        if bytes.len() > MAX_MANIFEST_LEN {
            let len = std::fs::metadata(path)
                .ok()
                .and_then(|m| usize::try_from(m.len()).ok())
                .unwrap_or(bytes.len());
            return Err(sidecar_error(
                path.to_owned(),
                ManifestError::TooLarge {
                    len,
                    limit: MAX_MANIFEST_LEN,
                },
            ));
        }
        Ok(bytes)
    }

    /// A TOML manifest, held to the same rules as a JSON one.
    fn parse_toml(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ManifestError::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(String::new(), |span| {
                let before = text.get(..span.start).unwrap_or_default();
                let line = before.matches('\n').count() + 1;
                let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
                format!(" at line {line} column {column}")
            });
            ManifestError::Syntax {
                reason: format!("{}{at}", e.message().trim_end()),
            }
        })?;
        manifest.validate()?;
        Ok(manifest)
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn sidecar_error(path: PathBuf, source: ManifestError) -> ErrorKind {
    ErrorKind::BadManifest {
        origin: ManifestSource::Sidecar(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_comes_first_then_the_legacy_version() {
        let json = br#"{"name":"n","version":"1","protocol":1,"methods":["m"]}"#;
        let (m, source) = read_manifest(
            [
                ("other", &b"x"[..]),
                (VERSION_SECTION, b"1"),
                (MANIFEST_SECTION, json),
            ],
            None,
            "ignored",
        )
        .unwrap();
        assert_eq!((m.name.as_str(), m.methods.len()), ("n", 1));
        assert_eq!(source, ManifestSource::Section);

        let (m, source) = read_manifest([(VERSION_SECTION, &b"7"[..])], None, "p").unwrap();
        assert_eq!(
            m,
            Manifest {
                protocol: 7,
                ..Manifest::new("p", "")
            }
        );
        assert_eq!(source, ManifestSource::Legacy);
        assert!(source.is_synthesized());

        let (m, source) = read_manifest([], None, "p").unwrap();
        assert_eq!(m, Manifest::new("p", ""));
        assert_eq!(source, ManifestSource::None);
    }

    #[test]
    fn each_source_has_its_own_kind() {
        let kinds = [
            ManifestSource::Section,
            ManifestSource::Sidecar(PathBuf::from("p.json")),
            ManifestSource::Builder,
            ManifestSource::Legacy,
            ManifestSource::None,
        ]
        .map(|source| source.kind());
        assert_eq!(kinds, ["section", "sidecar", "builder", "legacy", "none"]);
    }

    #[test]
    fn malformed_or_doubled_sections_are_errors() {
        let bad = read_manifest([(MANIFEST_SECTION, &b"{"[..])], None, "p").unwrap_err();
        assert!(matches!(
            bad,
            ErrorKind::BadManifest {
                origin: ManifestSource::Section,
                source: ManifestError::Syntax { .. }
            }
        ));
        let json = &br#"{"name":"n","protocol":1}"#[..];
        let twice = read_manifest(
            [(MANIFEST_SECTION, json), (MANIFEST_SECTION, json)],
            None,
            "p",
        );
        assert!(matches!(twice, Err(ErrorKind::BadManifest { .. })));
        let legacy = read_manifest([(VERSION_SECTION, &b"x"[..])], None, "p");
        assert!(matches!(legacy, Err(ErrorKind::BadVersionSection { .. })));
        let legacy = read_manifest(
            [(VERSION_SECTION, &b"1"[..]), (VERSION_SECTION, b"1")],
            None,
            "p",
        );
        assert!(matches!(legacy, Err(ErrorKind::BadVersionSection { .. })));
    }
}
