//! Reading the options objects of [`crate::WebPlugin`]: each option is
//! checked against its TypeScript type, and a value of the wrong type or
//! out of range throws (a `TypeError` or `RangeError` naming the option)
//! rather than being ignored, rounded or clamped. `undefined` and `null`
//! leave an option at its default.

use js_sys::{Array, Function, JSON, Object, Reflect};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS options object (any value: one that is not an object has no
/// options), named `what` in errors (`"options"`).
pub(crate) struct Options<'a> {
    object: &'a JsValue,
    what: &'static str,
}

impl<'a> Options<'a> {
    /// The options in `object`, named `what` in errors.
    pub(crate) fn new(object: &'a JsValue, what: &'static str) -> Result<Self, JsValue> {
        if !(object.is_undefined() || object.is_null() || object.is_object()) {
            return Err(type_error(format!(
                "`{what}` must be an object, not {}",
                describe(object)
            )));
        }
        Ok(Self { object, what })
    }

    /// `object[key]`, unless it is `undefined` or `null`.
    pub(crate) fn get(&self, key: &str) -> Option<JsValue> {
        if !self.object.is_object() {
            return None;
        }
        let value = Reflect::get(self.object, &JsValue::from_str(key)).ok()?;
        (!value.is_undefined() && !value.is_null()).then_some(value)
    }

    /// A `TypeError`: option `key` is not `expected`.
    fn wrong_type(&self, key: &str, expected: &str, value: &JsValue) -> JsValue {
        type_error(format!(
            "`{}.{key}` must be {expected}, not {}",
            self.what,
            describe(value)
        ))
    }

    /// A `RangeError`: option `key` is not `expected`.
    fn out_of_range(&self, key: &str, expected: &str, value: f64) -> JsValue {
        range_error(format!(
            "`{}.{key}` must be {expected}, not {value}",
            self.what
        ))
    }

    /// A string option.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, JsValue> {
        self.get(key)
            .map(|value| {
                value
                    .as_string()
                    .ok_or_else(|| self.wrong_type(key, "a string", &value))
            })
            .transpose()
    }

    /// A boolean option.
    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, JsValue> {
        self.get(key)
            .map(|value| {
                value
                    .as_bool()
                    .ok_or_else(|| self.wrong_type(key, "a boolean", &value))
            })
            .transpose()
    }

    /// A function option.
    pub(crate) fn function(&self, key: &str) -> Result<Option<Function>, JsValue> {
        self.get(key)
            .map(|value| {
                value
                    .clone()
                    .dyn_into::<Function>()
                    .map_err(|_| self.wrong_type(key, "a function", &value))
            })
            .transpose()
    }

    /// An option that is an object (not an array, not a function).
    pub(crate) fn object(&self, key: &str) -> Result<Option<Object>, JsValue> {
        self.get(key)
            .map(|value| {
                if value.is_object() && !Array::is_array(&value) {
                    Ok(value.unchecked_into::<Object>())
                } else {
                    Err(self.wrong_type(key, "an object", &value))
                }
            })
            .transpose()
    }

    /// A number option.
    fn number(&self, key: &str) -> Result<Option<f64>, JsValue> {
        self.get(key)
            .map(|value| {
                value
                    .as_f64()
                    .ok_or_else(|| self.wrong_type(key, "a number", &value))
            })
            .transpose()
    }

    /// A count: a non-negative integer JS holds exactly.
    pub(crate) fn count(&self, key: &str) -> Result<Option<u64>, JsValue> {
        self.number(key)?
            .map(|n| self.integer(key, n, "a non-negative integer"))
            .transpose()
    }

    /// A limit: a count, or `Infinity` for none (`Some(None)`).
    pub(crate) fn limit(&self, key: &str) -> Result<Option<Option<u64>>, JsValue> {
        self.number(key)?
            .map(|n| match n == f64::INFINITY {
                true => Ok(None),
                false => self
                    .integer(key, n, "a non-negative integer or Infinity")
                    .map(Some),
            })
            .transpose()
    }

    /// `n` as a `u64`, when it is a non-negative integer JS holds exactly.
    fn integer(&self, key: &str, n: f64, expected: &str) -> Result<u64, JsValue> {
        if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n) {
            // Exact: an integer within 2^53.
            Ok(n as u64)
        } else {
            Err(self.out_of_range(key, expected, n))
        }
    }

    /// A duration in milliseconds (fractions allowed), or `Infinity` for
    /// none (`Some(None)`).
    pub(crate) fn millis(&self, key: &str) -> Result<Option<Option<Duration>>, JsValue> {
        self.number(key)?
            .map(|ms| match ms {
                f64::INFINITY => Ok(None),
                ms if ms >= 0.0 => Duration::try_from_secs_f64(ms / 1000.0)
                    .map(Some)
                    .map_err(|_| self.out_of_range(key, "a duration in ms", ms)),
                // Negative, or NaN.
                ms => Err(self.out_of_range(key, "a non-negative number or Infinity", ms)),
            })
            .transpose()
    }

    /// An array of strings.
    pub(crate) fn strings(&self, key: &str) -> Result<Option<Vec<String>>, JsValue> {
        self.get(key)
            .map(|value| {
                let wrong = || self.wrong_type(key, "an array of strings", &value);
                if !Array::is_array(&value) {
                    return Err(wrong());
                }
                value
                    .unchecked_ref::<Array>()
                    .iter()
                    .map(|item| item.as_string().ok_or_else(wrong))
                    .collect()
            })
            .transpose()
    }

    /// An object whose own enumerable properties are all strings, as
    /// `(key, value)` pairs.
    pub(crate) fn string_record(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, String)>>, JsValue> {
        let Some(object) = self.object(key)? else {
            return Ok(None);
        };
        Object::entries(&object)
            .iter()
            .map(|entry| {
                let entry: Array = entry.unchecked_into();
                match (entry.get(0).as_string(), entry.get(1).as_string()) {
                    (Some(name), Some(value)) => Ok((name, value)),
                    _ => Err(self.wrong_type(key, "an object of strings", &entry.get(1))),
                }
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An object given as JSON (`JSON.stringify`), read into a JSON map.
    pub(crate) fn json_object(
        &self,
        key: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, JsValue> {
        let Some(object) = self.object(key)? else {
            return Ok(None);
        };
        let not_json = |why: String| {
            type_error(format!(
                "`{}.{key}` must be an object of JSON values: {why}",
                self.what
            ))
        };
        let text = JSON::stringify(&object)
            .map_err(|e| not_json(crate::plugin::js_message(&e)))?
            .as_string()
            .unwrap_or_default();
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| not_json(e.to_string()))
    }
}

/// A JS `TypeError` with `message`.
fn type_error(message: String) -> JsValue {
    js_sys::TypeError::new(&message).into()
}

/// A JS `RangeError` with `message`.
fn range_error(message: String) -> JsValue {
    js_sys::RangeError::new(&message).into()
}

/// A short description of `value` for an error: a string quoted, a number
/// or boolean as itself, an array, else its `typeof`.
fn describe(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        format!("the string {text:?}")
    } else if let Some(n) = value.as_f64() {
        format!("the number {n}")
    } else if let Some(b) = value.as_bool() {
        format!("{b}")
    } else if Array::is_array(value) {
        "an array".to_owned()
    } else {
        format!(
            "a value of type {}",
            value.js_typeof().as_string().unwrap_or_default()
        )
    }
}
