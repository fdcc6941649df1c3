//! Warm starts: a module's init runs once, and every guest starts from the
//! state it left.
//!
//! A module that exports [`INIT_EXPORT`] (no params, no results) gets, at
//! [`Program::new`], an export for each of its mutable globals (wasmi reads
//! only exported ones). [`Program::initialize`] instantiates it, runs its
//! start function and then the init, metered like any guest, and captures
//! the result: the memory's size, the bytes that differ from a fresh
//! instance's memory, and the globals' values. A guest of the program it
//! returns instantiates as usual (data segments included), then grows its
//! memory to the captured size, writes the differing bytes and sets the
//! globals, and runs `_start` (not the start function again: its effects
//! are in the image). Each guest still has its own store: no guest sees
//! another's writes.

use crate::{
    Blocked, End, Guest, GuestLimits, ModuleError, Program, WasiCtx,
    driver::{self, Embedder, GuestState, Outcome},
    module::EXPORT_GLOBAL,
};
use std::ops::Range;
use wasmi::{Instance, Store, Val};
use web_time::Instant;

/// The export a module's init goes by: a function taking and returning
/// nothing, run once by [`Program::initialize`].
pub const INIT_EXPORT: &str = "wasplug_init";

/// The prefix of the names under which a module with an init exports its
/// mutable globals (then the global's index).
const GLOBAL_EXPORT: &str = "\0wasplug:global:";

/// Differing bytes closer than this are written as one run: a write costs
/// more than copying a few equal bytes.
const RUN_GAP: usize = 32;

/// The stderr of the init kept for its report and its error.
pub const INIT_STDERR_KEPT: usize = 8 << 10;

/// The mutable globals of a module, by index: what a warm start captures
/// and a recycled instance's reset writes back.
#[derive(Debug)]
pub(crate) struct Globals {
    /// Export names of the numeric mutable globals, with their index.
    numeric: Vec<(String, u32)>,
    /// How many mutable globals hold references, which cannot be carried
    /// from one store to another.
    references: usize,
}

impl Globals {
    /// Reads the global section of a binary module.
    pub(crate) fn of(binary: &[u8]) -> Result<Self, ModuleError> {
        let invalid = |e: wasmparser::BinaryReaderError| ModuleError::Invalid {
            reason: e.to_string(),
        };
        let mut index: u32 = 0;
        let mut globals = Self {
            numeric: Vec::new(),
            references: 0,
        };
        for payload in wasmparser::Parser::new(0).parse_all(binary) {
            match payload.map_err(invalid)? {
                wasmparser::Payload::ImportSection(imports) => {
                    for import in imports {
                        if let wasmparser::TypeRef::Global(_) = import.map_err(invalid)?.ty {
                            index = index.saturating_add(1);
                        }
                    }
                }
                wasmparser::Payload::GlobalSection(section) => {
                    for global in section {
                        let ty = global.map_err(invalid)?.ty;
                        if ty.mutable {
                            match ty.content_type {
                                wasmparser::ValType::Ref(_) => globals.references += 1,
                                _ => globals
                                    .numeric
                                    .push((format!("{GLOBAL_EXPORT}{index}"), index)),
                            }
                        }
                        index = index.saturating_add(1);
                    }
                }
                wasmparser::Payload::CodeSectionStart { .. } => break,
                _ => {}
            }
        }
        Ok(globals)
    }

    /// How many mutable globals hold references.
    pub(crate) fn references(&self) -> usize {
        self.references
    }

    /// Export names of the numeric mutable globals.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.numeric.iter().map(|(name, _)| name.as_str())
    }

    /// The exports to add: (name, kind, index).
    pub(crate) fn exports(&self) -> impl Iterator<Item = (String, u8, u32)> + '_ {
        self.numeric
            .iter()
            .map(|(name, index)| (name.clone(), EXPORT_GLOBAL, *index))
    }
}

