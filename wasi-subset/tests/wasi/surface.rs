//! The whole `wasi_snapshot_preview1` surface as one guest, shared by the
//! integration tests, the property test and the fuzz target
//! (`fuzz/fuzz_targets/wasi_calls.rs` includes this file with `#[path]`).
//!
//! The guest imports every preview1 function with its specification signature
//! and exports, under the same name, a wasm wrapper that calls it: host
//! functions must be called *from wasm* so that they see the instance's
//! exported `memory` (and so that suspension is a resumable host trap).

use std::sync::{Arc, Mutex};
use wasmi::{Engine, Func, Instance, Linker, Memory, Module, ResumableCall, Store, Val};
use wasplug_wasi::{
    ALL_FUNCTIONS, Blocked, Clock, Completion, MODULE, Random, RandomError, SUPPORTED_FUNCTIONS,
    Stop, WasiCtx, add_to_linker, complete,
};

/// Every preview1 function with its parameters as the specification gives
/// them: `i` for `i32`, `I` for `i64`. All return an `errno` (`i32`) except
/// `proc_exit`, which returns nothing.
pub(crate) const SIGNATURES: [(&str, &str); 46] = [
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_exit", "i"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

/// The most `i32` / `i64` parameters any preview1 function takes.
pub(crate) const MAX_I32_PARAMS: usize = 9;
pub(crate) const MAX_I64_PARAMS: usize = 2;

/// One page: the guest's memory size in bytes.
pub(crate) const PAGE: u32 = 65536;

/// The WASI errnos run from 0 to 76 (`ENOTCAPABLE`).
pub(crate) const ERRNO_LIMIT: i32 = 77;

/// The specification signature of `name`.
pub(crate) fn signature(name: &str) -> &'static str {
    SIGNATURES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sig)| *sig)
        .unwrap_or_else(|| panic!("{name} is not a preview1 function"))
}

fn wat_types(sig: &str) -> String {
    sig.chars()
        .map(|c| if c == 'I' { " i64" } else { " i32" })
        .collect()
}

