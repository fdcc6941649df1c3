//! Running a guest: the steps every executor shares. A [`Guest`] is one fresh
//! instance of a [`Program`]; [`Guest::step`] runs it until it stops (a fuel
//! slice used up, a WASI call that must wait, the end) and says why. The
//! host kit's async executor and the synchronous [`run`] below (used by
//! `wasplug run` and the tests) are loops around it that differ only in how
//! they wait.

use crate::{
    Blocked, Completion, Program, Stop, WasiCtx, add_to_linker, complete, module, recycle::Handles,
};
use std::sync::Arc;
use wasmi::{
    Func, Instance, Linker, ResumableCall, ResumableCallHostTrap, ResumableCallOutOfFuel, Store,
    TrapCode,
};
use wasmi_core::LimiterError;
use web_time::Instant;

/// What one guest instance may use.
///
/// By-value builder; the defaults are no memory limit, no fuel budget and a
/// slice of [`GuestLimits::DEFAULT_FUEL_SLICE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestLimits {
    memory: Option<u64>,
    fuel: Option<u64>,
    fuel_slice: u64,
}

impl Default for GuestLimits {
    fn default() -> Self {
        Self {
            memory: None,
            fuel: None,
            fuel_slice: Self::DEFAULT_FUEL_SLICE,
        }
    }
}

impl GuestLimits {
    /// Fuel a guest runs on between two looks at the clock: about a
    /// millisecond of guest code in an optimized build.
    pub const DEFAULT_FUEL_SLICE: u64 = 100_000;

    /// Bytes of linear memory and tables together (`None`: no limit). Table
    /// elements count [`TABLE_ELEMENT_BYTES`] each.
    pub fn with_memory(mut self, bytes: Option<u64>) -> Self {
        self.memory = bytes;
        self
    }

    /// The fuel budget of the whole run, start function included (`None`:
    /// no budget).
    pub fn with_fuel(mut self, units: Option<u64>) -> Self {
        self.fuel = units;
        self
    }

    /// Fuel per slice (at least 1).
    pub fn with_fuel_slice(mut self, units: u64) -> Self {
        self.fuel_slice = units.max(1);
        self
    }
}

/// What a table element counts against the memory limit, in bytes (the size
/// of a reference in wasmi's tables).
pub const TABLE_ELEMENT_BYTES: u64 = 8;

/// The data of a guest's store: its WASI context and its memory limiter.
#[derive(Debug)]
pub struct GuestState {
    wasi: WasiCtx,
    limiter: Limiter,
}

/// Caps linear memory plus tables, and remembers whether the cap was hit
/// during the current step (never longer: [`Guest::step`] clears it).
#[derive(Debug)]
struct Limiter {
    limit: Option<u64>,
    memory: u64,
    tables: u64,
    hit: bool,
}

impl GuestState {
    /// The state of a store no guest uses.
    fn spent() -> Self {
        Self {
            wasi: WasiCtx::builder().build(),
            limiter: Limiter {
                limit: None,
                memory: 0,
                tables: 0,
                hit: false,
            },
        }
    }

    /// Lifts the memory limit (for the host's own allocations in the
    /// store), and says what it was and what the limiter counted.
    pub(crate) fn lift_limit(&mut self) -> (Option<u64>, (u64, u64)) {
        let limiter = &mut self.limiter;
        (limiter.limit.take(), (limiter.memory, limiter.tables))
    }

    /// Linear memory plus tables the limiter counts, in bytes.
    pub(crate) fn counted(&self) -> u64 {
        self.limiter.memory.saturating_add(self.limiter.tables)
    }

    /// Sets the memory limit and the limiter's counts (linear memory, table
    /// bytes), and forgets any refusal.
    pub(crate) fn restore_limit(&mut self, limit: Option<u64>, (memory, tables): (u64, u64)) {
        self.limiter = Limiter {
            limit,
            memory,
            tables,
            hit: false,
        };
    }
}

impl Limiter {
    fn allow(&mut self, total: u64) -> bool {
        let allowed = self.limit.is_none_or(|limit| total <= limit);
        self.hit |= !allowed;
        allowed
    }
}