/// The state of an instance after its init: what a guest of a warm
/// [`Program`] starts from.
pub(crate) struct Snapshot {
    /// The memory's size, in bytes.
    memory: u64,
    /// How to write each run of differing bytes.
    runs: Vec<Run>,
    /// The bytes the [`Run::Copy`]s copy.
    bytes: Box<[u8]>,
    /// Bytes the runs write.
    written: usize,
    globals: Vec<(String, Val)>,
}

impl core::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Snapshot")
            .field("memory", &self.memory)
            .field("runs", &self.runs.len())
            .field("bytes", &self.bytes.len())
            .field("globals", &self.globals.len())
            .finish()
    }
}

impl Snapshot {
    /// Captures the state of `instance`: its globals, and its memory
    /// against `fresh`, the memory of an instance no code ran in.
    fn capture(
        store: &Store<GuestState>,
        instance: Instance,
        globals: &Globals,
        fresh: &[u8],
    ) -> Result<Self, InitFailure> {
        let memory = instance
            .get_memory(store, "memory")
            .ok_or(InitFailure::Ended(End::NoMemory))?;
        let image = memory.data(store);
        let mut runs: Vec<Run> = Vec::new();
        let mut bytes = Vec::new();
        let mut run: Option<Range<usize>> = None;
        for (at, byte) in image.iter().enumerate() {
            if fresh.get(at).copied().unwrap_or(0) == *byte {
                continue;
            }
            run = match run {
                Some(r) if at - r.end <= RUN_GAP => Some(r.start..at + 1),
                Some(r) => {
                    push_run(&mut runs, &mut bytes, image, r);
                    Some(at..at + 1)
                }
                None => Some(at..at + 1),
            };
        }
        if let Some(r) = run {
            push_run(&mut runs, &mut bytes, image, r);
        }
        let globals = globals
            .numeric
            .iter()
            .map(|(name, _)| {
                let global =
                    instance
                        .get_global(store, name)
                        .ok_or_else(|| InitFailure::Unsupported {
                            what: "lost the export of one of its globals".into(),
                        })?;
                Ok((name.clone(), global.get(store)))
            })
            .collect::<Result<_, InitFailure>>()?;
        let written = runs.iter().map(Run::len).sum();
        Ok(Self {
            memory: u64::try_from(image.len()).unwrap_or(u64::MAX),
            written,
            runs,
            bytes: bytes.into(),
            globals,
        })
    }

    /// Brings a fresh instance (data segments written, no code run) to the
    /// captured state.
    ///
    /// # Errors
    /// When the memory cannot grow to the captured size (the guest's
    /// memory limit is lower than the init's).
    pub(crate) fn restore(
        &self,
        store: &mut Store<GuestState>,
        instance: Instance,
    ) -> Result<(), wasmi::Error> {
        let memory = instance
            .get_memory(&*store, "memory")
            .ok_or_else(|| wasmi::Error::new("the instance lacks its memory"))?;
        let have = memory.data_size(&*store) as u64;
        let pages = self.memory.saturating_sub(have) / PAGE;
        if pages > 0 {
            memory.grow(&mut *store, pages)?;
        }
        let data = memory.data_mut(&mut *store);
        let misfit = || wasmi::Error::new("the memory image does not fit");
        for run in &self.runs {
            match run {
                Run::Copy { at, from } => {
                    let to = data.get_mut(*at..at + from.len()).ok_or_else(misfit)?;
                    to.copy_from_slice(self.bytes.get(from.clone()).ok_or_else(misfit)?);
                }
                Run::Fill { at, len, byte } => {
                    data.get_mut(*at..at + len).ok_or_else(misfit)?.fill(*byte);
                }
            }
        }
        for (name, value) in &self.globals {
            instance
                .get_global(&*store, name)
                .ok_or_else(|| wasmi::Error::new("the instance lacks a global"))?
                .set(&mut *store, value.clone())?;
        }
        Ok(())
    }

