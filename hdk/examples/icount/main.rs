//! Instruction counts of what a call costs, compared with a committed
//! baseline so a slowdown cannot slip in unnoticed: wall-clock figures on a
//! shared machine drift by more than the regressions worth catching, counts
//! of executed instructions do not.
//!
//! Each workload (`workloads.rs`: plugin load, ping, a plugin→host round
//! trip, the same in flight together, the sieve) runs in a child process of
//! this program under `valgrind --tool=callgrind`, twice: after one
//! unmeasured warm-up iteration, `n` iterations, then `2n`. The difference of
//! the two totals is `n` iterations alone: process start-up, loading the
//! plugin and the warm-up cancel out. Counts are per unit (per round trip
//! for the echo workloads).
//!
//! ```text
//! .ci/icount                 # build (bench profile), measure, compare; fails on a regression
//! .ci/icount --update        # rewrite hdk/benches/icount-baseline.json
//! .ci/icount ping load       # only these workloads (with --update: only their counts)
//! ```
//!
//! A regression beyond +3% fails; an improvement beyond 3% passes with a
//! note to update the baseline. The callgrind files stay in `target/icount/`
//! (`callgrind_annotate target/icount/ping.20.callgrind.out`).
//!
//! Counts follow the code paths valgrind's virtual CPU selects: it has no SHA
//! extensions, so the SHA-256 of the module in `load` (its digest) runs the
//! portable code, about half of that count; glibc picks its AVX2 routines.
// A measuring program prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// Valgrind and the test plugin are native: on wasm (the browser lints build
// every test target) there is nothing to build.
#![cfg(not(target_family = "wasm"))]

mod compare;
mod workloads;

use compare::{Baseline, TOLERANCE_PERCENT};
use std::{
    collections::BTreeMap,
    io,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};
use workloads::{Fixture, WORKLOADS, Workload};

/// The baseline, beside the criterion benches.
const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/icount-baseline.json");
/// Where the callgrind files go.
const OUT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/icount");
/// The command that rewrites the baseline.
const UPDATE_COMMAND: &str = ".ci/icount --update";

/// What can stop a measurement.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot run {program} (is it installed? .ci/icount installs valgrind): {source}")]
    Spawn {
        program: &'static str,
        source: io::Error,
    },
    #[error("{workload} ({iterations} iterations) failed under valgrind ({status}):\n{stderr}")]
    Run {
        workload: &'static str,
        iterations: u64,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{path}: no `summary:` line (not a callgrind file?)")]
    NoSummary { path: PathBuf },
    #[error(
        "{workload}: {short} instructions for {iterations} iterations, {long} for twice as many: \
         the counts are not deterministic"
    )]
    NotGrowing {
        workload: &'static str,
        iterations: u64,
        short: u64,
        long: u64,
    },
    #[error("{path}: {source}")]
    Baseline {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("unknown workload {0:?} (known: {known})", known = workload_names())]
    UnknownWorkload(String),
    #[error("{0}")]
    Workload(String),
}

