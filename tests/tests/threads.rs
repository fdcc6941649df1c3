//! Waiting calls cost no threads: 2000 calls waiting on a slow host method,
//! and a sleeping call beside a computing one, keep this process's thread
//! count (`Threads:` in `/proc/self/status`) within 4 of what it was before,
//! during the run and after it; a timer that cannot be armed fails the call.
//!
//! Its own test binary, so no other test's threads are counted; its tests
//! take turns ([`SERIAL`]), so the harness's own threads stay constant while
//! one of them counts.
#![cfg(target_os = "linux")]

use futures::future::{BoxFuture, join_all};
use serde_json::json;
use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin};
use wasplug_tests::guests;

/// How many calls wait at once.
const CALLS: usize = 2000;
/// How long the host method takes to answer.
const HOST_DELAY: Duration = Duration::from_millis(200);
/// How many threads a run may add: the host kit's timer thread, the host
/// method's timer thread, and slack for the executor.
const SLACK: usize = 4;

/// One test at a time (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

/// The number of threads of this process.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads: line in /proc/self/status")
}

/// Samples the thread count every few milliseconds on a thread of its own
/// (started before the baseline is read, so it is part of it).
struct PeakThreads {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicUsize>,
    sampler: JoinHandle<()>,
}

impl PeakThreads {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(0));
        let sampler = std::thread::spawn({
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            move || {
                while !stop.load(Ordering::SeqCst) {
                    peak.fetch_max(threads(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        Self {
            stop,
            peak,
            sampler,
        }
    }

    /// The most threads seen while sampling.
    fn finish(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.sampler.join().unwrap();
        self.peak.load(Ordering::SeqCst)
    }
}

/// How the host method waits out its delay: with a timer of the executor
/// that runs it, never a thread per wait.
#[derive(Clone, Copy)]
enum HostTimer {
    /// `futures_timer::Delay`, for executors without timers (`block_on`).
    FuturesTimer,
    /// `tokio::time::sleep`.
    Tokio,
}

impl HostTimer {
    fn sleep(self, delay: Duration) -> BoxFuture<'static, ()> {
        match self {
            HostTimer::FuturesTimer => Box::pin(futures_timer::Delay::new(delay)),
            HostTimer::Tokio => Box::pin(tokio::time::sleep(delay)),
        }
    }
}

/// The test plugin with a host method `slow` that answers its `[ms]` after
/// `ms` milliseconds. Every call keeps its timeout timer armed while it
/// waits (a long timeout, so a slow debug build does not hit it).
fn plugin_with_slow_host(timer: HostTimer) -> Plugin {
    let methods = HostMethods::new(timer).method(
        "slow",
        |ctx: HostContext<HostTimer>, (ms,): (u64,)| async move {
            ctx.state().sleep(Duration::from_millis(ms)).await;
            Ok(ms)
        },
    );
    Plugin::from_file(guests::TEST_PLUGIN)
        .limits(Limits::default().with_timeout(Some(Duration::from_secs(600))))
        .host_methods(methods)
        .grants(Grants::all())
        .build()
        .unwrap()
}

/// One call that waits [`HOST_DELAY`] on the host; whether it got the answer.
async fn waiting_call(plugin: Plugin) -> bool {
    let ms = u64::try_from(HOST_DELAY.as_millis()).unwrap();
    let answer = plugin.call("call_host", json!(["slow", [ms]])).await;
    answer.is_ok_and(|value| value == json!(ms))
}

/// Runs `run` (which makes [`CALLS`] waiting calls and counts the answers)
/// and checks every call was answered and the thread count stayed flat.
fn check_calls_keep_threads_flat(executor: &str, run: impl FnOnce() -> usize) {
    let peak = PeakThreads::start();
    let baseline = threads();
    let started = Instant::now();
    let answered = run();
    let took = started.elapsed();
    let after = threads();
    let peak = peak.finish();
    assert_eq!(answered, CALLS, "{executor}: calls answered");
    // Catches a hang, not slowness: minutes in a debug build on a slow machine.
    assert!(took < Duration::from_secs(600), "{executor}: took {took:?}");
    assert!(
        peak <= baseline + SLACK,
        "{executor}: {peak} threads during the run, {baseline} before"
    );
    assert!(
        after <= baseline + SLACK,
        "{executor}: {after} threads after the run, {baseline} before"
    );
}

#[test]
fn two_thousand_waiting_calls_under_block_on_add_no_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let plugin = plugin_with_slow_host(HostTimer::FuturesTimer);
    check_calls_keep_threads_flat("block_on", || {
        let calls = (0..CALLS).map(|_| waiting_call(plugin.clone()));
        futures::executor::block_on(join_all(calls))
            .into_iter()
            .filter(|ok| *ok)
            .count()
    });
}

#[test]
fn two_thousand_waiting_calls_under_current_thread_tokio_add_no_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let plugin = plugin_with_slow_host(HostTimer::Tokio);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    check_calls_keep_threads_flat("tokio current-thread", || {
        let calls = (0..CALLS).map(|_| waiting_call(plugin.clone()));
        runtime
            .block_on(join_all(calls))
            .into_iter()
            .filter(|ok| *ok)
            .count()
    });
}

#[test]
fn two_thousand_waiting_calls_spawned_on_multi_thread_tokio_add_no_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let plugin = plugin_with_slow_host(HostTimer::Tokio);
    // The runtime's workers exist before the baseline is read.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    check_calls_keep_threads_flat("tokio multi-thread", || {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..CALLS)
                .map(|_| tokio::spawn(waiting_call(plugin.clone())))
                .collect();
            join_all(tasks)
                .await
                .into_iter()
                .filter(|done| matches!(done, Ok(true)))
                .count()
        })
    });
}

