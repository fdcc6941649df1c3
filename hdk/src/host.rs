//! Host methods: what a plugin may call on the host.

use crate::{
    ErrorKind,
    capabilities::{self, Builtins, CONFIG_GET},
    grants::{Granted, Grants},
    platform::{BoxFuture, MaybeSend, MaybeSync},
};
use serde::{
    Serialize,
    de::{DeserializeOwned, IgnoredAny},
};
use std::{
    any::{Any, TypeId},
    collections::{BTreeSet, HashMap},
    future::Future,
    hash::{BuildHasherDefault, Hasher},
    sync::{Arc, Mutex, PoisonError},
};
use wasplug_protocol::{ErrorObjectOwned, RawValue, RpcError, parse_params};

/// What a host method knows about its caller.
///
/// Cheap to clone: the calling plugin's name ([`HostContext::plugin`], as
/// given to [`PluginBuilder::name`](crate::PluginBuilder::name)) and the
/// embedder's shared state. One [`HostMethods`] may serve many plugins, each
/// with its own [`Grants`]; the context says which one calls, so a handler
/// can answer each in its own way (or keep per-plugin data).
#[derive(Debug)]
pub struct HostContext<S> {
    plugin: Arc<str>,
    state: Arc<S>,
}

impl<S> Clone for HostContext<S> {
    fn clone(&self) -> Self {
        Self {
            plugin: Arc::clone(&self.plugin),
            state: Arc::clone(&self.state),
        }
    }
}

impl<S> HostContext<S> {
    /// The name of the plugin making the call.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The embedder's state given to [`HostMethods::new`].
    pub fn state(&self) -> &S {
        &self.state
    }

    /// A shared handle to the embedder's state, to keep beyond the call.
    pub fn state_arc(&self) -> Arc<S> {
        Arc::clone(&self.state)
    }
}

type RawResult = Result<Box<RawValue>, ErrorObjectOwned>;
/// A method handler, type-erased: `Send + Sync` natively; in a browser,
/// where everything runs on the page's one thread, it may hold JS values.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
type MethodFn<S> =
    dyn Fn(HostContext<S>, Option<Box<RawValue>>) -> BoxFuture<RawResult> + Send + Sync;
/// A method handler, type-erased: `Send + Sync` natively; in a browser,
/// where everything runs on the page's one thread, it may hold JS values.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
type MethodFn<S> = dyn Fn(HostContext<S>, Option<Box<RawValue>>) -> BoxFuture<RawResult>;
/// A notification handler, type-erased, with the bounds of [`MethodFn`].
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
type NotifyFn<S> = dyn Fn(HostContext<S>, Option<Box<RawValue>>) -> BoxFuture<()> + Send + Sync;
/// A notification handler, type-erased, with the bounds of [`MethodFn`].
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
type NotifyFn<S> = dyn Fn(HostContext<S>, Option<Box<RawValue>>) -> BoxFuture<()>;

/// The methods a plugin may call on the host: a router of typed async
/// handlers, plus handlers for the plugin's notifications.
///
/// Handlers and the state are `Send + Sync` natively ([`MaybeSend`],
/// [`MaybeSync`]); in a browser (`wasm32-unknown-unknown`), where
/// everything runs on the page's one thread, they need not be: a handler
/// may hold JavaScript values.
///
/// A handler takes a [`HostContext`] and the params, deserialized into any
/// `serde` type (`()` or `Option<T>` for none; a one-element array also
/// deserializes into its element), and returns a future of
/// `Result<T, RpcError>` where `T` serializes to the result. `Ok(value)`
/// needs no annotation, and `?` converts any `std::error::Error` into an
/// [`RpcError`] (`-32603` with its text); [`RpcError::new`] chooses the code,
/// and code, message and data reach the plugin unchanged.
///
/// The plugin calling a method the host does not have gets `-32601` "host
/// method not found"; calling one the plugin was not granted
/// ([`PluginBuilder::grants`](crate::PluginBuilder::grants)) gets `-32010`
/// "host method not permitted"; params that do not deserialize answer `-32602`, and
/// so do params holding an integer beyond 64 bits, which `P` would receive
/// rounded — unless `P` is `Box<RawValue>` or `Option<Box<RawValue>>`, which
/// take the params verbatim (or `serde::de::IgnoredAny`).
///
/// ```
/// use serde_json::Value;
/// use wasplug_hdk::{HostContext, HostMethods, RawValue, RpcError};
///
/// struct App { greeting: String }
///
/// let methods = HostMethods::new(App { greeting: "hello".into() })
///     .method("echo", |_ctx: HostContext<App>, params: Box<RawValue>| async move {
///         Ok(params)
///     })
///     .method("greet", |ctx: HostContext<App>, (name,): (String,)| async move {
///         Ok(format!("{} {name} from {}", ctx.state().greeting, ctx.plugin()))
///     })
///     .method("parse", |_ctx: HostContext<App>, (text,): (String,)| async move {
///         let n: u64 = text.parse()?; // a std error answers -32603 with its text
///         n.checked_mul(2).ok_or_else(|| RpcError::new(-32001, "too large to double"))
///     })
///     .notification("progress", |_ctx: HostContext<App>, percent: u8| async move {
///         let _ = percent;
///     });
/// assert!(methods.has_method("greet"));
/// ```
pub struct HostMethods<S = ()> {
    state: Arc<S>,
    methods: Names<Arc<MethodFn<S>>>,
    notifications: Names<Arc<NotifyFn<S>>>,
}

