//! Hostile plugins: each misbehaves in one way, the call ends with the typed
//! error that names it, well within its limit, and the same `Plugin` then
//! serves a normal call.
//!
//! Most cases run the `hostile` guest (`tests/guests/rust/hostile`), one
//! method per misbehaviour; what Rust cannot express is a WAT fixture in
//! `tests/guests/wat/`. Modules refused at load time (random bytes, imports
//! outside WASI, no `_start`, no memory) and exiting without an answer are in
//! `errors.rs`; the peak host memory of the floods and bombs is measured in
//! `tests/peak_memory.rs`, alone in its process.
//!
//! The limits are explicit and small so the suite is quick in a debug build;
//! the infinite loop and the endless sleep also run under the default limits
//! (with a short timeout), to show the defaults are finite.

use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use wasmi::TrapCode;
use wasplug_hdk::{Engine, Error, ErrorKind, Grants, Limits, Plugin, protocol::ProtocolError};
use wasplug_tests::{
    guests,
    host::{echo_methods, wat},
};

/// The fuel budget of most cases: about a second of a debug build.
const FUEL: u64 = 5_000_000;
/// The wall-clock timeout of most cases: far more than their fuel lasts.
const TIMEOUT: Duration = Duration::from_secs(15);
/// The timeout of the cases that can only end by timing out.
const SHORT_TIMEOUT: Duration = Duration::from_millis(500);
/// The linear-memory cap of most cases.
const MEMORY: u64 = 32 << 20;
/// The longest line of most cases.
const MAX_LINE: usize = 1 << 20;
/// How long any hostile call may take, generously: limits plus slow CI.
const BOUND: Duration = Duration::from_secs(30);

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

fn limits() -> Limits {
    Limits::default()
        .with_fuel(Some(FUEL))
        .with_timeout(Some(TIMEOUT))
        .with_memory(Some(MEMORY))
        .with_max_line(MAX_LINE)
}

/// Counts the stderr lines a plugin logged, and remembers the longest.
#[derive(Clone, Default)]
struct LineCount {
    lines: Arc<AtomicU64>,
    longest: Arc<AtomicUsize>,
}

impl LineCount {
    fn logger(&self) -> impl Fn(&str, &str) + Send + Sync + 'static {
        let this = self.clone();
        move |_plugin: &str, line: &str| {
            this.lines.fetch_add(1, Ordering::Relaxed);
            this.longest.fetch_max(line.len(), Ordering::Relaxed);
        }
    }
}

fn hostile_on(engine: &Engine, limits: Limits, log: &LineCount) -> Plugin {
    Plugin::from_file(guests::HOSTILE)
        .engine(engine)
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
        .logger(log.logger())
        .build()
        .unwrap()
}

fn hostile(limits: Limits) -> Plugin {
    hostile_on(&Engine::new(), limits, &LineCount::default())
}

/// Calls `method` and checks it failed within [`BOUND`]; returns the error
/// and how long the call took.
fn fails(plugin: &Plugin, method: &str, params: Value) -> (Error, Duration) {
    let started = Instant::now();
    let result = block_on(plugin.call(method, params));
    let took = started.elapsed();
    let error = match result {
        Ok(answer) => panic!("{method} answered {answer}, expected an error"),
        Err(error) => error,
    };
    assert!(took < BOUND, "{method} took {took:?}: {error:?}");
    (error, took)
}

/// The same plugin serves a normal call.
fn still_serves(plugin: &Plugin) {
    assert_eq!(block_on(plugin.call("ping", Value::Null)).unwrap(), "pong");
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "spin", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: FUEL }),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn an_infinite_loop_without_a_fuel_budget_times_out() {
    let plugin = hostile(limits().with_fuel(None).with_timeout(Some(SHORT_TIMEOUT)));
    let (error, took) = fails(&plugin, "spin", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout {
                limit: SHORT_TIMEOUT
            }
        ),
        "{error:?}"
    );
    assert!(took >= SHORT_TIMEOUT, "{took:?}");
    still_serves(&plugin);
}

