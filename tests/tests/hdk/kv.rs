//! The built-in key-value store: `kv.get`, `kv.set`, `kv.delete`, granted
//! with `Grants::with_kv`; a namespace per plugin, state kept across calls,
//! limits, and a file-backed store that survives reopening.

use serde_json::{Value, json};
use std::path::PathBuf;
use wasplug_hdk::{ErrorKind, Grants, KvLimits, KvStore, Plugin};
use wasplug_protocol::codes::{LIMIT_EXCEEDED, NOT_PERMITTED};
use wasplug_tests::{
    guests,
    host::{HostError, call_host, on_each_executor},
};

fn plugin(name: &str, store: &KvStore) -> Plugin {
    Plugin::from_file(guests::TEST_PLUGIN)
        .name(name)
        .grants(Grants::none().with_kv(store.clone()))
        .build()
        .unwrap()
}

/// A round trip through two calls: the state lives in the host.
async fn round_trip(store: &KvStore) {
    let a = plugin("a", store);
    assert_eq!(call_host(&a, "kv.get", json!(["k"])).await, Ok(Value::Null));
    let value = json!({"list": [1, "two", null], "nested": {"ok": true}});
    assert_eq!(
        call_host(&a, "kv.set", json!(["k", value])).await,
        Ok(Value::Null)
    );
    // Another call (a fresh instance) reads it back.
    assert_eq!(
        call_host(&a, "kv.get", json!(["k"])).await,
        Ok(value.clone())
    );
    // Overwritten, deleted.
    assert_eq!(
        call_host(&a, "kv.set", json!(["k", 2])).await,
        Ok(Value::Null)
    );
    assert_eq!(call_host(&a, "kv.get", json!(["k"])).await, Ok(json!(2)));
    assert_eq!(
        call_host(&a, "kv.delete", json!(["k"])).await,
        Ok(json!(true))
    );
    assert_eq!(
        call_host(&a, "kv.delete", json!(["k"])).await,
        Ok(json!(false))
    );
    assert_eq!(call_host(&a, "kv.get", json!(["k"])).await, Ok(Value::Null));
}

#[test]
fn values_round_trip_and_outlive_the_call() {
    on_each_executor(|| async {
        round_trip(&KvStore::memory()).await;
    });
}

