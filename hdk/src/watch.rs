//! A directory of plugins, loaded into a [`Registry`] and kept in step with
//! it while the app runs (hot reload). Native only: a browser has no
//! directory to watch.

use crate::{Error, Plugin, PluginBuilder, Registry};
use notify_debouncer_mini::{
    DebounceEventResult, Debouncer, new_debouncer,
    notify::{self, RecommendedWatcher, RecursiveMode},
};
use std::{
    collections::{BTreeSet, HashMap},
    io,
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

/// The extension of a plugin file.
const PLUGIN_EXTENSION: &str = "wasm";
/// The extensions of the sidecar manifests next to a plugin file: a change
/// to one reloads the plugin.
const SIDECAR_EXTENSIONS: [&str; 2] = ["json", "toml"];
/// Looks at a changed file's size and modification time, this far apart,
/// until two agree (at most [`MAX_LOOKS`] times).
const SETTLE: Duration = Duration::from_millis(50);
/// How often a changed file is looked at before it is read: after that it
/// is read as it is (a build that fails keeps the old version, and the
/// writer's last change brings another event).
const MAX_LOOKS: u32 = 40;
/// How often a plugin file found missing is looked for again, [`SETTLE`]
/// apart, before its plugin is removed: a file deleted and then written
/// again (`rm a.wasm && cp new.wasm a.wasm`, `install`) is missing for a
/// moment, and its plugin goes on serving meanwhile.
const MISSING_LOOKS: u32 = 10;

/// Why a directory of plugins could not be loaded or watched.
///
/// A plugin that does not load is not one of these: it is reported by the
/// registry ([`crate::RegistryEvent::Failed`]), and an older version of it,
/// if any, goes on serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The directory could not be listed.
    #[error("cannot read the plugin directory {}: {source}", .path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file-system watcher could not be started on the directory.
    #[error("cannot watch the plugin directory {}: {source}", .path.display())]
    Watch {
        /// The directory.
        path: PathBuf,
        /// What the watcher said.
        source: notify::Error,
    },
}

/// Makes the builder of the plugin in a file: the embedder's hook.
type BuilderHook = Box<dyn Fn(&Path) -> PluginBuilder + Send>;

/// A directory of plugins: every `NAME.wasm` in it is the plugin `NAME`.
///
/// [`PluginDir::load`] loads them into a [`Registry`] once;
/// [`PluginDir::watch`] loads them and keeps the registry in step with the
/// directory until the returned [`DirWatch`] is dropped: a file added is
/// loaded, a file changed (written in place, or written elsewhere and
/// renamed into place) replaces its plugin, a file removed (or renamed to
/// another name) removes it. Replacing is the registry's: calls in flight
/// finish on the old version, and a file that does not load keeps the old
/// version serving.
///
/// Only `*.wasm` files count: an editor's or a copier's temporary names
/// (`a.wasm.tmp`, `a.wasm~`, `.a.wasm.swp`), hidden files (`.a.wasm`),
/// subdirectories and other files are ignored. A change to a sidecar
/// manifest next to a plugin (`NAME.json`, `NAME.toml`, read by
/// [`Plugin::from_file`]) reloads that plugin.
///
/// A half-written file never replaces a good version: changes are
/// debounced, a changed file is read only once its size and modification
/// time stay the same for 50 ms (an empty file is taken as one still to be
/// written, and left alone), and a file that still does not load (cut
/// short, say) leaves the old version serving
/// ([`crate::RegistryEvent::Failed`]) until the next change. A file that
/// goes missing is looked for again for half a second before its plugin is
/// removed, so a delete-then-copy replacement (`rm a.wasm && cp new.wasm
/// a.wasm`, `install`) does not remove it meanwhile.
///
/// **The supported way to replace a plugin file is atomic: write the new
/// version elsewhere in the same directory (under an ignored name such as
/// `a.wasm.tmp`), then rename it over `a.wasm`** (`mv`, `rename(2)`, what
/// most editors and `cargo`-style build tools do). Then the watcher only
/// ever sees whole files. Writing in place works too (the settling above
/// waits for the writer), but a writer that pauses longer than the settle
/// time mid-file gets its partial file tried (and refused, if it is not a
/// valid module: the old version serves on).
///
/// A file counts as changed when its size, modification time or (on Unix)
/// inode or status-change time differs from when it was last loaded: a
/// same-size replacement whose modification time was kept (`cp -p`,
/// `rsync -t`, a coarse file-system clock) is still seen.
///
/// A panic in the builder hook or in building a plugin is caught and
/// logged (at error level): the old version, if any, goes on serving and
/// the watching goes on.
///
/// Each plugin is built by a hook the embedder gives, from the file's path
/// ([`PluginDir::builder`]), so it sets each plugin's limits, grants and
/// host methods. What happens goes to the registry's
/// [`on_event`](Registry::on_event) callback.
///
/// ```
/// use std::time::Duration;
/// use wasplug_hdk::{Limits, Plugin, PluginDir, Registry};
///
/// let dir = std::env::temp_dir().join(format!("wasplug-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let registry = Registry::new();
/// let watch = PluginDir::new(&dir)
///     .builder(|path| {
///         Plugin::from_file(path).limits(Limits::default().with_timeout(Some(Duration::from_secs(5))))
///     })
///     .watch(&registry)?;
/// // ... serve calls through `registry` while files come and go ...
/// drop(watch);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PluginDir {
    dir: PathBuf,
    hook: BuilderHook,
    debounce: Duration,
}