/// The default limits are finite: an infinite loop ends under them (here the
/// timeout, shortened from 30 s, comes before 10 billion units of fuel).
#[test]
fn an_infinite_loop_ends_under_the_default_limits() {
    let timeout = Duration::from_secs(2);
    let plugin = hostile(Limits::default().with_timeout(Some(timeout)));
    let (error, took) = fails(&plugin, "spin", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit } if *limit == timeout),
        "{error:?}"
    );
    assert!(took >= timeout, "{took:?}");
    still_serves(&plugin);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "memory_bomb", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::MemoryLimit { limit: MEMORY, .. }),
        "{error:?}"
    );
    // Rust's allocator said why it aborted, on stderr.
    assert!(!error.stderr().is_empty(), "{error:?}");
    still_serves(&plugin);
}

#[test]
fn a_stdout_flood_without_a_newline_is_a_line_too_long() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "stdout_flood", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::LineTooLong { limit: MAX_LINE }),
        "{error:?}"
    );
    still_serves(&plugin);
}

/// A stderr flood cannot break a limit of its own: it runs until its fuel or
/// time is up (here the time: writing costs the guest little fuel). Every
/// line reaches the logger; only the tail is kept.
#[test]
fn a_stderr_flood_of_lines_ends_and_every_line_is_logged() {
    let log = LineCount::default();
    let plugin = hostile_on(
        &Engine::new(),
        limits().with_timeout(Some(Duration::from_secs(2))),
        &log,
    );
    let (error, _) = fails(&plugin, "stderr_flood", json!([100]));
    assert!(
        matches!(
            error.kind(),
            ErrorKind::OutOfFuel { .. } | ErrorKind::Timeout { .. }
        ),
        "{error:?}"
    );
    assert!(log.lines.load(Ordering::Relaxed) > 1000);
    assert_eq!(log.longest.load(Ordering::Relaxed), 99);
    still_serves(&plugin);
}

/// A flood of empty lines: each reaches the logger, and counts towards the
/// stderr kept (the peak memory it takes is checked in `peak_memory.rs`).
#[test]
fn a_stderr_flood_of_empty_lines_ends_and_every_line_is_logged() {
    let log = LineCount::default();
    let plugin = hostile_on(
        &Engine::new(),
        limits().with_timeout(Some(Duration::from_secs(2))),
        &log,
    );
    let (error, _) = fails(&plugin, "stderr_flood", json!([1]));
    assert!(
        matches!(
            error.kind(),
            ErrorKind::OutOfFuel { .. } | ErrorKind::Timeout { .. }
        ),
        "{error:?}"
    );
    assert!(log.lines.load(Ordering::Relaxed) > 1000);
    assert_eq!(log.longest.load(Ordering::Relaxed), 0);
    still_serves(&plugin);
}

/// Stderr without a newline is logged in bounded pieces, never buffered
/// whole: at most the 16 KiB a "line" may have plus one drain of the 64 KiB
/// stderr pipe.
#[test]
fn a_stderr_flood_without_a_newline_is_logged_in_bounded_pieces() {
    let log = LineCount::default();
    let plugin = hostile_on(
        &Engine::new(),
        limits().with_timeout(Some(Duration::from_secs(2))),
        &log,
    );
    let (error, _) = fails(&plugin, "stderr_flood", json!([0]));
    assert!(
        matches!(
            error.kind(),
            ErrorKind::OutOfFuel { .. } | ErrorKind::Timeout { .. }
        ),
        "{error:?}"
    );
    assert!(log.lines.load(Ordering::Relaxed) > 10);
    let longest = log.longest.load(Ordering::Relaxed);
    assert!(longest <= 80 << 10, "a logged piece of {longest} bytes");
    still_serves(&plugin);
}