/// Handlers by name. The names are the embedder's, so a plugin cannot
/// choose colliding ones: FNV-1a hashes the name looked up on every host
/// call for a fraction of what SipHash costs.
type Names<V> = HashMap<String, V, BuildHasherDefault<Fnv1a>>;

/// The 64-bit FNV-1a hash.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for HostMethods<()> {
    fn default() -> Self {
        Self::new(())
    }
}

impl<S> core::fmt::Debug for HostMethods<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut methods: Vec<_> = self.methods.keys().collect();
        methods.sort();
        let mut notifications: Vec<_> = self.notifications.keys().collect();
        notifications.sort();
        f.debug_struct("HostMethods")
            .field("methods", &methods)
            .field("notifications", &notifications)
            .finish_non_exhaustive()
    }
}

impl<S: MaybeSend + MaybeSync + 'static> HostMethods<S> {
    /// A router with no methods, whose handlers share `state`.
    pub fn new(state: S) -> Self {
        Self {
            state: Arc::new(state),
            methods: Names::default(),
            notifications: Names::default(),
        }
    }

    /// Adds (or replaces) the handler of method `name`.
    pub fn method<P, T, F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + 'static,
        F: Fn(HostContext<S>, P) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = Result<T, RpcError>> + MaybeSend + 'static,
    {
        let erased =
            move |ctx: HostContext<S>, params: Option<Box<RawValue>>| -> BoxFuture<RawResult> {
                // Raw params and results pass as they are: what serde_json
                // would copy them into is the same text.
                let mut params = params;
                let parsed = match take_as::<Box<RawValue>, P>(&mut params) {
                    Some(verbatim) => Ok(verbatim),
                    None => exact_params::<P>(params.as_deref()),
                };
                let future = parsed.map(|p| handler(ctx, p));
                Box::pin(async move {
                    let mut result = Some(future?.await?);
                    if let Some(raw) = take_as::<T, Box<RawValue>>(&mut result) {
                        return Ok(raw);
                    }
                    // `Some(value)` serializes as `value`.
                    serde_json::value::to_raw_value(&result).map_err(|e| {
                        wasplug_protocol::codes::internal_error(format!(
                            "cannot serialize the result: {e}"
                        ))
                    })
                })
            };
        self.methods.insert(name.into(), Arc::new(erased));
        self
    }

    /// Adds (or replaces) the handler of notification `name`. Notifications
    /// without a handler are logged at debug level and dropped; so are
    /// notifications whose params do not deserialize.
    pub fn notification<P, F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        F: Fn(HostContext<S>, P) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        let name = name.into();
        let method = name.clone();
        let erased = move |ctx: HostContext<S>, params: Option<Box<RawValue>>| -> BoxFuture<()> {
            match exact_params::<P>(params.as_deref()) {
                Ok(p) => Box::pin(handler(ctx, p)),
                Err(error) => {
                    tracing::debug!(method = %method, %error, "notification params do not deserialize");
                    Box::pin(async {})
                }
            }
        };
        self.notifications.insert(name, Arc::new(erased));
        self
    }

    /// Whether a method of that name is registered.
    pub fn has_method(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// Whether a notification handler of that name is registered.
    pub fn has_notification(&self, name: &str) -> bool {
        self.notifications.contains_key(name)
    }
}

