//! Plugins by name, replaced while they serve.

use crate::{CallOptions, CallReport, Error, ErrorKind, Plugin};
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex, PoisonError, RwLock},
};
use wasplug_protocol::RawValue;

/// What happened in a [`Registry`], as its [`Registry::on_event`] callback
/// hears it.
#[derive(Debug)]
#[non_exhaustive]
pub enum RegistryEvent<'a> {
    /// A plugin was added under a name that held none.
    Loaded {
        /// The new plugin.
        plugin: &'a Plugin,
    },
    /// A plugin took the place of another of the same name. Calls in flight
    /// finish on `old`; new calls go to `new`.
    Replaced {
        /// The plugin that served until now.
        old: &'a Plugin,
        /// The plugin that serves from now on.
        new: &'a Plugin,
    },
    /// A plugin was removed. Calls in flight finish on it.
    Removed {
        /// The plugin removed.
        plugin: &'a Plugin,
    },
    /// A plugin failed to load ([`Registry::load`]); the registry did not
    /// change.
    Failed {
        /// The name it was to be loaded under.
        name: &'a str,
        /// Why it failed.
        error: &'a Error,
        /// The version that goes on serving under that name, if any.
        serving: Option<&'a Plugin>,
    },
}

type Callback = Arc<dyn Fn(&RegistryEvent<'_>) + Send + Sync>;

struct Inner {
    plugins: RwLock<BTreeMap<Arc<str>, Plugin>>,
    on_event: RwLock<Option<Callback>>,
    /// Held by each change across the change and its event, so events are
    /// heard in the order of the changes. Reads never take it.
    changes: Mutex<()>,
}

/// Plugins by name: add, replace and remove them while they serve calls.
///
/// Cheap to clone (every clone is the same registry) and portable (it uses
/// no file system: [`Plugin`]s come from wherever the embedder gets them).
/// Each entry is a [`Plugin`], with its own version, manifest, limits and
/// host methods.
///
/// Replacing is atomic: a call takes the plugin that serves its name when
/// it starts and finishes on it, whatever happens to the name meanwhile;
/// calls that start after the replacement get the new plugin; no call is
/// dropped or fails for it. A [`Registry::load`] that fails keeps the old
/// version serving and says why.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::sync::{Arc, Mutex};
/// use wasplug_hdk::{ErrorKind, Plugin, Registry, RegistryEvent};
///
/// // A plugin that answers every call with `answer`.
/// fn answering(answer: u32) -> String {
///     let line = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{answer}}}"#);
///     format!(
///         r#"(module
///           (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
///           (memory (export "memory") 1)
///           (data (i32.const 16) "{}\n")
///           (func (export "_start")
///             (i32.store (i32.const 0) (i32.const 16))
///             (i32.store (i32.const 4) (i32.const {}))
///             (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
///         line.replace('"', "\\\""),
///         line.len() + 1
///     )
/// }
///
/// let registry = Registry::new();
/// let events = Arc::new(Mutex::new(Vec::new()));
/// let seen = Arc::clone(&events);
/// registry.on_event(move |event| {
///     let what = match event {
///         RegistryEvent::Loaded { .. } => "loaded",
///         RegistryEvent::Replaced { .. } => "replaced",
///         RegistryEvent::Removed { .. } => "removed",
///         RegistryEvent::Failed { .. } => "failed",
///         _ => "other",
///     };
///     seen.lock().unwrap().push(what);
/// });
///
/// registry.insert(Plugin::builder(answering(1)).name("answer").build()?);
/// assert_eq!(registry.call("answer", "any", serde_json::Value::Null).await?, 1);
///
/// // A replacement that does not load keeps the old version serving.
/// let failed = registry.load("answer", || Plugin::builder("not wasm").build());
/// assert!(matches!(failed.unwrap_err().kind(), ErrorKind::InvalidModule { .. }));
/// assert_eq!(registry.call("answer", "any", serde_json::Value::Null).await?, 1);
///
/// registry.load("answer", || Plugin::builder(answering(2)).build())?;
/// assert_eq!(registry.call("answer", "any", serde_json::Value::Null).await?, 2);
///
/// registry.remove("answer");
/// let gone = registry.call("answer", "any", serde_json::Value::Null).await;
/// assert!(matches!(gone.unwrap_err().kind(), ErrorKind::UnknownPlugin { .. }));
/// assert_eq!(*events.lock().unwrap(), ["loaded", "failed", "replaced", "removed"]);
/// # Ok::<(), wasplug_hdk::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Registry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registry")
            .field("plugins", &self.names())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry.
    // In a browser a `Plugin` need not be `Send`; an `Arc` keeps the
    // registry one type on every platform.
    #[cfg_attr(
        all(target_arch = "wasm32", target_os = "unknown"),
        allow(clippy::arc_with_non_send_sync)
    )]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                plugins: RwLock::new(BTreeMap::new()),
                on_event: RwLock::new(None),
                changes: Mutex::new(()),
            }),
        }
    }

    /// Sets the callback that hears every [`RegistryEvent`] (replacing the
    /// one set before). It runs on the thread that changed the registry,
    /// after the change, and hears the events in the order of the changes
    /// (each [`RegistryEvent::Replaced`]'s `old` is the plugin the event
    /// before made serve that name).
    ///
    /// Changes wait for one another's callback to return: the callback may
    /// read the registry ([`Registry::get`], [`Registry::list`], calls), but
    /// must not change it ([`Registry::insert`], [`Registry::load`],
    /// [`Registry::remove`] would wait for themselves).
    pub fn on_event(&self, callback: impl Fn(&RegistryEvent<'_>) + Send + Sync + 'static) {
        *self
            .inner
            .on_event
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(callback));
    }

    /// Adds `plugin` under its [`Plugin::name`], replacing (atomically) the
    /// plugin that had that name, which is returned.
    pub fn insert(&self, plugin: Plugin) -> Option<Plugin> {
        self.insert_as(plugin.name().into(), plugin)
    }

    /// Builds a plugin with `build` (outside the registry's lock: loading
    /// takes a while) and adds it under `name` (whatever name the plugin
    /// itself has), replacing the plugin that had it.
    ///
    /// # Errors
    /// The error of `build`, with `name` as its plugin. The registry is then
    /// unchanged (the old version, if any, goes on serving) and the callback
    /// hears [`RegistryEvent::Failed`].
    pub fn load(
        &self,
        name: &str,
        build: impl FnOnce() -> Result<Plugin, Error>,
    ) -> Result<(), Error> {
        match build() {
            Ok(plugin) => {
                self.insert_as(name.into(), plugin);
                Ok(())
            }
            Err(error) => {
                let error = error.in_plugin(&Arc::from(name));
                let _change = self.lock_changes();
                let serving = self.get(name);
                self.emit(&RegistryEvent::Failed {
                    name,
                    error: &error,
                    serving: serving.as_ref(),
                });
                Err(error)
            }
        }
    }

    fn insert_as(&self, name: Arc<str>, plugin: Plugin) -> Option<Plugin> {
        let plugin = if *plugin.name() == *name {
            plugin
        } else {
            plugin.renamed(Arc::clone(&name))
        };
        let _change = self.lock_changes();
        let old = self
            .inner
            .plugins
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, plugin.clone());
        match &old {
            Some(old) => self.emit(&RegistryEvent::Replaced { old, new: &plugin }),
            None => self.emit(&RegistryEvent::Loaded { plugin: &plugin }),
        }
        old
    }

    /// Removes the plugin called `name` and returns it. Calls in flight
    /// finish on it; later calls fail with [`ErrorKind::UnknownPlugin`].
    pub fn remove(&self, name: &str) -> Option<Plugin> {
        let _change = self.lock_changes();
        let removed = self
            .inner
            .plugins
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        if let Some(plugin) = &removed {
            self.emit(&RegistryEvent::Removed { plugin });
        }
        removed
    }

    /// The plugin serving `name` now.
    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Every plugin, ordered by name.
    pub fn list(&self) -> Vec<Plugin> {
        self.inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Every name, in order.
    pub fn names(&self) -> Vec<String> {
        self.inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .map(|name| name.to_string())
            .collect()
    }

    /// How many plugins there are.
    pub fn len(&self) -> usize {
        self.inner
            .plugins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `method` of the plugin serving `name` now, as
    /// [`Plugin::call`]. The plugin is chosen when this is called: the call
    /// finishes on it even if the name is replaced or removed meanwhile.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownPlugin`] when no plugin has that name; else as
    /// [`Plugin::call`].
    pub fn call(
        &self,
        name: &str,
        method: &str,
        params: serde_json::Value,
    ) -> impl Future<Output = Result<serde_json::Value, Error>> + 'static + use<> {
        let call = self.plugin(name).map(|plugin| plugin.call(method, params));
        let method: Box<str> = method.into();
        async move {
            match call {
                Ok(call) => call.await,
                Err(error) => Err(error.in_method(&method)),
            }
        }
    }

    /// Calls `method` of the plugin serving `name` now, as
    /// [`Plugin::call_raw`] (params and result verbatim).
    ///
    /// # Errors
    /// [`ErrorKind::UnknownPlugin`] when no plugin has that name; else as
    /// [`Plugin::call_raw`].
    pub fn call_raw(
        &self,
        name: &str,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> impl Future<Output = Result<Box<RawValue>, Error>> + 'static + use<> {
        let call = self
            .plugin(name)
            .map(|plugin| plugin.call_raw(method, params));
        let method: Box<str> = method.into();
        async move {
            match call {
                Ok(call) => call.await,
                Err(error) => Err(error.in_method(&method)),
            }
        }
    }

    /// Calls `method` of the plugin serving `name` now, as
    /// [`Plugin::call_with`]: with per-call options, and a report of what
    /// the call used (empty when no plugin has that name).
    pub fn call_with(
        &self,
        name: &str,
        method: &str,
        params: Option<Box<RawValue>>,
        options: &CallOptions,
    ) -> impl Future<Output = (Result<Box<RawValue>, Error>, CallReport)> + 'static + use<> {
        let call = self
            .plugin(name)
            .map(|plugin| plugin.call_with(method, params, options));
        let method: Box<str> = method.into();
        async move {
            match call {
                Ok(call) => call.await,
                Err(error) => (Err(error.in_method(&method)), CallReport::default()),
            }
        }
    }

    fn plugin(&self, name: &str) -> Result<Plugin, Error> {
        self.get(name).ok_or_else(|| {
            Error::from(ErrorKind::UnknownPlugin { name: name.into() }).in_plugin(&Arc::from(name))
        })
    }

    /// Serializes changes with their events (see [`Inner::changes`]).
    fn lock_changes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, event: &RegistryEvent<'_>) {
        let callback = self
            .inner
            .on_event
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match callback {
            Some(callback) => callback(event),
            None => log(event),
        }
    }
}

/// What a registry without a callback does with an event: logs it.
fn log(event: &RegistryEvent<'_>) {
    match event {
        RegistryEvent::Loaded { plugin } => {
            tracing::info!(
                plugin = plugin.name(),
                digest = plugin.digest(),
                "plugin loaded"
            );
        }
        RegistryEvent::Replaced { old, new } => tracing::info!(
            plugin = new.name(),
            old_digest = old.digest(),
            digest = new.digest(),
            "plugin replaced"
        ),
        RegistryEvent::Removed { plugin } => {
            tracing::info!(plugin = plugin.name(), "plugin removed");
        }
        RegistryEvent::Failed {
            name,
            error,
            serving,
        } => tracing::warn!(
            plugin = name,
            %error,
            still_serving = serving.map(Plugin::digest),
            "plugin failed to load"
        ),
    }
}
