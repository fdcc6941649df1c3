//! `wasplug call` and `wasplug methods`: load a plugin and call it.

use crate::{
    LogLevel, explain,
    host::{self, Builtin},
    limits::{Cap, Seconds},
    term::{self, Progress, Stderr},
};
use anyhow::{Context as _, anyhow};
use clap::Args;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};
use wasplug_hdk::{Error, HostMethods, Limits, Plugin};
use wasplug_protocol::{DISCOVER_METHOD, Discover};

/// What `wasplug call --help` adds after the options.
pub(crate) fn call_help() -> String {
    format!(
        "\
PARAMS is JSON text: an array or an object, sent as the JSON-RPC params. A
scalar (number, string, boolean) is sent as a one-element array, so `5` means
`[5]` and '\"hi\"' means [\"hi\"]; `null` or no PARAMS sends none.

The result is printed on stdout as one line of JSON. A JSON-RPC error from the
plugin prints its code, message and data on stderr; any other failure prints an
explanation; both exit with status 1.

The plugin's stderr is its log: each line is shown on stderr as `[name] line`
(hidden with --log-level error or off).

{}",
        host::HELP
    )
}

/// The limits of a call, on the command line.
#[derive(Args, Debug)]
pub(crate) struct LimitArgs {
    /// Wall-clock limit of the call, in seconds (decimals allowed), or `none`.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(Some(Limits::DEFAULT_TIMEOUT)))]
    timeout: Seconds,
    /// Fuel budget of the call (about one unit per wasm instruction), or `none`.
    #[arg(long, value_name = "UNITS", default_value_t = Cap(Some(Limits::DEFAULT_FUEL)))]
    fuel: Cap,
    /// Most linear memory the plugin may use, in MiB, or `none`.
    #[arg(long, value_name = "MIB", default_value_t = Cap(Some(Limits::DEFAULT_MEMORY >> 20)))]
    max_memory: Cap,
}

impl LimitArgs {
    pub(crate) fn limits(&self) -> Limits {
        Limits::default()
            .with_timeout(self.timeout.0)
            .with_fuel(self.fuel.0)
            .with_memory(self.max_memory.0.map(|mib| mib.saturating_mul(1 << 20)))
    }
}

/// `wasplug call`.
#[derive(Args, Debug)]
pub(crate) struct CallArgs {
    #[command(flatten)]
    limits: LimitArgs,
    /// The plugin: a wasm32-wasip1 module (.wasm, or WebAssembly text .wat).
    plugin: PathBuf,
    /// The method to call.
    method: String,
    /// The params, as JSON text (see below). Default: none.
    params: Option<String>,
}

/// `wasplug methods`.
#[derive(Args, Debug)]
pub(crate) struct MethodsArgs {
    #[command(flatten)]
    limits: LimitArgs,
    /// Print the plugin's `rpc.discover` answer as one line of JSON.
    #[arg(long)]
    json: bool,
    /// The plugin: a wasm32-wasip1 module (.wasm, or WebAssembly text .wat).
    plugin: PathBuf,
}

/// Reads PARAMS: JSON text; a scalar becomes a one-element array.
fn parse_params(text: Option<&str>) -> anyhow::Result<Value> {
    let Some(text) = text else {
        return Ok(Value::Null);
    };
    let value: Value = serde_json::from_str(text).with_context(|| {
        format!(
            "PARAMS is not valid JSON: `{text}`. Give an array (`[1, 2]`), an object \
             (`{{\"key\": 1}}`) or a scalar (`5`, `'\"text\"'`, `true`), quoted for your shell"
        )
    })?;
    Ok(match value {
        scalar @ (Value::Bool(_) | Value::Number(_) | Value::String(_)) => {
            Value::Array(vec![scalar])
        }
        structured => structured,
    })
}

/// The host methods and logger every command that calls plugins uses.
pub(crate) fn host_methods(stderr: &Stderr, level: LogLevel) -> HostMethods<Builtin> {
    host::builtin(stderr.clone(), level.shows_plugin_logs())
}

/// Sends each plugin stderr line to `stderr` as `[name] line`, if shown.
pub(crate) fn logger(
    stderr: &Stderr,
    level: LogLevel,
) -> impl Fn(&str, &str) + Send + Sync + 'static {
    let stderr = stderr.clone();
    let show = level.shows_plugin_logs();
    move |plugin: &str, line: &str| {
        if show {
            stderr.line(&format!("[{plugin}] {line}"));
        }
    }
}