/// Deserializes params as [`parse_params`] does, and refuses (`-32602`)
/// params holding an integer beyond 64 bits, which `P` would get rounded —
/// unless `P` keeps them verbatim or ignores them ([`takes_params_verbatim`]).
fn exact_params<P: DeserializeOwned + 'static>(params: Option<&RawValue>) -> Result<P, RpcError> {
    if !takes_params_verbatim::<P>()
        && let Some(number) = params.and_then(|p| crate::exact::first_inexact_integer(p.get()))
    {
        return Err(RpcError::from_object(
            wasplug_protocol::codes::invalid_params(format!(
                "the params hold the integer {}, beyond 64 bits, which this host method \
                 would receive rounded",
                wasplug_protocol::excerpt(number)
            )),
        ));
    }
    parse_params(params)
}

/// The value in `slot` as a `U`, taken out, if `T` is `U`; else `slot` is
/// left as it was.
fn take_as<T: 'static, U: 'static>(slot: &mut Option<T>) -> Option<U> {
    (slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
}

/// Whether params deserialized into `P` keep every number as written
/// (`Box<RawValue>`, `Option<Box<RawValue>>`) or look at none
/// ([`IgnoredAny`]). Any other type may hold a number as an `f64`, so the
/// router refuses params it would have to round.
fn takes_params_verbatim<P: 'static>() -> bool {
    let ty = TypeId::of::<P>();
    ty == TypeId::of::<Box<RawValue>>()
        || ty == TypeId::of::<Option<Box<RawValue>>>()
        || ty == TypeId::of::<IgnoredAny>()
}

