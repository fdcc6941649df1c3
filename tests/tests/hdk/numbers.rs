//! Numbers are never changed on the way between host and plugin: the raw path
//! keeps every valid JSON number, and a result or params the host would have
//! to round are refused, saying so.

use serde_json::{Value, json};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, Plugin, RawValue, RpcError};
use wasplug_tests::{guests, host::on_each_executor, host::test_plugin};

/// Beyond `u64::MAX`: a `serde_json::Value` would hold it as an `f64`.
const BIG: &str = "18446744073709551617";

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).unwrap()
}

/// The test plugin with host methods that answer with, or fail with, `BIG`,
/// and one that takes its params as a `Value`.
fn plugin_with_big_host_methods() -> Plugin {
    let methods = HostMethods::new(())
        .method("big", |_: HostContext<()>, ()| async { Ok(raw(BIG)) })
        .method("fail_big", |_: HostContext<()>, _: Value| async {
            Err::<(), _>(RpcError::new(-32042, "too big").with_raw_data(raw(BIG)))
        })
        .method("value", |_: HostContext<()>, params: Value| async move {
            Ok(params)
        });
    Plugin::from_file(guests::TEST_PLUGIN)
        .host_methods(methods)
        .grants(Grants::all())
        .build()
        .unwrap()
}

#[test]
fn every_number_round_trips_through_the_plugin_exactly() {
    on_each_executor(|| async {
        let params = format!(
            "[{BIG}, -92233720368547758080, 1.000000000000000000000001, 1E+400, -0, 0.10, 5e-324]"
        );
        let result = test_plugin()
            .call_raw("echo", Some(raw(&params)))
            .await
            .unwrap();
        assert_eq!(result.get(), params);
    });
}

#[test]
fn call_refuses_a_result_it_would_round() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let error = plugin
            .call_typed::<_, Value>("echo", &raw(&format!("[1, {BIG}]")))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::InexactNumber { number } if number == BIG),
            "{error:?}"
        );
        assert!(error.to_string().contains("call_raw"), "{error}");
        // Whatever the target type: an f64 would round it as well.
        let error = plugin
            .call_typed::<_, [f64; 1]>("echo", &raw(&format!("[{BIG}]")))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::InexactNumber { .. }),
            "{error:?}"
        );
        // The largest 64-bit integers are kept.
        let edges = json!([u64::MAX, i64::MIN]);
        assert_eq!(plugin.call("echo", edges.clone()).await.unwrap(), edges);
    });
}

#[test]
fn a_host_methods_exact_result_reaches_call_raw_and_is_refused_by_call() {
    on_each_executor(|| async {
        let plugin = plugin_with_big_host_methods();
        let result = plugin
            .call_raw("call_host", Some(raw(r#"["big", null]"#)))
            .await
            .unwrap();
        assert_eq!(result.get(), BIG);
        let error = plugin
            .call("call_host", json!(["big", null]))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::InexactNumber { number } if number == BIG),
            "{error:?}"
        );
    });
}

#[test]
fn error_data_is_kept_exactly() {
    on_each_executor(|| async {
        let plugin = plugin_with_big_host_methods();
        // The plugin passes the host's error on as its own.
        let error = plugin
            .call("call_host", json!(["fail_big", []]))
            .await
            .unwrap_err();
        let ErrorKind::Plugin { code, data, .. } = error.kind() else {
            panic!("expected the host's error, got {error:?}");
        };
        assert_eq!(*code, -32042);
        assert_eq!(data.as_ref().map(|d| d.get()), Some(BIG));
    });
}

#[test]
fn a_host_method_taking_a_value_refuses_params_it_would_round() {
    on_each_executor(|| async {
        let plugin = plugin_with_big_host_methods();
        let params = format!(r#"["value", [{BIG}]]"#);
        let error = plugin
            .call_raw("call_host", Some(raw(&params)))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Plugin { code: -32602, .. }),
            "{error:?}"
        );
        let fine = plugin
            .call_raw(
                "call_host",
                Some(raw(r#"["value", [18446744073709551615]]"#)),
            )
            .await
            .unwrap();
        assert_eq!(fine.get(), "[18446744073709551615]");
    });
}
