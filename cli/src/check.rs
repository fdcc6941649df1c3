//! `wasplug check`: the conformance battery of `docs/PROTOCOL.md`
//! ([`wasplug_hdk::conformance`]) against any plugin, one line per
//! requirement.

use crate::limits::{Cap, Seconds};
use crate::{LogLevel, call, host};
use clap::Args;

use std::{path::PathBuf, process::ExitCode, time::Duration};
use wasplug_hdk::conformance::Checker;
use wasplug_hdk::{Grants, Limits, Plugin, RawValue};
use wasplug_protocol::PROTOCOL_VERSION;

/// `wasplug check`.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Wall-clock limit of each probe (a fresh instance), in seconds, or `none`.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(Some(Duration::from_secs(10))))]
    timeout: Seconds,
    /// Fuel budget of each probe, or `none`.
    #[arg(long, value_name = "UNITS", default_value_t = Cap(Some(Limits::DEFAULT_FUEL)))]
    fuel: Cap,
    /// Most linear memory the plugin may use, in MiB, or `none`.
    #[arg(long, value_name = "MIB", default_value_t = Cap(Some(Limits::DEFAULT_MEMORY >> 20)))]
    max_memory: Cap,
    /// Also call METHOD with PARAMS (JSON; none when left out), to check a
    /// method that calls the host (repeatable). Example: --call
    /// many_echo='[2]'.
    #[arg(long = "call", value_name = "METHOD[=PARAMS]", value_parser = parse_call)]
    calls: Vec<(String, Option<Box<RawValue>>)>,
    /// Print the results as one JSON array instead of lines.
    #[arg(long)]
    json: bool,
    /// The plugin: a wasm32-wasip1 module (.wasm, or WebAssembly text .wat).
    plugin: PathBuf,
}

/// What `wasplug check --help` adds after the options.
pub(crate) const CHECK_HELP: &str = "\
Each line is `pass`, `FAIL` or `n/a`, the requirement of docs/PROTOCOL.md it
checks (P-n), and what the checker saw. Every probe runs in a fresh instance
under the limits above; the checker answers the plugin's host calls (`echo`
answers its params, any other method -32601) and closes its stdin once it
waits for input with nothing more to read.

Exit status: 0 when every requirement checked passes, 1 when one fails (or
the plugin cannot be loaded), 2 on a usage error.";

/// `wasplug check`.
pub(crate) fn check(args: &CheckArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let limits = Limits::default()
        .with_timeout(args.timeout.0)
        .with_fuel(args.fuel.0)
        .with_memory(args.max_memory.0.map(|mib| mib.saturating_mul(1 << 20)));
    let stderr = crate::term::Stderr::default();
    let loaded = Plugin::from_file(&args.plugin)
        .limits(limits)
        .host_methods(call::host_methods(&stderr, level))
        .grants(Grants::methods(host::BUILTIN))
        .logger(call::logger(&stderr, level))
        .build();
    let checker = args
        .calls
        .iter()
        .fold(Checker::new(), |checker, (method, params)| {
            checker.call(method, params.clone())
        });
    let report = checker.check(loaded.as_ref());
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
        let failed = report.failures().count();
        if failed == 0 {
            println!("conforms to wasplug protocol {PROTOCOL_VERSION} (docs/PROTOCOL.md)");
        } else {
            println!("{failed} requirement(s) failed (docs/PROTOCOL.md)");
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A `--call METHOD[=PARAMS]` value; PARAMS as `wasplug call` reads them
/// (kept as written).
fn parse_call(text: &str) -> Result<(String, Option<Box<RawValue>>), String> {
    match text.split_once('=') {
        None => Ok((text.to_owned(), None)),
        Some((method, params)) => call::parse_params(Some(params))
            .map(|params| (method.to_owned(), params))
            .map_err(|error| format!("{error:#}")),
    }
}
