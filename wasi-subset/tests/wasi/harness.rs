//! A guest instance with helpers to call one WASI function through its wasm
//! wrapper and look at guest memory.

use crate::surface::{Rig, args_for, signature};
use wasmi::{
    Engine, Instance, Linker, Memory, Module, ResumableCall, ResumableCallHostTrap, Store, Val,
};
use wasplug_wasi::{Completion, Errno, Stop, WasiCtx, add_to_linker, complete};

pub(crate) use crate::surface::PAGE;

/// The raw number of an errno, as the guest sees it.
pub(crate) fn e(errno: Errno) -> i32 {
    i32::from(errno)
}

/// A guest instance of the all-functions module (see `surface.rs`).
pub(crate) struct Guest {
    pub(crate) store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
}

impl Guest {
    pub(crate) fn new(ctx: WasiCtx) -> Self {
        Self::on(&Rig::new(), ctx)
    }

    /// A guest whose store meters fuel; it starts with `fuel` units.
    pub(crate) fn metered(ctx: WasiCtx, fuel: u64) -> Self {
        let mut guest = Self::on(&Rig::metered(), ctx);
        guest.set_fuel(fuel);
        guest
    }

    fn on(rig: &Rig, ctx: WasiCtx) -> Self {
        let (store, instance, memory) = rig.instantiate(ctx);
        Self {
            store,
            instance,
            memory,
        }
    }

    /// The fuel left (the guest must be [`Guest::metered`]).
    pub(crate) fn fuel(&self) -> u64 {
        self.store.get_fuel().expect("a metered guest")
    }

    pub(crate) fn set_fuel(&mut self, fuel: u64) {
        self.store.set_fuel(fuel).expect("a metered guest");
    }

    /// The fuel one call of `name` uses, guest wrapper included.
    #[track_caller]
    pub(crate) fn fuel_of(&mut self, name: &str, args: &[i64]) -> u64 {
        let before = self.fuel();
        let errno = self.call(name, args);
        assert!((0..77).contains(&errno), "{name} returned {errno}");
        before - self.fuel()
    }

    /// The default context: no args, no env, empty open stdin.
    pub(crate) fn default_ctx() -> Self {
        Self::new(WasiCtx::builder().build())
    }

    pub(crate) fn ctx(&self) -> &WasiCtx {
        self.store.data()
    }

    pub(crate) fn ctx_mut(&mut self) -> &mut WasiCtx {
        self.store.data_mut()
    }