#[test]
fn numbers_are_kept_exactly() {
    futures::executor::block_on(async {
        let a = plugin("a", &KvStore::memory());
        let exact = r#"["n",[18446744073709551617,1.000]]"#;
        let set = RawValue(exact);
        a.call_raw("call_host", Some(set.params("kv.set")))
            .await
            .unwrap();
        let got = a
            .call_raw("call_host", Some(RawValue(r#"["n"]"#).params("kv.get")))
            .await
            .unwrap();
        assert_eq!(got.get(), "[18446744073709551617,1.000]");
    });
}

/// Raw params for `call_host`.
struct RawValue(&'static str);

impl RawValue {
    fn params(&self, method: &str) -> Box<wasplug_hdk::RawValue> {
        wasplug_hdk::RawValue::from_string(format!(r#"["{method}",{}]"#, self.0)).unwrap()
    }
}

#[test]
fn each_plugin_has_its_own_namespace() {
    futures::executor::block_on(async {
        let store = KvStore::memory();
        let (a, b) = (plugin("a", &store), plugin("b", &store));
        call_host(&a, "kv.set", json!(["k", "of a"])).await.unwrap();
        assert_eq!(call_host(&b, "kv.get", json!(["k"])).await, Ok(Value::Null));
        call_host(&b, "kv.set", json!(["k", "of b"])).await.unwrap();
        assert_eq!(
            call_host(&b, "kv.delete", json!(["k"])).await,
            Ok(json!(true))
        );
        assert_eq!(
            call_host(&a, "kv.get", json!(["k"])).await,
            Ok(json!("of a"))
        );
        // Loaded again under the same name, a plugin finds its keys.
        let a_again = plugin("a", &store);
        assert_eq!(
            call_host(&a_again, "kv.get", json!(["k"])).await,
            Ok(json!("of a"))
        );
        // Another store shares nothing.
        let elsewhere = plugin("a", &KvStore::memory());
        assert_eq!(
            call_host(&elsewhere, "kv.get", json!(["k"])).await,
            Ok(Value::Null)
        );
    });
}

#[test]
fn kv_is_off_unless_granted() {
    futures::executor::block_on(async {
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .grants(Grants::all())
            .build()
            .unwrap();
        for method in ["kv.get", "kv.set", "kv.delete"] {
            let error = call_host(&plugin, method, json!(["k", 1]))
                .await
                .unwrap_err();
            assert_eq!(error.code, NOT_PERMITTED, "{method}");
        }
    });
}

fn limit(error: HostError) -> String {
    assert_eq!(error.code, LIMIT_EXCEEDED, "{error:?}");
    error.data.unwrap()["limit"].as_str().unwrap().to_owned()
}

async fn limits_hold(store: KvStore) {
    let store = store.with_limits(
        KvLimits::default()
            .with_max_key_bytes(8)
            .with_max_value_bytes(16)
            .with_max_keys(2),
    );
    let a = plugin("a", &store);
    let long_key = call_host(&a, "kv.set", json!(["123456789", 1])).await;
    assert_eq!(limit(long_key.unwrap_err()), "key_bytes");
    let long_get = call_host(&a, "kv.get", json!(["123456789"])).await;
    assert_eq!(limit(long_get.unwrap_err()), "key_bytes");
    let big = call_host(&a, "kv.set", json!(["k", "0123456789abcdef"])).await;
    assert_eq!(limit(big.unwrap_err()), "value_bytes");
    call_host(&a, "kv.set", json!(["one", 1])).await.unwrap();
    call_host(&a, "kv.set", json!(["two", 2])).await.unwrap();
    let third = call_host(&a, "kv.set", json!(["three", 3])).await;
    assert_eq!(limit(third.unwrap_err()), "keys");
    // Nothing changed; an existing key may still be overwritten.
    assert_eq!(
        call_host(&a, "kv.get", json!(["three"])).await,
        Ok(Value::Null)
    );
    call_host(&a, "kv.set", json!(["two", 22])).await.unwrap();
    // The limit is per plugin.
    let b = plugin("b", &store);
    call_host(&b, "kv.set", json!(["three", 3])).await.unwrap();
    // Room again after a delete.
    call_host(&a, "kv.delete", json!(["one"])).await.unwrap();
    call_host(&a, "kv.set", json!(["three", 3])).await.unwrap();
    assert_eq!(call_host(&a, "kv.get", json!(["two"])).await, Ok(json!(22)));
}

#[test]
fn limits_hold_in_memory() {
    futures::executor::block_on(limits_hold(KvStore::memory()));
}

/// A fresh path for a store file, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "wasplug-kv-{}-{name}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("kv.redb")
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_file_store_behaves_the_same_and_limits_hold() {
    let dir = TempPath::new("same");
    futures::executor::block_on(round_trip(&KvStore::open(dir.file()).unwrap()));
    let dir = TempPath::new("limits");
    futures::executor::block_on(limits_hold(KvStore::open(dir.file()).unwrap()));
}

#[test]
fn a_file_store_survives_reopening() {
    let dir = TempPath::new("reopen");
    on_each_executor(|| {
        let path = dir.file();
        async move {
            let store = KvStore::open(&path).unwrap();
            let a = plugin("a", &store);
            call_host(&a, "kv.set", json!(["kept", {"n": 7}]))
                .await
                .unwrap();
            call_host(&plugin("b", &store), "kv.set", json!(["kept", "b"]))
                .await
                .unwrap();
            drop((a, store));
            let store = KvStore::open(&path).unwrap();
            let a = plugin("a", &store);
            assert_eq!(
                call_host(&a, "kv.get", json!(["kept"])).await,
                Ok(json!({"n": 7}))
            );
            let b = plugin("b", &store);
            assert_eq!(
                call_host(&b, "kv.get", json!(["kept"])).await,
                Ok(json!("b"))
            );
        }
    });
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let dir = TempPath::new("bad");
    std::fs::write(dir.file(), b"not a database, just text").unwrap();
    let error = KvStore::open(dir.file()).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::KvStore { .. }), "{error}");
}
