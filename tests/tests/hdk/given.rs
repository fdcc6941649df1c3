//! What the host gives a plugin: its configuration (read with
//! `config.get`), its arguments and its environment.

use serde_json::{Value, json};
use wasplug_hdk::{ErrorKind, Plugin};
use wasplug_protocol::codes::INVALID_PARAMS;
use wasplug_tests::{
    guests,
    host::{call_host, on_each_executor},
};

fn config() -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({"greeting": "hi", "limits": {"n": [1, 2]}}) else {
        unreachable!()
    };
    map
}

#[test]
fn the_plugin_reads_its_config() {
    on_each_executor(|| async {
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .config(config())
            .build()
            .unwrap();
        // Through the plugin kit's `config::get`.
        assert_eq!(
            plugin.call("config", json!(["greeting"])).await.unwrap(),
            "hi"
        );
        assert_eq!(
            plugin.call("config", json!(["limits"])).await.unwrap(),
            json!({"n": [1, 2]})
        );
        assert_eq!(
            plugin.call("config", json!(["unset"])).await.unwrap(),
            Value::Null
        );
        // The host method itself: no params answer the whole object.
        assert_eq!(
            call_host(&plugin, "config.get", json!([])).await,
            Ok(Value::Object(config()))
        );
        let bad = call_host(&plugin, "config.get", json!([1]))
            .await
            .unwrap_err();
        assert_eq!(bad.code, INVALID_PARAMS);
    });
}

#[test]
fn a_plugin_without_config_reads_nulls() {
    futures::executor::block_on(async {
        let plugin = Plugin::from_file(guests::TEST_PLUGIN).build().unwrap();
        assert_eq!(
            plugin.call("config", json!(["greeting"])).await.unwrap(),
            Value::Null
        );
        assert_eq!(
            call_host(&plugin, "config.get", json!([])).await,
            Ok(json!({}))
        );
    });
}

#[test]
fn the_plugin_sees_its_args_and_env_and_nothing_else() {
    on_each_executor(|| async {
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .args(["--verbose", "two words"])
            .env([("LANG", "C"), ("EMPTY", "")])
            .build()
            .unwrap();
        assert_eq!(
            plugin.call("args_env", Value::Null).await.unwrap(),
            json!({"args": ["--verbose", "two words"], "env": {"EMPTY": "", "LANG": "C"}})
        );
        let bare = Plugin::from_file(guests::TEST_PLUGIN).build().unwrap();
        assert_eq!(
            bare.call("args_env", Value::Null).await.unwrap(),
            json!({"args": [], "env": {}})
        );
    });
}

#[test]
fn what_wasi_cannot_pass_is_refused_at_load() {
    for builder in [
        Plugin::from_file(guests::TEST_PLUGIN).env([("A=B", "c")]),
        Plugin::from_file(guests::TEST_PLUGIN).env([("", "c")]),
        Plugin::from_file(guests::TEST_PLUGIN).env([("A", "c\0d")]),
        Plugin::from_file(guests::TEST_PLUGIN).args(["a\0b"]),
    ] {
        let error = builder.build().unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::InvalidArgsOrEnv { .. }),
            "{error}"
        );
    }
}