#[test]
fn output_that_is_not_json_is_a_protocol_violation() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "not_json", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Protocol {
                source: ProtocolError::NotJson { .. }
            }
        ),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn an_answer_to_an_id_never_sent_is_a_protocol_violation() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "bad_id", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Protocol {
                source: ProtocolError::UnknownResponseId { .. }
            }
        ),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn exiting_without_answering_keeps_the_status() {
    let plugin = hostile(limits());
    for status in [0, 7, -1, i32::MIN] {
        let (error, _) = fails(&plugin, "exit", json!([status]));
        assert!(
            matches!(error.kind(), ErrorKind::ExitWithoutAnswer { status: s } if *s == status),
            "{error:?}"
        );
        still_serves(&plugin);
    }
}

#[test]
fn unreachable_is_a_trap() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "unreachable", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Trap {
                code: Some(TrapCode::UnreachableCodeReached),
                ..
            }
        ),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "recursion", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Trap {
                code: Some(TrapCode::StackOverflow),
                ..
            }
        ),
        "{error:?}"
    );
    still_serves(&plugin);
}

/// Recursion whose frames are large (10,000 locals each) overflows the value
/// stack before the call depth: a stack overflow all the same.
#[test]
fn recursion_with_large_frames_is_a_stack_overflow() {
    let plugin = wat_plugin_on(&Engine::new(), "deep_stack", limits());
    let (error, _) = fails(&plugin, "anything", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Trap {
                code: Some(TrapCode::StackOverflow),
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn json_nested_400000_deep_is_refused_before_parsing() {
    let plugin = hostile(limits());
    let (error, _) = fails(&plugin, "deep_json", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Protocol {
                source: ProtocolError::TooDeep { .. }
            }
        ),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn sleeping_forever_times_out() {
    let plugin = hostile(limits().with_timeout(Some(SHORT_TIMEOUT)));
    let (error, took) = fails(&plugin, "sleep_forever", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout {
                limit: SHORT_TIMEOUT
            }
        ),
        "{error:?}"
    );
    assert!(took >= SHORT_TIMEOUT, "{took:?}");
    still_serves(&plugin);
}

/// The default limits are finite: a guest asleep forever ends under them.
#[test]
fn sleeping_forever_ends_under_the_default_limits() {
    let timeout = Duration::from_secs(1);
    let plugin = hostile(Limits::default().with_timeout(Some(timeout)));
    let (error, took) = fails(&plugin, "sleep_forever", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit } if *limit == timeout),
        "{error:?}"
    );
    assert!(took >= timeout, "{took:?}");
    still_serves(&plugin);
}

#[test]
fn a_flood_of_host_calls_is_stopped_by_the_in_flight_limit() {
    let plugin = hostile(limits().with_host_calls(4));
    let (error, _) = fails(&plugin, "host_call_flood", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::TooManyHostCalls { limit: 4 }),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn a_flood_of_host_calls_never_read_hits_the_input_limit() {
    let plugin = hostile(limits().with_host_calls(1 << 20).with_max_input(256 << 10));
    let (error, _) = fails(&plugin, "host_call_flood", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::InputLimit { limit: 262_144 }),
        "{error:?}"
    );
    still_serves(&plugin);
}

/// What each WASI function answers to `wasi_poke`'s calls, in order (see
/// `tests/guests/rust/hostile`): out-of-bounds pointers are `EFAULT` (21),
/// misaligned ones and lengths past the limits `EINVAL` (28), descriptors
/// that are not open `EBADF` (8), and what a pipe cannot do `ESPIPE` (70),
/// `ENOTDIR` (54), `ENOTSOCK` (57), `ENOTSUP` (58) or `ENOTCAPABLE` (76).
/// Only `proc_raise(0)` (which tests nothing) and `sched_yield` succeed;
/// `proc_exit` is not called (it ends the guest: see `exit` above).
const WASI_POKE: &[(&str, &[u32])] = &[
    ("args_get", &[21, 28, 21]),
    ("args_sizes_get", &[21, 28]),
    ("environ_get", &[21, 28]),
    ("environ_sizes_get", &[21, 28]),
    ("clock_res_get", &[21, 28, 28, 28]),
    ("clock_time_get", &[21, 28, 28, 28]),
    ("fd_advise", &[70, 8]),
    ("fd_allocate", &[70, 8]),
    ("fd_close", &[8, 8]),
    ("fd_datasync", &[28, 8]),
    ("fd_fdstat_get", &[21, 28, 28, 8]),
    ("fd_fdstat_set_flags", &[8, 28, 58]),
    ("fd_fdstat_set_rights", &[76, 8]),
    ("fd_filestat_get", &[21, 28, 8]),
    ("fd_filestat_set_size", &[28, 8]),
    ("fd_filestat_set_times", &[76, 8]),
    ("fd_pread", &[70, 8]),
    ("fd_prestat_get", &[8, 8]),
    ("fd_prestat_dir_name", &[8]),
    ("fd_pwrite", &[70, 8]),
    ("fd_read", &[21, 28, 28, 28, 21, 21, 21, 28, 8, 8]),
    ("fd_readdir", &[54, 8]),
    ("fd_renumber", &[58, 8, 8]),
    ("fd_seek", &[70, 8]),
    ("fd_sync", &[28, 8]),
    ("fd_tell", &[70, 8]),
    ("fd_write", &[21, 28, 28, 28, 21, 21, 21, 28, 21, 8, 8]),
    ("path_create_directory", &[8, 54]),
    ("path_filestat_get", &[8, 54]),
    ("path_filestat_set_times", &[8, 54]),
    ("path_link", &[8, 54]),
    ("path_open", &[8, 54]),
    ("path_readlink", &[8, 54]),
    ("path_remove_directory", &[8, 54]),
    ("path_rename", &[8, 54]),
    ("path_symlink", &[8, 54]),
    ("path_unlink_file", &[8, 54]),
    ("poll_oneoff", &[28, 21, 28, 28, 21, 28, 28, 28]),
    ("proc_raise", &[28, 28, 28, 0]),
    ("sched_yield", &[0]),
    ("random_get", &[21, 21, 21]),
    ("sock_accept", &[57, 8]),
    ("sock_recv", &[57, 8]),
    ("sock_send", &[57, 8]),
    ("sock_shutdown", &[57, 8]),
];

#[test]
fn every_wasi_function_refuses_bad_pointers_with_an_errno() {
    let plugin = hostile(limits());
    let started = Instant::now();
    let answer: Vec<(String, Vec<u32>)> = block_on(plugin.call_typed("wasi_poke", &())).unwrap();
    assert!(started.elapsed() < BOUND);
    let expected: Vec<(String, Vec<u32>)> = WASI_POKE
        .iter()
        .map(|(name, errnos)| ((*name).to_owned(), errnos.to_vec()))
        .collect();
    assert_eq!(answer, expected);
    // Every function but `proc_exit` was called.
    let mut called: Vec<&str> = answer.iter().map(|(name, _)| name.as_str()).collect();
    called.push("proc_exit");
    called.sort_unstable();
    let mut all = wasplug_wasi::ALL_FUNCTIONS.to_vec();
    all.sort_unstable();
    assert_eq!(called, all);
    still_serves(&plugin);
}

fn wat_plugin_on(engine: &Engine, name: &str, limits: Limits) -> Plugin {
    Plugin::builder(wat(name))
        .name(name)
        .engine(engine)
        .limits(limits)
        .build()
        .unwrap()
}

/// A module whose start function (run while instantiating, before `_start`)
/// never returns runs out of fuel like any other loop; the engine it shares
/// with another plugin goes on serving.
#[test]
fn a_start_function_that_never_returns_runs_out_of_fuel() {
    let engine = Engine::new();
    let plugin = wat_plugin_on(&engine, "start_loop", limits());
    let (error, _) = fails(&plugin, "anything", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: FUEL }),
        "{error:?}"
    );
    // Again: the first failure left nothing behind.
    let (error, _) = fails(&plugin, "anything", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { .. }),
        "{error:?}"
    );
    still_serves(&hostile_on(&engine, limits(), &LineCount::default()));
}

