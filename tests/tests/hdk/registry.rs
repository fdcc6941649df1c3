//! The registry: atomic replacement under calls, failed loads, events.

use futures::executor::block_on;
use serde_json::Value;
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
};
use wasplug_hdk::{CallOptions, ErrorKind, Limits, Plugin, Registry, RegistryEvent};

/// A plugin that counts down from `spin` (a busy loop, so a call stays in
/// flight for a while) and then answers every call with `version`.
fn versioned(version: u64, spin: u32) -> Plugin {
    let line = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{version}}}"#);
    let wat = format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "{}\n")
          (func (export "_start") (local $n i32)
            (local.set $n (i32.const {spin}))
            (block $done (loop $again
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $again)))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const {}))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        line.replace('"', "\\\""),
        line.len() + 1
    );
    Plugin::builder(wat)
        .name("p")
        .limits(Limits::default().with_fuel_slice(1_000))
        .build()
        .unwrap()
}

#[test]
fn a_call_in_flight_finishes_on_its_version_and_later_calls_get_the_new_one() {
    let registry = Registry::new();
    registry.insert(versioned(1, 1_000_000));
    block_on(async {
        let mut old = Box::pin(registry.call("p", "m", Value::Null));
        // Polled once: the guest is spinning, the call is in flight.
        assert!(futures::poll!(old.as_mut()).is_pending());
        let replaced = registry.insert(versioned(2, 0)).expect("the old version");
        drop(replaced); // the call keeps its own handle
        let new = registry.call("p", "m", Value::Null);
        assert_eq!(new.await.unwrap(), 2);
        assert_eq!(old.await.unwrap(), 1);
    });
}

#[test]
fn replacements_under_concurrent_calls_lose_nothing() {
    let registry = Registry::new();
    let generation = Arc::new(AtomicU64::new(1));
    registry.insert(versioned(1, 20_000));
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let registry = registry.clone();
            let generation = Arc::clone(&generation);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut calls = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let before = generation.load(Ordering::SeqCst);
                    let answer = block_on(registry.call("p", "m", Value::Null))
                        .expect("no call fails during replacements");
                    let after = generation.load(Ordering::SeqCst);
                    let answer = answer.as_u64().expect("a version number");
                    // The version served when the call started: `before` or
                    // later, and at most one past `after` (a version is
                    // published in the registry just before it is counted).
                    assert!(
                        (before..=after + 1).contains(&answer),
                        "answer {answer} outside versions {before}..={}",
                        after + 1
                    );
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    for version in 2..=20 {
        let plugin = versioned(version, 20_000);
        thread::sleep(std::time::Duration::from_millis(20));
        registry.insert(plugin);
        generation.store(version, Ordering::SeqCst);
    }
    thread::sleep(std::time::Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    let calls: u64 = callers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(calls > 0);
    assert_eq!(
        block_on(registry.call("p", "m", Value::Null)).unwrap(),
        20,
        "the last version serves"
    );
}

#[test]
fn a_failed_load_keeps_the_old_version_and_reports_why() {
    let registry = Registry::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    registry.on_event(move |event| {
        let line = match event {
            RegistryEvent::Loaded { plugin } => format!("loaded {}", plugin.name()),
            RegistryEvent::Replaced { old, new } => {
                format!("replaced {} {}", old.digest() != new.digest(), new.name())
            }
            RegistryEvent::Removed { plugin } => format!("removed {}", plugin.name()),
            RegistryEvent::Failed {
                name,
                error,
                serving,
            } => format!(
                "failed {name} {} serving={}",
                error.kind().name(),
                serving.is_some()
            ),
            _ => "other".to_owned(),
        };
        seen.lock().unwrap().push(line);
    });
    registry.load("p", || Ok(versioned(1, 0))).unwrap();
    let error = registry
        .load("p", || Plugin::builder(b"\0asm\x01\0\0\0\x01").build())
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::InvalidModule { .. }));
    assert_eq!(error.plugin(), Some("p"));
    assert_eq!(block_on(registry.call("p", "m", Value::Null)).unwrap(), 1);
    registry.load("p", || Ok(versioned(2, 0))).unwrap();
    assert_eq!(block_on(registry.call("p", "m", Value::Null)).unwrap(), 2);
    assert!(registry.remove("p").is_some());
    assert!(registry.remove("p").is_none(), "nothing left to remove");
    let error = registry
        .load("q", || Plugin::builder("nonsense").build())
        .unwrap_err();
    assert_eq!(error.plugin(), Some("q"));
    assert_eq!(
        *events.lock().unwrap(),
        [
            "loaded p",
            "failed p InvalidModule serving=true",
            "replaced true p",
            "removed p",
            "failed q InvalidModule serving=false",
        ]
    );
    assert!(registry.is_empty());
}