    /// Bytes the restore writes (besides growing the memory).
    pub(crate) fn image_bytes(&self) -> usize {
        self.written
    }

    /// The memory's size after the init, in bytes.
    pub(crate) fn memory_bytes(&self) -> u64 {
        self.memory
    }
}

/// A wasm page, in bytes.
const PAGE: u64 = 65_536;

/// How a restore writes one run of bytes.
#[derive(Debug)]
enum Run {
    /// Copies `bytes[from]` to `at`.
    Copy { at: usize, from: Range<usize> },
    /// Writes `len` times `byte` from `at`: what an init that fills memory
    /// left costs the same fill to restore, never a longer copy.
    Fill { at: usize, len: usize, byte: u8 },
}

impl Run {
    fn len(&self) -> usize {
        match self {
            Run::Copy { from, .. } => from.len(),
            Run::Fill { len, .. } => *len,
        }
    }
}

/// Repeats of one byte at least this long are filled, not copied.
const FILL_MIN: usize = 128;

/// Adds the runs that write `image[run]`: fills for long repeats of one
/// byte, copies for the rest.
fn push_run(runs: &mut Vec<Run>, bytes: &mut Vec<u8>, image: &[u8], run: Range<usize>) {
    let Some(slice) = image.get(run.clone()) else {
        return;
    };
    let mut copy_from = 0;
    let mut at = 0;
    let mut push_copy = |runs: &mut Vec<Run>, from: usize, to: usize| {
        if to > from {
            let start = bytes.len();
            bytes.extend_from_slice(slice.get(from..to).unwrap_or_default());
            runs.push(Run::Copy {
                at: run.start + from,
                from: start..bytes.len(),
            });
        }
    };
    while let Some(&byte) = slice.get(at) {
        let len = slice
            .get(at..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| **b == byte)
            .count();
        if len >= FILL_MIN {
            push_copy(runs, copy_from, at);
            runs.push(Run::Fill {
                at: run.start + at,
                len,
                byte,
            });
            copy_from = at + len;
        }
        at += len.max(1);
    }
    push_copy(runs, copy_from, slice.len());
}

/// What running an init did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitReport {
    /// Fuel the start function and the init used.
    pub fuel_used: u64,
    /// The memory's size after the init, in bytes: every guest starts with
    /// this much.
    pub memory_bytes: u64,
    /// Bytes of memory that differ from a fresh instance's: what each guest
    /// writes before it runs.
    pub image_bytes: u64,
    /// Wall time of the init (start function included) and the capture.
    pub init_time: std::time::Duration,
    /// What the init wrote to stderr (its last [`INIT_STDERR_KEPT`] bytes).
    pub stderr: Vec<u8>,
}

/// Why an init failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitFailure {
    /// It trapped, broke a limit, or the start function exited.
    Ended(End),
    /// It called `proc_exit` (even with 0: the state after an exit is not
    /// one to start calls from).
    Exited(i32),
    /// It ran past the deadline.
    Timeout,
    /// It waited: for stdin (there is none during the init) or a clock.
    Waited {
        /// What it waited for.
        what: &'static str,
    },
    /// It wrote to stdout, which is for messages, and the init has no peer.
    WroteStdout,
    /// The module does what warm starts cannot capture.
    Unsupported {
        /// What, as the end of "it ...".
        what: String,
    },
}

impl core::fmt::Display for InitFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Ended(End::Exit(status)) => write!(f, "exited with status {status}"),
            Self::Ended(End::Signal(signal)) => write!(f, "raised signal {signal}"),
            Self::Ended(End::Trap { message, .. }) => write!(f, "trapped: {message}"),
            Self::Ended(End::OutOfFuel { limit }) => {
                write!(f, "ran out of fuel (limit {limit})")
            }
            Self::Ended(End::MemoryLimit { limit }) => {
                write!(f, "needed more memory than the limit of {limit} bytes")
            }
            Self::Ended(End::NoMemory) => f.write_str("has no memory exported as `memory`"),
            Self::Exited(status) => write!(f, "called proc_exit({status})"),
            Self::Timeout => f.write_str("ran past its timeout"),
            Self::Waited { what } => {
                write!(f, "waited for {what}; an init may not read stdin or sleep")
            }
            Self::WroteStdout => f.write_str("wrote to stdout; an init may write to stderr only"),
            Self::Unsupported { what } => write!(f, "{what}, which warm starts do not support"),
        }
    }
}