#[test]
fn a_sleeping_call_beside_a_computing_one_adds_no_threads() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    // Small fuel slices: many polls for little compute.
    let limits = Limits::default()
        .with_timeout(Some(Duration::from_secs(600)))
        .with_fuel_slice(10_000);
    let plugin = Plugin::from_file(guests::TEST_PLUGIN)
        .limits(limits)
        .build()
        .unwrap();
    let peak = PeakThreads::start();
    let baseline = threads();
    // Each fuel slice of the sieve wakes the joined task, which re-polls
    // the sleeping call: hundreds of polls while it sleeps.
    let (slept, primes) = futures::executor::block_on(async {
        futures::join!(
            plugin.call("sleep", json!([500])),
            plugin.call("prime_sieve", json!([200_000])),
        )
    });
    let after = threads();
    let peak = peak.finish();
    assert_eq!(slept.unwrap(), json!(500));
    assert_eq!(primes.unwrap()["count"], json!(17_984));
    assert!(
        peak <= baseline + SLACK,
        "{peak} threads during, {baseline} before"
    );
    assert!(
        after <= baseline + SLACK,
        "{after} threads after, {baseline} before"
    );
}

/// Set in the child process of [`a_timer_thread_that_cannot_start_fails_the_call`].
const CHILD: &str = "WASPLUG_TEST_TIMER_CANNOT_START";

#[test]
fn a_timer_thread_that_cannot_start_fails_the_call() {
    if std::env::var_os(CHILD).is_some() {
        // In a process where no thread can start (see below): the sleep
        // needs the timer thread, so the call fails; it must not spin.
        let plugin = Plugin::from_file(guests::TEST_PLUGIN).build().unwrap();
        let started = Instant::now();
        let error = futures::executor::block_on(plugin.call("sleep", json!([100]))).unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Timer { .. }), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(60));
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    // A 1 TiB default stack: creating a thread fails with EAGAIN, as at the
    // process's thread limit. The harness then runs the test on its main
    // thread.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_timer_thread_that_cannot_start_fails_the_call",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("RUST_MIN_STACK", (1u64 << 40).to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    // The child ran the test (a filter that matched nothing would also succeed).
    assert!(stdout.contains("1 passed"), "{stdout}");
}