/// A type-erased router, as a [`crate::Plugin`] keeps it.
pub(crate) trait Router: MaybeSend + MaybeSync {
    fn has_method(&self, method: &str) -> bool;
    fn has_notification(&self, method: &str) -> bool;
    /// The methods and notifications, each name once.
    fn names(&self) -> Vec<String>;
    fn call(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> BoxFuture<RawResult>;
    /// The answer of `method` if the router has it, else the params back.
    fn try_call(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<BoxFuture<RawResult>, Option<Box<RawValue>>>;
    fn notify(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Option<BoxFuture<()>>;
}

impl<S: MaybeSend + MaybeSync + 'static> Router for HostMethods<S> {
    fn has_method(&self, method: &str) -> bool {
        self.methods.contains_key(method)
    }

    fn has_notification(&self, method: &str) -> bool {
        self.notifications.contains_key(method)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .methods
            .keys()
            .chain(self.notifications.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn call(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> BoxFuture<RawResult> {
        self.try_call(plugin, method, params).unwrap_or_else(|_| {
            let error = RpcError::host_method_not_found(method).into();
            Box::pin(async move { Err(error) })
        })
    }

    fn try_call(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<BoxFuture<RawResult>, Option<Box<RawValue>>> {
        let Some(handler) = self.methods.get(method) else {
            return Err(params);
        };
        let ctx = HostContext {
            plugin: Arc::clone(plugin),
            state: Arc::clone(&self.state),
        };
        Ok(handler(ctx, params))
    }

    fn notify(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Option<BoxFuture<()>> {
        let Some(handler) = self.notifications.get(method) else {
            tracing::debug!(plugin = %plugin, method, "no handler for the plugin's notification");
            return None;
        };
        let ctx = HostContext {
            plugin: Arc::clone(plugin),
            state: Arc::clone(&self.state),
        };
        Some(handler(ctx, params))
    }
}

/// How a call to one host method is answered.
enum Access {
    /// By the embedder's handler.
    Router,
    /// By a built-in (`config.get`, a granted capability).
    Builtin,
    /// The host has it, the plugin may not call it: `-32010`.
    Denied,
    /// The host has no such method: `-32601`.
    Missing,
}

/// The one place grants are enforced: every host call and notification of a
/// plugin goes through its gate, to the embedder's router or a built-in.
///
/// The embedder's method wins over a built-in capability of the same name
/// (then it is granted by name, as any other); `config.get` is always the
/// built-in.
pub(crate) struct Gate {
    router: Arc<dyn Router>,
    granted: Granted,
    builtins: Builtins,
    refusals: Refusals,
}

/// The host methods (and notifications) a plugin was refused, so that the
/// first refusal of each is logged as a warning and the rest at debug level:
/// a plugin calling one in a loop does not flood the log.
///
/// At most [`Refusals::REMEMBERED`] names are kept; refusals of names beyond
/// them are logged at debug level.
#[derive(Default)]
struct Refusals(Mutex<BTreeSet<String>>);

impl Refusals {
    /// The most names remembered per plugin.
    const REMEMBERED: usize = 64;

    /// Whether this is the first refusal of `name` (and there was room to
    /// remember it): then it is logged as a warning.
    fn first(&self, name: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= Self::REMEMBERED || seen.contains(name) {
            return false;
        }
        seen.insert(name.to_owned())
    }
}

impl Gate {
    /// The gate of one plugin, given what its manifest requests.
    ///
    /// # Errors
    /// [`ErrorKind::UngrantedCapabilities`] when the grants refuse a plugin
    /// that requests more than it is granted, and it does.
    pub(crate) fn new(
        router: Arc<dyn Router>,
        grants: Grants,
        config: serde_json::Map<String, serde_json::Value>,
        requested: &[String],
    ) -> Result<Self, ErrorKind> {
        let (granted, http, kv) = grants.resolve(requested);
        let gate = Self {
            router,
            granted,
            builtins: Builtins::new(config, http, kv),
            refusals: Refusals::default(),
        };
        if gate.granted.refuse_ungranted {
            let mut missing: Vec<String> = requested
                .iter()
                .filter(|name| !gate.permits(name))
                .cloned()
                .collect();
            missing.sort();
            missing.dedup();
            if !missing.is_empty() {
                return Err(ErrorKind::UngrantedCapabilities {
                    capabilities: missing,
                });
            }
        }
        Ok(gate)
    }

    fn access(&self, method: &str) -> Access {
        if method == CONFIG_GET {
            Access::Builtin
        } else if self.router.has_method(method) {
            if self.granted.covers(method) {
                Access::Router
            } else {
                Access::Denied
            }
        } else if capabilities::is_capability(method) {
            if self.builtins.grants(method) {
                Access::Builtin
            } else {
                Access::Denied
            }
        } else {
            Access::Missing
        }
    }

    /// Whether the plugin may call host method (or send notification)
    /// `name`, and the host has it.
    pub(crate) fn permits(&self, name: &str) -> bool {
        match self.access(name) {
            Access::Router | Access::Builtin => true,
            Access::Denied => false,
            Access::Missing => self.router.has_notification(name) && self.granted.covers(name),
        }
    }

    /// Every host method and notification the plugin may use, sorted.
    pub(crate) fn permitted(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .router
            .names()
            .into_iter()
            .filter(|name| self.permits(name))
            .chain(
                self.builtins
                    .names()
                    .into_iter()
                    .filter(|name| self.permits(name))
                    .map(str::to_owned),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Answers host call `method` of `plugin`.
    pub(crate) fn call(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> BoxFuture<RawResult> {
        // The common case first, in one look-up of the router: a granted
        // method the embedder has (what `access` calls `Access::Router`).
        let params = if method != CONFIG_GET && self.granted.covers(method) {
            match self.router.try_call(plugin, method, params) {
                Ok(answer) => return answer,
                Err(params) => params,
            }
        } else {
            params
        };
        let refused = match self.access(method) {
            Access::Router => return self.router.call(plugin, method, params),
            Access::Builtin => match self.builtins.call(plugin, method, params) {
                Some(answer) => return answer,
                None => RpcError::host_method_not_found(method),
            },
            Access::Denied => {
                if self.refusals.first(method) {
                    tracing::warn!(
                        plugin = %plugin,
                        method,
                        "host method not permitted (its further refusals are logged at debug level)"
                    );
                } else {
                    tracing::debug!(plugin = %plugin, method, "host method not permitted");
                }
                RpcError::not_permitted(method)
            }
            Access::Missing => RpcError::host_method_not_found(method),
        };
        let error = refused.into();
        Box::pin(async move { Err(error) })
    }

    /// The handler of notification `method` of `plugin`, if it has one and
    /// is granted; an ungranted one is logged and dropped.
    pub(crate) fn notify(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Option<BoxFuture<()>> {
        if self.router.has_notification(method) && !self.granted.covers(method) {
            if self.refusals.first(method) {
                tracing::warn!(
                    plugin = %plugin,
                    method,
                    "notification not permitted: dropped (its further refusals are logged at \
                     debug level)"
                );
            } else {
                tracing::debug!(plugin = %plugin, method, "notification not permitted: dropped");
            }
            return None;
        }
        self.router.notify(plugin, method, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_params_and_results_pass_verbatim_and_others_as_before() {
        let mut raw = Some(RawValue::from_string("[1, 2]".to_owned()).unwrap());
        assert_eq!(take_as::<_, u32>(&mut raw), None);
        assert!(raw.is_some(), "left as it was");
        let taken = take_as::<_, Box<RawValue>>(&mut raw).unwrap();
        assert_eq!((taken.get(), raw.is_none()), ("[1, 2]", true));

        let methods = HostMethods::new(())
            .method(
                "raw",
                |_ctx: HostContext<()>, params: Box<RawValue>| async move { Ok(params) },
            )
            .method(
                "sum",
                |_ctx: HostContext<()>, (a, b): (u32, u32)| async move { Ok(a + b) },
            );
        let plugin: Arc<str> = Arc::from("p");
        let call = |method: &str, params: Option<&str>| {
            let params = params.map(|p| RawValue::from_string(p.to_owned()).unwrap());
            let answer = futures::executor::block_on(methods.call(&plugin, method, params));
            answer.map(|raw| raw.get().to_owned()).map_err(|e| e.code())
        };
        assert_eq!(call("raw", Some("[1,  2.50]")), Ok("[1,  2.50]".to_owned()));
        assert_eq!(call("raw", None), Ok("null".to_owned()));
        assert_eq!(call("sum", Some("[1,2]")), Ok("3".to_owned()));
        assert_eq!(call("sum", Some("[1]")), Err(-32602));
    }

    #[test]
    fn only_the_first_refusal_of_each_name_warns_and_few_names_are_kept() {
        let refusals = Refusals::default();
        assert!(refusals.first("secret"));
        assert!(!refusals.first("secret"));
        assert!(refusals.first("other"));
        for i in 2..Refusals::REMEMBERED {
            assert!(refusals.first(&format!("m{i}")));
        }
        assert!(!refusals.first("one.too.many"));
        assert!(!refusals.first("one.too.many"));
        assert_eq!(refusals.0.lock().unwrap().len(), Refusals::REMEMBERED);
    }

    #[test]
    fn params_unwrap_a_single_element_array() {
        let raw = RawValue::from_string("[5]".into()).unwrap();
        assert_eq!(parse_params::<u64>(Some(&raw)).unwrap(), 5);
        assert_eq!(parse_params::<(u64,)>(Some(&raw)).unwrap(), (5,));
        assert_eq!(parse_params::<()>(None).unwrap(), ());
        let bad = RawValue::from_string("{\"a\":1}".into()).unwrap();
        let error = parse_params::<u64>(Some(&bad)).unwrap_err();
        assert_eq!(error.code(), wasplug_protocol::codes::INVALID_PARAMS);
    }

    #[test]
    fn params_beyond_64_bits_are_refused_unless_taken_raw() {
        let big = RawValue::from_string("[18446744073709551617]".into()).unwrap();
        let error = exact_params::<serde_json::Value>(Some(&big)).unwrap_err();
        assert_eq!(error.code(), wasplug_protocol::codes::INVALID_PARAMS);
        let error = exact_params::<f64>(Some(&big)).unwrap_err();
        assert_eq!(error.code(), wasplug_protocol::codes::INVALID_PARAMS);
        let raw = exact_params::<Box<RawValue>>(Some(&big)).unwrap();
        assert_eq!(raw.get(), "[18446744073709551617]");
        let raw = exact_params::<Option<Box<RawValue>>>(Some(&big)).unwrap();
        assert_eq!(raw.unwrap().get(), "[18446744073709551617]");
        exact_params::<IgnoredAny>(Some(&big)).unwrap();
        let fine = RawValue::from_string("[18446744073709551615]".into()).unwrap();
        assert_eq!(exact_params::<u64>(Some(&fine)).unwrap(), u64::MAX);
    }
}
