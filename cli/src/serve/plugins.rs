//! The plugins served: how each is built from its file and settings, how
//! the directory fills the registry, and how a plugin is described.

use super::config::{Config, Settings};
use crate::{LogLevel, call, term::Stderr, text};
use serde::Serialize;
use std::{path::Path, sync::Arc, time::UNIX_EPOCH};
use wasplug_hdk::{
    DirWatch, Grants, HttpPolicy, KvStore, Limits, Plugin, PluginBuilder, PluginDir, Registry,
    RegistryEvent, WatchError,
};

/// Builds plugins: the same limits for all, each with its own settings.
/// Cheap to clone.
#[derive(Clone)]
pub(crate) struct Factory(Arc<Inner>);

struct Inner {
    limits: Limits,
    config: Config,
    level: LogLevel,
    /// Where the `log` host method writes.
    stderr: Stderr,
    /// The key-value store of every plugin granted `kv` (each plugin sees
    /// its own namespace); a reloaded plugin finds its data again.
    kv: KvStore,
}

impl Factory {
    pub(crate) fn new(limits: Limits, config: Config, level: LogLevel) -> Self {
        Self(Arc::new(Inner {
            limits,
            config,
            level,
            stderr: Stderr::default(),
            kv: KvStore::memory(),
        }))
    }

    /// The builder of the plugin in the file at `path`, named after the
    /// file stem, with its settings.
    pub(crate) fn builder(&self, path: &Path) -> PluginBuilder {
        let inner = &self.0;
        let name = path
            .file_stem()
            .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
        let settings = inner.config.settings(&name);
        let show_logs = inner.level.shows_plugin_logs();
        Plugin::from_file(path)
            .name(name)
            .limits(inner.limits.clone())
            .host_methods(call::host_methods(&inner.stderr, inner.level))
            .grants(self.grants(&settings))
            .config(settings.config)
            .args(settings.args)
            .env(settings.env)
            .logger(move |plugin: &str, line: &str| {
                if show_logs {
                    tracing::info!(
                        target: "wasplug::plugin",
                        plugin = %text::escape(plugin),
                        "{}",
                        text::escape(line)
                    );
                }
            })
    }

    /// What a plugin with `settings` may call.
    fn grants(&self, settings: &Settings) -> Grants {
        let base = if settings.grant_requested {
            Grants::requested()
        } else {
            Grants::none()
        };
        let mut grants = base
            .with_methods(settings.grant.iter().cloned())
            .refuse_ungranted(settings.refuse_ungranted);
        if !settings.allow_http.is_empty() {
            grants = grants.with_http(HttpPolicy::allow(&settings.allow_http));
        }
        if settings.kv {
            grants = grants.with_kv(self.0.kv.clone());
        }
        grants
    }
}

/// What `GET /plugins` says about `plugin`.
pub(crate) fn describe(plugin: &Plugin) -> Description<'_> {
    let manifest = plugin.manifest();
    let loaded_at_ms = plugin
        .loaded_at()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Description {
        name: plugin.name(),
        version: &manifest.version,
        protocol: manifest.protocol,
        description: manifest.description.as_deref(),
        methods: &manifest.methods,
        capabilities: Capabilities {
            requested: &manifest.capabilities,
            granted: plugin.granted(),
        },
        sha256: plugin.digest(),
        loaded_at_ms,
    }
}

/// One plugin in `GET /plugins`.
#[derive(Debug, Serialize)]
pub(crate) struct Description<'a> {
    /// The name it is served under (its file stem).
    name: &'a str,
    version: &'a str,
    protocol: u32,
    description: Option<&'a str>,
    methods: &'a [String],
    capabilities: Capabilities<'a>,
    /// SHA-256 of the module file's bytes, in hex.
    sha256: &'a str,
    /// When this version was loaded, in milliseconds since the Unix epoch.
    loaded_at_ms: u64,
}

/// The host methods a plugin requests (in its manifest) and those it may
/// call.
#[derive(Debug, Serialize)]
struct Capabilities<'a> {
    requested: &'a [String],
    granted: Vec<String>,
}

/// Logs what happens to the registry: a failed load as a warning.
pub(crate) fn log_event(event: &RegistryEvent<'_>) {
    match event {
        RegistryEvent::Loaded { plugin } => {
            tracing::info!(plugin = %text::escape(plugin.name()), sha256 = plugin.digest(), "loaded");
        }
        RegistryEvent::Replaced { old, new } => tracing::info!(
            plugin = %text::escape(new.name()),
            sha256 = new.digest(),
            old_sha256 = old.digest(),
            "replaced: new calls go to the new version"
        ),
        RegistryEvent::Removed { plugin } => {
            tracing::info!(plugin = %text::escape(plugin.name()), "removed");
        }
        RegistryEvent::Failed {
            name,
            error,
            serving,
        } => tracing::warn!(
            plugin = %text::escape(name),
            %error,
            serving = serving.map(|p| p.digest()),
            "failed to load{}",
            if serving.is_some() { "; the old version goes on serving" } else { "" }
        ),
        _ => tracing::info!(?event, "registry event"),
    }
}

/// Loads every plugin of `dir` into `registry`, then keeps the registry in
/// step with the directory (added, replaced and removed files) until the
/// returned handle is dropped. A file that does not load is a `failed`
/// event, and an older version of it goes on serving.
///
/// # Errors
/// When the directory cannot be read or watched.
pub(crate) fn serve_dir(
    registry: &Registry,
    dir: &Path,
    factory: Factory,
) -> Result<DirWatch, WatchError> {
    PluginDir::new(dir)
        .builder(move |path| factory.builder(path))
        .watch(registry)
}
