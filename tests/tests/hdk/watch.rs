//! A watched plugin directory: adds, replacements (in place and renamed into
//! place), broken and half-written files, removals, ignored names, and calls
//! that go on while files change.

use futures::executor::block_on;
use serde_json::{Value, json};
use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};
use wasplug_hdk::{ErrorKind, Limits, Plugin, PluginDir, Registry, RegistryEvent, WatchError};
use wasplug_tests::{guests, host::echo_methods};

/// How long a change may take to show, on a slow machine in a debug build.
const SHOWS_WITHIN: Duration = Duration::from_secs(10);
/// Short, so the tests are quick.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// A plugin file that answers every call with `version`.
fn versioned(version: u64) -> Vec<u8> {
    let line = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{version}}}"#);
    let wat = format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "{}\n")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const {}))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        line.replace('"', "\\\""),
        line.len() + 1
    );
    wat::parse_str(wat).unwrap()
}

fn test_plugin_bytes() -> Vec<u8> {
    std::fs::read(guests::TEST_PLUGIN).unwrap()
}

/// A registry that records its events as `"loaded a"`, `"replaced a"`,
/// `"removed a"`, `"failed a"`.
fn recording_registry() -> (Registry, Arc<Mutex<Vec<String>>>) {
    let registry = Registry::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    registry.on_event(move |event| {
        let line = match event {
            RegistryEvent::Loaded { plugin } => format!("loaded {}", plugin.name()),
            RegistryEvent::Replaced { new, .. } => format!("replaced {}", new.name()),
            RegistryEvent::Removed { plugin } => format!("removed {}", plugin.name()),
            RegistryEvent::Failed { name, .. } => format!("failed {name}"),
            _ => "other".to_owned(),
        };
        seen.lock().unwrap().push(line);
    });
    (registry, events)
}

/// Waits until `events` holds `event` (at least `count` times).
fn wait_for_event(events: &Mutex<Vec<String>>, event: &str, count: usize) {
    let start = Instant::now();
    loop {
        let seen = events.lock().unwrap().clone();
        if seen.iter().filter(|e| *e == event).count() >= count {
            return;
        }
        assert!(
            start.elapsed() < SHOWS_WITHIN,
            "no `{event}` (x{count}) within {SHOWS_WITHIN:?}; events: {seen:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn answer(registry: &Registry, name: &str) -> Value {
    block_on(registry.call(name, "ping", Value::Null)).unwrap()
}

fn watch(dir: &Path, registry: &Registry) -> wasplug_hdk::DirWatch {
    PluginDir::new(dir)
        .debounce(DEBOUNCE)
        .builder(|path| Plugin::from_file(path).host_methods(echo_methods()))
        .watch(registry)
        .unwrap()
}

#[test]
fn load_takes_every_wasm_file_and_reports_the_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.wasm"), test_plugin_bytes()).unwrap();
    std::fs::write(dir.path().join("b.wasm"), versioned(1)).unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"not wasm").unwrap();
    std::fs::write(dir.path().join("b.wasm.tmp"), versioned(2)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    std::fs::write(dir.path().join(".hidden.wasm"), versioned(3)).unwrap();
    let (registry, events) = recording_registry();
    // The hook sets each plugin's limits; the name is the file stem whatever
    // the builder says.
    let failed = PluginDir::new(dir.path())
        .builder(|path| {
            Plugin::from_file(path)
                .name("ignored")
                .limits(Limits::default().with_fuel(Some(7_000_000)))
        })
        .load(&registry)
        .unwrap();
    assert_eq!(registry.names(), ["a", "b"]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].plugin(), Some("broken"));
    assert!(matches!(failed[0].kind(), ErrorKind::InvalidModule { .. }));
    assert_eq!(
        *events.lock().unwrap(),
        ["loaded a", "loaded b", "failed broken"]
    );
    assert_eq!(answer(&registry, "a"), "pong");
    assert_eq!(answer(&registry, "b"), 1);
    let a = registry.get("a").unwrap();
    assert_eq!(a.limits().fuel(), Some(7_000_000));
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let registry = Registry::new();
    let error = PluginDir::new(&missing).load(&registry).unwrap_err();
    assert!(matches!(error, WatchError::ReadDir { ref path, .. } if *path == missing));
    let error = PluginDir::new(&missing).watch(&registry).unwrap_err();
    assert!(matches!(error, WatchError::Watch { ref path, .. } if *path == missing));
}