impl wasmi::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        let current = u64::try_from(current).unwrap_or(u64::MAX);
        let others = self.memory.saturating_sub(current);
        let allowed = self.allow(desired.saturating_add(others).saturating_add(self.tables));
        if allowed {
            self.memory = others.saturating_add(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let grow = u64::try_from(desired.saturating_sub(current)).unwrap_or(u64::MAX);
        let bytes = grow.saturating_mul(TABLE_ELEMENT_BYTES);
        let tables = self.tables.saturating_add(bytes);
        let allowed = self.allow(self.memory.saturating_add(tables));
        if allowed {
            self.tables = tables;
        }
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        module::MAX_TABLES as usize
    }

    fn memories(&self) -> usize {
        1
    }
}

/// Which function of the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// The module's own start function (its wasm `start` section).
    Start,
    /// `_start`.
    Main,
    /// The module's init ([`INIT_EXPORT`](crate::INIT_EXPORT)), run once by
    /// [`Program::initialize`] in place of `_start`.
    Init,
}

/// How a guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// `_start` returned (status 0) or the guest called `proc_exit`.
    Exit(i32),
    /// The guest raised a signal that terminates it (`proc_raise`).
    Signal(u8),
    /// The guest trapped.
    Trap {
        /// wasmi's description.
        message: String,
        /// wasmi's trap code, when there is one.
        code: Option<TrapCode>,
    },
    /// The fuel budget is spent.
    OutOfFuel {
        /// The budget.
        limit: u64,
    },
    /// The guest needed more memory (linear memory and tables) than allowed,
    /// and trapped or could not be instantiated.
    MemoryLimit {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A WASI function needed the guest's memory and it exports none named
    /// `memory`.
    NoMemory,
}

/// Why [`Guest::step`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// The guest used its fuel slice (or finished its start function, or a
    /// long WASI call did one bounded piece of its work) and can go on:
    /// check the deadline, let others run, and step again.
    Continue,
    /// The guest waits inside a WASI call: do what [`Blocked`] asks (push
    /// input, take output, let time pass), then step again, which finishes
    /// the call and resumes the guest (or says it still waits).
    Blocked(Blocked),
    /// The guest is over. Stepping again returns the same end.
    End(End),
}

/// Where the guest is.
enum State {
    Fresh,
    Ready(Func),
    OutOfFuel(ResumableCallOutOfFuel),
    Blocked(ResumableCallHostTrap),
    Over(End),
}

/// Fuel accounting across slices.
#[derive(Debug)]
struct Meter {
    limits: GuestLimits,
    used: u64,
    given: u64,
}

/// One fresh instance of a [`Program`], run step by step.
///
/// Stateless by construction: each guest starts from the state of a fresh
/// instance and nothing of one run is seen by another. The instance is new,
/// or one an earlier guest was done with, reset to that state
/// ([`Program::with_idle_instances`]); a guest hands its instance back when
/// it is dropped.
///
/// # Example
/// ```
/// use wasplug_wasi::{End, Guest, GuestLimits, Program, Step, WasiCtx};
///
/// let wat = r#"(module
///   (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
///   (memory (export "memory") 1)
///   (func (export "_start") (call $exit (i32.const 3))))"#;
/// let mut config = wasmi::Config::default();
/// config.consume_fuel(true);
/// let engine = wasmi::Engine::new(&config);
/// let program = Program::new(&engine, wat.as_bytes())?;
/// let mut guest = Guest::new(&program, WasiCtx::builder().build(), GuestLimits::default());
/// assert_eq!(guest.step(), Step::End(End::Exit(3)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Guest {
    store: Store<GuestState>,
    linker: Arc<Linker<GuestState>>,
    program: Program,
    instance: Option<Instance>,
    state: State,
    phase: Phase,
    meter: Meter,
    resumes: u64,
    /// What runs after the start function: `_start`, or the init.
    main: Phase,
    /// What a reset writes to, when the instance can be recycled: set for a
    /// recycled instance from the start, for a new one once instantiated.
    recycle: Option<Handles>,
}

