//! Permissions: which host methods one plugin may call ([`Grants`]).

use crate::capabilities::{HttpPolicy, KvStore};
use std::collections::BTreeSet;

/// The host methods one plugin may call, given with
/// [`PluginBuilder::grants`](crate::PluginBuilder::grants). Default: none.
///
/// A call to a host method the embedder has but did not grant answers
/// JSON-RPC error `-32010` ([`wasplug_protocol::codes::NOT_PERMITTED`],
/// `data`: the method's name) and is logged (`tracing` warn, with the plugin
/// and the method); a notification that is not granted is logged and
/// dropped. A method the host does not have at all still answers `-32601`.
/// A grant of a method name covers the notification of the same name.
///
/// The built-in capabilities are granted by configuring them:
/// [`Grants::with_http`] grants `http.fetch` under an [`HttpPolicy`],
/// [`Grants::with_kv`] grants `kv.get`, `kv.set` and `kv.delete` on a
/// [`KvStore`]. `config.get` (the plugin's own configuration) needs no grant.
///
/// ```
/// use wasplug_hdk::{Grants, HttpPolicy, KvStore};
///
/// // Two of the embedder's methods, a key-value store, one host to fetch from.
/// let grants = Grants::methods(["user_name", "log"])
///     .with_kv(KvStore::memory())
///     .with_http(HttpPolicy::allow(["api.example.com"]));
/// assert!(grants.covers("user_name"));
/// assert!(!grants.covers("delete_user"));
///
/// // What the plugin's manifest requests, refusing at load a plugin that
/// // requests more than the host grants.
/// let trusted = Grants::requested().refuse_ungranted(true);
/// # let _ = trusted;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Grants {
    all: bool,
    requested: bool,
    methods: BTreeSet<String>,
    refuse_ungranted: bool,
    http: Option<HttpPolicy>,
    kv: Option<KvStore>,
}

impl Grants {
    /// Nothing granted (the default): every host method the plugin calls
    /// answers `-32010`, but `config.get`.
    pub fn none() -> Self {
        Self::default()
    }

    /// These host methods (and notifications), by name.
    pub fn methods<I, S>(methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::none().with_methods(methods)
    }

    /// Every host method and notification the embedder has (for a trusted
    /// plugin). The built-in capabilities still need [`Grants::with_http`]
    /// and [`Grants::with_kv`]: they say what to fetch from and where to keep
    /// the data.
    pub fn all() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    /// What the plugin's manifest requests (its `capabilities`), for a
    /// trusted plugin: those of the embedder's methods, and of the built-ins
    /// configured here. Add [`Grants::refuse_ungranted`] to refuse a plugin
    /// that requests more.
    pub fn requested() -> Self {
        Self {
            requested: true,
            ..Self::default()
        }
    }

    /// Grants these host methods too.
    #[must_use]
    pub fn with_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.methods.extend(methods.into_iter().map(Into::into));
        self
    }

    /// Grants `http.fetch`, under `policy` (the hosts it may reach, its limits).
    #[must_use]
    pub fn with_http(mut self, policy: HttpPolicy) -> Self {
        self.http = Some(policy);
        self
    }

    /// Grants `kv.get`, `kv.set` and `kv.delete` on `store`, in the
    /// plugin's own namespace (its name).
    #[must_use]
    pub fn with_kv(mut self, store: KvStore) -> Self {
        self.kv = Some(store);
        self
    }

    /// Whether loading refuses a plugin whose manifest requests a host
    /// method it is not granted ([`crate::ErrorKind::UngrantedCapabilities`],
    /// naming them). Default: `false`, the plugin loads and such calls answer
    /// `-32010`.
    #[must_use]
    pub fn refuse_ungranted(mut self, refuse: bool) -> Self {
        self.refuse_ungranted = refuse;
        self
    }

    /// Whether a method of this name is granted by name: listed, or covered
    /// by [`Grants::all`]. (Requested methods are known once the plugin is
    /// loaded: see [`crate::Plugin::is_granted`].)
    pub fn covers(&self, method: &str) -> bool {
        self.all || self.methods.contains(method)
    }

    /// The `http.fetch` policy, if granted.
    pub fn http(&self) -> Option<&HttpPolicy> {
        self.http.as_ref()
    }

    /// The key-value store, if granted.
    pub fn kv(&self) -> Option<&KvStore> {
        self.kv.as_ref()
    }

    /// Whether loading refuses a plugin that requests more than it is granted.
    pub fn refuses_ungranted(&self) -> bool {
        self.refuse_ungranted
    }

    /// Splits the grants into the names granted (given what the plugin
    /// requests) and the built-in capabilities.
    pub(crate) fn resolve(
        self,
        requested: &[String],
    ) -> (Granted, Option<HttpPolicy>, Option<KvStore>) {
        let mut methods = self.methods;
        if self.requested {
            methods.extend(requested.iter().cloned());
        }
        let granted = Granted {
            all: self.all,
            methods,
            refuse_ungranted: self.refuse_ungranted,
        };
        (granted, self.http, self.kv)
    }
}

/// The names granted to one loaded plugin.
#[derive(Debug)]
pub(crate) struct Granted {
    all: bool,
    methods: BTreeSet<String>,
    pub(crate) refuse_ungranted: bool,
}

impl Granted {
    /// Whether the embedder's method (or notification) `name` is granted.
    pub(crate) fn covers(&self, name: &str) -> bool {
        self.all || self.methods.contains(name)
    }
}
