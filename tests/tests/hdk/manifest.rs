//! The manifest a plugin gets when it loads: from its custom section, a
//! sidecar file, the builder, or made up; and the load errors of each.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use wasplug_hdk::{ErrorKind, Manifest, ManifestError, ManifestSource, Plugin, read_manifest};
use wasplug_tests::host::test_plugin;

/// Whether an error is the one a case expects.
type Expected = fn(&ManifestError) -> bool;

/// A plugin module with no custom section at all.
const BARE: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;

/// A module whose `wasplug_manifest` section holds `json` (and whose
/// `wasplug_protocol` section holds `legacy`, if given).
fn with_sections(json: Option<&str>, legacy: Option<&str>) -> String {
    let quote = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let manifest = json.map_or(String::new(), |j| {
        format!(r#"(@custom "wasplug_manifest" "{}")"#, quote(j))
    });
    let legacy = legacy.map_or(String::new(), |v| {
        format!(r#"(@custom "wasplug_protocol" "{}")"#, quote(v))
    });
    format!(r#"(module {manifest} {legacy} (memory (export "memory") 1) (func (export "_start")))"#)
}

/// `files` (name, contents) in a fresh directory.
fn dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    dir
}

fn load(dir: &TempDir, file: &str) -> Result<Plugin, wasplug_hdk::Error> {
    Plugin::from_file(dir.path().join(file)).build()
}

fn sidecar_error(error: &wasplug_hdk::Error) -> (&Path, &ManifestError) {
    match error.kind() {
        ErrorKind::BadManifest {
            origin: ManifestSource::Sidecar(path),
            source,
        } => (path, source),
        other => panic!("not a sidecar error: {other:?}"),
    }
}

#[test]
fn the_test_plugin_records_its_manifest() {
    let plugin = test_plugin();
    assert_eq!(plugin.manifest_source(), &ManifestSource::Section);
    let manifest = plugin.manifest();
    assert_eq!(manifest.name, "test-plugin");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.protocol, 1);
    assert!(
        manifest
            .description
            .as_deref()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(manifest.capabilities, ["echo", "progress", "config.get"]);
    assert_eq!(plugin.protocol_version(), Some(1));
    // The manifest lists exactly the methods the plugin answers.
    let doc = futures::executor::block_on(plugin.call("rpc.discover", Value::Null)).unwrap();
    let answered: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .filter(|name| *name != "rpc.discover")
        .collect();
    assert_eq!(manifest.methods, answered);
    assert_eq!(
        doc["info"]["description"].as_str(),
        manifest.description.as_deref()
    );
}

#[test]
fn a_json_sidecar_describes_a_plugin_without_a_section() {
    let json = r#"{"name":"c-plugin","version":"2.0.1","protocol":1,"description":"written in C",
                   "methods":["add"],"capabilities":["log"],"x-future":true}"#;
    let dir = dir_with(&[("adder.wat", BARE), ("adder.json", json)]);
    let plugin = load(&dir, "adder.wat").unwrap();
    assert_eq!(
        plugin.manifest_source(),
        &ManifestSource::Sidecar(dir.path().join("adder.json"))
    );
    assert_eq!(
        plugin.manifest(),
        &Manifest {
            description: Some("written in C".into()),
            methods: vec!["add".into()],
            capabilities: vec!["log".into()],
            ..Manifest::new("c-plugin", "2.0.1")
        }
    );
    // The plugin keeps its own name (the file stem).
    assert_eq!(plugin.name(), "adder");
    assert_eq!(plugin.protocol_version(), Some(1));
}

#[test]
fn a_toml_sidecar_too() {
    let toml = "name = \"go-plugin\"\nprotocol = 1\nmethods = [\"a\", \"b\"]\n\
                capabilities = []\n[x-future]\nkey = 1\n";
    let dir = dir_with(&[("go.wasm", BARE), ("go.toml", toml)]);
    let plugin = load(&dir, "go.wasm").unwrap();
    assert_eq!(
        plugin.manifest_source(),
        &ManifestSource::Sidecar(dir.path().join("go.toml"))
    );
    assert_eq!(
        plugin.manifest(),
        &Manifest {
            methods: vec!["a".into(), "b".into()],
            ..Manifest::new("go-plugin", "")
        }
    );
}

#[test]
fn two_sidecars_are_an_error() {
    let dir = dir_with(&[
        ("p.wat", BARE),
        ("p.json", r#"{"name":"p","protocol":1}"#),
        ("p.toml", "name = \"p\"\nprotocol = 1\n"),
    ]);
    let error = load(&dir, "p.wat").unwrap_err();
    let ErrorKind::AmbiguousManifest { json, toml } = error.kind() else {
        panic!("{error:?}");
    };
    assert_eq!(
        (json, toml),
        (&dir.path().join("p.json"), &dir.path().join("p.toml"))
    );
}

#[test]
fn a_malformed_sidecar_is_a_load_error_naming_the_file() {
    let cases: [(&str, &str, Expected); 6] = [
        ("p.json", "{\"name\":\"p\",", |e| {
            matches!(e, ManifestError::Syntax { .. })
        }),
        ("p.json", r#"{"name":"p"}"#, |e| {
            matches!(e, ManifestError::Syntax { .. })
        }),
        ("p.json", r#"{"name":"","protocol":1}"#, |e| {
            matches!(e, ManifestError::EmptyName)
        }),
        (
            "p.toml",
            "name = \"p\"\nprotocol = 1\nmethods = \"ping\"\n",
            |e| matches!(e, ManifestError::Syntax { .. }),
        ),
        (
            "p.toml",
            "name = \"p\"\nprotocol = 1\nmethods = [\"a\", \"a\"]\n",
            |e| {
                matches!(
                    e,
                    ManifestError::Duplicate {
                        field: "methods",
                        ..
                    }
                )
            },
        ),
        (
            "p.toml",
            "name = \"p\"\nprotocol = 1\ndescription = \"\u{0}\"\n\u{1}",
            |e| matches!(e, ManifestError::Syntax { .. }),
        ),
    ];
    for (file, contents, expected) in cases {
        let dir = dir_with(&[("p.wat", BARE), (file, contents)]);
        let error = load(&dir, "p.wat").unwrap_err();
        let (path, source) = sidecar_error(&error);
        assert_eq!(path, dir.path().join(file));
        assert!(expected(source), "{file}: {contents:?}: {source:?}");
        assert!(error.to_string().contains(file), "{error}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.wat"), BARE).unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        b"name = \"\xff\"\nprotocol = 1\n",
    )
    .unwrap();
    let error = load(&dir, "p.wat").unwrap_err();
    assert!(matches!(
        sidecar_error(&error).1,
        ManifestError::InvalidUtf8 { valid_up_to: 8 }
    ));
    // A TOML error says where.
    let dir = dir_with(&[
        ("p.wat", BARE),
        ("p.toml", "name = \"p\"\nprotocol = \"one\"\n"),
    ]);
    let error = load(&dir, "p.wat").unwrap_err();
    let ManifestError::Syntax { reason } = sidecar_error(&error).1 else {
        panic!("{error:?}");
    };
    assert!(reason.contains("line 2"), "{reason}");
}