impl core::fmt::Debug for Guest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Guest")
            .field("phase", &self.phase)
            .field("fuel_used", &self.meter.used)
            .field("resumes", &self.resumes)
            .finish_non_exhaustive()
    }
}

impl Guest {
    /// A fresh guest of `program` with this WASI context. Nothing runs until
    /// the first [`step`](Self::step).
    ///
    /// A guest of a warm program ([`Program::initialize`]) starts from the
    /// state the init left: its start function does not run again.
    pub fn new(program: &Program, wasi: WasiCtx, limits: GuestLimits) -> Self {
        Self::with_main(program, wasi, limits, Phase::Main)
    }

    /// A guest that runs the module's init in place of `_start`.
    pub(crate) fn for_init(program: &Program, wasi: WasiCtx, limits: GuestLimits) -> Self {
        Self::with_main(program, wasi, limits, Phase::Init)
    }

    fn with_main(program: &Program, wasi: WasiCtx, limits: GuestLimits, main: Phase) -> Self {
        let engine = program.module().engine();
        let state = GuestState {
            wasi,
            limiter: Limiter {
                limit: limits.memory,
                memory: 0,
                tables: 0,
                hit: false,
            },
        };
        let idle = match main {
            Phase::Main => program.pool().and_then(|pool| pool.take(limits.memory)),
            Phase::Start | Phase::Init => None,
        };
        let (store, recycle) = match idle {
            Some(mut idle) => {
                *idle.store.data_mut() = state;
                (idle.store, Some(idle.handles))
            }
            None => {
                let mut store = Store::new(engine, state);
                store.limiter(|state| &mut state.limiter);
                (store, None)
            }
        };
        Self {
            store,
            linker: program.linker(),
            program: program.clone(),
            instance: None,
            state: State::Fresh,
            phase: if program.has_start() && !program.is_warm() {
                Phase::Start
            } else {
                main
            },
            meter: Meter {
                limits,
                used: 0,
                given: 0,
            },
            resumes: 0,
            main,
            recycle,
        }
    }

    /// The guest's WASI context: its pipes, its clock.
    pub fn wasi(&self) -> &WasiCtx {
        &self.store.data().wasi
    }

    /// The guest's WASI context, to push input or take output.
    pub fn wasi_mut(&mut self) -> &mut WasiCtx {
        &mut self.store.data_mut().wasi
    }

    /// Which function runs (or ran last).
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Fuel used so far (0 when the engine does not meter fuel).
    pub fn fuel_used(&self) -> u64 {
        self.meter.used
    }

    /// Charges `units` of fuel for host work done for the guest outside its
    /// WASI calls (an embedder taking its output line by line, say), as a
    /// WASI function charges its own: more than the budget has left takes
    /// it to zero, and the guest then ends out of fuel at its next step.
    /// Nothing is charged when the engine does not meter fuel.
    pub fn charge_fuel(&mut self, units: u64) {
        if self.store.get_fuel().is_err() {
            return;
        }
        let used = self.meter.used.saturating_add(units);
        self.meter.used = self.meter.limits.fuel.map_or(used, |limit| used.min(limit));
    }

    /// How often a suspended WASI call finished and the guest resumed.
    pub fn resumes(&self) -> u64 {
        self.resumes
    }

    /// The guest's linear memory (its export `memory`), once instantiated.
    pub fn memory(&self) -> Option<&[u8]> {
        let memory = self.instance?.get_memory(&self.store, "memory")?;
        Some(memory.data(&self.store))
    }

