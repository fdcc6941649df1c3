//! The host methods the CLI answers plugins with.

use crate::term::Stderr;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};
use wasplug_hdk::{ErrorObjectOwned, HostContext, HostMethods};

/// What `wasplug call --help` says about them.
pub(crate) const HELP: &str = "\
Host methods: a plugin may call these on the host:
  echo   returns its params unchanged
  time   milliseconds since the Unix epoch
  log    prints its params (a string, or [string]) to stderr as a plugin log
         line; also accepted as a notification
Any other method answers JSON-RPC error -32601 (method not found).";

/// The state the built-in methods share.
pub(crate) struct Builtin {
    stderr: Stderr,
    show_logs: bool,
}

/// Prints a plugin log line, `[plugin] text`, if logs are shown.
fn log(ctx: &HostContext<Builtin>, message: &Value) {
    let state = ctx.state();
    if state.show_logs {
        let text = match message {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        state.stderr.line(&format!("[{}] {text}", ctx.plugin()));
    }
}

/// The built-in host methods (see [`HELP`]).
pub(crate) fn builtin(stderr: Stderr, show_logs: bool) -> HostMethods<Builtin> {
    HostMethods::new(Builtin { stderr, show_logs })
        .method("echo", |_: HostContext<Builtin>, params: Value| async move {
            Ok::<_, ErrorObjectOwned>(params)
        })
        .method("time", |_: HostContext<Builtin>, _: Value| async move {
            let since_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Ok::<_, ErrorObjectOwned>(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
        })
        .method("log", |ctx: HostContext<Builtin>, message: Value| async move {
            log(&ctx, &message);
            Ok::<_, ErrorObjectOwned>(())
        })
        .notification("log", |ctx: HostContext<Builtin>, message: Value| async move {
            log(&ctx, &message);
        })
}