/// Without a fuel budget, the start function still gets only a bounded
/// amount of fuel: the call ends.
#[test]
fn a_start_function_that_never_returns_ends_without_a_fuel_budget() {
    let plugin = wat_plugin_on(&Engine::new(), "start_loop", limits().with_fuel(None));
    let (error, _) = fails(&plugin, "anything", Value::Null);
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Trap {
                code: Some(TrapCode::OutOfFuel),
                ..
            } | ErrorKind::Timeout { .. }
        ),
        "{error:?}"
    );
}

#[test]
fn an_initial_memory_above_the_limit_is_a_memory_limit() {
    let engine = Engine::new();
    let plugin = wat_plugin_on(&engine, "huge_memory", limits());
    let (error, _) = fails(&plugin, "anything", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::MemoryLimit { limit: MEMORY, .. }),
        "{error:?}"
    );
    still_serves(&hostile_on(&engine, limits(), &LineCount::default()));
}

/// Importing a WASI function with the wrong signature is refused when the
/// plugin loads, naming the import: it could never link.
#[test]
fn a_wasi_import_with_the_wrong_signature_is_refused() {
    let engine = Engine::new();
    let error = wasplug_hdk::Plugin::builder(wasplug_tests::host::wat("wrong_signature"))
        .engine(&engine)
        .build()
        .unwrap_err();
    let ErrorKind::RefusedImports { imports } = error.kind() else {
        panic!("expected refused imports, got {error:?}");
    };
    assert_eq!(imports.len(), 1, "{imports:?}");
    assert!(
        imports[0].starts_with("wasi_snapshot_preview1::fd_write "),
        "{imports:?}"
    );
    still_serves(&hostile_on(&engine, limits(), &LineCount::default()));
}

