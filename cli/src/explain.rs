//! One-paragraph explanations of the host kit's errors, for people.

use wasplug_hdk::{Error, ErrorKind, PluginBuilder};

/// The first line of a message that may run over several (a WAT parse
/// error shows the source), with the position it points at.
fn one_line(reason: &str) -> String {
    let mut lines = reason.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("no reason given").to_owned();
    let position = lines
        .find_map(|l| l.strip_prefix("--> "))
        .and_then(|at| at.rsplit_once(':').zip(at.split(':').nth(1)));
    match position {
        Some(((_, column), line)) => format!("{first} (line {line}, column {column})"),
        None => first,
    }
}

/// Explains why `bytes`, read from `path`, are not a module.
pub(crate) fn invalid_module(path: &str, bytes: &[u8], reason: &str) -> String {
    let how_read = if bytes.starts_with(b"\0asm") {
        ""
    } else {
        " (it does not start with `\\0asm`, so it was read as WebAssembly text)"
    };
    format!(
        "{path} is not a valid WebAssembly module{how_read}: {}. Expected a wasm32-wasip1 \
         module: a .wasm file, or WebAssembly text (.wat).",
        one_line(reason)
    )
}

/// The bytes of the plugin file at `path`, read as the host kit reads one
/// (a regular file, at most [`PluginBuilder::DEFAULT_MAX_MODULE_BYTES`]),
/// with the error explained as for `call`.
pub(crate) fn read_plugin(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    wasplug_hdk::read_plugin_file(path, PluginBuilder::DEFAULT_MAX_MODULE_BYTES)
        .map_err(|error| anyhow::anyhow!(explain(&error, &path.display().to_string(), "", false)))
}

/// Explains why loading `plugin` or calling its `method` failed: what
/// happened, and what to do about it, in one line. With `logs_shown`, the
/// plugin's last stderr line is already on screen; without, it is quoted.
///
/// The text quotes what the plugin said (its error message and data, stderr
/// lines, its offending line): whoever prints it makes it safe for the
/// terminal, as `main` does with every error ([`crate::text::escape`]).
pub(crate) fn explain(error: &Error, plugin: &str, method: &str, logs_shown: bool) -> String {
    let mut text = match error.kind() {
        ErrorKind::Plugin {
            code,
            message,
            data,
        } => {
            let mut text = format!(
                "`{method}` failed: the plugin answered with JSON-RPC error {code}: {message}"
            );
            if let Some(data) = data {
                text.push_str(&format!(" (data: {data})"));
            }
            return text;
        }
        ErrorKind::Io { path, source } => format!(
            "cannot read the plugin {path}: {source}. PLUGIN must be a wasm32-wasip1 \
             module: a .wasm file, or WebAssembly text (.wat)."
        ),
        ErrorKind::InvalidModule { reason } => format!(
            "{plugin} is not a valid WebAssembly module: {}. PLUGIN must be a \
             wasm32-wasip1 module: a .wasm file, or WebAssembly text (.wat).",
            one_line(reason)
        ),
        ErrorKind::RefusedImports { imports } => format!(
            "{plugin} imports {}, which the sandbox does not provide, so it was refused. A \
             plugin may import only WASI preview 1 functions (`wasi_snapshot_preview1`); \
             whatever else it needs from the host is a host method it calls over JSON-RPC. \
             `wasplug inspect {plugin}` lists its imports.",
            imports.join(", ")
        ),
        ErrorKind::MissingExport { name, expected } => format!(
            "{plugin} does not export `{name}` ({expected}), so it is not a wasm32-wasip1 \
             command: build the plugin as a binary for the wasm32-wasip1 target."
        ),
        ErrorKind::IncompatibleProtocol {
            plugin: theirs,
            host,
        } => format!(
            "{plugin} was built for wasplug protocol {theirs}, and this wasplug speaks \
             protocol {host}: rebuild the plugin with a wasplug-pdk that speaks protocol \
             {host}, or use a wasplug that speaks {theirs}."
        ),
        ErrorKind::Trap { trap, .. } => format!(
            "the plugin trapped while answering `{method}`: {trap}. A trap (a panic, an \
             `unreachable`, an out-of-bounds access, a stack overflow) ends only this call: \
             its instance is thrown away and the host is unaffected."
        ),
        ErrorKind::Timeout { limit } => format!(
            "`{method}` did not finish within its timeout of {} s, so the call was \
             stopped. Allow more with --timeout <SECONDS> (or --timeout none).",
            limit.as_secs_f64()
        ),
        ErrorKind::OutOfFuel { limit } => format!(
            "`{method}` used up its fuel budget of {limit} units, so the call was \
             stopped. Fuel counts the instructions the plugin executes: a deterministic \
             CPU budget. Allow more with --fuel <UNITS> (or --fuel none)."
        ),
        ErrorKind::MemoryLimit { limit, .. } => format!(
            "`{method}` needed more linear memory than its limit of {} MiB, so the call \
             was stopped. Allow more with --max-memory <MIB> (or --max-memory none).",
            limit >> 20
        ),
        ErrorKind::ExitWithoutAnswer { status, .. } => format!(
            "the plugin exited with status {status} without answering `{method}`. Is it a \
             wasplug plugin? A plain WASI program runs with `wasplug run`."
        ),
        ErrorKind::Deadlock => format!(
            "the plugin waits for input but has neither answered `{method}` nor called the \
             host, so nothing can ever arrive: the call was stopped. Is it a wasplug plugin? \
             A plain WASI program runs with `wasplug run`."
        ),
        ErrorKind::Protocol { source } => format!(
            "the plugin broke the protocol while answering `{method}`: {source}. A plugin \
             writes only JSON-RPC 2.0 lines on stdout (its logs go to stderr). Is it a \
             wasplug plugin? A plain WASI program runs with `wasplug run`."
        ),
        other => format!("{other}."),
    };
    if let Some(line) = error.stderr_summary().filter(|_| !logs_shown) {
        text.push_str(&format!(" The plugin's last stderr line: {line}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_keeps_the_message_and_position() {
        let wat_error =
            "expected `(`\n     --> <anon>:3:7\n      |\n    3 | garbage\n      |       ^";
        assert_eq!(one_line(wat_error), "expected `(` (line 3, column 7)");
        assert_eq!(
            one_line("magic header not detected"),
            "magic header not detected"
        );
    }
}
