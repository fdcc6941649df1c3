//! Property tests: arbitrary JSON params/results/error data round-trip exactly between two peers.

use proptest::prelude::*;
use serde_json::Value;
use wasplug_protocol::{Event, Id, Peer, PeerConfig, error};

/// Arbitrary JSON values, nested a few levels, bounded in size.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Arbitrary params: a JSON array or object.
fn arb_params() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(arb_json(), 0..4).prop_map(Value::Array),
        prop::collection::btree_map(".{0,8}", arb_json(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ]
}

fn one_line(s: &str) -> &str {
    assert_eq!(s.matches('\n').count(), 1, "{s:?}");
    s.strip_suffix('\n').unwrap()
}

proptest! {
    #[test]
    fn request_and_result_roundtrip(params in arb_params(), result in arb_json()) {
        let mut host = Peer::new(PeerConfig::default());
        let mut plugin = Peer::new(PeerConfig::default());

        let (id, req) = host.request("method/ü", &params).unwrap();
        let Event::Request { id: rid, method, params: got } = plugin.handle_line(one_line(&req)).unwrap() else {
            panic!("not a request")
        };
        prop_assert_eq!(method, "method/ü");
        prop_assert_eq!(got.unwrap().get().to_owned(), serde_json::to_string(&params).unwrap());

        let resp = plugin.respond_ok(&rid, &result).unwrap();
        let Event::Response { id: got_id, result: got } = host.handle_line(one_line(&resp)).unwrap() else {
            panic!("not a response")
        };
        prop_assert_eq!(got_id, id);
        prop_assert_eq!(got.unwrap().get().to_owned(), serde_json::to_string(&result).unwrap());
        prop_assert_eq!(host.pending(), 0);
    }

    #[test]
    fn raw_result_and_notification_roundtrip(params in arb_params(), result in arb_json()) {
        let mut host = Peer::new(PeerConfig::default());
        let mut plugin = Peer::new(PeerConfig::default());
        let raw_params = serde_json::value::to_raw_value(&params).unwrap();

        let note = plugin.notification_raw("event", Some(&raw_params)).unwrap();
        let Event::Notification { method, params: got } = host.handle_line(one_line(&note)).unwrap() else {
            panic!("not a notification")
        };
        prop_assert_eq!(method, "event");
        prop_assert_eq!(got.unwrap().get().to_owned(), raw_params.get());

        let (id, req) = plugin.request_raw("host.call", Some(&raw_params)).unwrap();
        let Event::Request { id: rid, params: got, .. } = host.handle_line(one_line(&req)).unwrap() else {
            panic!("not a request")
        };
        prop_assert_eq!(got.unwrap().get().to_owned(), raw_params.get());
        let raw_result = serde_json::value::to_raw_value(&result).unwrap();
        let resp = host.respond_raw(&rid, &raw_result);
        let Event::Response { id: got_id, result: got } = plugin.handle_line(one_line(&resp)).unwrap() else {
            panic!("not a response")
        };
        prop_assert_eq!(got_id, id);
        prop_assert_eq!(got.unwrap().get().to_owned(), raw_result.get());
    }

    #[test]
    fn error_object_roundtrip(code in any::<i32>(), message in ".{0,40}", data in proptest::option::of(arb_json())) {
        let mut host = Peer::new(PeerConfig::default());
        let mut plugin = Peer::new(PeerConfig::default());
        let (id, req) = host.request_raw("m", None).unwrap();
        let Event::Request { id: rid, .. } = plugin.handle_line(one_line(&req)).unwrap() else {
            panic!("not a request")
        };
        let sent = error(code, message.clone(), data.clone());
        let resp = plugin.respond_err(&rid, &sent);
        let Event::Response { id: got_id, result } = host.handle_line(one_line(&resp)).unwrap() else {
            panic!("not a response")
        };
        prop_assert_eq!(got_id, id);
        let got = result.unwrap_err();
        prop_assert_eq!(got.code(), code);
        prop_assert_eq!(got.message(), message.as_str());
        prop_assert_eq!(
            got.data().map(|d| d.get().to_owned()),
            data.map(|d| serde_json::to_string(&d).unwrap())
        );
        prop_assert_eq!(got, sent);
    }

    #[test]
    fn incoming_ids_are_echoed(string_id in ".{0,20}", number_id in any::<u64>(), use_string in any::<bool>()) {
        let mut plugin = Peer::new(PeerConfig::default());
        let id = if use_string { Value::String(string_id) } else { Value::from(number_id) };
        let line = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "m", "params": []}).to_string();
        let Event::Request { id: rid, .. } = plugin.handle_line(&line).unwrap() else {
            panic!("not a request")
        };
        let expected = if use_string {
            Id::Str(id.as_str().unwrap().to_owned().into())
        } else {
            Id::Number(number_id)
        };
        prop_assert_eq!(&rid, &expected);
        let resp: Value = serde_json::from_str(&plugin.respond_ok(&rid, &1).unwrap()).unwrap();
        prop_assert_eq!(&resp["id"], &id);
    }
}