/// Bytes that start like wasm and then are garbage are refused when loading.
#[test]
fn random_bytes_after_a_wasm_header_are_an_invalid_module() {
    let engine = Engine::new();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for len in [0usize, 1, 7, 100, 4096] {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend((0..len).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        }));
        let built = Plugin::builder(&bytes).engine(&engine).build();
        match built.as_ref().map_err(Error::kind) {
            // An empty module is valid wasm, without `_start`.
            Err(ErrorKind::InvalidModule { .. } | ErrorKind::MissingExport { .. }) => {}
            _ => panic!("{len} random bytes: {built:?}"),
        }
    }
    still_serves(&hostile_on(&engine, limits(), &LineCount::default()));
}

/// While a hostile call runs, another call polled on the same thread still
/// completes promptly: every misbehaviour yields to the executor.
#[test]
fn a_hostile_call_does_not_starve_others_on_its_thread() {
    let engine = Engine::new();
    let timeout = Duration::from_secs(2);
    let flooder = hostile_on(
        &engine,
        limits().with_fuel(None).with_timeout(Some(timeout)),
        &LineCount::default(),
    );
    let neighbour = hostile_on(&engine, limits(), &LineCount::default());
    for (method, params) in [
        ("spin", Value::Null),
        ("stderr_flood", json!([100])),
        ("stderr_flood", json!([0])),
        ("stderr_flood", json!([1])),
        ("sleep_forever", Value::Null),
    ] {
        let started = Instant::now();
        let (flood, ping) = block_on(async {
            // `join` polls the flood first, each time.
            let flood = flooder.call(method, params.clone());
            let ping = async {
                let answer = neighbour.call("ping", Value::Null).await;
                (answer, started.elapsed())
            };
            futures::join!(flood, ping)
        });
        assert!(flood.is_err(), "{method}: {flood:?}");
        let (answer, took) = ping;
        assert_eq!(answer.unwrap(), "pong");
        assert!(
            took < timeout / 2,
            "a ping beside {method} {params} took {took:?}"
        );
    }
}

