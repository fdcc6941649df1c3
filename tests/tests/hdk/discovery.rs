//! Typed discovery: the test plugin's `rpc.discover` describes each method's
//! params and result with JSON Schema, derived from its handler types.

use serde_json::{Value, json};
use wasplug_hdk::protocol::{Discover, ParamStructure};
use wasplug_tests::host::{on_each_executor, test_plugin};

async fn discover() -> Discover {
    let answer = test_plugin()
        .call_raw("rpc.discover", None)
        .await
        .expect("rpc.discover answers");
    serde_json::from_str(answer.get()).expect("a discover document")
}

#[test]
fn every_method_has_a_description_and_a_result_schema() {
    on_each_executor(|| async {
        let doc = discover().await;
        assert!(doc.info.description.is_some());
        for method in doc.methods.iter().filter(|m| m.name != "rpc.discover") {
            let description = method.description.as_deref().unwrap_or_default();
            assert!(
                !description.is_empty(),
                "{} has no description",
                method.name
            );
            assert!(method.result.is_some(), "{} has no result", method.name);
        }
    });
}

#[test]
fn scalar_params_go_by_position_under_their_names() {
    on_each_executor(|| async {
        let doc = discover().await;
        let sleep = doc.method("sleep").unwrap();
        assert_eq!(sleep.param_structure, Some(ParamStructure::ByPosition));
        assert_eq!(sleep.params.len(), 1);
        let ms = &sleep.params[0];
        assert_eq!(ms.name, "ms");
        assert!(ms.required);
        assert_eq!(ms.schema["type"], "integer");
        assert_eq!(ms.schema["minimum"], 0);
        assert_eq!(sleep.result.as_ref().unwrap().schema["type"], "integer");

        let call_host = doc.method("call_host").unwrap();
        let names: Vec<&str> = call_host.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["method", "params"]);
        assert_eq!(call_host.params[0].schema, json!({"type": "string"}));
        // Any JSON: the schema `true`.
        assert_eq!(call_host.params[1].schema, Value::Bool(true));

        let ping = doc.method("ping").unwrap();
        assert!(ping.params.is_empty());
        assert_eq!(ping.param_structure, None);
        assert_eq!(ping.result.as_ref().unwrap().schema["type"], "string");
    });
}

#[test]
fn a_struct_result_is_a_component_with_field_descriptions() {
    on_each_executor(|| async {
        let doc = discover().await;
        let sieve = doc.method("prime_sieve").unwrap();
        let reference = sieve.result.as_ref().unwrap().schema["$ref"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(reference, "#/components/schemas/Primes");
        let primes = doc.resolve(&reference).unwrap();
        assert_eq!(primes["type"], "object");
        assert_eq!(primes["required"], json!(["count", "limit"]));
        let count = &primes["properties"]["count"];
        assert_eq!(count["type"], "integer");
        assert!(count["description"].as_str().unwrap().contains("primes"));
    });
}

#[test]
fn the_schemas_accept_what_the_methods_accept() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let doc = discover().await;
        // Send `sleep` the params its descriptors ask for: by position.
        let sleep = doc.method("sleep").unwrap();
        assert_eq!(sleep.params[0].schema["type"], "integer");
        let slept: u64 = plugin.call_typed("sleep", &[0]).await.unwrap();
        assert_eq!(slept, 0);
        let parse = doc.method("parse").unwrap();
        assert_eq!(parse.params[0].name, "text");
        assert_eq!(parse.params[0].schema["type"], "string");
        let n: i64 = plugin.call_typed("parse", &["-12"]).await.unwrap();
        assert_eq!(n, -12);
    });
}
