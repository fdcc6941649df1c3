//! Reading the configuration the host gave this plugin (host method
//! `config.get`, which every wasplug host answers).
//!
//! ```no_run
//! # async fn handler() -> Result<String, wasplug_pdk::Error> {
//! // `null` (not set) deserializes into `None`.
//! let greeting: Option<String> = wasplug_pdk::config::get("greeting").await?;
//! Ok(greeting.unwrap_or_else(|| "hello".to_owned()))
//! # }
//! ```

use crate::{Error, host};
use serde::de::DeserializeOwned;

/// The host method a plugin reads its configuration with.
pub const METHOD: &str = "config.get";

/// The value of configuration entry `key`, deserialized into `T` (the host
/// answers `null` for a key it was not given: use an `Option`).
///
/// # Errors
/// The host's JSON-RPC error; `-32603` when the value does not deserialize
/// into `T`.
pub async fn get<T: DeserializeOwned>(key: &str) -> Result<T, Error> {
    host::call(METHOD, &[key]).await
}