/// A plugin that answers with ONE `fd_write` of 300 KB and ignores the
/// count, then exits, as C code on a blocking pipe may: the write goes
/// through the 64 KiB pipe in pieces (the guest waits while the host drains
/// it) and the whole answer arrives.
#[test]
fn a_single_300_kb_write_of_the_answer_arrives_whole() {
    const LEN: usize = 300_000;
    let plugin = hostile(limits());
    let started = Instant::now();
    let answer = block_on(plugin.call("naive_answer", json!([LEN]))).unwrap();
    assert!(started.elapsed() < BOUND);
    let text = answer.as_str().expect("a string");
    assert_eq!(text.len(), LEN);
    assert!(
        text.bytes()
            .enumerate()
            .all(|(i, b)| b == b'0' + (i % 10) as u8),
        "the answer's bytes changed"
    );
    still_serves(&plugin);
}

/// WASI calls whose work grows with their arguments charge fuel for it: a
/// loop of 1 MiB `random_get`s, or of 4096-subscription `poll_oneoff`s,
/// spends the budget in a few calls (unmetered, the few instructions of the
/// loop would run until the timeout).
#[test]
fn wasi_heavy_loops_run_out_of_fuel() {
    for (method, params) in [
        ("random_loop", json!([1 << 20])),
        ("random_loop", json!([16])),
        ("poll_loop", Value::Null),
    ] {
        let plugin = hostile(limits());
        let (error, _) = fails(&plugin, method, params.clone());
        assert!(
            matches!(error.kind(), ErrorKind::OutOfFuel { limit: FUEL }),
            "{method} {params}: {error:?}"
        );
        still_serves(&plugin);
    }
}

/// Without a fuel budget the same loops end at their timeout, on time: a
/// long WASI call works in bounded steps, so the deadline is checked often.
#[test]
fn wasi_heavy_loops_without_a_fuel_budget_time_out() {
    let timeout = Duration::from_secs(1);
    for (method, params) in [
        ("random_loop", json!([1 << 20])),
        ("random_loop", json!([16])),
        ("poll_loop", Value::Null),
    ] {
        let plugin = hostile(limits().with_fuel(None).with_timeout(Some(timeout)));
        let (error, took) = fails(&plugin, method, params.clone());
        assert!(
            matches!(error.kind(), ErrorKind::Timeout { limit } if *limit == timeout),
            "{method} {params}: {error:?}"
        );
        assert!(
            took < Duration::from_secs(20),
            "{method} {params}: {took:?}"
        );
        still_serves(&plugin);
    }
}

/// While a WASI-heavy loop runs, a call polled beside it on the same thread
/// still completes promptly.
#[test]
fn wasi_heavy_loops_do_not_starve_others_on_their_thread() {
    let engine = Engine::new();
    let timeout = Duration::from_secs(2);
    let heavy = hostile_on(
        &engine,
        limits().with_fuel(None).with_timeout(Some(timeout)),
        &LineCount::default(),
    );
    let neighbour = hostile_on(&engine, limits(), &LineCount::default());
    for (method, params) in [
        ("random_loop", json!([1 << 20])),
        ("poll_loop", Value::Null),
    ] {
        let started = Instant::now();
        let (heavy, ping) = block_on(async {
            // `join` polls the heavy call first, each time.
            let heavy = heavy.call(method, params.clone());
            let ping = async {
                let answer = neighbour.call("ping", Value::Null).await;
                (answer, started.elapsed())
            };
            futures::join!(heavy, ping)
        });
        assert!(heavy.is_err(), "{method}: {heavy:?}");
        let (answer, took) = ping;
        assert_eq!(answer.unwrap(), "pong");
        assert!(
            took < timeout / 2,
            "a ping beside {method} {params} took {took:?}"
        );
    }
}