/// A guest that imports all 46 functions and exports a wrapper for each
/// (plus `memory`). Every wrapper returns `i32`; `proc_exit`'s returns 0
/// after the call, which it never reaches.
pub(crate) fn all_functions_wat() -> String {
    let mut wat = String::from("(module\n");
    for (name, sig) in SIGNATURES {
        let result = if name == "proc_exit" {
            ""
        } else {
            " (result i32)"
        };
        wat.push_str(&format!(
            "  (import \"{MODULE}\" \"{name}\" (func ${name} (param{}){result}))\n",
            wat_types(sig)
        ));
    }
    wat.push_str("  (memory (export \"memory\") 1)\n");
    for (name, sig) in SIGNATURES {
        let locals: String = (0..sig.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        let tail = if name == "proc_exit" {
            " (i32.const 0)"
        } else {
            ""
        };
        wat.push_str(&format!(
            "  (func (export \"{name}\") (param{}) (result i32) (call ${name}{locals}){tail})\n",
            wat_types(sig)
        ));
    }
    wat.push(')');
    wat
}

/// The arguments of a call to `sig`, taken in order from `i32s` and `i64s`.
pub(crate) fn args_for(sig: &str, i32s: &[i32], i64s: &[i64]) -> Vec<Val> {
    let (mut a, mut b) = (i32s.iter(), i64s.iter());
    sig.chars()
        .map(|c| {
            if c == 'I' {
                Val::I64(*b.next().expect("enough i64 arguments"))
            } else {
                Val::I32(*a.next().expect("enough i32 arguments"))
            }
        })
        .collect()
}

/// The compiled all-functions guest and a linker with the WASI subset, built
/// once and instantiated per test or per case.
pub(crate) struct Rig {
    engine: Engine,
    module: Module,
    linker: Linker<WasiCtx>,
}

impl Rig {
    pub(crate) fn new() -> Self {
        Self::on(Engine::default())
    }

    /// The guest on an engine that meters fuel (a store starts with none).
    pub(crate) fn metered() -> Self {
        let mut config = wasmi::Config::default();
        // Eager: lazy translation would charge a function's first call.
        config
            .consume_fuel(true)
            .compilation_mode(wasmi::CompilationMode::Eager);
        Self::on(Engine::new(&config))
    }

    fn on(engine: Engine) -> Self {
        assert_eq!(
            SIGNATURES.map(|(n, _)| n),
            ALL_FUNCTIONS,
            "the signature table follows ALL_FUNCTIONS"
        );
        let module = Module::new(&engine, all_functions_wat()).expect("the guest compiles");
        let mut linker = Linker::<WasiCtx>::new(&engine);
        add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("links once");
        Self {
            engine,
            module,
            linker,
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A fresh store holding `ctx` and the guest instantiated in it.
    pub(crate) fn instantiate(&self, ctx: WasiCtx) -> (Store<WasiCtx>, Instance, Memory) {
        let mut store = Store::new(&self.engine, ctx);
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)
            .expect("instantiates");
        let memory = instance
            .get_memory(&store, "memory")
            .expect("exports memory");
        (store, instance, memory)
    }
}

/// One instance of the guest reused across cases: each case puts a fresh
/// [`WasiCtx`] in the store and rewrites the whole memory, which is all the
/// state the guest has (its wrappers have no globals and never grow memory).
pub(crate) struct Session {
    store: Store<WasiCtx>,
    memory: Memory,
    funcs: Vec<Func>,
}

impl Session {
    pub(crate) fn new(rig: &Rig) -> Self {
        let (store, instance, memory) = rig.instantiate(WasiCtx::builder().build());
        let funcs = SIGNATURES
            .iter()
            .map(|(name, _)| instance.get_func(&store, name).expect("wrapper"))
            .collect();
        Self {
            store,
            memory,
            funcs,
        }
    }
}

/// A deterministic clock the test moves by hand; clones share the time.
#[derive(Debug, Clone)]
pub(crate) struct FakeClock(Arc<Mutex<ClockState>>);

#[derive(Debug)]
struct ClockState {
    real: u64,
    mono: u64,
    resolution: u64,
}

impl FakeClock {
    pub(crate) fn new(real: u64, mono: u64) -> Self {
        Self(Arc::new(Mutex::new(ClockState {
            real,
            mono,
            resolution: 1,
        })))
    }

    pub(crate) fn with_resolution(self, resolution: u64) -> Self {
        self.0.lock().expect("clock lock").resolution = resolution;
        self
    }

    /// Moves both clocks forward by `ns`.
    pub(crate) fn advance(&self, ns: u64) {
        let mut s = self.0.lock().expect("clock lock");
        s.real = s.real.saturating_add(ns);
        s.mono = s.mono.saturating_add(ns);
    }

    /// Moves both clocks forward until the monotonic one reads at least `mono`.
    pub(crate) fn advance_to(&self, mono: u64) {
        let now = self.0.lock().expect("clock lock").mono;
        self.advance(mono.saturating_sub(now));
    }
}

impl Clock for FakeClock {
    fn realtime(&mut self) -> u64 {
        self.0.lock().expect("clock lock").real
    }

    fn monotonic(&mut self) -> u64 {
        self.0.lock().expect("clock lock").mono
    }

    fn resolution(&self) -> u64 {
        self.0.lock().expect("clock lock").resolution
    }
}

/// A deterministic random source: bytes `next, next + 1, ...` (wrapping),
/// continuing across calls.
#[derive(Debug, Clone)]
pub(crate) struct CountingRandom {
    next: u8,
}

impl CountingRandom {
    pub(crate) fn new(first: u8) -> Self {
        Self { next: first }
    }
}

impl Random for CountingRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        for b in dest {
            *b = self.next;
            self.next = self.next.wrapping_add(1);
        }
        Ok(())
    }
}

