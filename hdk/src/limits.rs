//! What one call to a plugin may use.

use std::time::Duration;

/// The limits of every call to one plugin.
///
/// Each limit has a finite default suited to untrusted code; raise it with
/// the `with_*` methods, or remove it with `None` where the method takes an
/// `Option`. Breaking a limit ends only that call, with the [`crate::Error`]
/// variant that names the limit and its value.
///
/// ```
/// use std::time::Duration;
/// use wasplug_hdk::Limits;
///
/// let limits = Limits::default()
///     .with_memory(Some(64 << 20))
///     .with_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(limits.memory(), Some(64 << 20));
/// assert_eq!(limits.fuel(), Some(Limits::DEFAULT_FUEL));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    memory: Option<u64>,
    fuel: Option<u64>,
    fuel_slice: u64,
    timeout: Option<Duration>,
    max_line: usize,
    stderr_kept: usize,
    host_calls: usize,
    max_input: usize,
    max_depth: usize,
    max_notifications: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: Some(Self::DEFAULT_MEMORY),
            fuel: Some(Self::DEFAULT_FUEL),
            fuel_slice: Self::DEFAULT_FUEL_SLICE,
            timeout: Some(Self::DEFAULT_TIMEOUT),
            max_line: Self::DEFAULT_MAX_LINE,
            stderr_kept: Self::DEFAULT_STDERR_KEPT,
            host_calls: Self::DEFAULT_HOST_CALLS,
            max_input: Self::DEFAULT_MAX_INPUT,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_notifications: Self::DEFAULT_MAX_NOTIFICATIONS,
        }
    }
}

impl Limits {
    /// Default linear-memory cap: 256 MiB.
    pub const DEFAULT_MEMORY: u64 = 256 << 20;
    /// Default fuel budget per call: 10 billion units (roughly 10–30 s of
    /// interpreted work on a laptop core).
    pub const DEFAULT_FUEL: u64 = 10_000_000_000;
    /// Default fuel slice: the guest yields to the executor after this much
    /// work: about 0.1–0.3 ms of interpreted code on a laptop core, 1 ms at
    /// worst on a loaded 2-core machine (`examples/latency.rs` measures it).
    pub const DEFAULT_FUEL_SLICE: u64 = 100_000;
    /// Default wall-clock timeout per call: 30 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default largest message line (and unterminated stdout): 16 MiB.
    pub const DEFAULT_MAX_LINE: usize = 16 << 20;
    /// Default stderr bytes kept per call for error reports: 64 KiB.
    pub const DEFAULT_STDERR_KEPT: usize = 64 << 10;
    /// Default host calls in flight per call: 64.
    pub const DEFAULT_HOST_CALLS: usize = 64;
    /// Default bytes of input waiting for the guest to read: 32 MiB.
    pub const DEFAULT_MAX_INPUT: usize = 32 << 20;
    /// Default nesting depth of JSON from the guest: 64.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// Default notifications from the guest waiting for their handlers: 64.
    pub const DEFAULT_MAX_NOTIFICATIONS: usize = 64;

    /// Memory cap in bytes: linear memory plus tables, each table element
    /// counted as [`wasplug_wasi::TABLE_ELEMENT_BYTES`] (`None`: only wasm's
    /// own 4 GiB bound). A refused `memory.grow` returns -1 to the guest, as
    /// the spec says; when that ends the call, the error is
    /// [`crate::ErrorKind::MemoryLimit`].
    pub fn with_memory(mut self, bytes: Option<u64>) -> Self {
        self.memory = bytes;
        self
    }

    /// Fuel budget per call (`None`: unbounded). Exceeding it ends the call
    /// with [`crate::ErrorKind::OutOfFuel`]. It pays for the guest's code (its
    /// start function included), for the work WASI calls do for it, and for
    /// the host's work on each line it writes (a stderr line 32 units, a
    /// stdout line 8, a message 160 more).
    pub fn with_fuel(mut self, units: Option<u64>) -> Self {
        self.fuel = units;
        self
    }

    /// Fuel per slice: how much the guest runs before it yields to the
    /// executor (at least 1). Not a limit: it trades latency for throughput.
    pub fn with_fuel_slice(mut self, units: u64) -> Self {
        self.fuel_slice = units.max(1);
        self
    }

    /// Wall-clock timeout per call (`None`: none). Checked at every slice and
    /// while the guest is suspended; ends the call with [`crate::ErrorKind::Timeout`].
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest message line the guest may write, and the most stdout bytes
    /// not yet forming a line; more ends the call with
    /// [`crate::ErrorKind::LineTooLong`]. It also bounds the guest's messages
    /// the host holds: once host calls in flight and notifications waiting
    /// for their handlers take this many bytes (counted by their lines),
    /// the guest's output is not read until some are done (the guest is
    /// suspended on its next write: backpressure, not an error).
    pub fn with_max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// Stderr bytes kept per call for error reports; the rest is dropped and
    /// counted. Every line still reaches the logger.
    pub fn with_stderr_kept(mut self, bytes: usize) -> Self {
        self.stderr_kept = bytes;
        self
    }

    /// Host calls the guest may have in flight at once; more ends the call
    /// with [`crate::ErrorKind::TooManyHostCalls`].
    pub fn with_host_calls(mut self, calls: usize) -> Self {
        self.host_calls = calls;
        self
    }

    /// Bytes of input (answers to host calls) that may wait for the guest to
    /// read them; more ends the call with [`crate::ErrorKind::InputLimit`].
    pub fn with_max_input(mut self, bytes: usize) -> Self {
        self.max_input = bytes;
        self
    }

    /// Nesting depth of JSON the guest sends; deeper ends the call with a
    /// protocol error, before any recursive parsing.
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Notifications from the guest that may wait for their handlers (at
    /// least 1). When that many wait, the host reads no more of the guest's
    /// output until one has run: a guest that goes on writing fills its
    /// stdout pipe and is suspended (backpressure), nothing piles up.
    pub fn with_max_notifications(mut self, count: usize) -> Self {
        self.max_notifications = count.max(1);
        self
    }

    /// The notifications that may wait for their handlers.
    pub fn max_notifications(&self) -> usize {
        self.max_notifications
    }

    /// The memory cap in bytes (linear memory and tables).
    pub fn memory(&self) -> Option<u64> {
        self.memory
    }

    /// The fuel budget per call.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
    }

    /// The fuel slice.
    pub fn fuel_slice(&self) -> u64 {
        self.fuel_slice
    }

    /// The wall-clock timeout per call.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The largest message line.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// The stderr bytes kept per call.
    pub fn stderr_kept(&self) -> usize {
        self.stderr_kept
    }

    /// The host calls in flight per call.
    pub fn host_calls(&self) -> usize {
        self.host_calls
    }

    /// The bytes of input waiting for the guest.
    pub fn max_input(&self) -> usize {
        self.max_input
    }

    /// The JSON nesting depth.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }
}