/// Polls `call` to its end on this thread; returns its output and the most
/// `count` grew during one poll.
fn most_per_poll<F: std::future::Future>(call: F, count: &AtomicU64) -> (F::Output, u64) {
    let mut call = std::pin::pin!(call);
    let mut most = 0;
    let output = block_on(std::future::poll_fn(|cx| {
        let before = count.load(Ordering::Relaxed);
        let poll = call.as_mut().poll(cx);
        most = most.max(count.load(Ordering::Relaxed) - before);
        poll
    }));
    (output, most)
}

/// The hostile guest with this fuel budget and timeout, and the count of
/// the lines it logs.
fn counting_lines(fuel: Option<u64>, timeout: Duration) -> (Plugin, LineCount) {
    let log = LineCount::default();
    let limits = limits().with_fuel(fuel).with_timeout(Some(timeout));
    (hostile_on(&Engine::new(), limits, &log), log)
}

/// The output pipes hold 64 KiB; the host takes a pipe's worth (and at
/// most one more drain) per poll, then yields.
const OUTPUT_PER_POLL: u64 = 2 * (64 << 10);

/// A flood of empty stderr lines (a line a byte, which cost the host far
/// more than the guest pays to write them) is taken a pipe's worth per
/// poll, as a fuel slice of compute is, not 16 pipes at once (1M lines,
/// ~25 ms of a release build).
#[test]
fn a_stderr_flood_is_taken_a_pipe_per_poll() {
    let (plugin, log) = counting_lines(None, Duration::from_millis(500));
    let (outcome, most) = most_per_poll(plugin.call("stderr_flood", json!([1])), &log.lines);
    let error = outcome.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { .. }),
        "{error:?}"
    );
    let lines = log.lines.load(Ordering::Relaxed);
    assert!(lines > 2 * OUTPUT_PER_POLL, "only {lines} lines");
    assert!(most <= OUTPUT_PER_POLL, "{most} lines logged in one poll");
}

/// A module that writes `line` over and over to stdout, ~60 KB at a time.
fn stdout_flood(line: &str) -> String {
    let again = "(loop $again
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br $again))";
    writes_then(&line.repeat(60_000 / line.len()), again)
}

/// The notification the flood below sends.
const NOTIFICATION: &str = "{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":[]}\n";

/// A plugin that sends [`NOTIFICATION`] forever under `limits`, and the
/// count of those its handler saw.
fn notification_flood(limits: Limits) -> (Plugin, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let methods = wasplug_hdk::HostMethods::new(Arc::clone(&count)).notification(
        "n",
        |ctx: wasplug_hdk::HostContext<Arc<AtomicU64>>, _: Value| {
            ctx.state().fetch_add(1, Ordering::Relaxed);
            async {}
        },
    );
    let plugin = Plugin::builder(stdout_flood(NOTIFICATION))
        .limits(limits.with_max_notifications(1 << 20))
        .host_methods(methods)
        .grants(Grants::all())
        .build()
        .unwrap();
    (plugin, count)
}

/// A flood of notifications is taken a pipe's worth per poll too.
#[test]
fn a_notification_flood_is_taken_a_pipe_per_poll() {
    let (plugin, count) =
        notification_flood(limits().with_timeout(Some(Duration::from_millis(500))));
    let (outcome, most) = most_per_poll(plugin.call("anything", Value::Null), &count);
    let error = outcome.unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::OutOfFuel { .. } | ErrorKind::Timeout { .. }
        ),
        "{error:?}"
    );
    let per_poll = OUTPUT_PER_POLL / NOTIFICATION.len() as u64;
    let total = count.load(Ordering::Relaxed);
    assert!(total > 2 * per_poll, "only {total} notifications");
    assert!(most <= per_poll, "{most} notifications in one poll");
}

