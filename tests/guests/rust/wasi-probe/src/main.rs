//! A plain `wasm32-wasip1` program (Rust std only, no wasplug crate) that
//! exercises one WASI behaviour, chosen by its first argument. The integration
//! tests in `tests/tests/wasi_guests/` run it under `wasplug-wasi`.
//!
//! | argument | behaviour |
//! | --- | --- |
//! | `echo` | copies stdin to stdout until end of file |
//! | `big-stdout N` | writes `N` bytes (`byte i = i % 251`) to stdout |
//! | `log N` | writes `log line i` for `i` in `1..=N` to stderr |
//! | `args-env` | prints `arg <arg>` per argument, then `env <key>=<value>` per variable |
//! | `clock N` | reads the monotonic clock `N` times; exit 1 if it ever goes back |
//! | `random N` | fills `N` bytes with `random_get` and writes them to stdout |
//! | `sleep MS` | sleeps `MS` ms, prints the nanoseconds it measured |
//! | `read-file PATH` | `std::fs::read(PATH)`: prints the error kind, or the length |
//!
//! Exit status 0 on success, 1 on a failed check, 2 on a bad argument.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let command = args.get(1).map(String::as_str).unwrap_or_default();
    let number = args.get(2).and_then(|n| n.parse::<usize>().ok());
    let result = match (command, number) {
        ("echo", _) => echo(),
        ("big-stdout", Some(n)) => big_stdout(n),
        ("log", Some(n)) => log(n),
        ("args-env", _) => args_env(),
        ("clock", Some(n)) => clock(n),
        ("random", Some(n)) => random(n),
        ("sleep", Some(ms)) => sleep(ms),
        ("read-file", _) => read_file(args.get(2).map(String::as_str).unwrap_or_default()),
        _ => {
            eprintln!("usage: wasi-probe <behaviour> [n] (got {:?})", &args[1..]);
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("wasi-probe {command}: {error}");
            ExitCode::from(1)
        }
    }
}

type Outcome = io::Result<ExitCode>;

/// Copies stdin to stdout, flushing after every read so the output follows the input.
fn echo() -> Outcome {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            return Ok(ExitCode::SUCCESS);
        }
        stdout.write_all(&buf[..n])?;
        stdout.flush()?;
    }
}

fn big_stdout(len: usize) -> Outcome {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut stdout = io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn log(lines: usize) -> Outcome {
    for i in 1..=lines {
        eprintln!("log line {i}");
    }
    Ok(ExitCode::SUCCESS)
}

fn args_env() -> Outcome {
    let mut out = io::stdout().lock();
    for arg in std::env::args() {
        writeln!(out, "arg {arg}")?;
    }
    for (key, value) in std::env::vars() {
        writeln!(out, "env {key}={value}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn clock(reads: usize) -> Outcome {
    let first = Instant::now();
    let mut last = first;
    for i in 1..reads {
        let now = Instant::now();
        if now < last {
            eprintln!("monotonic clock went back at read {i}: {now:?} < {last:?}");
            return Ok(ExitCode::from(1));
        }
        last = now;
    }
    println!("{reads} reads, never back");
    Ok(ExitCode::SUCCESS)
}

/// The raw WASI import behind `random`: std has no API that hands out a
/// caller-sized buffer of WASI randomness. The only unsafe code of this guest.
#[cfg(target_os = "wasi")]
#[allow(unsafe_code)]
mod raw {
    use std::io;

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        /// `random_get(buf, buf_len) -> errno` of WASI preview 1.
        #[link_name = "random_get"]
        fn wasi_random_get(buf: *mut u8, buf_len: usize) -> u16;
    }

    /// Fills `buf` with `random_get`.
    pub(crate) fn random_get(buf: &mut [u8]) -> io::Result<()> {
        // SAFETY: `buf` is a live, writable buffer of exactly `buf.len()` bytes
        // for the whole call, and `random_get` writes only inside it.
        let errno = unsafe { wasi_random_get(buf.as_mut_ptr(), buf.len()) };
        match errno {
            0 => Ok(()),
            errno => Err(io::Error::other(format!("random_get: errno {errno}"))),
        }
    }
}

/// Off WASI (`cargo build --workspace` builds this guest for the host too)
/// there is no `random_get` to call.
#[cfg(not(target_os = "wasi"))]
mod raw {
    use std::io;

    /// Always fails: this is not a WASI program.
    pub(crate) fn random_get(_buf: &mut [u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "random_get needs WASI",
        ))
    }
}

fn random(len: usize) -> Outcome {
    let mut buf = vec![0u8; len];
    raw::random_get(&mut buf)?;
    let mut stdout = io::stdout().lock();
    stdout.write_all(&buf)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn sleep(ms: usize) -> Outcome {
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(ms as u64));
    println!("slept {} ns", start.elapsed().as_nanos());
    Ok(ExitCode::SUCCESS)
}

fn read_file(path: &str) -> Outcome {
    match std::fs::read(path) {
        Ok(bytes) => println!("read {} bytes", bytes.len()),
        Err(error) => println!("error kind {:?}", error.kind()),
    }
    Ok(ExitCode::SUCCESS)
}