    /// The guest's linear memory, to write to.
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        let memory = self.instance?.get_memory(&self.store, "memory")?;
        Some(memory.data_mut(&mut self.store))
    }

    /// Linear memory plus tables the guest holds, in bytes.
    pub fn memory_used(&self) -> u64 {
        self.store.data().counted()
    }

    /// Runs the guest until it stops, and says why.
    pub fn step(&mut self) -> Step {
        self.store.data_mut().limiter.hit = false;
        let outcome = match std::mem::replace(&mut self.state, State::Over(End::Exit(0))) {
            State::Fresh => match self.instantiate() {
                Ok(func) => self.run(0, |store| func.call_resumable(store, &[], &mut [])),
                Err(end) => Err(end),
            },
            State::Ready(func) => self.run(0, |store| func.call_resumable(store, &[], &mut [])),
            State::OutOfFuel(call) => {
                self.run(call.required_fuel(), |store| call.resume(store, &mut []))
            }
            State::Blocked(trap) => {
                // `complete` charges the work it does to the fuel in the
                // store: give it a slice first, and count after.
                if let Err(end) = self.refuel(0) {
                    self.state = State::Over(end.clone());
                    return Step::End(end);
                }
                let completion =
                    complete(&mut self.store, |state: &mut GuestState| &mut state.wasi);
                self.account();
                match completion {
                    Completion::Ready(value) => {
                        self.resumes = self.resumes.saturating_add(1);
                        self.run(0, |store| trap.resume(store, &[value], &mut []))
                    }
                    Completion::Blocked(blocked) => {
                        self.state = State::Blocked(trap);
                        return match self.budget_spent() {
                            Some(limit) => {
                                let end = End::OutOfFuel { limit };
                                self.state = State::Over(end.clone());
                                Step::End(end)
                            }
                            None => waiting(blocked),
                        };
                    }
                    Completion::NotBlocked => Err(End::Trap {
                        message: "the guest was suspended without a pending WASI call".into(),
                        code: None,
                    }),
                }
            }
            State::Over(end) => Err(end),
        };
        let step = match outcome {
            Ok(call) => self.after(call),
            Err(end) => Step::End(end),
        };
        if let Step::End(end) = &step {
            self.state = State::Over(end.clone());
        }
        step
    }

    /// Instantiates the module (no guest code runs: its start function was
    /// moved out of instantiation) and picks the first function to run.
    fn instantiate(&mut self) -> Result<Func, End> {
        let instance = self.instantiate_only()?;
        self.export(instance, entry(self.phase))
    }

    /// Instantiates the module and, for a warm program, restores the state
    /// after the init; or resets a recycled instance to that state. No guest
    /// code runs.
    pub(crate) fn instantiate_only(&mut self) -> Result<Instance, End> {
        if let (Some(handles), Some(pool)) = (&self.recycle, self.program.pool()) {
            let instance = handles.instance;
            pool.reset(&mut self.store, handles)
                .map_err(|e| self.end_of(&e))?;
            self.store.data_mut().wasi.set_memory(handles.memory);
            self.instance = Some(instance);
            return Ok(instance);
        }
        let instance = self
            .linker
            .instantiate_and_start(&mut self.store, self.program.module())
            .map_err(|e| self.end_of(&e))?;
        if let Some(snapshot) = self.program.snapshot() {
            snapshot
                .restore(&mut self.store, instance)
                .map_err(|e| self.end_of(&e))?;
        }
        if let (Phase::Main, Some(pool)) = (self.main, self.program.pool()) {
            self.recycle = pool.adopt(&mut self.store, instance);
        }
        // The one instance of the store: its WASI calls need not look the
        // memory up by name.
        if let Some(memory) = instance.get_memory(&self.store, "memory") {
            self.store.data_mut().wasi.set_memory(memory);
        }
        self.instance = Some(instance);
        Ok(instance)
    }

    /// Whether the guest's instance is a recycled one.
    #[cfg(test)]
    pub(crate) fn is_recycled(&self) -> bool {
        self.recycle.is_some() && self.instance.is_none()
    }

    /// The instance, once instantiated.
    pub(crate) fn instance(&self) -> Option<Instance> {
        self.instance
    }

    /// The guest's store.
    pub(crate) fn store(&self) -> &Store<GuestState> {
        &self.store
    }

    fn export(&self, instance: Instance, name: &str) -> Result<Func, End> {
        instance
            .get_func(&self.store, name)
            .ok_or_else(|| End::Trap {
                message: format!("the instance lacks its `{}` export", name.escape_debug()),
                code: None,
            })
    }

    /// Gives a slice of fuel and runs `run` on it.
    fn run(
        &mut self,
        required: u64,
        run: impl FnOnce(&mut Store<GuestState>) -> Result<ResumableCall, wasmi::Error>,
    ) -> Result<Result<ResumableCall, wasmi::Error>, End> {
        self.refuel(required)?;
        let outcome = run(&mut self.store);
        self.account();
        Ok(outcome)
    }

    /// Sets the fuel for the next slice, within the budget.
    fn refuel(&mut self, required: u64) -> Result<(), End> {
        let limits = self.meter.limits;
        let mut slice = limits.fuel_slice.max(required);
        if let Some(limit) = limits.fuel {
            let left = limit.saturating_sub(self.meter.used);
            if left == 0 || required > left {
                return Err(End::OutOfFuel { limit });
            }
            slice = slice.min(left);
        }
        // An engine without fuel metering: nothing to give or count.
        if self.store.set_fuel(slice).is_ok() {
            self.meter.given = slice;
        }
        Ok(())
    }

    /// Counts the fuel the last run used.
    fn account(&mut self) {
        let left = self.store.get_fuel().unwrap_or(0);
        let used = self.meter.given.saturating_sub(left);
        self.meter.used = self.meter.used.saturating_add(used);
        self.meter.given = left;
    }

    fn budget_spent(&self) -> Option<u64> {
        self.meter
            .limits
            .fuel
            .filter(|limit| self.meter.used >= *limit)
    }

    /// Looks at what one run ended with.
    fn after(&mut self, outcome: Result<ResumableCall, wasmi::Error>) -> Step {
        let call = match outcome {
            Ok(call) => call,
            Err(error) => return Step::End(self.end_of(&error)),
        };
        match call {
            ResumableCall::Finished => match self.phase {
                Phase::Start => {
                    self.phase = self.main;
                    let main = self
                        .store
                        .data()
                        .wasi
                        .exit_code
                        .map_or_else(|| self.main(), |status| Err(End::Exit(status)));
                    match main {
                        Ok(func) => {
                            self.state = State::Ready(func);
                            Step::Continue
                        }
                        Err(end) => Step::End(end),
                    }
                }
                Phase::Main | Phase::Init => Step::End(End::Exit(0)),
            },
            ResumableCall::OutOfFuel(call) => match self.budget_spent() {
                Some(limit) => Step::End(End::OutOfFuel { limit }),
                None => {
                    self.state = State::OutOfFuel(call);
                    Step::Continue
                }
            },
            ResumableCall::HostTrap(trap) => match Stop::from_error(trap.host_error()) {
                Some(Stop::Blocked(blocked)) => {
                    self.state = State::Blocked(trap);
                    waiting(blocked)
                }
                _ => Step::End(self.end_of(trap.host_error())),
            },
        }
    }

    /// `_start` (or the init), once the start function is done.
    fn main(&self) -> Result<Func, End> {
        match self.instance {
            Some(instance) => self.export(instance, entry(self.main)),
            None => Err(End::Trap {
                message: "the guest ran before it was instantiated".into(),
                code: None,
            }),
        }
    }

    /// What an error from the guest means.
    fn end_of(&self, error: &wasmi::Error) -> End {
        match Stop::from_error(error) {
            Some(Stop::Exit(status)) => return End::Exit(status),
            Some(Stop::Signal(signal)) => return End::Signal(signal),
            Some(Stop::NoMemory) => return End::NoMemory,
            Some(Stop::Blocked(_)) | None => {}
        }
        let state = self.store.data();
        if let (true, Some(limit)) = (state.limiter.hit, state.limiter.limit) {
            return End::MemoryLimit { limit };
        }
        let code = error.as_trap_code();
        if let (Some(TrapCode::OutOfFuel), Some(limit)) = (code, self.meter.limits.fuel) {
            return End::OutOfFuel { limit };
        }
        End::Trap {
            message: error.to_string(),
            code,
        }
    }
}