/// A module that writes `out` to stdout in one `fd_write`, then does
/// `then`.
fn writes_then(out: &str, then: &str) -> String {
    let data: String = out.bytes().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "\00\01\00\00")
          (data (i32.const 256) "{data}")
          (func (export "_start")
            (i32.store (i32.const 4) (i32.const {len}))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            {then}))"#,
        len = out.len()
    )
}

/// Whatever the guest does after its answer (trap, exit with a status,
/// loop or sleep forever, wait for input, write garbage, a second answer or
/// a request) does not change the answer, and the call ends at once: the
/// guest runs no further than the step that wrote it.
#[test]
fn what_the_guest_does_after_its_answer_changes_nothing() {
    const ANSWER: &str = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"done\"}\n";
    // A clock subscription 1000 s away at 64, polled into events at 128.
    let sleep = "(i64.store (i32.const 88) (i64.const 1000000000000))
        (i32.store8 (i32.const 72) (i32.const 0))
        (i32.store (i32.const 80) (i32.const 1))
        (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 12)))";
    let read = "(drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))";
    let cases = [
        ("a trap", String::new(), "unreachable"),
        ("an exit", String::new(), "(call $exit (i32.const 7))"),
        ("a loop", String::new(), "(loop (br 0))"),
        ("a sleep", String::new(), sleep),
        ("a read", String::new(), read),
        ("garbage", "garbage\n".to_owned(), "(loop (br 0))"),
        ("a second answer", ANSWER.replace("done", "again"), ""),
        (
            "a request",
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"echo\",\"params\":[1]}\n".to_owned(),
            read,
        ),
    ];
    let timeout = Duration::from_secs(60);
    for (what, more, then) in cases {
        let plugin = Plugin::builder(writes_then(&format!("{ANSWER}{more}"), then))
            .limits(Limits::default().with_timeout(Some(timeout)))
            .host_methods(echo_methods())
            .grants(Grants::methods(["echo"]))
            .build()
            .unwrap();
        let started = Instant::now();
        let answer = block_on(plugin.call("anything", Value::Null));
        assert_eq!(answer.ok(), Some(json!("done")), "the answer, then {what}");
        let took = started.elapsed();
        assert!(took < BOUND, "the answer, then {what}: {took:?}");
    }
}

/// The budget of the floods that pay for their lines.
const FLOOD_FUEL: u64 = 1_000_000;

/// Each stderr line costs the guest fuel (32 units), not only its bytes (a
/// quarter of a unit each): a flood of empty lines, a line a byte, which
/// cost the host 60-100 times the fuel it paid, ends out of fuel after some
/// 31,000 lines (and at most one more pipe of them), not 4,000,000.
#[test]
fn a_stderr_flood_pays_fuel_for_each_line() {
    let (plugin, log) = counting_lines(Some(FLOOD_FUEL), Duration::from_secs(60));
    let (error, _) = fails(&plugin, "stderr_flood", json!([1]));
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: FLOOD_FUEL }),
        "{error:?}"
    );
    let lines = log.lines.load(Ordering::Relaxed);
    assert!(lines <= FLOOD_FUEL / 32 + (64 << 10), "{lines} lines");
    still_serves(&plugin);
}

/// Each message costs the guest fuel for the host's parsing and dispatch
/// (168 units with its line), not only its bytes: a notification flood
/// ends out of fuel after some 5,600 notifications (and at most one more
/// pipe of them), not 90,000.
#[test]
fn a_notification_flood_pays_fuel_for_each_message() {
    let (plugin, count) = notification_flood(
        limits()
            .with_fuel(Some(FLOOD_FUEL))
            .with_timeout(Some(Duration::from_secs(60))),
    );
    let (error, _) = fails(&plugin, "anything", Value::Null);
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: FLOOD_FUEL }),
        "{error:?}"
    );
    let per_pipe = (64 << 10) / NOTIFICATION.len() as u64;
    let sent = count.load(Ordering::Relaxed);
    assert!(sent <= FLOOD_FUEL / 168 + per_pipe, "{sent} notifications");
}