/// A loaded plugin and what reports about it need.
struct Loaded {
    plugin: Plugin,
    stderr: Stderr,
    shown_name: String,
    logs_shown: bool,
}

fn load(path: &Path, limits: &LimitArgs, level: LogLevel, method: &str) -> anyhow::Result<Loaded> {
    let shown_name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| {
        format!("cannot read the plugin {shown_name} (PLUGIN must be a .wasm or .wat file)")
    })?;
    let name = path.file_stem().map_or_else(
        || "plugin".to_owned(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let stderr = Stderr::default();
    let plugin = Plugin::builder(&bytes)
        .name(name)
        .limits(limits.limits())
        .host_methods(host_methods(&stderr, level))
        .logger(logger(&stderr, level))
        .build()
        .map_err(|error| match error {
            Error::InvalidModule { reason } => {
                anyhow!(explain::invalid_module(&shown_name, &bytes, &reason))
            }
            other => anyhow!(explain::explain(
                &other,
                &shown_name,
                method,
                level.shows_plugin_logs()
            )),
        })?;
    tracing::info!(plugin = plugin.name(), protocol = ?plugin.protocol_version(), "loaded");
    Ok(Loaded {
        plugin,
        stderr,
        shown_name,
        logs_shown: level.shows_plugin_logs(),
    })
}

impl Loaded {
    /// Calls `method`, with a progress line while it runs long.
    fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let progress = Progress::start(
            &self.stderr,
            format!("calling `{method}` on {}", self.plugin.name()),
        );
        let result = futures::executor::block_on(self.plugin.call(method, params));
        drop(progress);
        result.map_err(|error| {
            anyhow!(explain::explain(
                &error,
                &self.shown_name,
                method,
                self.logs_shown
            ))
        })
    }
}

/// `wasplug call`: prints the result as one line of JSON.
pub(crate) fn call(args: CallArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let params = parse_params(args.params.as_deref())?;
    let loaded = load(&args.plugin, &args.limits, level, &args.method)?;
    let result = loaded.call(&args.method, params)?;
    term::print(&format!("{result}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// `wasplug methods`: the plugin's name, version, protocol and methods.
pub(crate) fn methods(args: MethodsArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.plugin, &args.limits, level, DISCOVER_METHOD)?;
    let answer = loaded.call(DISCOVER_METHOD, Value::Null)?;
    if args.json {
        term::print(&format!("{answer}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let discover: Discover = serde_json::from_value(answer).with_context(|| {
        format!(
            "{}'s answer to `{DISCOVER_METHOD}` is not a discover document (name, version, \
             protocol, methods); `wasplug methods --json` shows it as it is",
            loaded.shown_name
        )
    })?;
    let mut text = format!(
        "name:     {}\nversion:  {}\nprotocol: {}\nmethods:\n",
        discover.info.title, discover.info.version, discover.info.protocol
    );
    for name in discover.method_names() {
        text.push_str(&format!("  {name}\n"));
    }
    term::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_are_wrapped_and_structures_kept() {
        assert_eq!(parse_params(None).unwrap(), Value::Null);
        assert_eq!(parse_params(Some("5")).unwrap(), json!([5]));
        assert_eq!(parse_params(Some("\"hi\"")).unwrap(), json!(["hi"]));
        assert_eq!(parse_params(Some("true")).unwrap(), json!([true]));
        assert_eq!(parse_params(Some("null")).unwrap(), Value::Null);
        assert_eq!(parse_params(Some("[1,2]")).unwrap(), json!([1, 2]));
        assert_eq!(parse_params(Some("{\"a\":1}")).unwrap(), json!({"a": 1}));
        assert!(parse_params(Some("[1,")).is_err());
    }
}
