//! Measures how long a WASI-heavy guest can hold the thread between two
//! points where an executor regains control (a *slice*: from one stop of the
//! guest — out of fuel, or suspended in a WASI call — to the next), and how
//! much wall time one unit of fuel stands for in each workload.
//!
//! Each workload is a small WAT guest that calls one WASI function in a loop
//! (or once, with a huge argument). It runs in fuel slices of 100,000 units,
//! the host kit's default, under a minimal executor: at each stop it takes
//! the guest's output, gives it a fresh slice and finishes the suspended call
//! with [`wasplug_wasi::complete`]. A workload stops after about a second.
//!
//! Each workload runs twice. First in slices of 10^9: the `ns/fuel` column is wall
//! time over the fuel the run used (guest instructions plus what the WASI
//! functions charged), and `ns/iter` the time of one turn of its loop (or of
//! its one call). With host work metered, every workload's `ns/fuel` is
//! close to (or below) the pure compute ones: a unit of fuel costs about the
//! same time whatever the guest does. Then in slices of 100,000: the slice columns are
//! how long each slice held the thread (wall time: on a busy machine, run it
//! under `chrt -f 10` so that other processes do not stretch the slices).
//!
//! `cargo build --release -p wasplug-wasi --example host_work && chrt -f 10
//! target/release/examples/host_work [FILTER...]` (only the workloads whose
//! name contains one of the filters).
#![allow(clippy::print_stdout)] // a measuring program prints its figures

use std::time::{Duration, Instant};
use wasmi::{Config, Engine, Linker, Module, ResumableCall, Store};
use wasplug_wasi::{Completion, Stop, WasiCtx, WasiCtxBuilder, add_to_linker, complete};

/// Fuel per slice: the host kit's default (`Limits::DEFAULT_FUEL_SLICE`).
const SLICE: u64 = 100_000;
/// How long each workload runs (twice), with a pause after each run: under
/// `chrt` the kernel takes the core back for 50 ms of every second a
/// real-time thread holds it, which would show as a slice.
const RUN_FOR: Duration = Duration::from_millis(300);
const PAUSE: Duration = Duration::from_millis(200);
/// The stdout/stderr capacity the host kit and `wasplug run` use.
const PIPE: usize = 64 << 10;
/// Pages of guest memory: room for a 64 MiB buffer and the tables below.
const PAGES: u32 = 1100;

/// Guest addresses of the buffers the workloads use.
const SUBS: u32 = 0x1_0000; // 4096 subscriptions of 48 bytes: 192 KiB
const EVENTS: u32 = 0x4_0000; // 4096 events of 32 bytes: 128 KiB
const IOVS: u32 = 0x6_0000; // 1024 iovecs of 8 bytes
const SCRATCH: u32 = 0x8; // nwritten, nevents, a timestamp
const DATA: u32 = 0x10_0000; // 1 MiB and up: data, argv buffers
const ARGV: u32 = 0x7_0000; // 4096 argv pointers (16 KiB)

/// One workload: what it is, the body of its loop, what it sets up first,
/// and the context it runs with.
struct Workload {
    name: String,
    setup: String,
    body: String,
    ctx: fn() -> WasiCtxBuilder,
    /// Input pushed each time the guest waits for stdin.
    refill: usize,
}

fn plain() -> WasiCtxBuilder {
    WasiCtx::builder()
}

fn big_args() -> WasiCtxBuilder {
    // 4096 arguments of 255 bytes: 1 MiB with their NULs.
    WasiCtx::builder().args((0..4096).map(|_| "a".repeat(255)))
}