/// How the guest's memory is filled before a call.
#[derive(Debug, Clone)]
pub(crate) enum Fill {
    /// Left zeroed.
    Zero,
    /// Pseudo-random bytes from this seed.
    Random(u64),
    /// Pseudo-random 32-bit words that mostly look like small counts, tags,
    /// file descriptors or in-bounds aligned pointers, so iovec lists and
    /// `poll_oneoff` subscriptions are often well-formed.
    Words(u64),
    /// These bytes, repeated over the whole memory.
    Tiled(Vec<u8>),
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

fn plausible_word(r: u64) -> u32 {
    let v = (r >> 8) as u32;
    match r & 7 {
        0 | 1 => v % 4,
        2 => v % 64,
        3 => (v % PAGE) & !7,
        4 => PAGE - 8 * (v % 16),
        5 => 0,
        _ => v,
    }
}

impl Fill {
    /// Fills `memory`. The pseudo-random fills make one 4 KiB block and
    /// repeat it, which keeps a case cheap in debug builds.
    pub(crate) fn apply(&self, memory: &mut [u8]) {
        let mut block = [0u8; 4096];
        match self {
            Fill::Zero => {}
            Fill::Random(seed) => {
                let mut s = seed | 1;
                for chunk in block.chunks_exact_mut(8) {
                    chunk.copy_from_slice(&xorshift(&mut s).to_le_bytes());
                }
            }
            Fill::Words(seed) => {
                let mut s = seed | 1;
                for chunk in block.chunks_exact_mut(8) {
                    let r = xorshift(&mut s);
                    let lo = plausible_word(r);
                    let hi = plausible_word(r.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15);
                    chunk[..4].copy_from_slice(&lo.to_le_bytes());
                    chunk[4..].copy_from_slice(&hi.to_le_bytes());
                }
            }
            Fill::Tiled(bytes) if !bytes.is_empty() => {
                for chunk in block.chunks_mut(bytes.len()) {
                    chunk.copy_from_slice(&bytes[..chunk.len()]);
                }
                // Keep the period of `bytes` across block boundaries.
                let period = bytes.len() * (block.len() / bytes.len());
                for chunk in memory.chunks_mut(period) {
                    chunk.copy_from_slice(&block[..chunk.len()]);
                }
                return;
            }
            Fill::Tiled(_) => {}
        }
        for chunk in memory.chunks_mut(block.len()) {
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

/// One call of one WASI function against a prepared guest.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// Index into [`SIGNATURES`] (taken modulo 46).
    pub(crate) func: usize,
    pub(crate) i32s: [i32; MAX_I32_PARAMS],
    pub(crate) i64s: [i64; MAX_I64_PARAMS],
    pub(crate) fill: Fill,
    /// Bytes written over the fill at these addresses (clipped to memory):
    /// structures such as iovec lists and subscriptions.
    pub(crate) patches: Vec<(u32, Vec<u8>)>,
    pub(crate) stdin: Vec<u8>,
    pub(crate) close_stdin: bool,
    /// Capacity of stdout and stderr (`None`: unbounded).
    pub(crate) output_capacity: Option<usize>,
    /// Bytes already written to stdout and stderr before the call.
    pub(crate) output_prefill: usize,
    pub(crate) nonblocking_stdin: bool,
    /// A descriptor the guest closes (`fd_close`) before the call.
    pub(crate) closed_fd: Option<u32>,
    pub(crate) realtime: u64,
    pub(crate) monotonic: u64,
}

fn assert_errno(name: &str, value: &Val) -> i32 {
    let Val::I32(errno) = value else {
        panic!("{name} returned {value:?}, not an i32");
    };
    assert!(
        (0..ERRNO_LIMIT).contains(errno),
        "{name} returned {errno}, not a WASI errno"
    );
    *errno
}

/// Whether `name` may write guest memory at all: the functions outside the
/// subset never do, nor do the supported ones that take no output pointer.
fn writes_memory(name: &str) -> bool {
    SUPPORTED_FUNCTIONS.contains(&name)
        && !matches!(
            name,
            "fd_close"
                | "fd_fdstat_set_flags"
                | "fd_prestat_get"
                | "fd_prestat_dir_name"
                | "proc_raise"
                | "sched_yield"
        )
}

/// Does what a blocked guest waits for, a little more each round.
fn relieve(store: &mut Store<WasiCtx>, clock: &FakeClock, blocked: Blocked, round: usize) {
    let ctx = store.data_mut();
    match blocked {
        Blocked::Input { deadline } => {
            if let Some(at) = deadline.filter(|_| round == 0) {
                clock.advance_to(at);
            } else if round < 2 {
                ctx.stdin_mut().push(b"input");
            } else {
                ctx.stdin_mut().close();
            }
        }
        Blocked::Sleep { deadline } => clock.advance_to(deadline),
        Blocked::Output { fd } => {
            let taken = if fd == 2 {
                ctx.stderr_mut().take()
            } else {
                ctx.stdout_mut().take()
            };
            if taken.is_empty() {
                ctx.stdout_mut().set_capacity(usize::MAX);
                ctx.stderr_mut().set_capacity(usize::MAX);
            }
        }
        // A step of a long call: nothing to wait for.
        Blocked::Busy => {}
        other => panic!("unknown Blocked variant {other:?}"),
    }
}

/// Runs `case` and checks the host's invariants: the call returns a valid
/// errno, or stops with a [`Stop`] of this crate that fits the function; a
/// suspended call can be completed and resumed. Panics when one breaks.
pub(crate) fn execute(session: &mut Session, case: &Case) {
    let (name, sig) = SIGNATURES[case.func % SIGNATURES.len()];
    let clock = FakeClock::new(case.realtime, case.monotonic);
    let builder = WasiCtx::builder()
        .args(["prog", "--flag", ""])
        .env("KEY", "value")
        .clock(clock.clone())
        .random(CountingRandom::new(7));
    let ctx = if case.close_stdin {
        builder.stdin_closed(&case.stdin)
    } else {
        builder.stdin(&case.stdin)
    }
    .build();
    *session.store.data_mut() = ctx;
    let memory = session.memory;
    let funcs = &session.funcs;
    let store = &mut session.store;
    let setup = |store: &mut Store<WasiCtx>, name: &str, args: &[i32]| {
        let index = SIGNATURES
            .iter()
            .position(|(n, _)| *n == name)
            .expect("known");
        let f = funcs[index];
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        let mut out = [Val::I32(-1)];
        f.call(&mut *store, &args, &mut out).expect("setup call");
        assert!(matches!(out[0], Val::I32(0)), "setup {name} failed");
    };
    if case.nonblocking_stdin {
        setup(&mut *store, "fd_fdstat_set_flags", &[0, 4]);
    }
    if case.output_prefill > 0 {
        // One ciovec at 0 naming `output_prefill` bytes at 16; nwritten at 8.
        let len = u32::try_from(case.output_prefill.min(1024)).expect("small");
        let data = memory.data_mut(&mut *store);
        data[..4].copy_from_slice(&16u32.to_le_bytes());
        data[4..8].copy_from_slice(&len.to_le_bytes());
        setup(&mut *store, "fd_write", &[1, 0, 1, 8]);
        setup(&mut *store, "fd_write", &[2, 0, 1, 8]);
    }
    if let Some(capacity) = case.output_capacity {
        store.data_mut().stdout_mut().set_capacity(capacity);
        store.data_mut().stderr_mut().set_capacity(capacity);
    }
    if let Some(fd) = case.closed_fd {
        setup(&mut *store, "fd_close", &[fd as i32]);
    }
    let data = memory.data_mut(&mut *store);
    case.fill.apply(data);
    for (at, bytes) in &case.patches {
        let at = (*at as usize).min(data.len());
        let len = bytes.len().min(data.len() - at);
        data[at..at + len].copy_from_slice(&bytes[..len]);
    }

    let func = funcs[case.func % SIGNATURES.len()];
    let args = args_for(sig, &case.i32s, &case.i64s);
    let before = memory.data(&*store).to_vec();
    let unchanged = |store: &Store<WasiCtx>| memory.data(store) == before.as_slice();
    let mut out = [Val::I32(-1)];
    let trap = match func.call_resumable(&mut *store, &args, &mut out) {
        Ok(ResumableCall::Finished) => {
            assert_ne!(name, "proc_exit", "proc_exit returned");
            assert_errno(name, &out[0]);
            if !writes_memory(name) {
                assert!(unchanged(store), "{name} wrote guest memory");
            }
            return;
        }
        Ok(ResumableCall::HostTrap(trap)) => trap,
        Ok(ResumableCall::OutOfFuel(_)) => panic!("{name}: out of fuel without fuel metering"),
        Err(error) => {
            let stop = Stop::from_error(&error);
            assert!(
                stop.is_some(),
                "{name}: error not from wasplug-wasi: {error}"
            );
            return;
        }
    };
    let stop = Stop::from_error(trap.host_error());
    match stop {
        Some(Stop::Blocked(mut blocked)) => {
            assert!(
                matches!(name, "fd_read" | "fd_write" | "poll_oneoff" | "random_get"),
                "{name} blocked"
            );
            assert_eq!(store.data().blocked(), Some(blocked));
            // Only a step of random_get writes (part of its buffer) before
            // the call is done.
            if blocked != Blocked::Busy || name != "random_get" {
                assert!(unchanged(store), "{name} wrote memory before suspending");
            }
            for round in 0..4 {
                relieve(&mut *store, &clock, blocked, round);
                match complete(&mut *store, |c: &mut WasiCtx| c) {
                    Completion::Ready(value) => {
                        assert_errno(name, &value);
                        assert_eq!(store.data().blocked(), None);
                        let done = trap
                            .resume(&mut *store, std::slice::from_ref(&value), &mut out)
                            .expect("resumes");
                        assert!(matches!(done, ResumableCall::Finished));
                        assert_eq!(assert_errno(name, &out[0]), assert_errno(name, &value));
                        return;
                    }
                    Completion::Blocked(again) => {
                        assert_eq!(store.data().blocked(), Some(again));
                        blocked = again;
                    }
                    Completion::NotBlocked => panic!("{name}: suspended call was lost"),
                    other => panic!("{name}: unknown completion {other:?}"),
                }
            }
        }
        Some(Stop::Exit(status)) => {
            assert_eq!(name, "proc_exit");
            assert_eq!(Some(status), args.first().and_then(Val::i32));
            assert_eq!(store.data().exit_code(), Some(status));
        }
        Some(Stop::Signal(signal)) => {
            assert_eq!(name, "proc_raise");
            assert!((1..=30).contains(&signal));
            assert_eq!(Some(i32::from(signal)), args.first().and_then(Val::i32));
        }
        other => panic!("{name}: unexpected stop {other:?}"),
    }
}