#[test]
fn added_replaced_and_removed_files_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    assert!(registry.is_empty());
    let path = dir.path().join("p.wasm");

    std::fs::write(&path, versioned(1)).unwrap();
    wait_for_event(&events, "loaded p", 1);
    assert_eq!(answer(&registry, "p"), 1);

    // Written in place.
    std::fs::write(&path, versioned(2)).unwrap();
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(answer(&registry, "p"), 2);

    std::fs::remove_file(&path).unwrap();
    wait_for_event(&events, "removed p", 1);
    let error = block_on(registry.call("p", "ping", Value::Null)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::UnknownPlugin { .. }));
    assert_eq!(
        *events.lock().unwrap(),
        ["loaded p", "replaced p", "removed p"]
    );
}

#[test]
fn a_file_written_elsewhere_and_renamed_into_place_replaces_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    assert_eq!(answer(&registry, "p"), 1);

    // An editor's save: a temporary file in the same directory, renamed over.
    let temp = dir.path().join("p.wasm.tmp");
    std::fs::write(&temp, versioned(2)).unwrap();
    std::fs::rename(&temp, &path).unwrap();
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(answer(&registry, "p"), 2);

    // Renamed away: the plugin goes.
    std::fs::rename(&path, dir.path().join("p.wasm.bak")).unwrap();
    wait_for_event(&events, "removed p", 1);
    assert!(registry.is_empty());
    // The temporary names never became plugins.
    assert_eq!(
        *events.lock().unwrap(),
        ["loaded p", "replaced p", "removed p"]
    );
}

#[test]
fn a_corrupt_replacement_keeps_the_old_version_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, test_plugin_bytes()).unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    let digest = registry.get("p").unwrap().digest().to_owned();

    std::fs::write(&path, b"\0asm\x01\0\0\0 this is not a module").unwrap();
    wait_for_event(&events, "failed p", 1);
    assert_eq!(answer(&registry, "p"), "pong");
    assert_eq!(registry.get("p").unwrap().digest(), digest);

    // Fixed: the new version loads.
    std::fs::write(&path, versioned(3)).unwrap();
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(answer(&registry, "p"), 3);
    assert_eq!(
        *events.lock().unwrap(),
        ["loaded p", "failed p", "replaced p"]
    );
}

#[test]
fn a_half_written_copy_keeps_the_old_version_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);

    // A copy of the test plugin cut off halfway (the writer died, or has not
    // finished): it never replaces the good version.
    let full = test_plugin_bytes();
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    wait_for_event(&events, "failed p", 1);
    assert_eq!(answer(&registry, "p"), 1);

    // The rest arrives: the whole copy replaces it.
    std::fs::write(&path, &full).unwrap();
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(answer(&registry, "p"), "pong");
}

#[test]
fn a_file_being_written_never_replaces_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);

    // The test plugin written in pieces, each a little later than the
    // debounce time: the old version serves until the whole file is there.
    let full = test_plugin_bytes();
    let mut file = std::fs::File::create(&path).unwrap();
    let pieces: Vec<&[u8]> = full.chunks(full.len() / 4 + 1).collect();
    for (i, piece) in pieces.iter().enumerate() {
        std::io::Write::write_all(&mut file, piece).unwrap();
        if i + 1 < pieces.len() {
            thread::sleep(DEBOUNCE + Duration::from_millis(30));
            assert_eq!(
                answer(&registry, "p"),
                1,
                "after {} of {} pieces",
                i + 1,
                pieces.len()
            );
        }
    }
    drop(file);
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(answer(&registry, "p"), "pong");
}