fn workloads() -> Vec<Workload> {
    let mut list = Vec::new();
    let w = |name: &str, setup: &str, body: &str| Workload {
        name: name.to_owned(),
        setup: setup.to_owned(),
        body: body.to_owned(),
        ctx: plain,
        refill: 0,
    };
    list.push(w(
        "compute: i64 arithmetic",
        "",
        "(local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005)) (i64.const 1)))
         (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 33))))",
    ));
    list.push(w(
        "compute: memory loads/stores",
        "",
        "(i64.store (i32.and (i32.wrap_i64 (local.get $x)) (i32.const 0xFFF8))
            (i64.add (i64.load (i32.and (i32.wrap_i64 (local.get $x)) (i32.const 0xFFF8))) (local.get $x)))
         (local.set $x (i64.add (local.get $x) (i64.const 24)))",
    ));
    list.push(w("sched_yield loop", "", "(drop (call $sched_yield))"));
    list.push(w(
        "clock_time_get loop",
        "",
        &format!("(drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const {SCRATCH})))"),
    ));
    for len in [16u32, 4096, 65536, 1 << 20, 16 << 20] {
        list.push(w(
            &format!("random_get {len} B loop"),
            "",
            &format!("(drop (call $random_get (i32.const {DATA}) (i32.const {len})))"),
        ));
    }
    list.push(w(
        "random_get 64 MiB once",
        "",
        &format!(
            "(drop (call $random_get (i32.const {DATA}) (i32.const {})))
             (return)",
            64 << 20
        ),
    ));
    // 4096 clock subscriptions on the realtime clock, absolute, at instant 0:
    // all ready at once, each read of the clock a host call.
    let subs_setup = format!(
        "(local.set $i (i32.const 0))
         (loop $s
           (i32.store16 (i32.add (i32.const {SUBS}) (i32.add (i32.mul (local.get $i) (i32.const 48)) (i32.const 40))) (i32.const 1))
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br_if $s (i32.lt_u (local.get $i) (i32.const 4096))))"
    );
    list.push(w(
        "poll_oneoff 4096 subscriptions loop",
        &subs_setup,
        &format!(
            "(drop (call $poll_oneoff (i32.const {SUBS}) (i32.const {EVENTS}) (i32.const 4096) (i32.const {})))",
            SCRATCH + 4
        ),
    ));
    // 1024 iovecs of 0 bytes (all zero memory): only the checks.
    list.push(w(
        "fd_write 1024 empty iovecs loop",
        "",
        &format!("(drop (call $fd_write (i32.const 1) (i32.const {IOVS}) (i32.const 1024) (i32.const {SCRATCH})))"),
    ));
    let iovs_setup = |len: u32, count: u32| {
        format!(
            "(local.set $i (i32.const 0))
             (loop $s
               (i32.store (i32.add (i32.const {IOVS}) (i32.mul (local.get $i) (i32.const 8))) (i32.const {DATA}))
               (i32.store (i32.add (i32.const {}) (i32.mul (local.get $i) (i32.const 8))) (i32.const {len}))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $s (i32.lt_u (local.get $i) (i32.const {count}))))",
            IOVS + 4
        )
    };
    list.push(w(
        "fd_write 1024 iovecs x 64 B loop",
        &iovs_setup(64, 1024),
        &format!("(drop (call $fd_write (i32.const 1) (i32.const {IOVS}) (i32.const 1024) (i32.const {SCRATCH})))"),
    ));
    list.push(w(
        "fd_write 1 MiB (one iovec) loop",
        &iovs_setup(1 << 20, 1),
        &format!("(drop (call $fd_write (i32.const 1) (i32.const {IOVS}) (i32.const 1) (i32.const {SCRATCH})))"),
    ));
    list.push(w(
        "fd_write 64 MiB once, to an unbounded stdout",
        &iovs_setup(64 << 20, 1),
        &format!(
            "(drop (call $fd_write (i32.const 1) (i32.const {IOVS}) (i32.const 1) (i32.const {SCRATCH})))
             (return)"
        ),
    ));
    list.push(Workload {
        refill: 32 << 20,
        ..w(
            "fd_read 32 MiB of stdin per call loop",
            &iovs_setup(32 << 20, 1),
            &format!("(drop (call $fd_read (i32.const 0) (i32.const {IOVS}) (i32.const 1) (i32.const {SCRATCH})))"),
        )
    });
    list.push(Workload {
        ctx: big_args,
        ..w(
            "args_get 4096 args (1 MiB) loop",
            "",
            &format!("(drop (call $args_get (i32.const {ARGV}) (i32.const {DATA})))"),
        )
    });
    list.push(Workload {
        ctx: big_args,
        ..w(
            "args_sizes_get 4096 args loop",
            "",
            &format!(
                "(drop (call $args_sizes_get (i32.const {SCRATCH}) (i32.const {})))",
                SCRATCH + 4
            ),
        )
    });
    list
}

fn wat(workload: &Workload) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") {PAGES})
  (global $iterations (export "iterations") (mut i64) (i64.const 0))
  (func (export "_start") (local $i i32) (local $x i64)
    {setup}
    (loop $loop
      {body}
      (global.set $iterations (i64.add (global.get $iterations) (i64.const 1)))
      (br $loop))))"#,
        setup = workload.setup,
        body = workload.body,
    )
}

struct Stats {
    wall: Duration,
    fuel: u64,
    iterations: i64,
    /// How long each slice took.
    slices: Vec<Duration>,
    ended: String,
}

/// Gives the guest a fresh slice of `slice` units; returns the fuel the
/// last one used.
fn refuel(store: &mut Store<WasiCtx>, slice: u64) -> u64 {
    let left = store.get_fuel().unwrap_or(0);
    store.set_fuel(slice).ok();
    slice.saturating_sub(left)
}

