//! Driving plugins through `wasplug-hdk`: the test plugin with the host
//! methods it expects, WAT fixtures, a logger that records lines, and running
//! one test body under every executor the host kit supports.

use std::{
    future::Future,
    sync::{Arc, Mutex},
};
use wasplug_hdk::{
    Error, Grants, HostContext, HostMethods, Limits, Plugin, PluginBuilder, RawValue,
};

/// Host methods the test plugin calls: `echo` returns its params unchanged
/// (verbatim: every number exact).
pub fn echo_methods() -> HostMethods<()> {
    HostMethods::new(()).method(
        "echo",
        |_: HostContext<()>, params: Box<RawValue>| async move { Ok(params) },
    )
}

/// A builder for the test plugin with `echo` and the given limits.
pub fn test_plugin_builder(limits: Limits) -> PluginBuilder {
    Plugin::from_file(crate::guests::TEST_PLUGIN)
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
}

/// The test plugin with `echo` and default limits.
///
/// # Panics
/// When the test plugin does not load (a broken build).
pub fn test_plugin() -> Plugin {
    test_plugin_builder(Limits::default())
        .build()
        .expect("the test plugin loads")
}

/// A WAT fixture of `tests/guests/wat/`, by file stem.
///
/// # Panics
/// When the file does not exist.
pub fn wat(name: &str) -> String {
    let path = format!("{}/guests/wat/{name}.wat", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Builds a plugin from a WAT fixture.
///
/// # Errors
/// What [`PluginBuilder::build`] says about the module.
pub fn wat_plugin(name: &str, limits: Limits) -> Result<Plugin, Error> {
    Plugin::builder(wat(name))
        .name(name)
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
        .build()
}

/// Stderr lines a plugin logged, as `(plugin name, line)`.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<(String, String)>>>);

impl Logs {
    /// A logger for [`PluginBuilder::logger`] that records into `self`.
    pub fn logger(&self) -> impl Fn(&str, &str) + Send + Sync + 'static {
        let lines = Arc::clone(&self.0);
        move |plugin: &str, line: &str| {
            if let Ok(mut lines) = lines.lock() {
                lines.push((plugin.to_owned(), line.to_owned()));
            }
        }
    }

    /// The lines recorded so far.
    pub fn lines(&self) -> Vec<(String, String)> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Runs the test body under `futures::executor::block_on`, a current-thread
/// tokio runtime, and spawned on a multi-thread tokio runtime (which also
/// proves the futures are `Send`).
///
/// # Panics
/// When the body panics under any of them.
pub fn on_each_executor<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    futures::executor::block_on(body());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
        .block_on(body());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    runtime
        .block_on(async { tokio::spawn(body()).await })
        .expect("the test body runs to completion on a worker thread");
}
