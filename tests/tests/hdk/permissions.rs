//! Grants: a host method the plugin was not granted answers "not permitted"
//! (`-32010`, distinct from `-32601`), is logged, and never runs.

use serde_json::{Value, json};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, KvStore, Plugin};
use wasplug_protocol::codes::{METHOD_NOT_FOUND, NOT_PERMITTED};
use wasplug_tests::{
    guests,
    host::{HostError, call_host, on_each_executor, test_plugin_requesting},
};

/// Host methods `echo` and `secret` (which counts its calls), and the
/// notification `progress` (which counts too).
fn methods(calls: &Arc<AtomicUsize>) -> HostMethods<Arc<AtomicUsize>> {
    HostMethods::new(Arc::clone(calls))
        .method("echo", |_: HostContext<_>, params: Value| async move {
            Ok(params)
        })
        .method(
            "secret",
            |ctx: HostContext<Arc<AtomicUsize>>, _: Value| async move {
                ctx.state().fetch_add(1, Ordering::SeqCst);
                Ok("the secret")
            },
        )
        .notification(
            "progress",
            |ctx: HostContext<Arc<AtomicUsize>>, _: Value| async move {
                ctx.state().fetch_add(1, Ordering::SeqCst);
            },
        )
}

fn plugin(calls: &Arc<AtomicUsize>, grants: Grants) -> Plugin {
    Plugin::from_file(guests::TEST_PLUGIN)
        .host_methods(methods(calls))
        .grants(grants)
        .build()
        .unwrap()
}

#[test]
fn an_ungranted_method_is_not_permitted_and_a_missing_one_not_found() {
    on_each_executor(|| async {
        let calls = Arc::new(AtomicUsize::new(0));
        let plugin = plugin(&calls, Grants::methods(["echo"]));
        assert_eq!(
            call_host(&plugin, "echo", json!([1, 2])).await,
            Ok(json!([1, 2]))
        );
        let denied = call_host(&plugin, "secret", json!([])).await;
        assert_eq!(
            denied,
            Err(HostError {
                code: NOT_PERMITTED,
                data: Some(json!("secret"))
            })
        );
        let missing = call_host(&plugin, "no_such_method", json!([])).await;
        assert_eq!(missing.unwrap_err().code, METHOD_NOT_FOUND);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "a refused method never runs"
        );
        assert!(plugin.is_granted("echo"));
        assert!(!plugin.is_granted("secret"));
        assert!(!plugin.is_granted("no_such_method"));
        assert_eq!(plugin.granted(), ["config.get", "echo"]);
    });
}

#[test]
fn nothing_is_granted_by_default_and_all_grants_every_method() {
    futures::executor::block_on(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .host_methods(methods(&calls))
            .build()
            .unwrap();
        let denied = call_host(&plugin, "echo", json!([1])).await.unwrap_err();
        assert_eq!(denied.code, NOT_PERMITTED);
        // `config.get` needs no grant.
        assert_eq!(
            call_host(&plugin, "config.get", json!(["x"])).await,
            Ok(Value::Null)
        );

        let plugin = plugin_all(&calls);
        assert_eq!(
            call_host(&plugin, "secret", json!([])).await,
            Ok(json!("the secret"))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Built-in capabilities still need their configuration.
        let kv = call_host(&plugin, "kv.get", json!(["k"]))
            .await
            .unwrap_err();
        assert_eq!(kv.code, NOT_PERMITTED);
        assert_eq!(
            plugin.granted(),
            ["config.get", "echo", "progress", "secret"]
        );
    });
}

fn plugin_all(calls: &Arc<AtomicUsize>) -> Plugin {
    plugin(calls, Grants::all())
}