impl core::fmt::Debug for PluginDir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PluginDir")
            .field("dir", &self.dir)
            .field("debounce", &self.debounce)
            .finish_non_exhaustive()
    }
}

impl PluginDir {
    /// Default time a file must go without events before it is looked at:
    /// 100 ms.
    pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);

    /// The plugins in `dir`, each built with [`Plugin::from_file`] and its
    /// defaults (change that with [`PluginDir::builder`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            hook: Box::new(|path: &Path| Plugin::from_file(path)),
            debounce: Self::DEFAULT_DEBOUNCE,
        }
    }

    /// How to build the plugin in a file: `hook(path)` returns the builder
    /// (start it with [`Plugin::from_file`]`(path)`, so its sidecar manifest
    /// is read), with the limits, grants and host methods that plugin gets.
    /// Its name is set to the file stem whatever the builder says.
    pub fn builder(mut self, hook: impl Fn(&Path) -> PluginBuilder + Send + 'static) -> Self {
        self.hook = Box::new(hook);
        self
    }

    /// How long a file must go without events before it is looked at.
    /// Default: [`PluginDir::DEFAULT_DEBOUNCE`].
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Loads every plugin of the directory into `registry`, once. Returns
    /// the errors of the plugins that did not load (each names its plugin;
    /// the registry's callback hears them too).
    ///
    /// # Errors
    /// [`WatchError::ReadDir`] when the directory cannot be listed.
    pub fn load(self, registry: &Registry) -> Result<Vec<Error>, WatchError> {
        let mut state = State::new(self.dir, self.hook, registry.clone());
        state.rescan()
    }

    /// Loads every plugin of the directory into `registry` (as
    /// [`PluginDir::load`]), then applies each change of the directory to it
    /// until the returned handle is dropped. The work happens on the
    /// watcher's own thread (one per watched directory).
    ///
    /// # Errors
    /// [`WatchError::Watch`] when the directory cannot be watched (it does
    /// not exist, say), [`WatchError::ReadDir`] when it cannot be listed.
    pub fn watch(self, registry: &Registry) -> Result<DirWatch, WatchError> {
        let dir = self.dir.clone();
        let state = Arc::new(Mutex::new(State::new(
            self.dir,
            self.hook,
            registry.clone(),
        )));
        let handler = {
            let state = Arc::clone(&state);
            move |result: DebounceEventResult| {
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.handle(result);
            }
        };
        let watch_error = |source| WatchError::Watch {
            path: dir.clone(),
            source,
        };
        let mut debouncer = new_debouncer(self.debounce, handler).map_err(watch_error)?;
        // Watch first, then list: nothing written meanwhile is missed (a
        // file seen twice is loaded once).
        debouncer
            .watcher()
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(watch_error)?;
        state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rescan()?;
        Ok(DirWatch {
            dir,
            state,
            debouncer: Some(debouncer),
        })
    }
}