/// A module's init (`wasplug_init`) failed: [`Program::initialize`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its init (`{INIT_EXPORT}`) {failure}{}", stderr_tail(.stderr))]
#[non_exhaustive]
pub struct InitError {
    /// What went wrong.
    pub failure: InitFailure,
    /// What the init wrote to stderr (its last [`INIT_STDERR_KEPT`] bytes).
    pub stderr: Vec<u8>,
}

fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim_end();
    match text.is_empty() {
        true => String::new(),
        false => format!("; its stderr ends: {}", text.escape_debug()),
    }
}

/// Serves the init's run: keeps the tail of its stderr, refuses stdout and
/// every wait.
struct InitEmbedder {
    stderr: Vec<u8>,
}

impl Embedder for InitEmbedder {
    type Error = InitFailure;

    fn drain(&mut self, wasi: &mut WasiCtx) -> Result<(), InitFailure> {
        if !wasi.stdout().is_empty() {
            return Err(InitFailure::WroteStdout);
        }
        let err = wasi.stderr_mut().take();
        self.stderr.extend_from_slice(&err);
        let over = self.stderr.len().saturating_sub(INIT_STDERR_KEPT);
        self.stderr.drain(..over);
        Ok(())
    }

    fn serve(
        &mut self,
        _wasi: &mut WasiCtx,
        blocked: Blocked,
        _until: Option<Instant>,
    ) -> Result<(), InitFailure> {
        match blocked {
            Blocked::Input { .. } => Err(InitFailure::Waited { what: "stdin" }),
            Blocked::Sleep { .. } => Err(InitFailure::Waited { what: "a clock" }),
            // Drained after every step: there is room again.
            Blocked::Output { .. } | Blocked::Busy => Ok(()),
        }
    }
}

