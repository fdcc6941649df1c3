//! Runs a `wasm32-wasip1` program to completion under `wasplug-wasi`, the way an
//! embedder does: a resumable call of `_start`, and at every suspension
//! ([`Stop::Blocked`]) what it asks — feed stdin, wait out a sleep, drain
//! output — then [`complete`] and resume.
//!
//! ```
//! use wasplug_tests::{guests, wasi::GuestRun};
//!
//! let out = GuestRun::new(guests::WASI_PROBE)
//!     .ctx(|ctx| ctx.args(["wasi-probe", "echo"]))
//!     .stdin_chunks(["hello, ", "world"])
//!     .run()?;
//! assert_eq!(out.stdout, b"hello, world");
//! assert_eq!(out.status, 0);
//! # Ok::<(), wasplug_tests::wasi::RunError>(())
//! ```

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmi::{Engine, Module};
use wasplug_wasi::{
    Blocked, End, Guest, GuestLimits, ModuleError, Outcome, Program, WasiCtx, WasiCtxBuilder,
};

/// The most suspensions one run may have before it is called stuck: far
/// above what any test guest needs, low enough to end a guest that keeps
/// blocking.
const MAX_SUSPENSIONS: u32 = 100_000;

/// A guest program to run to completion, and what its world looks like.
#[derive(Debug)]
pub struct GuestRun {
    wasm: PathBuf,
    ctx: WasiCtxBuilder,
    stdin: VecDeque<Vec<u8>>,
    chunk_gap: Duration,
}

impl GuestRun {
    /// Runs the `.wasm` file at `wasm`, with an empty context (no arguments,
    /// no environment, stdin closed once it is empty).
    pub fn new(wasm: impl AsRef<Path>) -> Self {
        Self {
            wasm: wasm.as_ref().to_path_buf(),
            ctx: WasiCtx::builder(),
            stdin: VecDeque::new(),
            chunk_gap: Duration::ZERO,
        }
    }

    /// Configures the guest's [`WasiCtx`] (arguments, environment, pipe
    /// capacities, clock, random source).
    pub fn ctx(mut self, configure: impl FnOnce(WasiCtxBuilder) -> WasiCtxBuilder) -> Self {
        self.ctx = configure(self.ctx);
        self
    }

    /// The stdin the guest gets, chunk by chunk: nothing is pushed until the
    /// guest waits for input, then one chunk per wait; when none is left,
    /// stdin is closed. So the guest is suspended between any two chunks.
    pub fn stdin_chunks<I, C>(mut self, chunks: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Vec<u8>>,
    {
        self.stdin.extend(chunks.into_iter().map(Into::into));
        self
    }

    /// Real time that passes between the guest asking for input and the next
    /// chunk (or the end of input) arriving. Default: none.
    pub fn chunk_gap(mut self, gap: Duration) -> Self {
        self.chunk_gap = gap;
        self
    }

    /// Instantiates the guest and calls `_start` until it returns or exits.
    ///
    /// # Errors
    /// When the file cannot be read or compiled, the guest traps, raises a
    /// signal, exports no memory or `_start`, or stays blocked.
    pub fn run(self) -> Result<GuestOutput, RunError> {
        let Self {
            wasm,
            ctx,
            stdin,
            chunk_gap,
        } = self;
        let bytes = std::fs::read(&wasm).map_err(|e| RunError::Read(wasm.clone(), e))?;
        let engine = Engine::default();
        let program = Program::new(&engine, &bytes)?;
        let mut guest = Guest::new(&program, ctx.build(), GuestLimits::default());
        let mut embedder = Embedder {
            stdin,
            chunk_gap,
            out: GuestOutput::default(),
        };
        let outcome = wasplug_wasi::run(&mut guest, None, &mut embedder)?;
        let mut out = embedder.out;
        out.resumptions = u32::try_from(guest.resumes()).unwrap_or(u32::MAX);
        out.status = match outcome {
            Outcome::End(End::Exit(status)) => status,
            Outcome::End(End::Signal(signal)) => return Err(RunError::Signal(signal)),
            Outcome::End(End::NoMemory) => return Err(RunError::NoMemory),
            Outcome::End(End::OutOfFuel { .. }) => return Err(RunError::OutOfFuel),
            Outcome::End(other) => return Err(RunError::Ended(other)),
            Outcome::Timeout => return Err(RunError::Timeout),
        };
        Ok(out)
    }
}

/// Serves the guest's waits from a script: stdin chunks, real sleeps.
#[derive(Debug)]
struct Embedder {
    stdin: VecDeque<Vec<u8>>,
    chunk_gap: Duration,
    out: GuestOutput,
}

impl wasplug_wasi::Embedder for Embedder {
    type Error = RunError;

    fn drain(&mut self, ctx: &mut WasiCtx) -> Result<(), RunError> {
        self.out.drain(ctx);
        Ok(())
    }

