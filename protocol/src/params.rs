//! How params become a handler's argument — one convention for both sides.

use crate::{RpcError, codes::invalid_params};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Deserializes a request's params into `P`: absent params as `null` (so `()`
/// and `Option<T>` take none), and a one-element array also as its element,
/// so a handler taking `u64` accepts `[5]`.
///
/// # Errors
/// A `-32602 Invalid params` error whose `data` says why `P` did not fit.
///
/// ```
/// use wasplug_protocol::{RawValue, parse_params};
///
/// let five = RawValue::from_string("[5]".to_owned())?;
/// assert_eq!(parse_params::<u64>(Some(&five)).ok(), Some(5));
/// assert_eq!(parse_params::<(u64,)>(Some(&five)).ok(), Some((5,)));
/// assert_eq!(parse_params::<()>(None).ok(), Some(()));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn parse_params<P: DeserializeOwned>(params: Option<&RawValue>) -> Result<P, RpcError> {
    let text = params.map_or("null", RawValue::get);
    serde_json::from_str::<P>(text).or_else(|first| {
        serde_json::from_str::<[Box<RawValue>; 1]>(text)
            .ok()
            .and_then(|[single]| serde_json::from_str::<P>(single.get()).ok())
            .ok_or_else(|| RpcError::from_object(invalid_params(first.to_string())))
    })
}