impl Program {
    /// Runs the module's init ([`INIT_EXPORT`]) once, on this thread, and
    /// returns the program whose guests start from the state it leaves,
    /// with a report. A program without an init is returned as it is.
    ///
    /// The init runs as a guest does: its start function first, then the
    /// init, in fuel slices under `limits`, until `deadline`, with `wasi`
    /// as its WASI context (its arguments and environment are the ones the
    /// calls will see; its stdin should be empty). It must return: a trap,
    /// a broken limit, `proc_exit`, a wait (reading stdin, sleeping) or a
    /// write to stdout fails it.
    ///
    /// # Errors
    /// [`InitError`]: what went wrong, and the tail of its stderr.
    ///
    /// # Example
    /// ```
    /// use wasplug_wasi::{GuestLimits, Program, WasiCtx};
    ///
    /// let wat = r#"(module
    ///   (memory (export "memory") 1)
    ///   (global $calls (mut i32) (i32.const 0))
    ///   (func (export "wasplug_init") (i32.store (i32.const 64) (i32.const 42)))
    ///   (func (export "_start")))"#;
    /// let mut config = wasmi::Config::default();
    /// config.consume_fuel(true);
    /// let engine = wasmi::Engine::new(&config);
    /// let program = Program::new(&engine, wat.as_bytes())?;
    /// assert!(program.has_init());
    /// let (warm, report) = program.initialize(WasiCtx::builder().build(), GuestLimits::default(), None)?;
    /// assert!(warm.is_warm());
    /// assert_eq!(report.image_bytes, 1); // the 42
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn initialize(
        &self,
        wasi: WasiCtx,
        limits: GuestLimits,
        deadline: Option<Instant>,
    ) -> Result<(Program, InitReport), InitError> {
        let Some(globals) = self.init_globals() else {
            return Ok((self.clone(), InitReport::empty()));
        };
        let started = Instant::now();
        let cold = self.cold();
        let mut embedder = InitEmbedder { stderr: Vec::new() };
        let fail = |failure, embedder: InitEmbedder| InitError {
            failure,
            stderr: embedder.stderr,
        };
        if globals.references > 0 {
            let what = format!("has {} mutable reference-typed globals", globals.references);
            return Err(fail(InitFailure::Unsupported { what }, embedder));
        }
        let mut guest = Guest::for_init(&cold, wasi, limits);
        let outcome = driver::run(&mut guest, deadline, &mut embedder);
        let failure = match outcome {
            Err(failure) => Some(failure),
            Ok(Outcome::Timeout) => Some(InitFailure::Timeout),
            Ok(Outcome::End(End::Exit(0))) => guest.wasi().exit_code().map(InitFailure::Exited),
            Ok(Outcome::End(End::Exit(status))) => Some(InitFailure::Exited(status)),
            Ok(Outcome::End(end)) => Some(InitFailure::Ended(end)),
        };
        if let Some(failure) = failure {
            return Err(fail(failure, embedder));
        }
        let fresh = match fresh_memory(&cold, limits) {
            Ok(fresh) => fresh,
            Err(end) => return Err(fail(InitFailure::Ended(end), embedder)),
        };
        let snapshot = match guest.instance() {
            Some(instance) => Snapshot::capture(guest.store(), instance, globals, &fresh),
            None => Err(InitFailure::Ended(End::NoMemory)),
        };
        let snapshot = match snapshot {
            Ok(snapshot) => snapshot,
            Err(failure) => return Err(fail(failure, embedder)),
        };
        let report = InitReport {
            fuel_used: guest.fuel_used(),
            memory_bytes: snapshot.memory_bytes(),
            image_bytes: u64::try_from(snapshot.image_bytes()).unwrap_or(u64::MAX),
            init_time: started.elapsed(),
            stderr: embedder.stderr,
        };
        tracing::debug!(
            fuel = report.fuel_used,
            memory = report.memory_bytes,
            image = report.image_bytes,
            "warm start captured"
        );
        Ok((cold.with_snapshot(snapshot), report))
    }
}

impl InitReport {
    fn empty() -> Self {
        Self {
            fuel_used: 0,
            memory_bytes: 0,
            image_bytes: 0,
            init_time: std::time::Duration::ZERO,
            stderr: Vec::new(),
        }
    }
}