/// Keeps a [`Registry`] in step with a directory ([`PluginDir::watch`])
/// until dropped.
///
/// Dropping it stops the watching: once the drop returns (it waits for a
/// load in progress to end), the directory changes the registry no more.
/// The plugins loaded stay in the registry. (The registry's callback runs
/// on the watcher's thread during a load: dropping the handle there would
/// wait for itself.)
pub struct DirWatch {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
    debouncer: Option<Debouncer<RecommendedWatcher>>,
}

impl core::fmt::Debug for DirWatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("DirWatch")
            .field("dir", &self.dir)
            .field("loaded", &state.owned)
            .finish_non_exhaustive()
    }
}

impl DirWatch {
    /// The directory watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirWatch {
    fn drop(&mut self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopped = true;
        drop(self.debouncer.take());
    }
}

/// What tells one version of a file from another without reading it: its
/// size and modification time, and on Unix its device, inode and
/// status-change time (which a write, a rename into place or a reset
/// modification time all change, and which no one can set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device, inode, status-change time (seconds, nanoseconds).
    #[cfg(unix)]
    identity: (u64, u64, i64, i64),
}

/// The stamps of a plugin file and of its sidecars: a file is loaded again
/// only when this changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    plugin: FileStamp,
    sidecars: [Option<FileStamp>; SIDECAR_EXTENSIONS.len()],
}

/// What the watcher knows.
struct State {
    dir: PathBuf,
    hook: BuilderHook,
    registry: Registry,
    /// The names this directory put in the registry (so removing a file
    /// removes only what it loaded).
    owned: BTreeSet<String>,
    /// The stamp of each file last loaded (or tried).
    seen: HashMap<String, Stamp>,
    /// The handle was dropped: change nothing any more.
    stopped: bool,
}

impl State {
    fn new(dir: PathBuf, hook: BuilderHook, registry: Registry) -> Self {
        Self {
            dir,
            hook,
            registry,
            owned: BTreeSet::new(),
            seen: HashMap::new(),
            stopped: false,
        }
    }

