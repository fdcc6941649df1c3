//! Host work is metered: with fuel metering on, every WASI call charges
//! `CALL_FUEL`, its work is charged at its rate, and a long call goes in
//! steps the fuel left pays for, suspending the guest with `Blocked::Busy`
//! between them. Without metering nothing is charged.

use crate::harness::{Guest, PAGE, instantiate_metered_wat, instantiate_wat};
use crate::surface::{CountingRandom, SIGNATURES};
use wasmi::{Instance, ResumableCall, Store, Val};
use wasplug_wasi::{
    Blocked, CALL_FUEL, COPY_FUEL, Completion, IOVEC_FUEL, RANDOM_DRAW_FUEL, RANDOM_FUEL,
    STEP_FUEL_MAX, STEP_FUEL_MIN, STRING_FUEL, SUBSCRIPTION_FUEL, Stop, WasiCtx, complete,
};

/// More fuel than any test here uses.
const PLENTY: u64 = 1 << 40;
/// Little fuel: less than one minimum step.
const LITTLE: u64 = 1_000;
/// What a function's wasm wrapper itself may cost, at most.
const WRAPPER_FUEL: u64 = 32;

fn counting() -> WasiCtx {
    WasiCtx::builder().random(CountingRandom::new(0)).build()
}

/// Completes a suspended call again and again (giving it `refuel` units
/// first, when `Some`) until it is ready; returns its value and how many
/// times it was still busy.
fn complete_steps(
    g: &mut Guest,
    refuel: Option<u64>,
    mut on_busy: impl FnMut(&Guest),
) -> (Val, u32) {
    let mut busy = 0;
    loop {
        if let Some(fuel) = refuel {
            g.set_fuel(fuel);
        }
        match g.complete() {
            Completion::Ready(value) => return (value, busy),
            Completion::Blocked(Blocked::Busy) => {
                busy += 1;
                on_busy(g);
            }
            other => panic!("expected a step or the end, got {other:?}"),
        }
    }
}

#[test]
fn every_call_costs_call_fuel() {
    for (name, sig) in SIGNATURES {
        if name == "proc_exit" {
            continue;
        }
        let mut g = Guest::metered(WasiCtx::builder().build(), PLENTY);
        // All-zero arguments: no work to do (no bytes, no iovecs, no
        // strings, no subscriptions), whatever the function answers.
        let spent = g.fuel_of(name, &vec![0; sig.len()]);
        assert!(spent >= CALL_FUEL, "{name} cost {spent}");
        assert!(
            (CALL_FUEL..=CALL_FUEL + WRAPPER_FUEL).contains(&spent),
            "{name} cost {spent}"
        );
    }
}

#[test]
fn work_is_charged_at_its_rate() {
    let page = u64::from(PAGE);
    let mut g = Guest::metered(counting(), PLENTY);
    let base = g.fuel_of("random_get", &[0, 0]);
    let full = g.fuel_of("random_get", &[0, i64::from(PAGE)]);
    assert_eq!(full - base, RANDOM_DRAW_FUEL + RANDOM_FUEL.cost(page));

    // fd_write: 1024 iovecs naming the same 64 bytes.
    g.iovecs(0x100, &[(0x8000, 64); 1024]);
    let none = g.fuel_of("fd_write", &[1, 0x100, 0, 0x10]);
    let all = g.fuel_of("fd_write", &[1, 0x100, 1024, 0x10]);
    assert_eq!(g.u32_at(0x10), 65536);
    assert_eq!(g.ctx().stdout().len(), 65536);
    assert_eq!(all - none, 1024 * IOVEC_FUEL + COPY_FUEL.cost(65536));

    // fd_read: two iovecs, 60,000 bytes.
    g.ctx_mut().stdin_mut().push(&[7; 60_000]);
    g.iovecs(0x3000, &[(0x8000, 30_000), (0x8000, 30_000)]);
    let none = g.fuel_of("fd_read", &[0, 0x3000, 0, 0x10]);
    let all = g.fuel_of("fd_read", &[0, 0x3000, 2, 0x10]);
    assert_eq!(g.u32_at(0x10), 60_000);
    assert_eq!(all - none, 2 * IOVEC_FUEL + COPY_FUEL.cost(60_000));

    // poll_oneoff: 512 ready clock subscriptions (realtime, absolute, at 0).
    const SUBS: u32 = 0x2000;
    const EVENTS: u32 = 0x8000;
    for i in 0..512 {
        g.write(SUBS + 48 * i, &[0; 48]);
        g.write(SUBS + 48 * i + 40, &1u16.to_le_bytes());
    }
    let poll = |n: i64| [i64::from(SUBS), i64::from(EVENTS), n, 0x10];
    let one = g.fuel_of("poll_oneoff", &poll(1));
    let many = g.fuel_of("poll_oneoff", &poll(512));
    assert_eq!(g.u32_at(0x10), 512);
    assert_eq!(many - one, 511 * SUBSCRIPTION_FUEL);

    // Arguments against the empty environment: 50 strings of 100 bytes.
    let ctx = WasiCtx::builder()
        .args((0..50).map(|_| "a".repeat(100)))
        .build();
    let mut g = Guest::metered(ctx, PLENTY);
    let sizes = g.fuel_of("args_sizes_get", &[0x10, 0x14]);
    let no_sizes = g.fuel_of("environ_sizes_get", &[0x10, 0x14]);
    assert_eq!(sizes - no_sizes, 50 * STRING_FUEL);
    let strings = g.fuel_of("args_get", &[0x100, 0x1000]);
    let no_strings = g.fuel_of("environ_get", &[0x100, 0x1000]);
    assert_eq!(
        strings - no_strings,
        50 * (STRING_FUEL + COPY_FUEL.cost(101))
    );
}