#[test]
fn a_huge_sidecar_is_refused_unread() {
    let huge = format!(
        r#"{{"name":"p","protocol":1,"description":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    let dir = dir_with(&[("p.wat", BARE), ("p.json", &huge)]);
    let error = load(&dir, "p.wat").unwrap_err();
    assert_eq!(
        sidecar_error(&error).1,
        &ManifestError::TooLarge {
            len: huge.len(),
            limit: wasplug_hdk::protocol::MAX_MANIFEST_LEN
        }
    );
}

#[test]
fn the_section_wins_over_a_sidecar() {
    let module = with_sections(Some(r#"{"name":"from-section","protocol":1}"#), None);
    // The sidecar is not even read: a malformed one does not matter.
    let dir = dir_with(&[("p.wat", &module), ("p.json", "not json")]);
    let plugin = load(&dir, "p.wat").unwrap();
    assert_eq!(plugin.manifest_source(), &ManifestSource::Section);
    assert_eq!(plugin.manifest().name, "from-section");
}

#[test]
fn a_malformed_section_is_a_load_error() {
    for (json, expected) in [
        (
            "{\"name\":\"p\"",
            (|e| matches!(e, ManifestError::Syntax { .. })) as Expected,
        ),
        (r#"{"name":"p","protocol":1}{}"#, |e| {
            matches!(e, ManifestError::Syntax { .. })
        }),
        (r#"{"name":"p","protocol":1,"capabilities":[""]}"#, |e| {
            matches!(
                e,
                ManifestError::EmptyEntry {
                    field: "capabilities"
                }
            )
        }),
    ] {
        let error = Plugin::builder(with_sections(Some(json), None))
            .build()
            .unwrap_err();
        let ErrorKind::BadManifest {
            origin: ManifestSource::Section,
            source,
        } = error.kind()
        else {
            panic!("{json}: {error:?}");
        };
        assert!(expected(source), "{json}: {source:?}");
    }
}

#[test]
fn the_protocol_check_covers_the_manifest() {
    let v2 = r#"{"name":"p","protocol":2}"#;
    let error = Plugin::builder(with_sections(Some(v2), Some("1")))
        .build()
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::IncompatibleProtocol { plugin: 2, host: 1 }
    ));
    let dir = dir_with(&[("p.wat", BARE), ("p.json", v2)]);
    let error = load(&dir, "p.wat").unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::IncompatibleProtocol { plugin: 2, .. }
    ));
    // The legacy section is still checked beside a manifest.
    let v1 = r#"{"name":"p","protocol":1}"#;
    let error = Plugin::builder(with_sections(Some(v1), Some("2")))
        .build()
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::IncompatibleProtocol { plugin: 2, .. }
    ));
    let error = Plugin::builder(BARE)
        .manifest(Manifest {
            protocol: 3,
            ..Manifest::new("p", "1")
        })
        .build()
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::IncompatibleProtocol { plugin: 3, .. }
    ));
}