    /// Applies a batch of debounced events; after a watcher error (events
    /// may have been lost), looks at the whole directory again.
    fn handle(&mut self, result: DebounceEventResult) {
        if self.stopped {
            return;
        }
        let events = match result {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), %error, "plugin directory watcher error: rescanning");
                if let Err(error) = self.rescan() {
                    tracing::warn!(%error, "plugin directory rescan failed");
                }
                return;
            }
        };
        let mut names = BTreeSet::new();
        for event in events {
            // Events of the directory itself (opened to be listed, say) are
            // not about any plugin: a removed directory shows as removed
            // files.
            if event.path == self.dir {
                continue;
            }
            if let Some(name) = event.path.file_name().and_then(plugin_name) {
                names.insert(name.to_owned());
            }
        }
        for name in names {
            if let Err(error) = self.sync(&name, true) {
                tracing::debug!(%error, "plugin did not load");
            }
        }
    }

    /// Brings every plugin of the directory, and every name it loaded, up
    /// to date; returns the errors of the plugins that did not load.
    fn rescan(&mut self) -> Result<Vec<Error>, WatchError> {
        let read_error = |source| WatchError::ReadDir {
            path: self.dir.clone(),
            source,
        };
        let mut names: BTreeSet<String> = BTreeSet::new();
        for entry in std::fs::read_dir(&self.dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let file_name = entry.file_name();
            let path = Path::new(&file_name);
            if path.extension().is_some_and(|e| e == PLUGIN_EXTENSION)
                && let Some(name) = plugin_name(&file_name)
            {
                names.insert(name.to_owned());
            }
        }
        names.extend(self.owned.iter().cloned());
        // Files may be being written (at the start of a watch, or after a
        // watcher error): one look at them all, a settle time apart, and
        // those that changed meanwhile are waited for one by one.
        let first: Vec<(String, Option<Stamp>)> = names
            .into_iter()
            .map(|name| {
                let stamp = stamp(&self.plugin_path(&name));
                (name, stamp)
            })
            .collect();
        if first.iter().any(|(_, stamp)| stamp.is_some()) {
            std::thread::sleep(SETTLE);
        }
        let mut failed = Vec::new();
        for (name, first) in first {
            let still = first.is_some() && stamp(&self.plugin_path(&name)) == first;
            if let Err(error) = self.sync(&name, !still) {
                failed.push(error);
            }
        }
        Ok(failed)
    }

    /// Makes the registry hold what the directory holds for `name`: loads
    /// `name.wasm` if it changed since it was last loaded, removes the
    /// plugin if the file is gone. With `settle`, first waits for the file
    /// to stop changing.
    fn sync(&mut self, name: &str, mut settle: bool) -> Result<(), Error> {
        if self.stopped {
            return Ok(());
        }
        let path = self.plugin_path(name);
        let mut stamp = stamp(&path);
        // Unchanged (the event was this watcher's own read of the file, say):
        // nothing to wait for.
        if stamp.is_some() && stamp.as_ref() == self.seen.get(name) {
            return Ok(());
        }
        if stamp.is_none() && self.owned.contains(name) {
            // Missing: deleted for good, or for a moment by a writer that
            // deletes then writes anew. Look again before removing.
            stamp = reappeared(&path);
            settle = true;
        }
        if settle && let Some(first) = stamp {
            stamp = settled_stamp(&path, first);
        }
        let Some(stamp) = stamp else {
            // Gone (or never a plugin file): drop what this directory loaded.
            self.seen.remove(name);
            if self.owned.remove(name) {
                self.registry.remove(name);
            }
            return Ok(());
        };
        // An empty file is one being written (created or truncated, the
        // bytes still to come): the writer's next change brings them.
        if stamp.plugin.len == 0 || self.seen.get(name) == Some(&stamp) {
            return Ok(());
        }
        self.seen.insert(name.to_owned(), stamp);
        let hook = &self.hook;
        let registry = &self.registry;
        // A panic in the embedder's hook (or in building) must not end the
        // watching (it would silently kill the watcher's thread): it is
        // logged, and the old version, if any, goes on serving.
        let loaded = std::panic::catch_unwind(AssertUnwindSafe(|| {
            registry.load(name, || hook(&path).build())
        }));
        match loaded {
            Ok(result) => result?,
            Err(panic) => {
                tracing::error!(
                    plugin = name,
                    path = %path.display(),
                    panic = panic_message(panic.as_ref()),
                    "building the plugin panicked: the old version, if any, goes on serving"
                );
                return Ok(());
            }
        }
        self.owned.insert(name.to_owned());
        Ok(())
    }

    /// The path of the plugin file of `name`.
    fn plugin_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.{PLUGIN_EXTENSION}"))
    }
}

/// What a panic said, if it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The stamp of the plugin file at `path` if it comes back within
/// [`MISSING_LOOKS`] looks [`SETTLE`] apart.
fn reappeared(path: &Path) -> Option<Stamp> {
    (0..MISSING_LOOKS).find_map(|_| {
        std::thread::sleep(SETTLE);
        stamp(path)
    })
}

/// The plugin name a file in the directory concerns: the stem of a plugin
/// file or of a sidecar; `None` for any other file, a hidden one, or a
/// name that is not UTF-8.
fn plugin_name(file_name: &std::ffi::OsStr) -> Option<&str> {
    let file_name = file_name.to_str()?;
    let (stem, extension) = file_name.rsplit_once('.')?;
    let counts = extension == PLUGIN_EXTENSION || SIDECAR_EXTENSIONS.contains(&extension);
    (counts && !stem.is_empty() && !stem.starts_with('.')).then_some(stem)
}

