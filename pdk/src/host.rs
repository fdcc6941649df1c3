//! Calling the host from inside a handler.
//!
//! ```no_run
//! # async fn handler() -> Result<u32, wasplug_pdk::Error> {
//! // Two host calls in flight at once:
//! let (a, b) = futures::join!(
//!     wasplug_pdk::host::call::<_, u32>("echo", &[1]),
//!     wasplug_pdk::host::call::<_, u32>("echo", &[2]),
//! );
//! wasplug_pdk::host::notify("progress", &[50])?;
//! Ok(a? + b?)
//! # }
//! ```

use crate::{Error, runtime};
use serde::{Serialize, de::DeserializeOwned};

/// Calls host method `method` with `params` (serializing to a JSON array or
/// object; `&()` for none) and deserializes its result.
///
/// The request is written when the handler next yields; any number of calls
/// may be in flight at once (`futures::join!`).
///
/// # Errors
/// The host's JSON-RPC error as it sent it (`-32601` for a method it does not
/// have); `-32603` when the params do not serialize or the result does not
/// deserialize into `R`.
pub async fn call<P, R>(method: &str, params: &P) -> Result<R, Error>
where
    P: Serialize + ?Sized,
    R: DeserializeOwned,
{
    let text = runtime::Request::new(method, params).await?;
    let result = serde_json::from_str(&text);
    runtime::recycle(text);
    Ok(result?)
}

/// Sends notification `method` to the host (no answer comes back).
///
/// # Errors
/// `-32603` when the params do not serialize to an array or object.
pub fn notify<P: Serialize + ?Sized>(method: &str, params: &P) -> Result<(), Error> {
    runtime::with(|c| c.peer.notification_to(&mut c.out, method, params)).map_err(Error::from)
}
