//! `config.get`: a plugin reads the configuration its embedder gave it
//! ([`PluginBuilder::config`](crate::PluginBuilder::config)).
//!
//! Params `[key]` answer that key's value, or `null` when it is not set; no
//! params (or `[]`) answer the whole object. Every plugin has it: it only
//! ever sees its own configuration, so it needs no grant.

use super::{RawResult, to_raw};
use serde_json::{Map, Value};
use wasplug_protocol::{RawValue, RpcError};

/// The answer to `config.get` with `params`: no params or `[]` (any
/// whitespace) → the whole object; `[key]` → its value or `null`; anything
/// else → `-32602`.
pub(super) fn get(config: &Map<String, Value>, params: Option<&RawValue>) -> RawResult {
    let keys: Vec<String> = match params {
        None => Vec::new(),
        Some(p) => serde_json::from_str(p.get()).map_err(|e| invalid(&e))?,
    };
    match keys.as_slice() {
        [] => to_raw(config),
        [key] => to_raw(config.get(key).unwrap_or(&Value::Null)),
        _ => Err(invalid(&"expected at most one key")),
    }
}

fn invalid(reason: &dyn std::fmt::Display) -> wasplug_protocol::ErrorObjectOwned {
    RpcError::invalid_params(format!(
        "config.get takes no params, `[]` (the whole configuration) or `[key]`: {reason}"
    ))
    .to_object()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn a_key_answers_its_value_or_null_and_none_answers_all() {
        let Value::Object(config) = json!({"greeting": "hi", "n": [1, 2]}) else {
            unreachable!()
        };
        let answer = |params: Option<&str>| {
            let params = params.map(raw);
            get(&config, params.as_deref()).map(|r| r.get().to_owned())
        };
        assert_eq!(answer(Some(r#"["greeting"]"#)).unwrap(), r#""hi""#);
        assert_eq!(answer(Some(r#"["n"]"#)).unwrap(), "[1,2]");
        assert_eq!(answer(Some(r#"["missing"]"#)).unwrap(), "null");
        assert_eq!(answer(None).unwrap(), r#"{"greeting":"hi","n":[1,2]}"#);
        assert_eq!(
            answer(Some("[]")).unwrap(),
            r#"{"greeting":"hi","n":[1,2]}"#
        );
        for empty in ["[ ]", " [\n\t] ", "[]"] {
            assert_eq!(
                answer(Some(empty)).unwrap(),
                r#"{"greeting":"hi","n":[1,2]}"#,
                "{empty:?}"
            );
        }
        assert_eq!(answer(Some(r#"[ "greeting" ]"#)).unwrap(), r#""hi""#);
        for bad in [
            "[5]",
            r#"["greeting", "n"]"#,
            r#""greeting""#,
            "{}",
            "null",
            "[null]",
        ] {
            let error = answer(Some(bad)).unwrap_err();
            assert_eq!(
                error.code(),
                wasplug_protocol::codes::INVALID_PARAMS,
                "{bad}"
            );
        }
    }
}
