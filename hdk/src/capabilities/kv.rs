//! `kv.get`, `kv.set`, `kv.delete`: a key-value store the host keeps for
//! its plugins (each call to a plugin starts afresh; state lives here).
//!
//! - `kv.get` `[key]` → the value, or `null` when the key is not set;
//! - `kv.set` `[key, value]` → `null`; the value is any JSON, kept verbatim
//!   (every number exact);
//! - `kv.delete` `[key]` → whether the key was set.
//!
//! Each plugin has a namespace of its own, keyed by its name: two plugins
//! never see each other's keys, and a plugin loaded again under the same
//! name finds its keys again.

use super::RawResult;
use crate::platform::BoxFuture;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};
use wasplug_protocol::{ErrorObjectOwned, RawValue, RpcError, parse_params};

/// The limits of each plugin's namespace in a [`KvStore`].
///
/// Breaking one answers `-32011` ([`wasplug_protocol::codes::LIMIT_EXCEEDED`])
/// with `data.limit` `"key_bytes"`, `"value_bytes"` or `"keys"`, and changes
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvLimits {
    max_key_bytes: usize,
    max_value_bytes: usize,
    max_keys: usize,
}

impl Default for KvLimits {
    fn default() -> Self {
        Self {
            max_key_bytes: Self::DEFAULT_MAX_KEY_BYTES,
            max_value_bytes: Self::DEFAULT_MAX_VALUE_BYTES,
            max_keys: Self::DEFAULT_MAX_KEYS,
        }
    }
}

impl KvLimits {
    /// Default longest key: 256 bytes.
    pub const DEFAULT_MAX_KEY_BYTES: usize = 256;
    /// Default largest value (its JSON text): 64 KiB.
    pub const DEFAULT_MAX_VALUE_BYTES: usize = 64 << 10;
    /// Default most keys per plugin: 1024.
    pub const DEFAULT_MAX_KEYS: usize = 1024;

    /// The longest key, in bytes of UTF-8.
    #[must_use]
    pub fn with_max_key_bytes(mut self, bytes: usize) -> Self {
        self.max_key_bytes = bytes;
        self
    }

    /// The largest value, in bytes of its JSON text.
    #[must_use]
    pub fn with_max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// The most keys one plugin may have set at once.
    #[must_use]
    pub fn with_max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }

    /// The longest key.
    pub fn max_key_bytes(&self) -> usize {
        self.max_key_bytes
    }

    /// The largest value.
    pub fn max_value_bytes(&self) -> usize {
        self.max_value_bytes
    }

    /// The most keys per plugin.
    pub fn max_keys(&self) -> usize {
        self.max_keys
    }
}

/// The store behind `kv.*`: the embedder creates one and shares it between
/// the plugins it grants it to ([`crate::Grants::with_kv`]); each plugin
/// sees only its own namespace. Cheap to clone: clones share the store.
///
/// [`KvStore::memory`] lives as long as the process (any platform);
/// `KvStore::open` keeps it in a file (native, with the hdk's `kv-file`
/// feature).
#[derive(Clone)]
pub struct KvStore {
    backend: Arc<Backend>,
    limits: KvLimits,
}

impl core::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match *self.backend {
            Backend::Memory(_) => "memory",
            #[cfg(all(
                feature = "kv-file",
                not(all(target_arch = "wasm32", target_os = "unknown"))
            ))]
            Backend::File(_) => "file",
        };
        f.debug_struct("KvStore")
            .field("backend", &kind)
            .field("limits", &self.limits)
            .finish()
    }
}

enum Backend {
    /// plugin → key → value (JSON text).
    Memory(Mutex<HashMap<String, HashMap<String, String>>>),
    #[cfg(all(
        feature = "kv-file",
        not(all(target_arch = "wasm32", target_os = "unknown"))
    ))]
    File(redb::Database),
}

#[cfg(all(
    feature = "kv-file",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
const TABLE: redb::TableDefinition<'static, (&str, &str), &str> =
    redb::TableDefinition::new("wasplug_kv");

