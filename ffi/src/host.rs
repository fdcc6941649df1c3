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

/// Who answers a host method: the app's sync or async handler.
#[derive(Clone)]
enum Answerer {
    Sync(Arc<dyn HostHandler>),
    Async(Arc<dyn AsyncHostHandler>),
}

impl Answerer {
    async fn answer(
        self,
        plugin: String,
        method: String,
        params: String,
    ) -> Result<String, HostError> {
        match self {
            Self::Sync(handler) => handler.call(plugin, method, params),
            Self::Async(handler) => handler.call(plugin, method, params).await,
        }
    }
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
    let sync = handler.map(|h| (methods, Answerer::Sync(Arc::clone(h))));
    let not_sync = async_handler.map(|h| (async_methods, Answerer::Async(Arc::clone(h))));
    let mut router = HostMethods::new(());
    for (names, answerer) in sync.into_iter().chain(not_sync) {
        for name in names {
            let (answerer, method) = (answerer.clone(), name.clone());
            router = router.method(
                name.clone(),
                move |ctx: HostContext<()>, params: Option<Box<RawValue>>| {
                    let call = answerer.clone().answer(
                        ctx.plugin().to_owned(),
                        method.clone(),
                        params_text(params),
                    );
                    async move { answer(call.await) }
                },
            );
        }
    }
    router
}