/// Each step of a long `random_get` fills as much as the fuel left pays
/// for (at least `STEP_FUEL_MIN`'s worth) and uses all of it.
#[test]
fn a_long_random_get_goes_in_steps_the_fuel_left_pays_for() {
    let mut g = Guest::metered(counting(), LITTLE);
    g.fill(0xAA);
    let first = usize::try_from(RANDOM_FUEL.units_for(STEP_FUEL_MIN)).unwrap();
    let (trap, stop) = g.suspend("random_get", &[0, i64::from(PAGE)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Busy));
    assert_eq!(g.ctx().blocked(), Some(Blocked::Busy));
    assert_eq!(g.fuel(), 0, "the charge took all the fuel left");
    let filled: Vec<u8> = (0..first).map(|i| i as u8).collect();
    assert_eq!(g.read(0, first), filled);
    assert_eq!(g.u8_at(first as u32), 0xAA, "one step at a time");

    // Given two minimum steps' worth before each step, each step uses it all.
    let refuel = 2 * STEP_FUEL_MIN;
    let later = usize::try_from(RANDOM_FUEL.units_for(refuel)).unwrap();
    let (value, busy) = complete_steps(&mut g, Some(refuel), |g| assert_eq!(g.fuel(), 0));
    let steps = (PAGE as usize - first).div_ceil(later);
    assert_eq!(busy as usize, steps - 1);
    assert_eq!(g.resume(trap, value), 0);
    let all: Vec<u8> = (0..PAGE).map(|i| i as u8).collect();
    assert_eq!(g.mem(), all.as_slice());
}

const RANDOM_MIB: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 17)
  (global $after (export "after") (mut i32) (i32.const 0))
  (func (export "_start")
    (drop (call $random_get (i32.const 0) (i32.const 1048576)))
    ;; A new block: wasmi charges a block's fuel when it enters it.
    (loop $next (global.set $after (i32.const 1)))))"#;

/// Runs `_start` of [`RANDOM_MIB`], completing each step without giving
/// fuel; returns how it ended, the steps it was busy for, and `$after`.
fn run_random_mib(store: &mut Store<WasiCtx>, instance: Instance) -> (ResumableCall, u32, i32) {
    let start = instance.get_func(&*store, "_start").unwrap();
    let mut busy = 0;
    let mut call = start.call_resumable(&mut *store, &[], &mut []).unwrap();
    while let ResumableCall::HostTrap(trap) = call {
        assert_eq!(
            Stop::from_error(trap.host_error()),
            Some(Stop::Blocked(Blocked::Busy))
        );
        busy += 1;
        let value = loop {
            match complete(&mut *store, |c: &mut WasiCtx| c) {
                Completion::Ready(value) => break value,
                Completion::Blocked(Blocked::Busy) => busy += 1,
                other => panic!("{other:?}"),
            }
        };
        call = trap.resume(&mut *store, &[value], &mut []).unwrap();
    }
    let after = instance
        .get_global(&*store, "after")
        .and_then(|g| g.get(&*store).i32())
        .unwrap();
    (call, busy, after)
}

