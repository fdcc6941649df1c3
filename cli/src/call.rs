//! `wasplug call` and `wasplug methods`: load a plugin and call it.

use crate::{
    LogLevel, describe, explain,
    host::{self, Builtin},
    json::Layout,
    limits::{Cap, Seconds},
    term::{self, Progress, Stderr},
    text,
};
use anyhow::{Context as _, anyhow};
use clap::Args;
use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::ExitCode,
};
use wasplug_hdk::{
    CallOptions, ErrorKind, Grants, HostMethods, HttpPolicy, KvStore, Limits, Plugin, RawValue,
};
use wasplug_protocol::{DISCOVER_METHOD, Discover};

/// What `wasplug call --help` adds after the options.
pub(crate) fn call_help() -> String {
    format!(
        "\
PARAMS is JSON text: an array or an object, sent as the JSON-RPC params. A
scalar (number, string, boolean) is sent as a one-element array, so `5` means
`[5]` and '\"hi\"' means [\"hi\"]; `null` or no PARAMS sends none; `-` reads
PARAMS from stdin. PARAMS is checked, then sent as written: numbers of any
size or precision reach the plugin unchanged.

The result is printed on stdout as one line of JSON (indented with --pretty),
as the plugin wrote it: numbers unchanged. A JSON-RPC error from the plugin
prints its code, message and data on stderr; any other failure prints an
explanation; both exit with status 1.

The plugin's stderr is its log: each line is shown on stderr as `[name] line`
(hidden with --log-level error or off).

Text from the plugin (log lines, error messages and data) is shown with its
control characters and escape sequences escaped (`\\x1b`, `\\r`, `\\u{{9b}}`), so
it cannot forge or erase what is on the terminal; in JSON on stdout the same
characters are written as `\\u00XX` escapes (the value is unchanged).

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

/// What a plugin is given: host stand-ins, built-in capabilities, its
/// configuration, arguments and environment.
#[derive(Args, Debug, Default)]
pub(crate) struct GiveArgs {
    /// Stand in host method NAME: it answers JSON, whatever its params
    /// (repeatable). Example: --host user_name='"Ana"'.
    #[arg(long = "host", value_name = "NAME=JSON")]
    hosts: Vec<String>,
    /// Stand-ins from a file: a JSON object of host method name to answer.
    #[arg(long = "hosts", value_name = "FILE")]
    hosts_file: Option<PathBuf>,
    /// A configuration entry the plugin reads with `config.get` (repeatable).
    /// Example: --config greeting='"hi"'.
    #[arg(long = "config", value_name = "KEY=JSON")]
    config: Vec<String>,
    /// An argument for the plugin, after its name (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,
    /// An environment variable for the plugin (repeatable); the plugin sees
    /// no other.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Grant `http.fetch` for HOST (`host` for any port, or `host:port`;
    /// IPv6 in brackets; no scheme, path or trailing dot; repeatable).
    #[arg(long = "allow-http", value_name = "HOST", value_parser = allowed_host)]
    allow_http: Vec<String>,
    /// Grant `kv.get`, `kv.set` and `kv.delete`, on a store in memory that
    /// lasts for this call.
    #[arg(long)]
    kv: bool,
}

/// An `--allow-http` value, checked as [`HttpPolicy::try_allow`] does.
fn allowed_host(value: &str) -> Result<String, String> {
    HttpPolicy::try_allow([value])
        .map(|_| value.to_owned())
        .map_err(|e| e.to_string())
}

impl GiveArgs {
    /// The plugin's configuration, from `--config KEY=JSON`.
    fn config(&self) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let mut config = serde_json::Map::new();
        for entry in &self.config {
            let (key, json) = entry
                .split_once('=')
                .ok_or_else(|| anyhow!("--config {entry}: expected KEY=JSON"))?;
            let value = serde_json::from_str(json).with_context(|| {
                format!(
                    "--config {key}: the value is not valid JSON (a string needs its quotes, \
                     quoted for your shell: --config {key}='\"text\"')"
                )
            })?;
            config.insert(key.to_owned(), value);
        }
        Ok(config)
    }

    /// The plugin's environment, from `--env KEY=VALUE`.
    fn env(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.env
            .iter()
            .map(|entry| match entry.split_once('=') {
                Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
                _ => Err(anyhow!("--env {entry}: expected KEY=VALUE")),
            })
            .collect()
    }

    /// The host methods (built-ins and stand-ins) and what is granted:
    /// both, plus `http.fetch` and `kv.*` when their flags ask.
    fn host(
        &self,
        stderr: &Stderr,
        level: LogLevel,
    ) -> anyhow::Result<(HostMethods<Builtin>, Grants)> {
        let stand_ins = host::stand_ins(&self.hosts, self.hosts_file.as_deref())?;
        let mut grants = Grants::methods(host::BUILTIN).with_methods(stand_ins.keys().cloned());
        if !self.allow_http.is_empty() {
            grants = grants.with_http(HttpPolicy::allow(&self.allow_http));
        }
        if self.kv {
            grants = grants.with_kv(KvStore::memory());
        }
        let methods = host::with_stand_ins(host_methods(stderr, level), stand_ins);
        Ok((methods, grants))
    }
}

/// `wasplug call`.
#[derive(Args, Debug)]
pub(crate) struct CallArgs {
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    give: GiveArgs,
    /// The plugin: a wasm32-wasip1 module (.wasm, or WebAssembly text .wat).
    plugin: PathBuf,
    /// The method to call.
    method: String,
    /// Print the result indented over several lines instead of one.
    #[arg(long)]
    pretty: bool,
    /// Print what the call used on stderr, as one line of JSON, whether it
    /// succeeds or fails: wall time in microseconds, fuel, peak memory
    /// (linear memory and tables, in bytes), host calls and notifications
    /// the plugin sent:
    /// {"wall_time_us":1520,"fuel_used":48211,"peak_memory":1179648,"host_calls":0,"notifications":0}
    #[arg(long)]
    report: bool,
    /// The params, as JSON text, or `-` to read them from stdin (see below).
    /// Default: none.
    #[arg(allow_negative_numbers = true)]
    params: Option<String>,
}

/// `wasplug methods`.
#[derive(Args, Debug)]
pub(crate) struct MethodsArgs {
    #[command(flatten)]
    limits: LimitArgs,
    /// Print the plugin's `rpc.discover` answer as one line of JSON (with
    /// the JSON Schemas of the documented methods' params and results).
    #[arg(long)]
    json: bool,
    /// The plugin: a wasm32-wasip1 module (.wasm, or WebAssembly text .wat).
    plugin: PathBuf,
}

/// PARAMS longer than this are not quoted back when they are not JSON.
const QUOTED_PARAMS: usize = 200;

/// Reads PARAMS (`-`: from stdin).
fn read_params(arg: Option<String>) -> anyhow::Result<Option<String>> {
    match arg.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read PARAMS from stdin")?;
            Ok(Some(text))
        }
        _ => Ok(arg),
    }
}

