//! What the app implements in its own language: host methods
//! ([`HostHandler`], [`AsyncHostHandler`]) and the log ([`LogHandler`]).

use crate::error::HostError;
use std::sync::Arc;
use wasplug_hdk::{HostContext, HostMethods, RawValue, RpcError};

/// Host methods implemented by the app, answered synchronously on the
/// thread that runs the call (the caller's for `call_blocking`, the one
/// polling the call for `call`): keep them quick.
#[uniffi::export(with_foreign)]
pub trait HostHandler: Send + Sync {
    /// Answers host method `method` called by plugin `plugin` with
    /// `params_json` (the params as the plugin wrote them, `null` for none);
    /// returns the result as JSON.
    ///
    /// # Errors
    /// A [`HostError`] the plugin receives as its JSON-RPC error; any other
    /// exception reaches it as `-32603`.
    fn call(
        &self,
        plugin: String,
        method: String,
        params_json: String,
    ) -> Result<String, HostError>;
}

/// Host methods implemented by the app with its language's async (an
/// `async def`, an `async` func, a `suspend fun`): the call waits for
/// them without holding a thread. Python runs them on the event loop of
/// the awaiting call (or the one given to `uniffi_set_event_loop`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AsyncHostHandler: Send + Sync {
    /// As [`HostHandler::call`].
    ///
    /// # Errors
    /// As [`HostHandler::call`].
    async fn call(
        &self,
        plugin: String,
        method: String,
        params_json: String,
    ) -> Result<String, HostError>;
}

/// Receives the lines a plugin writes to stderr.
#[uniffi::export(with_foreign)]
pub trait LogHandler: Send + Sync {
    /// One line (without its newline) of plugin `plugin`.
    fn log(&self, plugin: String, line: String);
}

/// The answer of an app's host method, checked: a result that is not JSON
/// answers `-32603`.
fn answer(result: Result<String, HostError>) -> Result<Box<RawValue>, RpcError> {
    let json = result.map_err(HostError::into_rpc)?;
    RawValue::from_string(json).map_err(|e| {
        RpcError::new(
            wasplug_hdk::protocol::codes::INTERNAL_ERROR,
            format!("the host method's result is not JSON: {e}"),
        )
    })
}

fn params_text(params: Option<Box<RawValue>>) -> String {
    params.map_or_else(|| "null".to_owned(), |raw| raw.get().to_owned())
}

/// The host kit's router of `methods`, each answered by `handler`, and
/// of `async_methods`, each answered by `async_handler` (names without a
/// handler are left out).
pub(crate) fn router(
    methods: &[String],
    handler: Option<&Arc<dyn HostHandler>>,
    async_methods: &[String],
    async_handler: Option<&Arc<dyn AsyncHostHandler>>,
) -> HostMethods {
    let mut router = HostMethods::new(());
    if let Some(handler) = handler {
        for name in methods {
            let (handler, method) = (Arc::clone(handler), name.clone());
            router = router.method(
                name.clone(),
                move |ctx: HostContext<()>, params: Option<Box<RawValue>>| {
                    let plugin = ctx.plugin().to_owned();
                    let result = handler.call(plugin, method.clone(), params_text(params));
                    async move { answer(result) }
                },
            );
        }
    }
    if let Some(handler) = async_handler {
        for name in async_methods {
            let (handler, method) = (Arc::clone(handler), name.clone());
            router = router.method(
                name.clone(),
                move |ctx: HostContext<()>, params: Option<Box<RawValue>>| {
                    let (handler, method) = (Arc::clone(&handler), method.clone());
                    let plugin = ctx.plugin().to_owned();
                    async move { answer(handler.call(plugin, method, params_text(params)).await) }
                },
            );
        }
    }
    router
}
