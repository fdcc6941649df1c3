//! Load on one thread: many concurrent calls of the test plugin mixing
//! compute, guest sleeps, slow async host methods and notifications, driven
//! by `futures::executor::block_on`. Prints throughput, call latency, the
//! worst single poll, peak threads and peak RSS.
//!
//! `cargo run --release -p wasplug-hdk --example load -- --calls 10000 --concurrency 2000`
//! (Linux: threads and memory come from /proc/self/status).
#![allow(clippy::print_stdout, clippy::print_stderr)] // a measuring program prints its figures

use futures::{
    executor::block_on,
    future::{Either, select},
    stream::{self, StreamExt},
};
use futures_timer::Delay;
use serde_json::{Value, json};
use std::{
    cell::{Cell, RefCell},
    convert::Infallible,
    future::Future,
    pin::Pin,
    process::ExitCode,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};
use wasplug_hdk::{Grants, HostContext, HostMethods, Limits, Plugin};

const USAGE: &str = "usage: load [--calls N (default 10000)] [--concurrency N (default 2000)]";

/// The sieve's bound, and how many primes lie below it.
const SIEVE: (u64, u64) = (50_000, 5_133);
/// Notifications each notifying call sends.
const NOTIFICATIONS: u64 = 10;

struct Args {
    calls: usize,
    concurrency: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        calls: 10_000,
        concurrency: 2_000,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let field = match flag.as_str() {
            "--calls" => &mut args.calls,
            "--concurrency" => &mut args.concurrency,
            _ => return Err(format!("unknown argument `{flag}`\n{USAGE}")),
        };
        let value = given
            .next()
            .ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        *field = value
            .parse()
            .map_err(|e| format!("{flag} {value}: {e}\n{USAGE}"))?;
    }
    if args.concurrency == 0 {
        return Err(format!("--concurrency must be at least 1\n{USAGE}"));
    }
    Ok(args)
}

/// What one call does, chosen by its index.
#[derive(Clone, Copy)]
enum Kind {
    /// `prime_sieve` of [`SIEVE`]: compute only.
    Compute,
    /// The guest sleeps 100-199 ms.
    Sleep,
    /// The guest calls the host's `slow`, which answers after 100-199 ms.
    SlowHost,
    /// The guest sends [`NOTIFICATIONS`] notifications, then answers.
    Notify,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Compute, Kind::Sleep, Kind::SlowHost, Kind::Notify];

    /// The method, its params and the answer expected.
    fn call(self, i: usize) -> (&'static str, Value, Value) {
        let ms = 100 + (i % 100) as u64;
        match self {
            Kind::Compute => (
                "prime_sieve",
                json!([SIEVE.0]),
                json!({"count": SIEVE.1, "limit": SIEVE.0}),
            ),
            Kind::Sleep => ("sleep", json!([ms]), json!(ms)),
            Kind::SlowHost => ("call_host", json!(["slow", [ms]]), json!(ms)),
            Kind::Notify => ("notify", json!([NOTIFICATIONS]), json!(NOTIFICATIONS)),
        }
    }
}

/// One call's future, timing each of its polls (into `polls`) and the whole
/// call (from its first poll to its answer).
struct Timed<F> {
    inner: Pin<Box<F>>,
    first_poll: Option<Instant>,
    polls: Rc<RefCell<Vec<Duration>>>,
}

/// A call's output and how long it took.
struct Measured<T> {
    output: T,
    latency: Duration,
}

impl<F: Future> Future for Timed<F> {
    type Output = Measured<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let started = Instant::now();
        let first_poll = *self.first_poll.get_or_insert(started);
        let result = self.inner.as_mut().poll(cx);
        self.polls.borrow_mut().push(started.elapsed());
        result.map(|output| Measured {
            output,
            latency: first_poll.elapsed(),
        })
    }
}

/// CPU time (user + system) of this process, from /proc/self/stat; zero elsewhere.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (in parentheses): the state, then utime and
    // stime as the 12th and 13th fields, in ticks of 10 ms (USER_HZ = 100).
    let after = stat
        .rfind(')')
        .and_then(|i| stat.get(i + 2..))
        .unwrap_or("");
    let ticks: u64 = after
        .split(' ')
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// A `kB` field of /proc/self/status (VmRSS, VmHWM), in MiB; 0 elsewhere.
fn status_mib(field: &str) -> f64 {
    status_field(field) as f64 / 1024.0
}