/// Checks PARAMS and keeps them as written (no `Value` is built, so every
/// number stays exact); a scalar becomes a one-element array, `null` none.
pub(crate) fn parse_params(text: Option<&str>) -> anyhow::Result<Option<Box<RawValue>>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let raw: &RawValue = serde_json::from_str(text).with_context(|| {
        let quoted = if text.len() <= QUOTED_PARAMS {
            format!(": `{text}`")
        } else {
            format!(" ({} bytes)", text.len())
        };
        format!(
            "PARAMS is not valid JSON{quoted}. Give an array (`[1, 2]`), an object \
             (`{{\"key\": 1}}`) or a scalar (`5`, `'\"text\"'`, `true`), quoted for your shell"
        )
    })?;
    let json = raw.get();
    Ok(match json.as_bytes().first() {
        Some(b'n') => None,
        Some(b'[' | b'{') => Some(raw.to_owned()),
        // A scalar: valid JSON inside brackets is a valid array.
        _ => Some(RawValue::from_string(format!("[{json}]"))?),
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
            stderr.plugin_line(plugin, line);
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

fn load(
    path: &Path,
    limits: &LimitArgs,
    give: &GiveArgs,
    level: LogLevel,
    method: &str,
) -> anyhow::Result<Loaded> {
    let shown_name = path.display().to_string();
    let stderr = Stderr::default();
    let (methods, grants) = give.host(&stderr, level)?;
    // From the file, as `inspect` and a plugin directory read it: its
    // sidecar manifest (`name.json`, `name.toml`) counts. The name is the
    // file stem.
    let plugin = Plugin::from_file(path)
        .limits(limits.limits())
        .host_methods(methods)
        .grants(grants)
        .config(give.config()?)
        .args(give.args.iter().cloned())
        .env(give.env()?)
        .logger(logger(&stderr, level))
        .build()
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidModule { reason } => {
                // Its first bytes tell how it was read (binary or text).
                let bytes = std::fs::File::open(path)
                    .and_then(|file| {
                        let mut head = Vec::new();
                        std::io::Read::read_to_end(&mut std::io::Read::take(file, 16), &mut head)
                            .map(|_| head)
                    })
                    .unwrap_or_default();
                anyhow!(explain::invalid_module(&shown_name, &bytes, reason))
            }
            _ => anyhow!(explain::explain(
                &error,
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
    /// Calls `method`, with a progress line while it runs long; returns the
    /// result as the plugin wrote it. With `report`, first prints what the
    /// call used on stderr, as one line of JSON.
    fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        report: bool,
    ) -> anyhow::Result<Box<RawValue>> {
        let progress = Progress::start(
            &self.stderr,
            text::escape(&format!("calling `{method}` on {}", self.plugin.name())).into_owned(),
        );
        let (result, used) = if report {
            let call = self.plugin.call_with(method, params, &CallOptions::new());
            let (result, used) = futures::executor::block_on(call);
            (result, Some(used))
        } else {
            let call = self.plugin.call_raw(method, params);
            (futures::executor::block_on(call), None)
        };
        drop(progress);
        if let Some(used) = used {
            self.stderr.line(&serde_json::to_string(&used)?);
        }
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

/// `wasplug call`: prints the result as one line of JSON (or indented).
pub(crate) fn call(args: CallArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let params = parse_params(read_params(args.params)?.as_deref())?;
    let loaded = load(&args.plugin, &args.limits, &args.give, level, &args.method)?;
    let result = loaded.call(&args.method, params, args.report)?;
    let layout = if args.pretty {
        Layout::Indented
    } else {
        Layout::OneLine
    };
    term::print_json(result.get(), layout)?;
    Ok(ExitCode::SUCCESS)
}

/// `wasplug methods`: the plugin's name, version, protocol and methods, each
/// documented method with its description and params and result types.
pub(crate) fn methods(args: MethodsArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let give = GiveArgs::default();
    let loaded = load(&args.plugin, &args.limits, &give, level, DISCOVER_METHOD)?;
    let answer = loaded.call(DISCOVER_METHOD, None, false)?;
    if args.json {
        term::print_json(answer.get(), Layout::OneLine)?;
        return Ok(ExitCode::SUCCESS);
    }
    let discover: Discover = serde_json::from_str(answer.get()).with_context(|| {
        format!(
            "{}'s answer to `{DISCOVER_METHOD}` is not a discover document (name, version, \
             protocol, methods); `wasplug methods --json` shows it as it is",
            loaded.shown_name
        )
    })?;
    term::print(&describe::text(&discover)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> Option<String> {
        parse_params(Some(text))
            .unwrap()
            .map(|raw| raw.get().to_owned())
    }

    #[test]
    fn scalars_are_wrapped_and_structures_kept_as_written() {
        assert!(parse_params(None).unwrap().is_none());
        assert_eq!(params("5").as_deref(), Some("[5]"));
        assert_eq!(params(" \"hi\"\n").as_deref(), Some("[\"hi\"]"));
        assert_eq!(params("true").as_deref(), Some("[true]"));
        assert_eq!(params(" null "), None);
        assert_eq!(params(" [1, 2] ").as_deref(), Some("[1, 2]"));
        assert_eq!(params("{\"a\":1}").as_deref(), Some("{\"a\":1}"));
        assert!(parse_params(Some("[1,")).is_err());
        assert!(parse_params(Some("[1] 2")).is_err());
        assert!(parse_params(Some("NaN")).is_err());
    }

    #[test]
    fn every_json_number_is_kept_exactly() {
        for number in [
            "18446744073709551617",
            "-1e400",
            "1E+2",
            "-0",
            "0.1000",
            "123456789012345678901234567890.123456789e-999",
        ] {
            assert_eq!(params(number), Some(format!("[{number}]")));
            let array = format!("[{number}, {{\"n\": {number}}}]");
            assert_eq!(params(&array), Some(array.clone()));
        }
        for not_a_number in ["01", "1.", ".5", "+1", "1e", "Infinity", "0x10"] {
            assert!(parse_params(Some(not_a_number)).is_err(), "{not_a_number}");
        }
    }
}
