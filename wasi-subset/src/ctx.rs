//! The per-guest WASI state and its builder.

use crate::{
    Blocked, Clock, InputPipe, OsRandom, OutputPipe, Random, SystemClock, stop::PendingCall,
};
use wasmi::Memory;

/// State of one of the three stdio descriptors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stdio {
    pub(crate) open: bool,
    pub(crate) nonblocking: bool,
}

/// Everything one guest instance sees of the outside world.
///
/// Put one in your store's data and hand [`crate::add_to_linker`] a projection
/// to it. Build it with [`WasiCtx::builder`]; nothing of the host process (its
/// arguments, environment, stdio) leaks in unless you add it.
///
/// ```
/// use wasplug_wasi::WasiCtx;
///
/// let mut ctx = WasiCtx::builder().arg("plugin").env("LANG", "C").build();
/// ctx.stdin_mut().push(b"hello\n");
/// ctx.stdin_mut().close();
/// assert_eq!(ctx.stdout().contents(), b"");
/// ```
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) stdin: InputPipe,
    pub(crate) stdout: OutputPipe,
    pub(crate) stderr: OutputPipe,
    pub(crate) clock: Box<dyn Clock>,
    pub(crate) random: Box<dyn Random>,
    pub(crate) stdio: [Stdio; 3],
    pub(crate) pending: Option<PendingCall>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) started: u64,
    /// The memory the functions read and write, if the embedder named it
    /// (else the calling instance's `memory` export, looked up per call).
    pub(crate) memory: Option<Memory>,
}

impl core::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("stdin", &self.stdin)
            .field("stdout_len", &self.stdout.len())
            .field("stderr_len", &self.stderr.len())
            .field("pending", &self.pending)
            .field("exit_code", &self.exit_code)
            .finish_non_exhaustive()
    }
}

impl WasiCtx {
    /// Starts building a context: no arguments, no environment, empty stdio,
    /// the system clock and the OS random source.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// The guest's stdin, to push input into.
    pub fn stdin_mut(&mut self) -> &mut InputPipe {
        &mut self.stdin
    }

    /// The guest's stdin.
    pub fn stdin(&self) -> &InputPipe {
        &self.stdin
    }

    /// What the guest wrote to stdout and the embedder has not taken yet.
    pub fn stdout(&self) -> &OutputPipe {
        &self.stdout
    }

    /// The guest's stdout, to take bytes out of.
    pub fn stdout_mut(&mut self) -> &mut OutputPipe {
        &mut self.stdout
    }

    /// What the guest wrote to stderr and the embedder has not taken yet.
    pub fn stderr(&self) -> &OutputPipe {
        &self.stderr
    }

    /// The guest's stderr, to take bytes out of.
    pub fn stderr_mut(&mut self) -> &mut OutputPipe {
        &mut self.stderr
    }

    /// The status the guest passed to `proc_exit`, once it has called it.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// Why the guest is suspended, if it is (see [`crate::complete`]).
    pub fn blocked(&self) -> Option<Blocked> {
        self.pending.map(|p| p.blocked)
    }

    /// Names the linear memory the WASI functions read and write: the
    /// `memory` export of the one instance in the store that uses this
    /// context. Without it each call looks that export up by name in the
    /// calling instance's exports, which costs a WASI call a few hundred
    /// instructions. Set it only where one instance uses the context.
    pub fn set_memory(&mut self, memory: Memory) {
        self.memory = Some(memory);
    }

    /// Now, on the monotonic clock the guest sees (nanoseconds); compare it
    /// with the deadlines in [`Blocked`].
    pub fn monotonic_now(&mut self) -> u64 {
        self.clock.monotonic()
    }
}

/// Builds a [`WasiCtx`] (by value: `WasiCtx::builder().arg("x").build()`).
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<String>,
    stdin: InputPipe,
    stdout_capacity: usize,
    stderr_capacity: usize,
    clock: Box<dyn Clock>,
    random: Box<dyn Random>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            stdin: InputPipe::default(),
            stdout_capacity: usize::MAX,
            stderr_capacity: usize::MAX,
            clock: Box::new(SystemClock::new()),
            random: Box::new(OsRandom),
        }
    }
}

impl core::fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl WasiCtxBuilder {
    /// Appends one argument (the first is, by convention, the program name).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.env
            .push(format!("{}={}", key.as_ref(), value.as_ref()));
        self
    }

    /// Starts stdin with these bytes.
    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin.push(bytes);
        self
    }

    /// Starts stdin with these bytes and closes it (the guest reads them, then EOF).
    pub fn stdin_closed(mut self, bytes: &[u8]) -> Self {
        self.stdin.push(bytes);
        self.stdin.close();
        self
    }

    /// The most bytes stdout holds before a write suspends the guest with
    /// [`Blocked::Output`]. Default: unbounded.
    pub fn stdout_capacity(mut self, bytes: usize) -> Self {
        self.stdout_capacity = bytes;
        self
    }

    /// The most bytes stderr holds before a write suspends the guest with
    /// [`Blocked::Output`]. Default: unbounded.
    pub fn stderr_capacity(mut self, bytes: usize) -> Self {
        self.stderr_capacity = bytes;
        self
    }

    /// The clocks the guest reads. Default: [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The source `random_get` draws from. Default: [`OsRandom`].
    pub fn random(mut self, random: impl Random + 'static) -> Self {
        self.random = Box::new(random);
        self
    }

    /// Finishes the context.
    pub fn build(self) -> WasiCtx {
        let mut clock = self.clock;
        let started = clock.monotonic();
        let stdio = Stdio {
            open: true,
            nonblocking: false,
        };
        WasiCtx {
            args: self.args,
            env: self.env,
            stdin: self.stdin,
            stdout: OutputPipe::with_capacity(self.stdout_capacity),
            stderr: OutputPipe::with_capacity(self.stderr_capacity),
            clock,
            random: self.random,
            stdio: [stdio; 3],
            pending: None,
            exit_code: None,
            started,
            memory: None,
        }
    }
}