/// Runs `workload` for [`RUN_FOR`] (or to its end) in slices of `slice`
/// units of fuel.
fn run(engine: &Engine, workload: &Workload, slice: u64) -> Stats {
    let module = Module::new(engine, wat(workload)).expect("the workload compiles");
    let mut linker = Linker::<WasiCtx>::new(engine);
    add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("links");
    let ctx = (workload.ctx)()
        .stdout_capacity(if workload.name.contains("unbounded") {
            usize::MAX
        } else {
            PIPE
        })
        .stderr_capacity(PIPE)
        .build();
    let mut store = Store::new(engine, ctx);
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiates");
    let start = instance.get_func(&store, "_start").expect("_start");
    let refill = vec![b'i'; workload.refill];

    let mut slices = Vec::new();
    let mut fuel = 0u64;
    store.set_fuel(slice).ok();
    let began = Instant::now();
    let mut mark = Instant::now();
    let mut outcome = start.call_resumable(&mut store, &[], &mut []);
    let ended = loop {
        slices.push(mark.elapsed());
        if began.elapsed() >= RUN_FOR {
            break "time".to_owned();
        }
        outcome = match outcome {
            Ok(ResumableCall::Finished) => break "finished".to_owned(),
            Err(error) => break format!("error: {error}"),
            Ok(ResumableCall::OutOfFuel(call)) => {
                fuel += refuel(&mut store, slice);
                mark = Instant::now();
                call.resume(&mut store, &mut [])
            }
            Ok(ResumableCall::HostTrap(trap)) => {
                let Some(Stop::Blocked(_)) = Stop::from_error(trap.host_error()) else {
                    break format!("stopped: {}", trap.host_error());
                };
                // Complete the suspended call, stop after stop, until it
                // returns: take output, push input, give a fresh slice.
                let value = loop {
                    let ctx = store.data_mut();
                    ctx.stdout_mut().take();
                    ctx.stderr_mut().take();
                    if ctx.stdin().is_empty() && !refill.is_empty() {
                        ctx.stdin_mut().push(&refill);
                    }
                    fuel += refuel(&mut store, slice);
                    mark = Instant::now();
                    match complete(&mut store, |c: &mut WasiCtx| c) {
                        Completion::Ready(value) => break Some(value),
                        Completion::Blocked(_) => slices.push(mark.elapsed()),
                        _ => break None,
                    }
                };
                let Some(value) = value else {
                    break "nothing to complete".to_owned();
                };
                trap.resume(&mut store, &[value], &mut [])
            }
        };
    };
    let wall = began.elapsed();
    fuel += slice.saturating_sub(store.get_fuel().unwrap_or(slice));
    let iterations = instance
        .get_global(&store, "iterations")
        .and_then(|g| g.get(&store).i64())
        .unwrap_or(0);
    Stats {
        wall,
        fuel,
        iterations,
        slices,
        ended,
    }
}

fn main() {
    let mut config = Config::default();
    config.consume_fuel(true);
    let engine = Engine::new(&config);
    let filters: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "{:<46} {:>8} {:>11} {:>9} | {:>8} {:>9} {:>9} {:>9}",
        "workload",
        "ns/fuel",
        "ns/iter",
        "ended by",
        "slices",
        "p50 slice",
        "p99 slice",
        "max slice",
    );
    for workload in workloads() {
        if !filters.is_empty() && !filters.iter().any(|f| workload.name.contains(f.as_str())) {
            continue;
        }
        // In slices of a billion: what a unit of fuel costs (a charge larger
        // than the fuel left is cut to it, which slices this large make rare).
        let whole = run(&engine, &workload, 1_000_000_000);
        std::thread::sleep(PAUSE);
        // In slices of 100,000: how long the thread is held at a time.
        let mut sliced = run(&engine, &workload, SLICE);
        std::thread::sleep(PAUSE);
        sliced.slices.sort();
        let at = |q: usize| {
            let n = sliced.slices.len().saturating_sub(1);
            sliced.slices.get(n * q / 100).copied().unwrap_or_default()
        };
        let ns = whole.wall.as_nanos() as f64;
        let iterations = if whole.ended == "finished" {
            1
        } else {
            whole.iterations.max(1)
        };
        println!(
            "{:<46} {:>8.2} {:>11.0} {:>9} | {:>8} {:>9.1?} {:>9.1?} {:>9.1?}",
            workload.name,
            ns / whole.fuel.max(1) as f64,
            ns / iterations as f64,
            whole.ended,
            sliced.slices.len(),
            at(50),
            at(99),
            at(100),
        );
    }
}