impl Drop for Guest {
    /// Hands a recyclable instance back to its program (not while a panic
    /// unwinds: the store may be in the middle of something).
    fn drop(&mut self) {
        let (Some(handles), Some(pool)) = (self.recycle.take(), self.program.pool()) else {
            return;
        };
        if std::thread::panicking() {
            return;
        }
        // The guest's WASI context goes with the guest; the pooled store
        // keeps a spent one until its next guest brings its own.
        let engine = self.store.engine().clone();
        let spent = Store::new(&engine, GuestState::spent());
        let mut store = std::mem::replace(&mut self.store, spent);
        std::mem::swap(store.data_mut(), self.store.data_mut());
        pool.put(store, handles);
    }
}

/// The export that runs in `phase`.
fn entry(phase: Phase) -> &'static str {
    match phase {
        Phase::Start => module::START_EXPORT,
        Phase::Main => "_start",
        Phase::Init => crate::INIT_EXPORT,
    }
}

/// The step for a guest suspended in a WASI call: a long call that did one
/// bounded piece of its work ([`Blocked::Busy`]) waits for nothing, so for
/// the executor it is the end of a slice; the next step does the next piece.
fn waiting(blocked: Blocked) -> Step {
    match blocked {
        Blocked::Busy => Step::Continue,
        other => Step::Blocked(other),
    }
}