/// A numeric field of /proc/self/status; 0 where there is none.
fn status_field(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn threads() -> u64 {
    status_field("Threads:")
}

/// Reads the thread count every 10 ms, on the executor's thread, forever.
async fn sample_threads(peak: &Cell<u64>) -> Infallible {
    loop {
        peak.set(peak.get().max(threads()));
        Delay::new(Duration::from_millis(10)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let threads_before = threads();
    let rss_before = status_mib("VmRSS:");

    let notified = Arc::new(AtomicU64::new(0));
    let methods = HostMethods::new(Arc::clone(&notified))
        .method(
            "slow",
            |_: HostContext<Arc<AtomicU64>>, (ms,): (u64,)| async move {
                // One timer thread for all waits (futures-timer), not one each.
                Delay::new(Duration::from_millis(ms)).await;
                Ok(ms)
            },
        )
        .notification(
            "progress",
            |ctx: HostContext<Arc<AtomicU64>>, _: Value| async move {
                ctx.state().fetch_add(1, Ordering::Relaxed);
            },
        );
    let plugin = match Plugin::from_file(wasplug_tests::guests::TEST_PLUGIN)
        .host_methods(methods)
        .grants(Grants::all())
        .build()
    {
        Ok(plugin) => plugin,
        Err(error) => {
            eprintln!("the test plugin does not load: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Warm up: with lazy translation each function is compiled on its first
    // call, inside that call's poll; measure the steady state.
    for kind in Kind::ALL {
        let (method, params, _) = kind.call(0);
        if let Err(error) = block_on(plugin.call(method, params)) {
            eprintln!("warm-up {method} failed: {error}");
            return ExitCode::FAILURE;
        }
    }
    notified.store(0, Ordering::Relaxed);

    let peak_threads = Cell::new(threads());
    let polls = Rc::new(RefCell::new(Vec::new()));
    let cpu_before = cpu_time();
    let started = Instant::now();
    let calls = stream::iter(0..args.calls)
        .map(|i| {
            let kind = Kind::ALL[i % Kind::ALL.len()];
            let (method, params, expected) = kind.call(i);
            let plugin = plugin.clone();
            Timed {
                inner: Box::pin(async move {
                    match plugin.call(method, params).await {
                        Ok(answer) if answer == expected => Ok(()),
                        Ok(answer) => Err(format!("{method} answered {answer}, not {expected}")),
                        Err(error) => Err(format!("{method} failed: {error}")),
                    }
                }),
                first_poll: None,
                polls: Rc::clone(&polls),
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>();
    let results = match block_on(select(
        Box::pin(calls),
        Box::pin(sample_threads(&peak_threads)),
    )) {
        Either::Left((results, _)) => results,
        Either::Right((never, _)) => match never {},
    };
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let peak_threads = peak_threads.get().max(threads());

    let mut latencies: Vec<Duration> = results.iter().map(|m| m.latency).collect();
    latencies.sort_unstable();
    let mut polls = polls.take();
    polls.sort_unstable();
    let failures: Vec<&String> = results
        .iter()
        .filter_map(|m| m.output.as_ref().err())
        .collect();

    println!(
        "{} calls, at most {} at once, on one thread (block_on): a quarter each prime_sieve({}), \
         sleep(100-199 ms), a host method answering after 100-199 ms, and {} notifications",
        args.calls, args.concurrency, SIEVE.0, NOTIFICATIONS
    );
    println!(
        "  answered: {} of {} in {:.2?} = {:.0} calls/s, using {:.2?} of CPU; notifications handled: {}",
        results.len() - failures.len(),
        args.calls,
        wall,
        args.calls as f64 / wall.as_secs_f64(),
        cpu,
        notified.load(Ordering::Relaxed)
    );
    println!(
        "  call latency: p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "  one poll of a call (fuel slice {} units): p50 {:.1?}, p99 {:.1?}, p99.9 {:.1?}, worst {:.2?} over {} polls",
        Limits::DEFAULT_FUEL_SLICE,
        percentile(&polls, 0.50),
        percentile(&polls, 0.99),
        percentile(&polls, 0.999),
        polls.last().copied().unwrap_or_default(),
        polls.len()
    );
    println!(
        "  threads: {threads_before} before the first call, peak {peak_threads} \
         (sampled every 10 ms; the host kit's timer thread and futures-timer's are the only others)"
    );
    println!(
        "  memory: RSS {:.1} MiB before, peak RSS (VmHWM) {:.1} MiB",
        rss_before,
        status_mib("VmHWM:")
    );
    if let Some(first) = failures.first() {
        eprintln!("{} calls failed; the first: {first}", failures.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