/// A guest doing one `random_get` of 1 MiB needs that much fuel: with less,
/// the call still completes, and the guest stops out of fuel at its next
/// instruction; with enough, it finishes.
#[test]
fn a_mebibyte_of_random_costs_its_fuel() {
    let cost = RANDOM_FUEL.cost(1 << 20);

    let (mut store, instance) = instantiate_metered_wat(RANDOM_MIB, counting(), cost / 2);
    let (end, busy, after) = run_random_mib(&mut store, instance);
    assert!(matches!(end, ResumableCall::OutOfFuel(_)), "ran on");
    assert!(busy > 0);
    assert_eq!(after, 0, "stopped before its next instruction");
    assert_eq!(store.get_fuel().unwrap(), 0);

    // Each step draws at least STEP_FUEL_MIN's worth.
    let most_steps = (1 << 20) / RANDOM_FUEL.units_for(STEP_FUEL_MIN) + 1;
    let budget = cost + CALL_FUEL + most_steps * RANDOM_DRAW_FUEL + 1_000;
    let (mut store, instance) = instantiate_metered_wat(RANDOM_MIB, counting(), budget);
    let (end, busy, after) = run_random_mib(&mut store, instance);
    assert!(matches!(end, ResumableCall::Finished), "out of fuel");
    assert_eq!(after, 1);
    let spent = budget - store.get_fuel().unwrap();
    let draws = u64::from(busy) + 1;
    assert!(
        spent >= cost + CALL_FUEL + draws * RANDOM_DRAW_FUEL,
        "spent {spent}"
    );
}

/// Without fuel metering nothing is charged, and each step does
/// `STEP_FUEL_MAX`'s worth of work.
#[test]
fn without_metering_steps_are_the_largest() {
    let (mut store, instance) = instantiate_wat(RANDOM_MIB, counting());
    let (end, busy, after) = run_random_mib(&mut store, instance);
    assert!(matches!(end, ResumableCall::Finished));
    assert_eq!(after, 1);
    let step = RANDOM_FUEL.units_for(STEP_FUEL_MAX);
    assert_eq!(u64::from(busy), (1u64 << 20).div_ceil(step) - 1);
    let memory = instance.get_memory(&store, "memory").unwrap();
    let bytes = &memory.data(&store)[..1 << 20];
    assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
}

/// A blocking write of 1 MiB to an unbounded stdout goes in steps, then
/// reports the whole count; non-blocking, the same write stops short after
/// one step.
#[test]
fn a_long_write_goes_in_steps_and_a_nonblocking_one_is_short() {
    let step = COPY_FUEL.units_for(STEP_FUEL_MIN);
    let pattern: Vec<u8> = (0..PAGE).map(|i| (i % 251) as u8).collect();
    let setup = |g: &mut Guest| {
        g.write(0, &pattern);
        // 16 iovecs naming the whole page, at its end (they are read first).
        let list = [(0, PAGE); 16];
        g.iovecs(PAGE - 128, &list);
    };
    let args = [1, i64::from(PAGE - 128), 16, i64::from(PAGE - 132)];

    let mut g = Guest::metered(WasiCtx::builder().build(), LITTLE);
    setup(&mut g);
    let (trap, stop) = g.suspend("fd_write", &args);
    assert_eq!(stop, Stop::Blocked(Blocked::Busy));
    assert_eq!(g.ctx().stdout().len() as u64, step);
    let page = g.mem().to_vec();
    let (value, busy) = complete_steps(&mut g, None, |_| {});
    assert_eq!(u64::from(busy), (16 * u64::from(PAGE)).div_ceil(step) - 2);
    assert_eq!(g.resume(trap, value), 0);
    assert_eq!(g.u32_at(PAGE - 132), 16 * PAGE);
    let out = g.ctx_mut().stdout_mut().take();
    assert_eq!(out.len(), 16 * PAGE as usize);
    assert!(out.chunks(PAGE as usize).all(|c| c == page.as_slice()));

    let mut g = Guest::metered(WasiCtx::builder().build(), LITTLE);
    setup(&mut g);
    assert_eq!(g.call("fd_fdstat_set_flags", &[1, 4]), 0);
    assert_eq!(g.call("fd_write", &args), 0);
    assert_eq!(u64::from(g.u32_at(PAGE - 132)), step);
    assert_eq!(g.ctx().stdout().len() as u64, step);
}

/// A read returns at most one step's worth of bytes (a short read, as any
/// read may be); without metering, a larger step.
#[test]
fn a_long_read_is_short_at_one_step() {
    let input = vec![3u8; 200_000];
    let iovecs = [(0x1000, 60_000); 4];
    let mut g = Guest::metered(WasiCtx::builder().stdin(&input).build(), LITTLE);
    g.iovecs(0x100, &iovecs);
    assert_eq!(g.call("fd_read", &[0, 0x100, 4, 0x10]), 0);
    assert_eq!(
        u64::from(g.u32_at(0x10)),
        COPY_FUEL.units_for(STEP_FUEL_MIN)
    );

    let mut g = Guest::new(WasiCtx::builder().stdin(&input).build());
    g.iovecs(0x100, &iovecs);
    assert_eq!(g.call("fd_read", &[0, 0x100, 4, 0x10]), 0);
    assert_eq!(g.u32_at(0x10), 200_000);
}