#[test]
fn a_legacy_plugin_gets_a_manifest_made_up_from_its_section() {
    let plugin = Plugin::builder(with_sections(None, Some("1")))
        .name("old")
        .build()
        .unwrap();
    assert_eq!(plugin.manifest_source(), &ManifestSource::Legacy);
    assert_eq!(plugin.manifest(), &Manifest::new("old", ""));
    assert_eq!(plugin.protocol_version(), Some(1));
}

#[test]
fn a_module_recording_nothing_gets_a_manifest_made_up_from_its_name() {
    let plugin = Plugin::builder(BARE).name("bare").build().unwrap();
    assert_eq!(plugin.manifest_source(), &ManifestSource::None);
    assert!(plugin.manifest_source().is_synthesized());
    assert_eq!(plugin.manifest(), &Manifest::new("bare", ""));
    assert_eq!(plugin.protocol_version(), None);
    // From a file without a sidecar: named after the file.
    let dir = dir_with(&[("lonely.wat", BARE)]);
    let plugin = load(&dir, "lonely.wat").unwrap();
    assert_eq!(plugin.manifest_source(), &ManifestSource::None);
    assert_eq!(plugin.manifest().name, "lonely");
}

#[test]
fn the_builder_manifest_replaces_what_the_module_records() {
    let given = Manifest {
        capabilities: vec!["kv.get".into()],
        ..Manifest::new("given", "3")
    };
    let module = with_sections(Some(r#"{"name":"from-section","protocol":1}"#), None);
    let dir = dir_with(&[("p.wat", &module), ("p.json", "not json")]);
    let plugin = Plugin::from_file(dir.path().join("p.wat"))
        .manifest(given.clone())
        .build()
        .unwrap();
    assert_eq!(plugin.manifest_source(), &ManifestSource::Builder);
    assert_eq!(plugin.manifest(), &given);
    let error = Plugin::builder(BARE)
        .manifest(Manifest::new("", "1"))
        .build()
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::BadManifest {
            origin: ManifestSource::Builder,
            source: ManifestError::EmptyName
        }
    ));
}