#[test]
fn other_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    for name in [
        "notes.txt",
        "q.wasm.tmp",
        "q.wasm~",
        ".q.wasm",
        ".q.wasm.swp",
        "q.wat",
    ] {
        std::fs::write(dir.path().join(name), versioned(9)).unwrap();
    }
    // Empty: a file still to be written.
    std::fs::write(dir.path().join("empty.wasm"), b"").unwrap();
    std::fs::create_dir(dir.path().join("sub.wasm")).unwrap();
    std::fs::write(dir.path().join("sub.wasm").join("r.wasm"), versioned(9)).unwrap();
    // A plugin written after them: once it is loaded, events for the others
    // would have been handled too.
    std::fs::write(dir.path().join("z.wasm"), versioned(1)).unwrap();
    wait_for_event(&events, "loaded z", 1);
    assert_eq!(registry.names(), ["z"]);
    assert_eq!(*events.lock().unwrap(), ["loaded z"]);
}

#[test]
fn a_sidecar_change_reloads_its_plugin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.wasm"), versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let builds = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&builds);
    let _watch = PluginDir::new(dir.path())
        .debounce(DEBOUNCE)
        .builder(move |path| {
            counted.fetch_add(1, Ordering::SeqCst);
            Plugin::from_file(path)
        })
        .watch(&registry)
        .unwrap();
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    std::fs::write(dir.path().join("p.json"), br#"{"name":"p","protocol":1}"#).unwrap();
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(builds.load(Ordering::SeqCst), 2);
    // A sidecar without its plugin loads nothing.
    std::fs::write(dir.path().join("q.toml"), b"").unwrap();
    std::fs::write(dir.path().join("z.wasm"), versioned(2)).unwrap();
    wait_for_event(&events, "loaded z", 1);
    assert_eq!(registry.names(), ["p", "z"]);
}

#[test]
fn an_unchanged_file_is_not_loaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let builds = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&builds);
    let _watch = PluginDir::new(dir.path())
        .debounce(DEBOUNCE)
        .builder(move |path| {
            counted.fetch_add(1, Ordering::SeqCst);
            Plugin::from_file(path)
        })
        .watch(&registry)
        .unwrap();
    // Reading the file (as loading it does) and listing the directory are
    // events too, but change nothing.
    for _ in 0..3 {
        std::fs::read(&path).unwrap();
        std::fs::read_dir(dir.path()).unwrap().for_each(drop);
        thread::sleep(DEBOUNCE * 4);
    }
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert_eq!(*events.lock().unwrap(), ["loaded p"]);
}

#[test]
fn calls_during_replacements_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(0)).unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let registry = registry.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let answer = block_on(registry.call("p", "ping", Value::Null))
                        .expect("no call fails while the file is replaced");
                    answers.push(answer);
                }
                answers
            })
        })
        .collect();
    let plugin = test_plugin_bytes();
    for round in 1..=4 {
        // In place, then renamed into place, in turns; every other version
        // is the test plugin.
        let bytes = if round % 2 == 0 {
            versioned(round)
        } else {
            plugin.clone()
        };
        if round % 2 == 0 {
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let temp = dir.path().join(".p.wasm.partial");
            std::fs::write(&temp, &bytes).unwrap();
            std::fs::rename(&temp, &path).unwrap();
        }
        wait_for_event(&events, "replaced p", usize::try_from(round).unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    let answers: Vec<Value> = callers
        .into_iter()
        .flat_map(|caller| caller.join().unwrap())
        .collect();
    assert!(!answers.is_empty());
    let allowed = [json!(0), json!("pong"), json!(2), json!(4)];
    assert!(answers.iter().all(|a| allowed.contains(a)), "{answers:?}");
    assert_eq!(answer(&registry, "p"), 4);
    assert!(
        !events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.starts_with("failed"))
    );
}

