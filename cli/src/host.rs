//! The host methods the CLI answers plugins with: its built-ins, and the
//! stand-ins given with `--host` and `--hosts`.
//!
//! `echo` and `log` only forward the plugin's JSON: they take it as raw text
//! and never build a `serde_json::Value`, so numbers come back exactly as
//! written and a 16 MiB line costs a few copies of itself, not a tree twenty
//! times its size.

use crate::term::Stderr;
use anyhow::{Context as _, anyhow};
use serde::de::IgnoredAny;
use std::{
    borrow::Cow,
    collections::BTreeMap,
    path::Path,
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
  config.get
         [key] answers the value given with --config KEY=JSON (null when
         unset); no params answer every --config entry as one object
  http.fetch
         {url, method?, headers?, body?} answers {status, headers, body}
         (text bodies; redirects are not followed); only with --allow-http,
         and only for the hosts it names
  kv.get, kv.set, kv.delete
         [key], [key, value], [key]: a key-value store in memory for this
         call; only with --kv
Stand-ins: --host NAME=JSON makes host method NAME answer JSON, whatever its
params (for example --host user_name='\"Ana\"'); --hosts FILE reads a JSON
object of method name to answer. A stand-in replaces a built-in of the same
name (but config.get); --host wins over --hosts.
Any other method answers JSON-RPC error -32601 (method not found);
http.fetch and kv.* without their flags answer -32010 (not permitted).";

/// The built-in methods `call`, `methods` and `demo` grant every plugin.
pub(crate) const BUILTIN: [&str; 3] = ["echo", "time", "log"];

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

/// Host method stand-ins: each name with the answer it gives.
pub(crate) type StandIns = BTreeMap<String, Box<RawValue>>;

/// Reads the stand-ins of `--hosts FILE` (a JSON object of method name to
/// answer), then `--host NAME=JSON` (which win).
pub(crate) fn stand_ins(hosts: &[String], file: Option<&Path>) -> anyhow::Result<StandIns> {
    let mut stand_ins = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --hosts {}", path.display()))?;
            serde_json::from_str::<StandIns>(&text).with_context(|| {
                format!(
                    "--hosts {} must hold a JSON object of host method name to answer, \
                     like {{\"user_name\": \"Ana\"}}",
                    path.display()
                )
            })?
        }
        None => StandIns::new(),
    };
    for host in hosts {
        let (name, json) = host.split_once('=').ok_or_else(|| {
            anyhow!("--host {host}: expected NAME=JSON, like --host user_name='\"Ana\"'")
        })?;
        if name.is_empty() {
            return Err(anyhow!("--host {host}: the method name is empty"));
        }
        let answer: Box<RawValue> = serde_json::from_str(json).with_context(|| {
            format!(
                "--host {name}: the answer is not valid JSON (a string needs its quotes, \
                 quoted for your shell: --host {name}='\"text\"')"
            )
        })?;
        stand_ins.insert(name.to_owned(), answer);
    }
    Ok(stand_ins)
}

/// `methods` with each stand-in added: it answers its JSON, whatever the
/// params.
pub(crate) fn with_stand_ins(
    mut methods: HostMethods<Builtin>,
    stand_ins: StandIns,
) -> HostMethods<Builtin> {
    for (name, answer) in stand_ins {
        methods = methods.method(name, move |_: HostContext<Builtin>, _: IgnoredAny| {
            let answer = answer.clone();
            async move { Ok(answer) }
        });
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_ins_come_from_the_file_then_the_flags() {
        let dir = std::env::temp_dir().join(format!("wasplug-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hosts.json");
        std::fs::write(&file, r#"{"user_name": "Bo", "age": 41}"#).unwrap();
        let flags = [
            "user_name=\"Ana\"".to_owned(),
            "n=18446744073709551617".to_owned(),
        ];
        let got = stand_ins(&flags, Some(&file)).unwrap();
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
        assert_eq!(
            got,
            [
                ("age", "41"),
                ("n", "18446744073709551617"),
                ("user_name", "\"Ana\"")
            ]
        );
        assert!(stand_ins(&["nothing".to_owned()], None).is_err());
        assert!(stand_ins(&["=1".to_owned()], None).is_err());
        assert!(stand_ins(&["x=Ana".to_owned()], None).is_err());
        std::fs::write(&file, "[1]").unwrap();
        assert!(stand_ins(&[], Some(&file)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
