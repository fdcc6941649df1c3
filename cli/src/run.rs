//! `wasplug run`: any `wasm32-wasip1` command in the sandbox, with this
//! process's stdio passed through, directly on the WASI subset (no JSON-RPC).

use crate::{explain, inspect::ImportStatus, limits::Seconds};
use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::mpsc::{self, Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};
use wasmi::{ExternType, Linker, Module, ResumableCall, Store, Val};
use wasplug_wasi::{Blocked, Completion, Stop, WasiCtx};

/// What `wasplug run --help` adds after the options.
pub(crate) const RUN_HELP: &str = "\
The module sees its arguments (MODULE as given, then ARGS), the --env
variables and nothing else of this process's environment, this process's
stdin, stdout and stderr (streamed as it reads and writes), the clocks and
randomness. There are no files and no network: those WASI functions are
linked and answer an errno.

Exit status: the module's own (its proc_exit status, 0 when _start returns);
134 with `trap: <reason>` on stderr when it traps; 128+N when it raises signal
N; 124 when --timeout passes; 1 when it cannot start (unreadable or invalid
module, imports the sandbox does not provide, no _start).";

/// Fuel per slice; the timeout is checked between slices (tens of ms).
const FUEL_SLICE: u64 = 50_000_000;
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
    /// Wall-clock limit in seconds (decimals allowed), or `none`.
    #[arg(long, value_name = "SECONDS", default_value_t = Seconds(None))]
    timeout: Seconds,
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

/// How the module ended.
enum End {
    Exit(i32),
    Trap(String),
    Signal(u8),
    Timeout,
}

/// What a wasmi error from the guest means.
fn end_of(error: &wasmi::Error) -> End {
    match Stop::from_error(error) {
        Some(Stop::Exit(status)) => End::Exit(status),
        Some(Stop::Signal(signal)) => End::Signal(signal),
        Some(other) => End::Trap(other.to_string()),
        None => End::Trap(error.to_string()),
    }
}

/// A running module: its store, its deadline and our stdin.
struct Runner {
    store: Store<WasiCtx>,
    deadline: Option<Instant>,
    stdin: Option<Receiver<Vec<u8>>>,
}

impl Runner {
    /// Runs `_start` to the end, feeding and draining its stdio.
    fn drive(&mut self, start: wasmi::Func) -> anyhow::Result<End> {
        self.store.set_fuel(FUEL_SLICE)?;
        let mut outcome = start.call_resumable(&mut self.store, &[], &mut []);
        loop {
            self.drain()?;
            let call = match outcome {
                Ok(call) => call,
                Err(error) => return Ok(end_of(&error)),
            };
            outcome = match call {
                ResumableCall::Finished => return Ok(End::Exit(0)),
                ResumableCall::OutOfFuel(call) => {
                    if self.timed_out() {
                        return Ok(End::Timeout);
                    }
                    self.store.set_fuel(FUEL_SLICE.max(call.required_fuel()))?;
                    call.resume(&mut self.store, &mut [])
                }
                ResumableCall::HostTrap(trap) => match Stop::from_error(trap.host_error()) {
                    Some(Stop::Blocked(blocked)) => match self.unblock(blocked)? {
                        Some(value) => trap.resume(&mut self.store, &[value], &mut []),
                        None => return Ok(End::Timeout),
                    },
                    _ => return Ok(end_of(trap.host_error())),
                },
            };
        }
    }

    /// Waits until the suspended WASI call can finish; its return value, or
    /// `None` when the timeout passed first.
    fn unblock(&mut self, mut blocked: Blocked) -> anyhow::Result<Option<Val>> {
        loop {
            self.wait(blocked)?;
            if self.timed_out() {
                return Ok(None);
            }
            match wasplug_wasi::complete(&mut self.store, |ctx: &mut WasiCtx| ctx) {
                Completion::Ready(value) => return Ok(Some(value)),
                Completion::Blocked(again) => {
                    self.drain()?;
                    blocked = again;
                }
                _ => bail!("the module was suspended without a pending WASI call"),
            }
        }
    }