impl KvStore {
    /// A store in memory, with the default [`KvLimits`].
    pub fn memory() -> Self {
        Self {
            backend: Arc::new(Backend::Memory(Mutex::new(HashMap::new()))),
            limits: KvLimits::default(),
        }
    }

    /// A store in the file at `path` (created if missing; a `redb`
    /// database), with the default [`KvLimits`]. Every `kv.set` and
    /// `kv.delete` is committed to disk before it answers, on a blocking
    /// thread, not the executor's.
    ///
    /// # Errors
    /// [`crate::ErrorKind::KvStore`] when the file cannot be opened or is not
    /// such a database (or another process holds it).
    #[cfg(all(
        feature = "kv-file",
        not(all(target_arch = "wasm32", target_os = "unknown"))
    ))]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, crate::Error> {
        let path = path.as_ref();
        let failed = |reason: String| crate::ErrorKind::KvStore {
            path: path.display().to_string(),
            reason,
        };
        let database = redb::Database::create(path).map_err(|e| failed(e.to_string()))?;
        let txn = database.begin_write().map_err(|e| failed(e.to_string()))?;
        txn.open_table(TABLE).map_err(|e| failed(e.to_string()))?;
        txn.commit().map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            backend: Arc::new(Backend::File(database)),
            limits: KvLimits::default(),
        })
    }

    /// The same store with other limits per plugin.
    #[must_use]
    pub fn with_limits(mut self, limits: KvLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits per plugin.
    pub fn limits(&self) -> KvLimits {
        self.limits
    }
}

/// One operation on a plugin's namespace.
enum Op {
    Get(String),
    Set(String, Box<RawValue>),
    Delete(String),
}

/// `kv.*` method `method` for `plugin`; `None` when it is not one.
pub(super) fn call(
    store: &KvStore,
    plugin: &Arc<str>,
    method: &str,
    params: Option<&RawValue>,
) -> Option<BoxFuture<RawResult>> {
    let op = match parse(method, params, store.limits)? {
        Ok(op) => op,
        Err(error) => return Some(Box::pin(async move { Err(error.to_object()) })),
    };
    match &*store.backend {
        Backend::Memory(map) => {
            let answer = memory(map, plugin, op, store.limits);
            Some(Box::pin(async move { answer }))
        }
        #[cfg(all(
            feature = "kv-file",
            not(all(target_arch = "wasm32", target_os = "unknown"))
        ))]
        Backend::File(_) => {
            let (store, plugin) = (store.clone(), Arc::clone(plugin));
            let method = match &op {
                Op::Get(_) => "kv.get",
                Op::Set(..) => "kv.set",
                Op::Delete(_) => "kv.delete",
            };
            Some(super::blocking::KV.answer(method, move || {
                let Backend::File(database) = &*store.backend else {
                    return Err(wasplug_protocol::codes::internal_error("not a file store"));
                };
                file(database, &plugin, op, store.limits)
            }))
        }
    }
}

/// The operation of `method` with `params`, checked against the key and
/// value limits; `None` when `method` is not a `kv.*` method.
fn parse(
    method: &str,
    params: Option<&RawValue>,
    limits: KvLimits,
) -> Option<Result<Op, RpcError>> {
    let op = match method {
        "kv.get" => parse_params::<(String,)>(params).map(|(key,)| Op::Get(key)),
        "kv.delete" => parse_params::<(String,)>(params).map(|(key,)| Op::Delete(key)),
        "kv.set" => {
            parse_params::<(String, Box<RawValue>)>(params).map(|(key, value)| Op::Set(key, value))
        }
        _ => return None,
    };
    Some(op.and_then(|op| check(op, limits)))
}

