//! The Rust std guest `wasi-probe`: one WASI behaviour per test, chosen by its
//! first argument (see `tests/guests/rust/wasi-probe/src/main.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasplug_tests::guests::WASI_PROBE;
use wasplug_tests::wasi::{GuestOutput, GuestRun, timed};
use wasplug_wasi::{Clock, Random, RandomError, SystemClock, WasiCtxBuilder};

/// Runs `wasi-probe` with these arguments (after the program name).
fn probe(args: &[&str]) -> GuestRun {
    let args = args.to_vec();
    GuestRun::new(WASI_PROBE).ctx(move |ctx| ctx.arg("wasi-probe").args(args))
}

fn run(guest: GuestRun) -> GuestOutput {
    guest.run().expect("wasi-probe runs to completion")
}

#[test]
fn echo_suspends_once_per_chunk_and_never_spins() {
    let chunks = [
        "first chunk\n",
        "second, split ",
        "in two\n",
        "no newline at the end",
    ];
    let out = run(probe(&["echo"])
        .stdin_chunks(chunks)
        .chunk_gap(Duration::from_millis(2)));

    assert_eq!(out.stdout_text(), chunks.concat());
    assert_eq!(out.stderr, b"");
    assert_eq!(out.status, 0);
    // One wait before each chunk and one before the end of input: each read
    // takes the whole chunk, so the guest never asks twice for the same data.
    let deliveries = u32::try_from(chunks.len()).expect("few chunks") + 1;
    assert_eq!(out.input_waits, deliveries, "{out:?}");
    assert_eq!(out.resumptions, deliveries, "{out:?}");
    assert_eq!(out.sleep_waits + out.output_waits, 0);
}

#[test]
fn writes_one_mebibyte_through_a_small_stdout_pipe() {
    const LEN: usize = 1 << 20;
    const PIPE: usize = 64 << 10;
    let out = run(probe(&["big-stdout", &LEN.to_string()]).ctx(|ctx| ctx.stdout_capacity(PIPE)));

    let expected: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    assert_eq!(out.stdout.len(), LEN);
    assert!(out.stdout == expected, "stdout differs from the pattern");
    assert_eq!(out.status, 0);
    // Suspended each time the pipe filled and drained: about LEN / PIPE
    // times, inside one blocking write, resumed once when all of it was in.
    let fills = u32::try_from(LEN / PIPE).expect("small");
    assert!(
        (fills - 1..=fills + 1).contains(&out.output_waits),
        "{} output waits for {fills} pipe-fulls",
        out.output_waits
    );
    assert_eq!(out.resumptions, 1);
    assert_eq!(out.input_waits + out.sleep_waits, 0);
}

#[test]
fn logs_lines_to_stderr() {
    let out = run(probe(&["log", "5"]));
    let expected: String = (1..=5).map(|i| format!("log line {i}\n")).collect();
    assert_eq!(out.stderr_text(), expected);
    assert_eq!(out.stdout, b"");
    assert_eq!(out.status, 0);
    assert_eq!(out.suspensions(), 0);
}

#[test]
fn sees_exactly_the_arguments_and_environment_it_was_given() {
    // The test process has an environment; none of it may reach the guest.
    assert!(std::env::var_os("PATH").is_some());
    let args = ["wasi-probe", "args-env", "two words", "ünïcödé", ""];
    let env = [("LANG", "C"), ("EMPTY", ""), ("WITH_EQUALS", "a=b=c")];
    let out = run(GuestRun::new(WASI_PROBE).ctx(|ctx| {
        env.iter()
            .fold(ctx.args(args), |ctx: WasiCtxBuilder, (k, v)| ctx.env(k, v))
    }));

    let mut expected: String = args.iter().map(|a| format!("arg {a}\n")).collect();
    expected.extend(env.iter().map(|(k, v)| format!("env {k}={v}\n")));
    assert_eq!(out.stdout_text(), expected);
    assert_eq!(out.stderr, b"");
    assert_eq!(out.status, 0);
}

/// The system clock, counting how often the monotonic clock is read.
struct CountingClock {
    inner: SystemClock,
    monotonic_reads: Arc<AtomicU64>,
}