    /// Does what `blocked` waits for, or waits until the timeout.
    fn wait(&mut self, blocked: Blocked) -> anyhow::Result<()> {
        match blocked {
            Blocked::Input { deadline } => {
                let wake = deadline.map(|d| self.guest_instant(d));
                let until = earliest(wake, self.deadline);
                let stdin = self.stdin_reader();
                let received = match until {
                    Some(at) => stdin.recv_timeout(at.saturating_duration_since(Instant::now())),
                    None => stdin.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                let pipe = self.store.data_mut().stdin_mut();
                match received {
                    Ok(chunk) => pipe.push(&chunk),
                    Err(RecvTimeoutError::Disconnected) => pipe.close(),
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            Blocked::Sleep { deadline } => {
                let wake = self.guest_instant(deadline);
                if let Some(at) = earliest(Some(wake), self.deadline) {
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                }
            }
            // Output is full: write it out.
            _ => self.drain()?,
        }
        Ok(())
    }

    /// Our instant at which a guest deadline (ns on its monotonic clock) falls.
    fn guest_instant(&mut self, deadline: u64) -> Instant {
        let now_guest = self.store.data_mut().monotonic_now();
        let now = Instant::now();
        now.checked_add(Duration::from_nanos(deadline.saturating_sub(now_guest)))
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
    }

    fn timed_out(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

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

    /// Writes what the module wrote to our stdout and stderr, and flushes.
    fn drain(&mut self) -> anyhow::Result<()> {
        let ctx = self.store.data_mut();
        if !ctx.stderr().is_empty() {
            let bytes = ctx.stderr_mut().take();
            let mut stderr = std::io::stderr().lock();
            // Nowhere to report a failing stderr: the module goes on.
            let _ = stderr.write_all(&bytes).and_then(|()| stderr.flush());
        }
        if !ctx.stdout().is_empty() {
            let bytes = ctx.stdout_mut().take();
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write the module's output to stdout")?;
        }
        Ok(())
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Compiles the module and checks it is a command the sandbox can run.
fn load(engine: &wasmi::Engine, path: &Path) -> anyhow::Result<Module> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let module = Module::new(engine, &bytes).map_err(|e| {
        anyhow!(explain::invalid_module(
            &path.display().to_string(),
            &bytes,
            &e.to_string()
        ))
    })?;
    let refused: Vec<String> = module
        .imports()
        .filter(|import| ImportStatus::of(import) == ImportStatus::Refused)
        .map(|import| format!("{}::{}", import.module(), import.name()))
        .collect();
    if !refused.is_empty() {
        bail!(
            "{} imports {}, which the sandbox does not provide: it provides WASI preview 1 \
             (`wasi_snapshot_preview1`) only. `wasplug inspect` lists its imports",
            path.display(),
            refused.join(", ")
        );
    }
    match module.get_export("_start") {
        Some(ExternType::Func(ty)) if ty.params().is_empty() && ty.results().is_empty() => {
            Ok(module)
        }
        _ => bail!(
            "{} exports no `_start` function, so it is not a WASI command; build it as a \
             binary for wasm32-wasip1",
            path.display()
        ),
    }
}

/// `wasplug run`.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let engine = wasplug_hdk::Engine::new().wasmi().clone();
    let module = load(&engine, &args.module)?;
    let mut wasi = WasiCtx::builder()
        .arg(args.module.to_string_lossy())
        .args(&args.args)
        .stdout_capacity(PIPE_CAPACITY)
        .stderr_capacity(PIPE_CAPACITY);
    for (key, value) in &args.env {
        wasi = wasi.env(key, value);
    }
    let mut linker = Linker::<WasiCtx>::new(&engine);
    wasplug_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    let mut runner = Runner {
        store: Store::new(&engine, wasi.build()),
        deadline: args.timeout.0.and_then(|t| Instant::now().checked_add(t)),
        stdin: None,
    };
    // The module's own start function (rare) runs unsliced.
    runner.store.set_fuel(u64::MAX)?;
    let end = match linker.instantiate_and_start(&mut runner.store, &module) {
        Ok(instance) => {
            let start = instance
                .get_func(&runner.store, "_start")
                .context("the instance lost its `_start` export")?;
            runner.drive(start)?
        }
        Err(error) if error.as_trap_code().is_some() || Stop::from_error(&error).is_some() => {
            end_of(&error)
        }
        Err(error) => bail!("cannot instantiate {}: {error}", args.module.display()),
    };
    runner.drain()?;
    Ok(match end {
        End::Exit(status) => ExitCode::from(u8::try_from(status & 0xff).unwrap_or(1)),
        End::Trap(reason) => {
            eprintln!("trap: {reason}");
            ExitCode::from(EXIT_TRAP)
        }
        End::Signal(signal) => {
            eprintln!("signal: the module raised signal {signal}");
            ExitCode::from(128u8.saturating_add(signal))
        }
        End::Timeout => {
            let limit = args.timeout.0.unwrap_or_default().as_secs_f64();
            eprintln!("error: the module ran past its timeout of {limit} s and was stopped");
            ExitCode::from(EXIT_TIMEOUT)
        }
    })
}