/// The memory of a fresh instance of `program` (data segments written, no
/// code run).
fn fresh_memory(program: &Program, limits: GuestLimits) -> Result<Vec<u8>, End> {
    let mut guest = Guest::new(program, WasiCtx::builder().build(), limits);
    let instance = guest.instantiate_only()?;
    let memory = instance
        .get_memory(guest.store(), "memory")
        .ok_or(End::NoMemory)?;
    Ok(memory.data(guest.store()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;

    /// Exits with memory pages * 100000 + g * 1000 + mem[100] * 100 +
    /// mem[60000] * 10 + start-function runs, after adding one to g and to
    /// mem[100] (writes no later guest may see).
    const WARM: &str = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (global $g (mut i32) (i32.const 1))
      (global $starts (mut i32) (i32.const 0))
      (global $k i32 (i32.const 3))
      (func $s (global.set $starts (i32.add (global.get $starts) (i32.const 1))))
      (start $s)
      (func (export "wasplug_init")
        (drop (memory.grow (i32.const 2)))
        (i32.store (i32.const 100) (i32.const 7))
        (i32.store8 (i32.const 60000) (i32.const 9))
        (i32.store (i32.const 150000) (i32.const 1))
        (global.set $g (i32.const 5)))
      (func (export "_start")
        (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (call $exit (i32.add
          (i32.add (i32.mul (memory.size) (i32.const 100000))
                   (i32.mul (global.get $g) (i32.const 1000)))
          (i32.add (i32.mul (i32.load (i32.const 100)) (i32.const 100))
                   (i32.add (i32.mul (i32.load8_u (i32.const 60000)) (i32.const 10))
                            (global.get $starts)))))))"#;

    fn engine() -> wasmi::Engine {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        wasmi::Engine::new(&config)
    }

    fn limits() -> GuestLimits {
        GuestLimits::default()
            .with_fuel(Some(1_000_000))
            .with_memory(Some(1 << 20))
    }

    fn exit_of(program: &Program) -> End {
        let mut guest = Guest::new(program, WasiCtx::builder().build(), limits());
        loop {
            if let Step::End(end) = guest.step() {
                return end;
            }
        }
    }

    fn init(wat: &str) -> Result<(Program, InitReport), InitError> {
        Program::new(&engine(), wat.as_bytes()).unwrap().initialize(
            WasiCtx::builder().build(),
            limits(),
            None,
        )
    }

    #[test]
    fn every_guest_starts_from_the_state_after_the_init() {
        let program = Program::new(&engine(), WARM.as_bytes()).unwrap();
        assert!(program.has_init() && !program.is_warm());
        // Without the init: 1 page, g 1 + 1, mem[100] 0 + 1, one start.
        assert_eq!(exit_of(&program), End::Exit(102_101));
        let (warm, report) = program
            .initialize(WasiCtx::builder().build(), limits(), None)
            .unwrap();
        assert!(warm.is_warm());
        assert_eq!(report.memory_bytes, 3 * PAGE);
        // One byte differs in each word written (7, 9, 1), far apart.
        assert_eq!(report.image_bytes, 3);
        assert!(report.fuel_used > 0);
        // 3 pages, g 5 + 1, mem[100] 7 + 1, mem[60000] 9, the start
        // function ran once (in the init), never again: every time.
        for _ in 0..3 {
            assert_eq!(exit_of(&warm), End::Exit(306_891));
        }
        // The cold program is untouched.
        assert_eq!(exit_of(&program), End::Exit(102_101));
    }

    #[test]
    fn filled_memory_is_restored_by_fills_and_the_rest_by_copies() {
        let wat = r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "wasplug_init")
            (memory.fill (i32.const 1000) (i32.const 7) (i32.const 5000))
            (i32.store (i32.const 1200) (i32.const 0x04030201)))
          (func (export "_start")
            (call $exit (i32.add (i32.load8_u (i32.const 5999))
              (i32.add (i32.load8_u (i32.const 1203)) (i32.load8_u (i32.const 6000)))))))"#;
        let (warm, report) = init(wat).unwrap();
        assert_eq!(report.image_bytes, 5000);
        let snapshot = warm.snapshot().unwrap();
        let kinds: Vec<_> = snapshot
            .runs
            .iter()
            .map(|run| match run {
                Run::Copy { from, .. } => ("copy", from.len()),
                Run::Fill { len, .. } => ("fill", *len),
            })
            .collect();
        assert_eq!(kinds, [("fill", 200), ("copy", 4), ("fill", 4796)]);
        assert_eq!(exit_of(&warm), End::Exit(7 + 4));
    }

    #[test]
    fn a_module_without_an_init_is_unchanged() {
        let wat = r#"(module (memory (export "memory") 1) (global (mut i32) (i32.const 0))
          (func (export "_start")))"#;
        let program = Program::new(&engine(), wat.as_bytes()).unwrap();
        assert!(!program.has_init());
        // Besides its own two exports, only the names recycling reads.
        let own = |e: &wasmi::ExportType<'_>| !e.name().starts_with('\0');
        assert_eq!(program.module().exports().filter(own).count(), 2);
        let (same, report) = program
            .initialize(WasiCtx::builder().build(), limits(), None)
            .unwrap();
        assert!(!same.is_warm());
        assert_eq!(report.fuel_used, 0);
        // An init with params is not an init.
        let wat = r#"(module (memory (export "memory") 1)
          (func (export "wasplug_init") (param i32)) (func (export "_start")))"#;
        assert!(!Program::new(&engine(), wat.as_bytes()).unwrap().has_init());
    }

    fn failure(body: &str) -> InitFailure {
        let wat = format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              (memory (export "memory") 1)
              (data (i32.const 0) "\10\00\00\00\04\00\00\00")
              (data (i32.const 16) "oops")
              (func (export "wasplug_init") {body})
              (func (export "_start")))"#
        );
        init(&wat).map(|_| ()).unwrap_err().failure
    }

    #[test]
    fn a_hostile_init_fails_with_what_it_did() {
        assert_eq!(
            failure("(loop (br 0))"),
            InitFailure::Ended(End::OutOfFuel { limit: 1_000_000 })
        );
        // A refused grow, then a trap: the limit is what it broke.
        assert_eq!(
            failure("(drop (memory.grow (i32.const 100))) (unreachable)"),
            InitFailure::Ended(End::MemoryLimit { limit: 1 << 20 })
        );
        assert!(matches!(
            failure("(unreachable)"),
            InitFailure::Ended(End::Trap { .. })
        ));
        assert_eq!(
            failure("(call $exit (i32.const 0))"),
            InitFailure::Exited(0)
        );
        assert_eq!(
            failure("(drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))"),
            InitFailure::WroteStdout
        );
        assert_eq!(
            failure("(drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))"),
            InitFailure::Waited { what: "stdin" }
        );
    }

    #[test]
    fn a_growing_init_breaks_the_memory_limit() {
        let wat = r#"(module (memory (export "memory") 1)
          (func (export "wasplug_init")
            (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
            (i32.store (i32.const 2000000) (i32.const 1)))
          (func (export "_start")))"#;
        let error = init(wat).map(|_| ()).unwrap_err();
        assert_eq!(
            error.failure,
            InitFailure::Ended(End::MemoryLimit { limit: 1 << 20 })
        );
    }

    #[test]
    fn the_error_names_the_init_and_ends_with_its_stderr() {
        let wat = r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "\10\00\00\00\05\00\00\00")
          (data (i32.const 16) "boom\n")
          (func (export "wasplug_init")
            (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
            unreachable)
          (func (export "_start")))"#;
        let error = init(wat).map(|_| ()).unwrap_err();
        assert_eq!(error.stderr, b"boom\n");
        let text = error.to_string();
        assert!(
            text.starts_with("its init (`wasplug_init`) trapped"),
            "{text}"
        );
        assert!(text.ends_with("its stderr ends: boom"), "{text}");
    }

    #[test]
    fn a_spinning_init_without_a_budget_stops_at_the_deadline() {
        let wat = r#"(module (memory (export "memory") 1)
          (func (export "wasplug_init") (loop (br 0))) (func (export "_start")))"#;
        let program = Program::new(&engine(), wat.as_bytes()).unwrap();
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        let started = Instant::now();
        let error = program
            .initialize(
                WasiCtx::builder().build(),
                GuestLimits::default(),
                Some(deadline),
            )
            .map(|_| ())
            .unwrap_err();
        assert_eq!(error.failure, InitFailure::Timeout);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn a_call_with_less_memory_than_the_image_breaks_its_limit() {
        let (warm, _) = init(WARM).unwrap();
        let small = GuestLimits::default().with_memory(Some(2 * PAGE));
        let mut guest = Guest::new(&warm, WasiCtx::builder().build(), small);
        assert_eq!(
            guest.step(),
            Step::End(End::MemoryLimit { limit: 2 * PAGE })
        );
    }
}