#[test]
fn plugins_are_listed_by_name_under_the_name_they_were_loaded_as() {
    let registry = Registry::new();
    registry.load("b", || Ok(versioned(1, 0))).unwrap();
    registry.load("a", || Ok(versioned(2, 0))).unwrap();
    let names: Vec<_> = registry
        .list()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(registry.names(), ["a", "b"]);
    assert_eq!(registry.get("a").unwrap().name(), "a");
    let error = block_on(registry.call_raw("zz", "m", None)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::UnknownPlugin { name } if name == "zz"));
    assert_eq!((error.plugin(), error.method()), (Some("zz"), Some("m")));
    assert_eq!(registry.get("a").unwrap().digest().len(), 64);
    let (result, report) = block_on(registry.call_with("zz", "m", None, &CallOptions::new()));
    assert!(matches!(
        result.unwrap_err().kind(),
        ErrorKind::UnknownPlugin { .. }
    ));
    assert_eq!(report.fuel_used, 0);
    // Per-call options reach the plugin: too little fuel for its spin.
    registry.insert(versioned(3, 100_000));
    let tight = CallOptions::new().with_fuel(Some(10_000));
    let (result, report) = block_on(registry.call_with("p", "m", None, &tight));
    assert!(matches!(
        result.unwrap_err().kind(),
        ErrorKind::OutOfFuel { .. }
    ));
    assert!(report.fuel_used > 0);
    let (result, _) = block_on(registry.call_with("p", "m", None, &CallOptions::new()));
    assert_eq!(result.unwrap().get(), "3");
}

#[test]
fn concurrent_replacements_are_heard_in_the_order_they_happened() {
    const THREADS: u64 = 4;
    const EACH: u64 = 50;
    let registry = Registry::new();
    registry.insert(versioned(0, 0));
    let first = registry.get("p").unwrap().digest().to_owned();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heard);
    let reader = registry.clone();
    registry.on_event(move |event| {
        if let RegistryEvent::Replaced { old, new } = event {
            // The callback may read the registry: it sees the change made.
            assert_eq!(reader.get("p").unwrap().digest(), new.digest());
            // Give other changes every chance to overtake this one.
            thread::yield_now();
            seen.lock()
                .unwrap()
                .push((old.digest().to_owned(), new.digest().to_owned()));
        }
    });
    // Every version has its own bytes, so its own digest.
    let plugins: Vec<Vec<Plugin>> = (0..THREADS)
        .map(|t| (1..=EACH).map(|i| versioned(t * EACH + i, 0)).collect())
        .collect();
    let threads: Vec<_> = plugins
        .into_iter()
        .map(|plugins| {
            let registry = registry.clone();
            thread::spawn(move || {
                for plugin in plugins {
                    registry.insert(plugin);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), usize::try_from(THREADS * EACH).unwrap());
    let mut serving = first;
    for (at, (old, new)) in heard.iter().enumerate() {
        assert_eq!(
            *old, serving,
            "event {at} replaced another version than the one serving"
        );
        serving.clone_from(new);
    }
    assert_eq!(registry.get("p").unwrap().digest(), serving);
}
