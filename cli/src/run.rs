//! `wasplug run`: any `wasm32-wasip1` command in the sandbox, with this
//! process's stdio passed through, directly on the WASI subset (no JSON-RPC).

use crate::{call::LimitArgs, explain};
use anyhow::{Context as _, anyhow};
use clap::Args;
use std::time::Instant;
use std::{
    io::{Read, Write},
    path::PathBuf,
    process::ExitCode,
    sync::mpsc::{self, Receiver, RecvTimeoutError},
};
use wasplug_wasi::{
    Blocked, Embedder, End, Guest, GuestLimits, ModuleError, Outcome, Program, WasiCtx,
};

/// What `wasplug run --help` adds after the options.
pub(crate) const RUN_HELP: &str = "\
The module sees its arguments (MODULE as given, then ARGS), the --env
variables and nothing else of this process's environment, this process's
stdin, stdout and stderr (streamed as it reads and writes), the clocks and
randomness. There are no files and no network: those WASI functions are
linked and answer an errno. The limits are those of `wasplug call`, in every
phase (the module's start function included); give `--timeout none` to a
command that should run longer than the default.

Exit status: the module's own (its proc_exit status, 0 when _start returns);
134 with `trap: <reason>` on stderr when it traps or passes --max-memory;
128+N when it raises signal N; 124 when --timeout passes or the --fuel budget
is spent; 1 when it cannot start (unreadable or invalid module, imports the
sandbox does not provide, no _start).";

/// Bytes the guest's stdout and stderr hold before it waits for us to
/// write them out: output streams instead of piling up.
const PIPE_CAPACITY: usize = 64 << 10;
/// Most bytes read from our stdin at once.
const STDIN_CHUNK: usize = 64 << 10;
/// Exit status when the module traps (128 + SIGABRT, as a native crash).
const EXIT_TRAP: u8 = 134;
/// Exit status when the timeout passes (as `timeout(1)`).
const EXIT_TIMEOUT: u8 = 124;

/// `wasplug run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Sets an environment variable for the module (repeatable); it sees no
    /// other.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    #[command(flatten)]
    limits: LimitArgs,
    /// The module: a wasm32-wasip1 command (.wasm, or WebAssembly text .wat).
    module: PathBuf,
    /// Arguments for the module; everything after MODULE is passed on.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Our side of the module's stdio: our stdin (read by a thread started the
/// first time the module waits for input), our stdout and stderr.
#[derive(Default)]
struct Stdio {
    stdin: Option<Receiver<Vec<u8>>>,
}

impl Embedder for Stdio {
    type Error = anyhow::Error;

    /// Writes what the module wrote to our stdout and stderr, and flushes.
    fn drain(&mut self, wasi: &mut WasiCtx) -> anyhow::Result<()> {
        if !wasi.stderr().is_empty() {
            let bytes = wasi.stderr_mut().take();
            let mut stderr = std::io::stderr().lock();
            // Nowhere to report a failing stderr: the module goes on.
            let _ = stderr.write_all(&bytes).and_then(|()| stderr.flush());
        }
        if !wasi.stdout().is_empty() {
            let bytes = wasi.stdout_mut().take();
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write the module's output to stdout")?;
        }
        Ok(())
    }

    fn serve(
        &mut self,
        wasi: &mut WasiCtx,
        blocked: Blocked,
        until: Option<Instant>,
    ) -> anyhow::Result<()> {
        match blocked {
            Blocked::Input { deadline } => {
                let wake = deadline.map(|d| wasplug_wasi::host_instant(wasi, d));
                let received = match earliest(wake, until) {
                    Some(at) => self
                        .stdin_reader()
                        .recv_timeout(at.saturating_duration_since(Instant::now())),
                    None => self
                        .stdin_reader()
                        .recv()
                        .map_err(|_| RecvTimeoutError::Disconnected),
                };
                match received {
                    Ok(chunk) => wasi.stdin_mut().push(&chunk),
                    Err(RecvTimeoutError::Disconnected) => wasi.stdin_mut().close(),
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            Blocked::Sleep { deadline } => {
                let wake = wasplug_wasi::host_instant(wasi, deadline);
                if let Some(at) = earliest(Some(wake), until) {
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                }
            }
            // Output: `drain` made room already. Busy: nothing to wait for.
            _ => {}
        }
        Ok(())
    }
}

impl Stdio {
    /// Our stdin, read in chunks by a thread started the first time the
    /// module waits for input (a module that never reads leaves it alone).
    /// The channel disconnects at end of file.
    fn stdin_reader(&mut self) -> &Receiver<Vec<u8>> {
        self.stdin.get_or_insert_with(|| {
            let (chunks, received) = mpsc::sync_channel(1);
            let spawned = std::thread::Builder::new()
                .name("wasplug-stdin".into())
                .spawn(move || {
                    let mut stdin = std::io::stdin().lock();
                    let mut buf = vec![0u8; STDIN_CHUNK];
                    loop {
                        match stdin.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                if chunks.send(buf.get(..n).unwrap_or_default().to_vec()).is_err() {
                                    break;
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(error) => {
                                tracing::warn!(%error, "cannot read stdin; the module sees end of file");
                                break;
                            }
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "cannot start the stdin reader; the module sees end of file");
            }
            received
        })
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `wasplug run`.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let engine = wasplug_hdk::Engine::new().wasmi().clone();
    let path = args.module.display().to_string();
    let bytes = explain::read_plugin(&args.module)?;
    let program = Program::new(&engine, &bytes).map_err(|error| match error {
        ModuleError::Invalid { reason } => {
            anyhow!(explain::invalid_module(&path, &bytes, &reason))
        }
        other => anyhow!("cannot run {path}: {other}. `wasplug inspect` shows what it holds"),
    })?;
    let mut wasi = WasiCtx::builder()
        .arg(args.module.to_string_lossy())
        .args(&args.args)
        .stdout_capacity(PIPE_CAPACITY)
        .stderr_capacity(PIPE_CAPACITY);
    for (key, value) in &args.env {
        wasi = wasi.env(key, value);
    }
    let limits = args.limits.limits();
    let guest_limits = GuestLimits::default()
        .with_memory(limits.memory())
        .with_fuel(limits.fuel())
        .with_fuel_slice(limits.fuel_slice());
    let deadline = limits.timeout().and_then(|t| Instant::now().checked_add(t));
    let mut guest = Guest::new(&program, wasi.build(), guest_limits);
    let outcome = wasplug_wasi::run(&mut guest, deadline, &mut Stdio::default())?;
    Ok(match outcome {
        Outcome::End(End::Exit(status)) => ExitCode::from(u8::try_from(status & 0xff).unwrap_or(1)),
        Outcome::End(End::Signal(signal)) => {
            eprintln!("signal: the module raised signal {signal}");
            ExitCode::from(128u8.saturating_add(signal))
        }
        Outcome::Timeout => {
            let limit = limits.timeout().unwrap_or_default().as_secs_f64();
            eprintln!("error: the module ran past its timeout of {limit} s and was stopped");
            ExitCode::from(EXIT_TIMEOUT)
        }
        Outcome::End(End::OutOfFuel { limit }) => {
            eprintln!("error: the module used its fuel budget of {limit} units and was stopped");
            ExitCode::from(EXIT_TIMEOUT)
        }
        Outcome::End(End::MemoryLimit { limit }) => {
            eprintln!(
                "trap: the module needed more than its memory limit of {} MiB",
                limit >> 20
            );
            ExitCode::from(EXIT_TRAP)
        }
        Outcome::End(End::NoMemory) => {
            eprintln!("trap: the module called WASI but exports no memory named `memory`");
            ExitCode::from(EXIT_TRAP)
        }
        Outcome::End(End::Trap { message, .. }) => {
            eprintln!("trap: {message}");
            ExitCode::from(EXIT_TRAP)
        }
        Outcome::End(other) => {
            eprintln!("trap: {other:?}");
            ExitCode::from(EXIT_TRAP)
        }
    })
}
