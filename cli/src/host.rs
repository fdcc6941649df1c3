//! The host methods the CLI answers plugins with.
//!
//! `echo` and `log` only forward the plugin's JSON: they take it as raw text
//! and never build a `serde_json::Value`, so numbers come back exactly as
//! written and a 16 MiB line costs a few copies of itself, not a tree twenty
//! times its size.

use crate::term::Stderr;
use serde::de::IgnoredAny;
use std::{
    borrow::Cow,
    time::{SystemTime, UNIX_EPOCH},
};
use wasplug_hdk::{HostContext, HostMethods, RawValue};

/// What `wasplug call --help` says about them.
pub(crate) const HELP: &str = "\
Host methods: a plugin may call these on the host:
  echo   returns its params unchanged (as written: numbers of any size too)
  time   milliseconds since the Unix epoch
  log    prints its params (a string, or [string]) to stderr as a plugin log
         line; also accepted as a notification
Any other method answers JSON-RPC error -32601 (method not found).";

/// The state the built-in methods share.
pub(crate) struct Builtin {
    stderr: Stderr,
    show_logs: bool,
}

/// What a `log` message says: a string, or a one-string array, as its text;
/// any other JSON as it is written (`None`: `null`).
fn log_text(message: Option<&RawValue>) -> Cow<'_, str> {
    let Some(raw) = message else {
        return Cow::Borrowed("null");
    };
    let json = raw.get();
    // Neither attempt builds a tree: each stops at the first token that does
    // not fit.
    if let Ok(text) = serde_json::from_str::<String>(json) {
        return Cow::Owned(text);
    }
    if let Ok([text]) = serde_json::from_str::<[String; 1]>(json) {
        return Cow::Owned(text);
    }
    Cow::Borrowed(json)
}

/// Prints a plugin log line, `[plugin] text`, if logs are shown.
fn log(ctx: &HostContext<Builtin>, message: Option<&RawValue>) {
    let state = ctx.state();
    if state.show_logs {
        state.stderr.plugin_line(ctx.plugin(), &log_text(message));
    }
}

/// The built-in host methods (see [`HELP`]).
pub(crate) fn builtin(stderr: Stderr, show_logs: bool) -> HostMethods<Builtin> {
    HostMethods::new(Builtin { stderr, show_logs })
        .method(
            "echo",
            |_: HostContext<Builtin>, params: Option<Box<RawValue>>| async move { Ok(params) },
        )
        .method(
            "time",
            |_: HostContext<Builtin>, _: IgnoredAny| async move {
                let since_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                Ok(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
            },
        )
        .method(
            "log",
            |ctx: HostContext<Builtin>, message: Option<Box<RawValue>>| async move {
                log(&ctx, message.as_deref());
                Ok(())
            },
        )
        .notification(
            "log",
            |ctx: HostContext<Builtin>, message: Option<Box<RawValue>>| async move {
                log(&ctx, message.as_deref());
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn a_log_message_is_its_string_or_its_json() {
        assert_eq!(log_text(Some(&raw(r#""hi\tthere""#))), "hi\tthere");
        assert_eq!(log_text(Some(&raw(r#"["hi"]"#))), "hi");
        assert_eq!(log_text(Some(&raw(r#"["a","b"]"#))), r#"["a","b"]"#);
        assert_eq!(
            log_text(Some(&raw("{\"n\":18446744073709551617}"))),
            "{\"n\":18446744073709551617}"
        );
        assert_eq!(log_text(None), "null");
    }
}