/// The stamp of a regular file (following links).
fn file_stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| FileStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        identity: {
            use std::os::unix::fs::MetadataExt as _;
            (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
        },
    })
}

/// The stamp of the plugin file at `path` and its sidecars; `None` when the
/// plugin file is not there.
fn stamp(path: &Path) -> Option<Stamp> {
    let plugin = file_stamp(path)?;
    let sidecars = SIDECAR_EXTENSIONS.map(|extension| file_stamp(&path.with_extension(extension)));
    Some(Stamp { plugin, sidecars })
}

/// The stamp of the plugin file at `path` once two looks [`SETTLE`] apart
/// agree (or after [`MAX_LOOKS`]), the first being `first`; `None` when it
/// is gone.
fn settled_stamp(path: &Path, first: Stamp) -> Option<Stamp> {
    let mut last = first;
    for _ in 0..MAX_LOOKS {
        std::thread::sleep(SETTLE);
        let now = stamp(path)?;
        if now == last {
            return Some(now);
        }
        last = now;
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":7}\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 36))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

    /// A fresh directory of its own under the system's temporary one.
    fn fresh_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wasplug-watch-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn state(dir: &Path, registry: &Registry) -> State {
        let hook: BuilderHook = Box::new(|path: &Path| Plugin::from_file(path));
        State::new(dir.to_owned(), hook, registry.clone())
    }

    #[test]
    fn a_watcher_error_rescans_the_directory_and_its_own_events_do_not() {
        let dir = fresh_dir("rescan");
        let registry = Registry::new();
        let mut state = state(&dir, &registry);
        assert!(state.rescan().unwrap().is_empty());
        // Listing the directory opens it, which the watcher reports as an
        // event of the directory itself: that must not list it again (each
        // listing would bring the next).
        std::fs::write(dir.join("a.wasm"), ANSWER).unwrap();
        let event = notify_debouncer_mini::DebouncedEvent::new(
            dir.clone(),
            notify_debouncer_mini::DebouncedEventKind::Any,
        );
        state.handle(Ok(vec![event]));
        assert!(registry.is_empty());
        // Files that came and went without an event reaching the watcher
        // (its queue overflowed, say).
        state.handle(Err(notify::Error::generic("event queue overflow")));
        assert_eq!(registry.names(), ["a"]);
        std::fs::write(dir.join("b.wasm"), ANSWER).unwrap();
        std::fs::remove_file(dir.join("a.wasm")).unwrap();
        state.handle(Err(notify::Error::generic("event queue overflow")));
        assert_eq!(registry.names(), ["b"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_removed_file_removes_only_what_the_directory_loaded() {
        let dir = fresh_dir("owned");
        let registry = Registry::new();
        registry.insert(Plugin::builder(ANSWER).name("mine").build().unwrap());
        let mut state = state(&dir, &registry);
        std::fs::write(dir.join("a.wasm"), ANSWER).unwrap();
        state.rescan().unwrap();
        assert_eq!(registry.names(), ["a", "mine"]);
        std::fs::remove_file(dir.join("a.wasm")).unwrap();
        state.sync("a", false).unwrap();
        state.sync("mine", false).unwrap();
        assert_eq!(registry.names(), ["mine"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_plugin_files_and_sidecars_name_a_plugin() {
        fn name(file: &str) -> Option<&str> {
            plugin_name(std::ffi::OsStr::new(file))
        }
        assert_eq!(name("echo.wasm"), Some("echo"));
        assert_eq!(name("echo.json"), Some("echo"));
        assert_eq!(name("echo.toml"), Some("echo"));
        assert_eq!(name("my.plugin.wasm"), Some("my.plugin"));
        for ignored in [
            "echo.wasm.tmp",
            "echo.wasm~",
            ".echo.wasm.swp",
            ".echo.wasm",
            ".wasm",
            "echo",
            "echo.wat",
            "notes.txt",
            "echo.WASM",
        ] {
            assert_eq!(name(ignored), None, "{ignored}");
        }
    }
}
