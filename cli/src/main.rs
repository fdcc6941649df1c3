//! `wasplug`: call a plugin's methods, list them, inspect a module, and run
//! any `wasm32-wasip1` command in the sandbox.
#![forbid(unsafe_code)]
// A command-line tool's job is printing: the workspace's lints against
// `println!`/`eprintln!` are for the libraries.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod call;
mod check;
mod demo;
mod describe;
mod explain;
mod host;
mod inspect;
mod json;
mod limits;
mod run;
mod serve;
mod term;
mod text;

use clap::{Parser, Subcommand, ValueEnum};
use std::{io::IsTerminal, process::ExitCode};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

/// The `tracing` target of plugin log lines.
pub(crate) const PLUGIN_LOG_TARGET: &str = "wasplug::plugin";

/// Exit codes, shown at the end of `--help`.
const EXIT_CODES: &str = "\
Exit status:
  0    success
  1    failure: the plugin answered with an error, trapped, broke a limit,
       or could not be loaded (a one-paragraph explanation is on stderr)
  2    usage error (bad arguments)
  run  the module's own exit status; 134 when it traps, 124 on --timeout,
       128+N when it raises signal N, 1 when it cannot be started";

/// Run, call and inspect wasplug plugins: sandboxed wasm32-wasip1 programs,
/// interpreted by wasmi, that speak JSON-RPC 2.0 over their stdin/stdout.
#[derive(Parser, Debug)]
#[command(name = "wasplug", version, after_help = EXIT_CODES)]
struct Cli {
    /// How much wasplug reports on stderr (plugin log lines: `warn` and up).
    ///
    /// How much wasplug itself reports on stderr. A plugin's log lines (its
    /// stderr, each line prefixed `[name]`) are shown at `warn` (the default)
    /// and above, hidden at `error` and `off`.
    #[arg(long, global = true, value_enum, value_name = "LEVEL", default_value_t = LogLevel::Warn)]
    log_level: LogLevel,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Call one method of a plugin and print its result as one line of JSON.
    #[command(after_long_help = call::call_help())]
    Call(call::CallArgs),
    /// List a plugin's methods (from its answer to `rpc.discover`): what each
    /// does, and the types of its params and result.
    Methods(call::MethodsArgs),
    /// Show a module's manifest (name, version, methods, the host methods it
    /// asks for), imports (and what the sandbox makes of them), exports,
    /// memory and protocol version, without running it.
    Inspect(inspect::InspectArgs),
    /// Run any wasm32-wasip1 command in the sandbox, with this process's
    /// stdin, stdout and stderr passed through; exit with its status.
    #[command(after_long_help = run::RUN_HELP)]
    Run(run::RunArgs),
    /// Serve a directory of plugins over HTTP (JSON-RPC 2.0 in POST bodies),
    /// reloading each plugin when its file changes.
    #[command(after_long_help = serve::SERVE_HELP)]
    Serve(serve::ServeArgs),
    /// Check that a plugin conforms to the protocol (docs/PROTOCOL.md): one
    /// line per requirement, exit 0 only when every one checked passes.
    #[command(after_long_help = check::CHECK_HELP)]
    Check(check::CheckArgs),
    /// Show what wasplug does with the bundled test plugin: calls, host round
    /// trips, compute, sleep and a contained crash, with timings.
    Demo(demo::DemoArgs),
}

/// How much wasplug reports on stderr (`--log-level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum LogLevel {
    // Plain comments: doc comments would make clap list each value on its own line.
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// Whether the plugin's stderr lines are shown.
    pub(crate) fn shows_plugin_logs(self) -> bool {
        self >= LogLevel::Warn
    }

    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Off => LevelFilter::OFF,
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Plugin log lines logged through `tracing` (by `serve`) are at info
    // level, and shown whenever `--log-level` shows plugin logs.
    let plugin_lines = if cli.log_level.shows_plugin_logs() {
        LevelFilter::INFO.max(cli.log_level.filter())
    } else {
        LevelFilter::OFF
    };
    let filter = Targets::new()
        .with_default(cli.log_level.filter())
        .with_target(PLUGIN_LOG_TARGET, plugin_lines);
    tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .finish()
        .with(filter)
        .init();
    let outcome = match cli.command {
        Command::Call(args) => call::call(args, cli.log_level),
        Command::Methods(args) => call::methods(args, cli.log_level),
        Command::Inspect(args) => inspect::inspect(&args),
        Command::Run(args) => run::run(&args),
        Command::Serve(args) => serve::serve(args, cli.log_level),
        Command::Check(args) => check::check(&args, cli.log_level),
        Command::Demo(args) => demo::demo(&args, cli.log_level),
    };
    outcome.unwrap_or_else(|error| {
        // Whoever read our stdout went away (`wasplug ... | head`): nothing to say.
        let broken_pipe = error
            .root_cause()
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        if !broken_pipe {
            // Errors quote what plugins said (messages, data, stderr lines,
            // import names): one line, made safe for the terminal.
            eprintln!("error: {}", text::escape(&one_line(&error)));
        }
        ExitCode::FAILURE
    })
}

/// An error and its causes on one line, `: `-separated, leaving out a
/// cause that the text before it already says (many errors quote their
/// source in their own message).
fn one_line(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let said = cause.to_string();
        if text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}