fn check(op: Op, limits: KvLimits) -> Result<Op, RpcError> {
    let (Op::Get(key) | Op::Set(key, _) | Op::Delete(key)) = &op;
    if key.len() > limits.max_key_bytes {
        return Err(RpcError::limit_exceeded(
            format!(
                "the key is {} bytes, over the limit of {}",
                key.len(),
                limits.max_key_bytes
            ),
            "key_bytes",
            limits.max_key_bytes as u64,
        ));
    }
    if let Op::Set(_, value) = &op
        && value.get().len() > limits.max_value_bytes
    {
        return Err(RpcError::limit_exceeded(
            format!(
                "the value is {} bytes, over the limit of {}",
                value.get().len(),
                limits.max_value_bytes
            ),
            "value_bytes",
            limits.max_value_bytes as u64,
        ));
    }
    Ok(op)
}

fn too_many_keys(limits: KvLimits) -> ErrorObjectOwned {
    RpcError::limit_exceeded(
        format!("the plugin already has {} keys set", limits.max_keys),
        "keys",
        limits.max_keys as u64,
    )
    .to_object()
}

/// `null`, `true` or `false`, or a stored value, as the answer.
fn answer(json: &str) -> RawResult {
    RawValue::from_string(json.to_owned())
        .map_err(|e| wasplug_protocol::codes::internal_error(format!("a stored value: {e}")))
}

fn memory(
    map: &Mutex<HashMap<String, HashMap<String, String>>>,
    plugin: &str,
    op: Op,
    limits: KvLimits,
) -> RawResult {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    match op {
        Op::Get(key) => {
            let value = map.get(plugin).and_then(|keys| keys.get(&key));
            answer(value.map_or("null", String::as_str))
        }
        Op::Set(key, value) => {
            let keys = map.entry(plugin.to_owned()).or_default();
            if !keys.contains_key(&key) && keys.len() >= limits.max_keys {
                return Err(too_many_keys(limits));
            }
            keys.insert(key, value.get().to_owned());
            answer("null")
        }
        Op::Delete(key) => {
            let keys = map.get_mut(plugin);
            let was = keys.and_then(|keys| keys.remove(&key)).is_some();
            answer(if was { "true" } else { "false" })
        }
    }
}

#[cfg(all(
    feature = "kv-file",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
fn file(database: &redb::Database, plugin: &str, op: Op, limits: KvLimits) -> RawResult {
    use redb::ReadableTable as _;
    let failed = |e: &dyn std::fmt::Display| {
        wasplug_protocol::codes::internal_error(format!("the key-value store failed: {e}"))
    };
    match op {
        Op::Get(key) => {
            let txn = database.begin_read().map_err(|e| failed(&e))?;
            let table = txn.open_table(TABLE).map_err(|e| failed(&e))?;
            let value = table.get((plugin, key.as_str())).map_err(|e| failed(&e))?;
            answer(value.as_ref().map_or("null", |v| v.value()))
        }
        Op::Set(key, value) => {
            let txn = database.begin_write().map_err(|e| failed(&e))?;
            {
                let mut table = txn.open_table(TABLE).map_err(|e| failed(&e))?;
                let known = table
                    .get((plugin, key.as_str()))
                    .map_err(|e| failed(&e))?
                    .is_some();
                if !known {
                    // The plugin's keys, counted up to the limit; an error
                    // reading them fails the call (it never counts short).
                    let mut keys = 0;
                    for entry in table.range((plugin, "")..).map_err(|e| failed(&e))? {
                        let (k, _) = entry.map_err(|e| failed(&e))?;
                        if k.value().0 != plugin || keys >= limits.max_keys {
                            break;
                        }
                        keys += 1;
                    }
                    if keys >= limits.max_keys {
                        return Err(too_many_keys(limits));
                    }
                }
                table
                    .insert((plugin, key.as_str()), value.get())
                    .map_err(|e| failed(&e))?;
            }
            txn.commit().map_err(|e| failed(&e))?;
            answer("null")
        }
        Op::Delete(key) => {
            let txn = database.begin_write().map_err(|e| failed(&e))?;
            let was = {
                let mut table = txn.open_table(TABLE).map_err(|e| failed(&e))?;
                let removed = table
                    .remove((plugin, key.as_str()))
                    .map_err(|e| failed(&e))?;
                removed.is_some()
            };
            txn.commit().map_err(|e| failed(&e))?;
            answer(if was { "true" } else { "false" })
        }
    }
}