/// Builds the linker of the subset for [`GuestState`] stores.
pub(crate) fn new_linker(engine: &wasmi::Engine) -> Arc<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    // Linking the subset into a fresh linker cannot clash: every name once.
    let _ = add_to_linker(&mut linker, |state: &mut GuestState| &mut state.wasi);
    Arc::new(linker)
}

/// What a synchronous [`run`] needs from its embedder.
pub trait Embedder {
    /// The embedder's own error (an I/O error writing output, say).
    type Error;

    /// Takes what the guest wrote; called after every step.
    ///
    /// # Errors
    /// Whatever the embedder cannot do; the run stops with it.
    fn drain(&mut self, wasi: &mut WasiCtx) -> Result<(), Self::Error>;

    /// Serves one wait of the guest: push input or close stdin, or let time
    /// pass until the guest's deadline. Must return by `until` (the run's
    /// own deadline), done or not; the run then steps again.
    ///
    /// # Errors
    /// Whatever the embedder cannot do; the run stops with it.
    fn serve(
        &mut self,
        wasi: &mut WasiCtx,
        blocked: Blocked,
        until: Option<Instant>,
    ) -> Result<(), Self::Error>;
}

/// How a synchronous [`run`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The guest ended.
    End(End),
    /// The deadline passed first.
    Timeout,
}

/// Runs a guest to its end on this thread: steps it, hands its output to
/// the embedder after every step, lets the embedder serve its waits, and
/// stops at `deadline`, which holds in every phase: start function, guest
/// code, waits.
///
/// # Errors
/// The embedder's own errors.
pub fn run<E: Embedder>(
    guest: &mut Guest,
    deadline: Option<Instant>,
    embedder: &mut E,
) -> Result<Outcome, E::Error> {
    let passed = || deadline.is_some_and(|at| Instant::now() >= at);
    loop {
        let step = guest.step();
        embedder.drain(guest.wasi_mut())?;
        match step {
            Step::End(end) => return Ok(Outcome::End(end)),
            Step::Continue => {}
            Step::Blocked(blocked) => {
                if passed() {
                    return Ok(Outcome::Timeout);
                }
                embedder.serve(guest.wasi_mut(), blocked, deadline)?;
            }
        }
        if passed() {
            return Ok(Outcome::Timeout);
        }
    }
}

/// The host instant at which a deadline on the guest's monotonic clock
/// falls, as seen now.
pub fn host_instant(wasi: &mut WasiCtx, guest_deadline: u64) -> Instant {
    let now_guest = wasi.monotonic_now();
    let now = Instant::now();
    let wait = std::time::Duration::from_nanos(guest_deadline.saturating_sub(now_guest));
    now.checked_add(wait)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(86_400 * 365))
}