    pub(crate) fn mem(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    pub(crate) fn write(&mut self, ptr: u32, bytes: &[u8]) {
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .expect("write in bounds");
    }

    pub(crate) fn read(&self, ptr: u32, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.memory
            .read(&self.store, ptr as usize, &mut buf)
            .expect("read in bounds");
        buf
    }

    /// Sets every byte of memory to `byte`, so untouched bytes can be told apart.
    pub(crate) fn fill(&mut self, byte: u8) {
        self.memory.data_mut(&mut self.store).fill(byte);
    }

    pub(crate) fn u8_at(&self, ptr: u32) -> u8 {
        self.read(ptr, 1)[0]
    }

    pub(crate) fn u16_at(&self, ptr: u32) -> u16 {
        u16::from_le_bytes(self.read(ptr, 2).try_into().expect("2 bytes"))
    }

    pub(crate) fn u32_at(&self, ptr: u32) -> u32 {
        u32::from_le_bytes(self.read(ptr, 4).try_into().expect("4 bytes"))
    }

    pub(crate) fn u64_at(&self, ptr: u32) -> u64 {
        u64::from_le_bytes(self.read(ptr, 8).try_into().expect("8 bytes"))
    }

    pub(crate) fn put_u32(&mut self, ptr: u32, value: u32) {
        self.write(ptr, &value.to_le_bytes());
    }

    /// Writes an iovec list (`(ptr, len)` pairs) at `at`.
    pub(crate) fn iovecs(&mut self, at: u32, list: &[(u32, u32)]) {
        for (i, &(ptr, len)) in (0u32..).zip(list) {
            self.put_u32(at + 8 * i, ptr);
            self.put_u32(at + 8 * i + 4, len);
        }
    }

    fn func_args(name: &str, args: &[i64]) -> Vec<Val> {
        let sig = signature(name);
        assert_eq!(
            sig.len(),
            args.len(),
            "{name} takes {} arguments",
            sig.len()
        );
        let i32s: Vec<i32> = sig
            .chars()
            .zip(args)
            .filter(|(c, _)| *c == 'i')
            .map(|(_, &a)| a as i32)
            .collect();
        let i64s: Vec<i64> = sig
            .chars()
            .zip(args)
            .filter(|(c, _)| *c == 'I')
            .map(|(_, &a)| a)
            .collect();
        args_for(sig, &i32s, &i64s)
    }

    /// Calls `name` (non-resumably). `i32` arguments are given as `i64` and
    /// truncated, so `0xFFFF_FFFF` means `-1`.
    pub(crate) fn try_call(&mut self, name: &str, args: &[i64]) -> Result<i32, wasmi::Error> {
        let func = self
            .instance
            .get_func(&self.store, name)
            .expect("wrapper exported");
        let mut out = [Val::I32(-1)];
        func.call(&mut self.store, &Self::func_args(name, args), &mut out)?;
        Ok(out[0].i32().expect("i32 result"))
    }

    /// Calls `name` and returns the errno it answered.
    #[track_caller]
    pub(crate) fn call(&mut self, name: &str, args: &[i64]) -> i32 {
        match self.try_call(name, args) {
            Ok(errno) => errno,
            Err(error) => panic!(
                "{name}{args:?} stopped: {:?}",
                Stop::from_error(&error).map_or_else(|| error.to_string(), |s| format!("{s:?}"))
            ),
        }
    }

    /// Calls `name` resumably.
    pub(crate) fn call_resumable(&mut self, name: &str, args: &[i64]) -> (ResumableCall, Val) {
        let func = self
            .instance
            .get_func(&self.store, name)
            .expect("wrapper exported");
        let mut out = [Val::I32(-1)];
        let call = func
            .call_resumable(&mut self.store, &Self::func_args(name, args), &mut out)
            .expect("no wasm trap");
        (call, out[0].clone())
    }

    /// Calls `name` resumably and expects it to stop inside the host.
    #[track_caller]
    pub(crate) fn suspend(&mut self, name: &str, args: &[i64]) -> (ResumableCallHostTrap, Stop) {
        match self.call_resumable(name, args) {
            (ResumableCall::HostTrap(trap), _) => {
                let stop = Stop::from_error(trap.host_error()).expect("a wasplug-wasi stop");
                (trap, stop)
            }
            (ResumableCall::Finished, out) => panic!("{name} returned {out:?} instead of stopping"),
            (ResumableCall::OutOfFuel(_), _) => panic!("out of fuel"),
        }
    }

    /// Runs [`complete`] on this guest's store.
    pub(crate) fn complete(&mut self) -> Completion {
        complete(&mut self.store, |c: &mut WasiCtx| c)
    }

    /// Resumes a suspended call with `value` and returns the wrapper's result.
    #[track_caller]
    pub(crate) fn resume(&mut self, trap: ResumableCallHostTrap, value: Val) -> i32 {
        let mut out = [Val::I32(-1)];
        let done = trap
            .resume(&mut self.store, &[value], &mut out)
            .expect("resumes");
        assert!(matches!(done, ResumableCall::Finished), "the call finished");
        out[0].i32().expect("i32 result")
    }
}

/// Expects [`Completion::Ready`] and returns its errno.
#[track_caller]
pub(crate) fn ready(completion: Completion) -> Val {
    match completion {
        Completion::Ready(value) => value,
        other => panic!("expected Completion::Ready, got {other:?}"),
    }
}

/// Instantiates a custom WAT module with the WASI subset linked.
pub(crate) fn instantiate_wat(wat: &str, ctx: WasiCtx) -> (Store<WasiCtx>, Instance) {
    instantiate_wat_on(Engine::default(), wat, ctx)
}

/// Instantiates a custom WAT module (without a start function) on an
/// engine that meters fuel; the store starts with `fuel` units.
pub(crate) fn instantiate_metered_wat(
    wat: &str,
    ctx: WasiCtx,
    fuel: u64,
) -> (Store<WasiCtx>, Instance) {
    let mut config = wasmi::Config::default();
    // Eager: lazy translation would charge a function's first call.
    config
        .consume_fuel(true)
        .compilation_mode(wasmi::CompilationMode::Eager);
    let (mut store, instance) = instantiate_wat_on(Engine::new(&config), wat, ctx);
    store.set_fuel(fuel).expect("metered");
    (store, instance)
}

fn instantiate_wat_on(engine: Engine, wat: &str, ctx: WasiCtx) -> (Store<WasiCtx>, Instance) {
    let module = Module::new(&engine, wat).expect("compiles");
    let mut linker = Linker::<WasiCtx>::new(&engine);
    add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("links");
    let mut store = Store::new(&engine, ctx);
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiates");
    (store, instance)
}