#[test]
fn an_ungranted_notification_is_dropped() {
    futures::executor::block_on(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let denied = plugin(&calls, Grants::methods(["echo"]));
        assert_eq!(denied.call("notify", json!([3])).await.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let granted = plugin(&calls, Grants::methods(["progress"]));
        assert_eq!(granted.call("notify", json!([3])).await.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    });
}

/// An event's fields, as `(name, value)`.
type EventFields = Vec<(String, String)>;

/// A `tracing` subscriber that keeps the fields of each warning.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<EventFields>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        ));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_refusal_is_logged_with_the_plugin_and_the_method() {
    let warnings = Warnings::default();
    tracing::subscriber::with_default(warnings.clone(), || {
        futures::executor::block_on(async {
            let calls = Arc::new(AtomicUsize::new(0));
            let plugin = Plugin::from_file(guests::TEST_PLUGIN)
                .name("watched")
                .host_methods(methods(&calls))
                .build()
                .unwrap();
            // Only the first refusal of each is a warning.
            for _ in 0..3 {
                let _ = call_host(&plugin, "secret", json!([])).await;
                plugin.call("notify", json!([1])).await.unwrap();
            }
        });
    });
    let warnings = warnings.0.lock().unwrap().clone();
    let has = |fields: &EventFields, name: &str, value: &str| {
        fields.iter().any(|(n, v)| n == name && v == value)
    };
    let about = |method: &str| {
        warnings
            .iter()
            .filter(|w| has(w, "plugin", "watched") && has(w, "method", method))
            .count()
    };
    assert_eq!(about("secret"), 1, "{warnings:?}");
    assert_eq!(about("progress"), 1, "{warnings:?}");
}

#[test]
fn requested_grants_what_the_manifest_requests() {
    futures::executor::block_on(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let wasm = test_plugin_requesting(&["echo", "kv.get", "kv.set"]);
        let plugin = Plugin::builder(&wasm)
            .host_methods(methods(&calls))
            .grants(Grants::requested().with_kv(KvStore::memory()))
            .build()
            .unwrap();
        assert_eq!(
            call_host(&plugin, "echo", json!(["hi"])).await,
            Ok(json!(["hi"]))
        );
        let denied = call_host(&plugin, "secret", json!([])).await.unwrap_err();
        assert_eq!(denied.code, NOT_PERMITTED);
        assert_eq!(
            call_host(&plugin, "kv.set", json!(["k", 1])).await,
            Ok(Value::Null)
        );
        assert_eq!(
            call_host(&plugin, "kv.get", json!(["k"])).await,
            Ok(json!(1))
        );
    });
}

#[test]
fn a_plugin_requesting_more_than_granted_can_be_refused_at_load() {
    let calls = Arc::new(AtomicUsize::new(0));
    let wasm = test_plugin_requesting(&["echo", "secret", "kv.get", "http.fetch"]);
    let build = |grants: Grants| {
        Plugin::builder(&wasm)
            .host_methods(methods(&calls))
            .grants(grants)
            .build()
    };
    let error = build(Grants::methods(["echo"]).refuse_ungranted(true)).unwrap_err();
    let ErrorKind::UngrantedCapabilities { capabilities } = error.kind() else {
        panic!("{error}");
    };
    assert_eq!(capabilities, &["http.fetch", "kv.get", "secret"]);
    // The requested built-ins need their configuration.
    let error = build(Grants::requested().refuse_ungranted(true)).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::UngrantedCapabilities { capabilities }
            if capabilities == &["http.fetch", "kv.get"]),
        "{error}"
    );
    let grants = Grants::requested()
        .with_kv(KvStore::memory())
        .with_http(wasplug_hdk::HttpPolicy::allow(["127.0.0.1"]))
        .refuse_ungranted(true);
    build(grants).unwrap();
    // Without refusal the plugin loads, and ungranted calls answer -32010.
    build(Grants::methods(["echo"])).unwrap();
}

#[test]
fn the_embedders_method_wins_over_a_capability_but_not_over_config_get() {
    futures::executor::block_on(async {
        let own = || {
            HostMethods::new(())
                .method("kv.get", |_: HostContext<()>, _: Value| async {
                    Ok("mine")
                })
                .method("config.get", |_: HostContext<()>, _: Value| async {
                    Ok("mine")
                })
        };
        let build = |grants: Grants| {
            Plugin::from_file(guests::TEST_PLUGIN)
                .host_methods(own())
                .grants(grants)
                .build()
                .unwrap()
        };
        // Granted by name, as any method of the embedder, even with a store.
        let granted = build(Grants::methods(["kv.get"]));
        assert_eq!(
            call_host(&granted, "kv.get", json!(["k"])).await,
            Ok(json!("mine"))
        );
        let denied = build(Grants::none().with_kv(KvStore::memory()));
        let error = call_host(&denied, "kv.get", json!(["k"]))
            .await
            .unwrap_err();
        assert_eq!(error.code, NOT_PERMITTED);
        // `config.get` is always the plugin's own configuration.
        let all = build(Grants::all());
        assert_eq!(
            call_host(&all, "config.get", json!(["k"])).await,
            Ok(Value::Null)
        );
    });
}