fn workload_names() -> String {
    let names: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
    names.join(", ")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("measure") => measure(args.get(1..).unwrap_or_default()).map(|()| true),
        _ => drive(&args),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(failure) => {
            eprintln!("icount: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// The child valgrind runs: `measure WORKLOAD ITERATIONS`.
fn measure(args: &[String]) -> Result<(), Failure> {
    let usage = || Failure::Workload("usage: icount measure WORKLOAD ITERATIONS".to_owned());
    let [name, iterations] = args else {
        return Err(usage());
    };
    let workload = workloads::find(name).ok_or_else(|| Failure::UnknownWorkload(name.clone()))?;
    let iterations: u64 = iterations.parse().map_err(|_| usage())?;
    let fixture = Fixture::new().map_err(Failure::Workload)?;
    workload
        .run(&fixture, iterations)
        .map_err(|e| Failure::Workload(format!("{}: {e}", workload.name)))
}

/// Measures, then compares with the baseline or (`--update`) rewrites it.
/// `Ok(false)`: a regression, or a workload without a baseline.
fn drive(args: &[String]) -> Result<bool, Failure> {
    let update = args.iter().any(|arg| arg == "--update");
    let chosen: Vec<&'static Workload> = args
        .iter()
        .filter(|arg| *arg != "--update")
        .map(|name| workloads::find(name).ok_or_else(|| Failure::UnknownWorkload(name.clone())))
        .collect::<Result<_, _>>()?;
    let chosen = if chosen.is_empty() {
        WORKLOADS.iter().collect()
    } else {
        chosen
    };

    let baseline_path = Path::new(BASELINE);
    let baseline = read_baseline(baseline_path)?;
    let rustc = version("rustc", "-V")?;
    let valgrind = version("valgrind", "--version")?;
    println!("{rustc}; {valgrind}; {} cores", parallelism());
    if let Some(baseline) = &baseline {
        for (what, then, now) in [
            ("rustc", &baseline.rustc, &rustc),
            ("valgrind", &baseline.valgrind, &valgrind),
        ] {
            if then != now {
                println!(
                    "warning: the baseline was measured with {then:?}, this run with {now:?}: \
                     a different {what} shifts counts (compared anyway)"
                );
            }
        }
    }

    let now = measure_all(&chosen)?;
    let mut counts: BTreeMap<String, u64> = baseline
        .as_ref()
        .map(|baseline| baseline.counts.clone())
        .unwrap_or_default();
    if chosen.len() < WORKLOADS.len() {
        counts.retain(|name, _| chosen.iter().any(|w| w.name == name));
    }
    let comparison = compare::compare(&counts, &now, TOLERANCE_PERCENT);
    println!("\ninstructions per unit (valgrind callgrind, Ir):");
    for workload in &chosen {
        println!("  {:<22} per {}", workload.name, workload.unit);
    }
    println!();
    print!("{comparison}");

    if update {
        let mut counts = baseline.map(|b| b.counts).unwrap_or_default();
        if chosen.len() == WORKLOADS.len() {
            counts.clear();
        }
        counts.extend(now);
        let new = Baseline {
            about: format!(
                "Instructions per unit of work (valgrind callgrind, Ir), bench profile; \
                 regenerate with `{UPDATE_COMMAND}`. See hdk/examples/icount/."
            ),
            rustc,
            valgrind,
            counts,
        };
        write_baseline(baseline_path, &new)?;
        println!("\nwrote {}", baseline_path.display());
        return Ok(true);
    }
    if comparison.failed() {
        println!(
            "\nFAILED: a regression beyond +{TOLERANCE_PERCENT}% (or a workload without a baseline). \
             Find where with `callgrind_annotate` on the files in target/icount/; if the change \
             is intended, `{UPDATE_COMMAND}` and commit the baseline."
        );
        return Ok(false);
    }
    if comparison.wants_update() {
        println!(
            "\nnote: beyond the tolerance in the good direction: run `{UPDATE_COMMAND}` and \
             commit the baseline so the gain is kept."
        );
    }
    Ok(true)
}

fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs every workload's two child processes under valgrind, as many at a
/// time as there are cores (counts do not depend on it), and returns the
/// count per unit of each, in the order given.
fn measure_all(chosen: &[&'static Workload]) -> Result<Vec<(String, u64)>, Failure> {
    let exe = std::env::current_exe().map_err(|source| Failure::Io {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let out_dir = Path::new(OUT_DIR);
    // No files of an earlier run (other iteration counts) left to mislead.
    if out_dir.exists() {
        std::fs::remove_dir_all(out_dir).map_err(|source| Failure::Io {
            path: out_dir.to_owned(),
            source,
        })?;
    }
    std::fs::create_dir_all(out_dir).map_err(|source| Failure::Io {
        path: out_dir.to_owned(),
        source,
    })?;
    // The longer runs first, so the last ones to finish are short.
    let jobs: Vec<(usize, u64)> = [2, 1]
        .into_iter()
        .flat_map(|times| {
            chosen
                .iter()
                .enumerate()
                .map(move |(i, w)| (i, times * w.iterations))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let totals: Mutex<BTreeMap<(usize, u64), Result<u64, Failure>>> = Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..parallelism().min(jobs.len()) {
            scope.spawn(|| {
                while let Some(&(i, n)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let Some(workload) = chosen.get(i) else { break };
                    let total = run_under_valgrind(&exe, out_dir, workload, n);
                    if let Ok(mut totals) = totals.lock() {
                        totals.insert((i, n), total);
                    }
                }
            });
        }
    });
    let mut totals = totals.into_inner().unwrap_or_default();
    let mut counts = Vec::with_capacity(chosen.len());
    for (i, workload) in chosen.iter().enumerate() {
        let n = workload.iterations;
        let mut total = |n| {
            totals
                .remove(&(i, n))
                .unwrap_or_else(|| Err(Failure::Workload(format!("{}: not run", workload.name))))
        };
        let (short, long) = (total(n)?, total(2 * n)?);
        let units = n * workload.units_per_iteration;
        if long <= short {
            return Err(Failure::NotGrowing {
                workload: workload.name,
                iterations: n,
                short,
                long,
            });
        }
        // Rounded to the nearest instruction.
        counts.push((workload.name.to_owned(), (long - short + units / 2) / units));
    }
    Ok(counts)
}

/// One child process under callgrind; its total instruction count.
fn run_under_valgrind(
    exe: &Path,
    out_dir: &Path,
    workload: &'static Workload,
    iterations: u64,
) -> Result<u64, Failure> {
    let out_file = out_dir.join(format!("{}.{iterations}.callgrind.out", workload.name));
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .args(["measure", workload.name, &iterations.to_string()])
        .output()
        .map_err(|source| Failure::Spawn {
            program: "valgrind",
            source,
        })?;
    if !output.status.success() {
        return Err(Failure::Run {
            workload: workload.name,
            iterations,
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let text = std::fs::read_to_string(&out_file).map_err(|source| Failure::Io {
        path: out_file.clone(),
        source,
    })?;
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|total| total.trim().parse().ok())
        .ok_or(Failure::NoSummary { path: out_file })
}

/// The first line `program flag` prints.
fn version(program: &'static str, flag: &str) -> Result<String, Failure> {
    let output = Command::new(program)
        .arg(flag)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|source| Failure::Spawn { program, source })?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// The baseline, or `None` when there is no file yet.
fn read_baseline(path: &Path) -> Result<Option<Baseline>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| Failure::Baseline {
                path: path.to_owned(),
                source,
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Failure::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write_baseline(path: &Path, baseline: &Baseline) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(baseline).map_err(|source| Failure::Baseline {
        path: path.to_owned(),
        source,
    })?;
    text.push('\n');
    std::fs::write(path, text).map_err(|source| Failure::Io {
        path: path.to_owned(),
        source,
    })
}