    fn serve(
        &mut self,
        ctx: &mut WasiCtx,
        blocked: Blocked,
        _until: Option<Instant>,
    ) -> Result<(), RunError> {
        self.out.count(blocked);
        if self.out.suspensions() > MAX_SUSPENSIONS {
            return Err(RunError::Stuck(blocked));
        }
        match blocked {
            Blocked::Input { deadline } => self.serve_input(ctx, deadline),
            Blocked::Sleep { deadline } => {
                let blocked_at = ctx.monotonic_now();
                let resumed_at = sleep_until(ctx, deadline);
                self.out.sleeps.push(SleepWait {
                    blocked_at,
                    deadline,
                    resumed_at,
                });
            }
            // Output: drained after every step already.
            _ => {}
        }
        Ok(())
    }
}

impl Embedder {
    fn serve_input(&mut self, ctx: &mut WasiCtx, deadline: Option<u64>) {
        let gap = u64::try_from(self.chunk_gap.as_nanos()).unwrap_or(u64::MAX);
        let due = ctx.monotonic_now().saturating_add(gap);
        if let Some(deadline) = deadline.filter(|&d| d < due) {
            sleep_until(ctx, deadline);
            return;
        }
        sleep_until(ctx, due);
        match self.stdin.pop_front() {
            Some(chunk) => ctx.stdin_mut().push(&chunk),
            None => ctx.stdin_mut().close(),
        }
    }
}

/// Sleeps real time until the guest's monotonic clock reaches `deadline`;
/// returns the instant it did.
fn sleep_until(ctx: &mut WasiCtx, deadline: u64) -> u64 {
    loop {
        let now = ctx.monotonic_now();
        if now >= deadline {
            return now;
        }
        std::thread::sleep(Duration::from_nanos(deadline - now));
    }
}

/// What a guest did in one [`GuestRun::run`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GuestOutput {
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
    /// Its exit status: the `proc_exit` argument, or 0 when `_start` returned.
    pub status: i32,
    /// How many times it was suspended waiting for stdin ([`Blocked::Input`]).
    pub input_waits: u32,
    /// How many times it was suspended sleeping ([`Blocked::Sleep`]).
    pub sleep_waits: u32,
    /// How many times it was suspended on a full stdout or stderr ([`Blocked::Output`]).
    pub output_waits: u32,
    /// How many times it was resumed after a suspension.
    pub resumptions: u32,
    /// Each sleep it was suspended for, in order.
    pub sleeps: Vec<SleepWait>,
}

impl GuestOutput {
    fn count(&mut self, blocked: Blocked) {
        match blocked {
            Blocked::Input { .. } => self.input_waits += 1,
            Blocked::Sleep { .. } => self.sleep_waits += 1,
            // `Output`, and any later kind.
            _ => self.output_waits += 1,
        }
    }

    /// All suspensions, of any kind.
    pub fn suspensions(&self) -> u32 {
        self.input_waits + self.sleep_waits + self.output_waits
    }

    fn drain(&mut self, ctx: &mut WasiCtx) {
        self.stdout.extend(ctx.stdout_mut().take());
        self.stderr.extend(ctx.stderr_mut().take());
    }

    /// stdout as UTF-8 (lossy), for readable assertions.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as UTF-8 (lossy), for readable assertions.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// One [`Blocked::Sleep`] suspension, as instants (ns) on the guest's
/// monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SleepWait {
    /// When the embedder saw the suspension.
    pub blocked_at: u64,
    /// The deadline the guest asked for.
    pub deadline: u64,
    /// When the embedder completed the call (after the deadline).
    pub resumed_at: u64,
}

/// Why [`GuestRun::run`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The `.wasm` file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, #[source] std::io::Error),
    /// The module cannot run in the subset (invalid, refused imports, not
    /// a command).
    #[error(transparent)]
    Module(#[from] ModuleError),
    /// Reading the module's imports failed.
    #[error(transparent)]
    Wasm(#[from] wasmi::Error),
    /// The guest raised a terminating signal.
    #[error("the guest raised signal {0}")]
    Signal(u8),
    /// The guest exports no memory named `memory`.
    #[error("the guest exports no memory")]
    NoMemory,
    /// The guest ran out of fuel (the engine here has none, so: never).
    #[error("the guest ran out of fuel")]
    OutOfFuel,
    /// The guest ended otherwise (a trap, say).
    #[error("the guest ended: {0:?}")]
    Ended(End),
    /// The run's deadline passed (runs here have none, so: never).
    #[error("the guest timed out")]
    Timeout,
    /// The guest kept suspending: more than the run allows.
    #[error("the guest is stuck: {0}")]
    Stuck(Blocked),
}

/// The WASI functions a module imports (`wasi_snapshot_preview1` names, in
/// import order, repeats kept), e.g. to check which calls a toolchain makes.
///
/// # Errors
/// When the file cannot be read or is not a valid module.
pub fn wasi_imports(wasm: impl AsRef<Path>) -> Result<Vec<String>, RunError> {
    let path = wasm.as_ref();
    let bytes = std::fs::read(path).map_err(|e| RunError::Read(path.to_path_buf(), e))?;
    let module = Module::new(&Engine::default(), bytes)?;
    Ok(module
        .imports()
        .filter(|import| import.module() == wasplug_wasi::MODULE)
        .map(|import| import.name().to_owned())
        .collect())
}

/// Wall-clock time of `f`, for tests that check the embedder really waited.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}
