//! A loaded plugin, as foreign code sees it: [`Plugin`].

use crate::{
    cancel::CancelToken,
    error::{ErrorKind, WasplugError},
    host,
    options::{InitReport, Limits, LoadOptions},
};
use futures::future::{Either, select};
use std::{pin::pin, sync::Arc};
use wasplug_hdk::{Grants, HttpPolicy, PluginBuilder, RawValue};

/// A compiled plugin: call its methods. Each call runs in a fresh instance;
/// any number of calls may run at once, from any threads.
#[derive(Debug, uniffi::Object)]
pub struct Plugin {
    inner: wasplug_hdk::Plugin,
}

#[uniffi::export]
impl Plugin {
    /// Loads a plugin from wasm bytes (or WAT text).
    ///
    /// # Errors
    /// A [`WasplugError`] whose kind says why the module was refused
    /// (`InvalidModule`, `RefusedImports`, `MissingExport`, ...), or `Json`
    /// when `config_json` is not a JSON object.
    #[uniffi::constructor]
    pub fn from_bytes(wasm: Vec<u8>, options: LoadOptions) -> Result<Arc<Self>, WasplugError> {
        Self::load(wasplug_hdk::Plugin::builder(wasm), options)
    }

    /// Loads a plugin from a `.wasm` or `.wat` file; its name defaults to
    /// the file stem, and a sidecar manifest beside it is read.
    ///
    /// # Errors
    /// As [`Plugin::from_bytes`]; `Io` when the file cannot be read.
    #[uniffi::constructor]
    pub fn from_file(path: String, options: LoadOptions) -> Result<Arc<Self>, WasplugError> {
        Self::load(wasplug_hdk::Plugin::from_file(path), options)
    }

    /// The plugin's name.
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The plugin's manifest (name, version, methods, the host methods it
    /// asks for) as JSON.
    pub fn manifest_json(&self) -> String {
        serde_json::to_string(self.inner.manifest()).unwrap_or_else(|_| "null".to_owned())
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        Limits::from(self.inner.limits())
    }

    /// What the plugin's init did when it loaded: `None` when it has no
    /// init, or was loaded with `warm_start` off.
    pub fn init_report(&self) -> Option<InitReport> {
        self.inner.init_report().map(InitReport::from)
    }

    /// Calls `method` with `params_json` (a JSON array, object, or `null`)
    /// and returns the result as the JSON the plugin wrote (every number
    /// kept). The call runs while the app's executor polls it, yielding
    /// after every fuel slice; cancelling the foreign task (or `cancel`)
    /// ends it.
    ///
    /// # Errors
    /// A [`WasplugError`]: `Plugin` with the plugin's code, message and data
    /// when it answers an error; `OutOfFuel`, `Timeout`, `MemoryLimit`...
    /// when a limit ends the call; `Trap` when it crashes; `Cancelled`;
    /// `InvalidParams` or `Json` when `params_json` is not an array, an
    /// object or `null`.
    #[uniffi::method(default(cancel = None))]
    pub async fn call(
        &self,
        method: String,
        params_json: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<String, WasplugError> {
        let params = self.params(&method, params_json)?;
        let call = pin!(self.inner.call_raw(&method, params));
        let result = match cancel {
            None => call.await,
            Some(token) => match select(call, pin!(token.cancelled())).await {
                Either::Left((result, _)) => result,
                Either::Right(((), _)) => {
                    return Err(WasplugError::new(
                        ErrorKind::Cancelled,
                        format!(
                            "plugin `{}`, method `{method}`: the call was cancelled",
                            self.inner.name()
                        ),
                        self.inner.name(),
                        Some(&method),
                    ));
                }
            },
        };
        Ok(result?.get().to_owned())
    }

    /// [`Plugin::call`] on the calling thread, returning when the call ends
    /// (release the GIL or call from a worker thread: Python's binding does
    /// the former).
    ///
    /// # Errors
    /// As [`Plugin::call`].
    #[uniffi::method(default(cancel = None))]
    pub fn call_blocking(
        &self,
        method: String,
        params_json: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<String, WasplugError> {
        futures::executor::block_on(self.call(method, params_json, cancel))
    }
}

impl Plugin {
    fn load(builder: PluginBuilder, options: LoadOptions) -> Result<Arc<Self>, WasplugError> {
        let LoadOptions {
            name,
            limits,
            host_methods,
            host,
            async_host_methods,
            async_host,
            log,
            config_json,
            args,
            env,
            http_allow,
            warm_start,
            idle_instances,
            max_module_bytes,
        } = options;
        let label = name.clone().unwrap_or_else(|| "plugin".to_owned());
        let mut builder = builder
            .limits(wasplug_hdk::Limits::from(&limits))
            .warm_start(warm_start)
            // A `u32` always fits a `usize` where the bindings build.
            .idle_instances(usize::try_from(idle_instances).unwrap_or(usize::MAX))
            .max_module_bytes(max_module_bytes);
        if let Some(name) = name {
            builder = builder.name(name);
        }
        if let Some(json) = config_json {
            let config = serde_json::from_str(&json).map_err(|e| {
                WasplugError::new(
                    ErrorKind::Json,
                    format!("the config is not a JSON object: {e}"),
                    &label,
                    None,
                )
            })?;
            builder = builder.config(config);
        }
        if let Some(log) = log {
            builder =
                builder.logger(move |plugin, line| log.log(plugin.to_owned(), line.to_owned()));
        }
        let granted: Vec<&String> = host
            .as_ref()
            .map(|_| &host_methods)
            .into_iter()
            .chain(async_host.as_ref().map(|_| &async_host_methods))
            .flatten()
            .collect();
        let mut grants = Grants::methods(granted);
        if !http_allow.is_empty() {
            let policy = HttpPolicy::try_allow(&http_allow).map_err(|e| {
                WasplugError::new(
                    ErrorKind::InvalidHost,
                    format!("`http_allow`: {e}"),
                    &label,
                    None,
                )
            })?;
            grants = grants.with_http(policy);
        }
        let router = host::router(
            &host_methods,
            host.as_ref(),
            &async_host_methods,
            async_host.as_ref(),
        );
        let plugin = builder
            .host_methods(router)
            .grants(grants)
            .args(args)
            .env(env)
            .build()?;
        Ok(Arc::new(Self { inner: plugin }))
    }

    /// The params to send: `None` for `null`; an error for JSON that is
    /// not an array, an object or `null`.
    fn params(&self, method: &str, json: String) -> Result<Option<Box<RawValue>>, WasplugError> {
        let refuse = |kind, what: String| {
            WasplugError::new(
                kind,
                format!("plugin `{}`, method `{method}`: {what}", self.inner.name()),
                self.inner.name(),
                Some(method),
            )
        };
        let raw = RawValue::from_string(json)
            .map_err(|e| refuse(ErrorKind::Json, format!("the params are not JSON: {e}")))?;
        match raw.get().trim_start().as_bytes().first() {
            Some(b'n') => Ok(None),
            Some(b'[' | b'{') => Ok(Some(raw)),
            _ => Err(refuse(
                ErrorKind::InvalidParams,
                "the params must be a JSON array, object or null".to_owned(),
            )),
        }
    }
}
