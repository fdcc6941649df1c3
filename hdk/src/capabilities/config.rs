//! `config.get`: a plugin reads the configuration its embedder gave it
//! ([`PluginBuilder::config`](crate::PluginBuilder::config)).
//!
//! Params `[key]` answer that key's value, or `null` when it is not set; no
//! params (or `[]`) answer the whole object. Every plugin has it: it only
//! ever sees its own configuration, so it needs no grant.

use super::{RawResult, to_raw};
use serde_json::{Map, Value};
use wasplug_protocol::{RawValue, RpcError, parse_params};

/// The answer to `config.get` with `params`.
pub(super) fn get(config: &Map<String, Value>, params: Option<&RawValue>) -> RawResult {
    let key = match params {
        // `[]` asks for everything, as no params do.
        Some(p) if p.get().trim() != "[]" => {
            Some(parse_params::<(String,)>(Some(p)).map_err(|e: RpcError| e.to_object())?)
        }
        _ => None,
    };
    match key {
        None => to_raw(config),
        Some((key,)) => to_raw(config.get(&key).unwrap_or(&Value::Null)),
    }
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
        let error = answer(Some("[5]")).unwrap_err();
        assert_eq!(error.code(), wasplug_protocol::codes::INVALID_PARAMS);
    }
}