impl Clock for CountingClock {
    fn realtime(&mut self) -> u64 {
        self.inner.realtime()
    }

    fn monotonic(&mut self) -> u64 {
        self.monotonic_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.monotonic()
    }

    fn resolution(&self) -> u64 {
        self.inner.resolution()
    }
}

#[test]
fn monotonic_clock_never_goes_back() {
    const READS: u64 = 20_000;
    let monotonic_reads = Arc::new(AtomicU64::new(0));
    let clock = CountingClock {
        inner: SystemClock::new(),
        monotonic_reads: Arc::clone(&monotonic_reads),
    };
    let out = run(probe(&["clock", &READS.to_string()]).ctx(|ctx| ctx.clock(clock)));

    // The guest checks each read against the previous one and exits 1 on a step back.
    assert_eq!(out.stdout_text(), format!("{READS} reads, never back\n"));
    assert_eq!(out.stderr, b"");
    assert_eq!(out.status, 0);
    // Every read went to the host clock.
    assert!(monotonic_reads.load(Ordering::Relaxed) >= READS);
}

/// A deterministic random source that keeps a copy of every fill.
struct RecordingRandom {
    state: u64,
    fills: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Random for RecordingRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        for byte in dest.iter_mut() {
            // xorshift64
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state.to_le_bytes()[0];
        }
        self.fills.lock().expect("not poisoned").push(dest.to_vec());
        Ok(())
    }
}

#[test]
fn random_get_fills_64_kib() {
    const LEN: usize = 64 << 10;
    let fills = Arc::new(Mutex::new(Vec::new()));
    let random = RecordingRandom {
        state: 0x9e37_79b9_7f4a_7c15,
        fills: Arc::clone(&fills),
    };
    let out = run(probe(&["random", &LEN.to_string()]).ctx(|ctx| ctx.random(random)));

    assert_eq!(out.status, 0);
    assert_eq!(out.stderr, b"");
    let fills = fills.lock().expect("not poisoned");
    let big: Vec<&Vec<u8>> = fills.iter().filter(|fill| fill.len() == LEN).collect();
    assert_eq!(big.len(), 1, "one random_get of {LEN} bytes");
    assert_eq!(out.stdout.len(), LEN);
    assert!(
        &out.stdout == big[0],
        "the guest got exactly the source's bytes"
    );
}

#[test]
fn random_get_from_the_os_differs_between_runs() {
    let first = run(probe(&["random", "64"]));
    let second = run(probe(&["random", "64"]));
    assert_eq!(first.stdout.len(), 64);
    assert_eq!(second.stdout.len(), 64);
    assert_ne!(first.stdout, second.stdout);
}

#[test]
fn sleep_suspends_until_the_deadline() {
    const NANOS: u64 = 50_000_000;
    let (out, wall) = timed(|| run(probe(&["sleep", &(NANOS / 1_000_000).to_string()])));

    assert_eq!(out.status, 0);
    assert_eq!(out.sleep_waits, 1, "{out:?}");
    assert_eq!(out.resumptions, 1);
    let [sleep] = out.sleeps[..] else {
        panic!("one sleep: {:?}", out.sleeps)
    };
    // The guest asked for NANOS from the moment it called, just before the
    // embedder saw the suspension, and was resumed only after the deadline.
    assert!(sleep.deadline > sleep.blocked_at);
    assert!(sleep.deadline - sleep.blocked_at <= NANOS);
    assert!(sleep.resumed_at >= sleep.deadline);
    assert!(wall >= Duration::from_nanos(NANOS));
    // What the guest measured on its own monotonic clock.
    let slept: u64 = out
        .stdout_text()
        .strip_prefix("slept ")
        .and_then(|rest| rest.strip_suffix(" ns\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected stdout {:?}", out.stdout_text()));
    assert!(slept >= NANOS, "the guest slept only {slept} ns");
}

#[test]
fn reading_a_file_fails_without_trapping() {
    let out = run(probe(&["read-file", "/etc/passwd"]));
    assert_eq!(out.stdout_text(), "error kind NotFound\n");
    assert_eq!(out.stderr, b"");
    assert_eq!(out.status, 0);
}