#[test]
fn read_manifest_reads_without_loading() {
    let dir = dir_with(&[("p.toml", "name = \"side\"\nprotocol = 1\n")]);
    let wasm: PathBuf = dir.path().join("p.wasm");
    let (manifest, source) = read_manifest([], Some(&wasm), "p").unwrap();
    assert_eq!(manifest.name, "side");
    assert_eq!(source, ManifestSource::Sidecar(dir.path().join("p.toml")));
    // Without a path, no sidecar is looked for.
    let (manifest, source) = read_manifest([], None, "p").unwrap();
    assert_eq!(
        (manifest.name.as_str(), source),
        ("p", ManifestSource::None)
    );
}

#[test]
fn a_plugin_file_larger_than_the_limit_is_refused_unread() {
    let dir = dir_with(&[("p.wat", BARE)]);
    let path = dir.path().join("p.wat");
    let len = u64::try_from(BARE.len()).unwrap();
    Plugin::from_file(&path)
        .max_module_bytes(len)
        .build()
        .unwrap();
    let error = Plugin::from_file(&path)
        .max_module_bytes(len - 1)
        .build()
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::ModuleTooLarge { path: p, limit } if *limit == len - 1 && p.ends_with("p.wat")),
        "{error:?}"
    );
    // A file far larger than the default (sparse: nothing is written) is
    // refused without being read whole.
    let huge = dir.path().join("huge.wasm");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(16 * 1024 * 1024 * 1024)
        .unwrap();
    let error = Plugin::from_file(&huge).build().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::ModuleTooLarge { limit, .. } if *limit == wasplug_hdk::PluginBuilder::DEFAULT_MAX_MODULE_BYTES),
        "{error:?}"
    );
}

/// Builds the plugin in `path` on a thread of its own: `None` if that
/// does not end within a generous time (it blocks).
#[cfg(unix)]
fn build_within(path: &Path) -> Option<Result<Plugin, wasplug_hdk::Error>> {
    let (send, receive) = std::sync::mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || send.send(Plugin::from_file(path).build()));
    receive
        .recv_timeout(std::time::Duration::from_secs(10))
        .ok()
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_sidecar_or_plugin_file_that_is_not_a_regular_file_is_refused() {
    // A FIFO named like a sidecar: opening it would wait for a writer.
    let dir = dir_with(&[("p.wat", BARE)]);
    mkfifo(&dir.path().join("p.json"));
    let error = build_within(&dir.path().join("p.wat"))
        .expect("loading does not block on a FIFO sidecar")
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::BadManifest { origin: ManifestSource::Sidecar(path), .. } if path.ends_with("p.json")),
        "{error:?}"
    );
    // A directory named like a sidecar.
    let dir = dir_with(&[("q.wat", BARE)]);
    std::fs::create_dir(dir.path().join("q.toml")).unwrap();
    let error = Plugin::from_file(dir.path().join("q.wat"))
        .build()
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::BadManifest { .. }),
        "{error:?}"
    );
    // A FIFO as the plugin file itself.
    mkfifo(&dir.path().join("r.wasm"));
    let error = build_within(&dir.path().join("r.wasm"))
        .expect("loading does not block on a FIFO")
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Io { .. }), "{error:?}");
}