#[test]
fn dropping_the_handle_stops_the_watching() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.wasm"), versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let watch = watch(dir.path(), &registry);
    assert_eq!(watch.dir(), dir.path());
    drop(watch);
    std::fs::write(dir.path().join("q.wasm"), versioned(2)).unwrap();
    std::fs::remove_file(dir.path().join("p.wasm")).unwrap();
    // Many debounce times: a watcher still running would have acted.
    thread::sleep(DEBOUNCE * 20);
    assert_eq!(registry.names(), ["p"], "the loaded plugins stay");
    assert_eq!(*events.lock().unwrap(), ["loaded p"]);
}

#[test]
fn a_file_deleted_then_written_again_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(1)).unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    let stop = Arc::new(AtomicBool::new(false));
    let caller = {
        let registry = registry.clone();
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut calls = 0;
            while !stop.load(Ordering::SeqCst) {
                block_on(registry.call("p", "ping", Value::Null))
                    .expect("no call fails while the file is missing for a moment");
                calls += 1;
            }
            calls
        })
    };
    // `rm p.wasm && cp new.wasm p.wasm`, the copy a little late: longer
    // than the debounce time, so the watcher sees the file missing.
    std::fs::remove_file(&path).unwrap();
    thread::sleep(DEBOUNCE * 3);
    std::fs::write(&path, versioned(2)).unwrap();
    wait_for_event(&events, "replaced p", 1);
    stop.store(true, Ordering::SeqCst);
    assert!(caller.join().unwrap() > 0);
    assert_eq!(answer(&registry, "p"), 2);
    assert_eq!(*events.lock().unwrap(), ["loaded p", "replaced p"]);
}

#[test]
fn a_same_size_replacement_with_its_old_modification_time_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, versioned(1)).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    assert_eq!(answer(&registry, "p"), 1);

    // As `cp -p` or `rsync -t` do: same size, the old modification time.
    let new = versioned(2);
    assert_eq!(new.len(), versioned(1).len());
    std::fs::write(&path, &new).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
    wait_for_event(&events, "replaced p", 1);
    assert_eq!(answer(&registry, "p"), 2);
}

#[test]
fn a_file_being_written_when_the_watch_starts_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    let full = test_plugin_bytes();
    let half = full.len() / 2;
    let mut file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut file, &full[..half]).unwrap();
    // The rest arrives while the watch starts: it waits for the file to
    // stop changing rather than trying the half of it.
    let writer = thread::spawn(move || {
        // Pieces closer together than the watcher's settle time (50 ms).
        for piece in full[half..].chunks((full.len() - half) / 8 + 1) {
            thread::sleep(Duration::from_millis(15));
            std::io::Write::write_all(&mut file, piece).unwrap();
        }
    });
    let (registry, events) = recording_registry();
    let _watch = watch(dir.path(), &registry);
    writer.join().unwrap();
    wait_for_event(&events, "loaded p", 1);
    assert_eq!(answer(&registry, "p"), "pong");
    assert!(
        !events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.starts_with("failed")),
        "{:?}",
        events.lock().unwrap()
    );
}

#[test]
fn a_panicking_builder_hook_does_not_stop_the_watching() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, events) = recording_registry();
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&panics);
    let _watch = PluginDir::new(dir.path())
        .debounce(DEBOUNCE)
        .builder(move |path| {
            if path.file_stem().is_some_and(|stem| stem == "bad") {
                counted.fetch_add(1, Ordering::SeqCst);
                panic!("the hook refuses {}", path.display());
            }
            Plugin::from_file(path)
        })
        .watch(&registry)
        .unwrap();
    std::fs::write(dir.path().join("bad.wasm"), versioned(1)).unwrap();
    let start = Instant::now();
    while panics.load(Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < SHOWS_WITHIN, "the hook was never called");
        thread::sleep(Duration::from_millis(20));
    }
    // Still watching.
    std::fs::write(dir.path().join("good.wasm"), versioned(2)).unwrap();
    wait_for_event(&events, "loaded good", 1);
    assert_eq!(registry.names(), ["good"]);
    assert_eq!(answer(&registry, "good"), 2);
}
