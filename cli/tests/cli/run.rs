//! `wasplug run`: plain WASI commands, written in WAT.

use super::support::{IMPORTS_ENV_FOO, temp_file, wasplug};
use predicates::prelude::*;
use std::{
    io::{Read, Write},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// Copies stdin to stdout until end of file, coping with partial writes.
const CAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: read iovec, 8: nread, 16: write iovec, 24: nwritten, 64: buffer (4 KiB)
  (func (export "_start")
    (local $n i32) (local $off i32)
    (block $done
      (loop $next
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const 4096))
        (br_if $done (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $off (i32.const 0))
        (loop $more
          (i32.store (i32.const 16) (i32.add (i32.const 64) (local.get $off)))
          (i32.store (i32.const 20) (i32.sub (local.get $n) (local.get $off)))
          (br_if $done (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
          (local.set $off (i32.add (local.get $off) (i32.load (i32.const 24))))
          (br_if $more (i32.lt_u (local.get $off) (local.get $n))))
        (br $next)))))"#;

/// Writes its arguments, then its environment, as WASI lays them out
/// (NUL-terminated strings), to stdout.
const ARGS_AND_ENV: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: count, 4: bytes, 16: iovec, 24: nwritten, 1024: pointers, 4096: strings
  (func $show (param $bytes i32)
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (local.get $bytes))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "_start")
    (drop (call $args_sizes (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (call $show (i32.load (i32.const 4)))
    (drop (call $env_sizes (i32.const 0) (i32.const 4)))
    (drop (call $env_get (i32.const 1024) (i32.const 4096)))
    (call $show (i32.load (i32.const 4)))))"#;

const EXIT_7: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))"#;

const UNREACHABLE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))"#;

const SPIN: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))"#;

#[test]
fn stdin_is_passed_through_to_stdout() {
    let (_dir, cat) = temp_file("cat.wat", CAT);
    // More than the 64 KiB pipes hold, so output must stream.
    let input: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    wasplug()
        .arg("run")
        .arg(&cat)
        .write_stdin(input.clone())
        .assert()
        .success()
        .stdout(input);
}

#[test]
fn output_streams_before_stdin_ends() {
    let (_dir, cat) = temp_file("cat.wat", CAT);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasplug"))
        .arg("run")
        .arg(&cat)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    stdin.flush().unwrap();
    // Read the echo while stdin is still open, on a thread so a CLI that
    // buffers until end of input fails the test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut echoed = [0u8; 6];
        let read = stdout.read_exact(&mut echoed).map(|()| echoed);
        let _ = tx.send(read.map_err(|e| e.to_string()));
    });
    let echoed = rx.recv_timeout(Duration::from_secs(20));
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(echoed.unwrap().unwrap(), *b"hello\n");
    assert!(status.success());
}

#[test]
fn the_exit_status_is_kept() {
    let (_dir, module) = temp_file("exit7.wat", EXIT_7);
    wasplug().arg("run").arg(&module).assert().code(7);
}

#[test]
fn a_trap_is_reported_and_exits_134() {
    let (_dir, module) = temp_file("trap.wat", UNREACHABLE);
    wasplug()
        .arg("run")
        .arg(&module)
        .assert()
        .code(134)
        .stderr(predicate::str::starts_with("trap: ").and(predicate::str::contains("unreachable")));
}

#[test]
fn args_and_only_the_given_env_reach_the_module() {
    let (_dir, module) = temp_file("args.wat", ARGS_AND_ENV);
    let output = wasplug()
        .args(["run", "--env", "FOO=bar", "--env", "EMPTY="])
        .arg(&module)
        .args(["one", "--two"])
        .env("WASPLUG_LEAK_CHECK", "leaked")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let expected = format!("{}\0one\0--two\0FOO=bar\0EMPTY=\0", module.display());
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);

    let output = wasplug().arg("run").arg(&module).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\0", module.display())
    );
}

#[test]
fn a_bad_env_is_a_usage_error() {
    let (_dir, module) = temp_file("args.wat", ARGS_AND_ENV);
    wasplug()
        .args(["run", "--env", "NOEQUALS"])
        .arg(&module)
        .assert()
        .code(2);
}

/// In `_start` and in the module's own start function alike.
#[test]
fn the_timeout_stops_a_spinning_module() {
    for (name, wat) in [("spin.wat", SPIN), ("start-spin.wat", START_SPIN)] {
        let (_dir, module) = temp_file(name, wat);
        let started = Instant::now();
        wasplug()
            .args(["run", "--timeout", "0.5"])
            .arg(&module)
            .assert()
            .code(124)
            .stderr(predicate::str::contains("timeout"));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn foreign_imports_are_refused() {
    let (_dir, module) = temp_file("foreign.wat", IMPORTS_ENV_FOO);
    wasplug()
        .arg("run")
        .arg(&module)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("env::foo"));
}

#[test]
fn a_missing_module_fails() {
    wasplug()
        .args(["run", "/nonexistent/module.wasm"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read"));
}

/// A start function (the wasm `start` section) that never ends.
const START_SPIN: &str = r#"(module
  (memory (export "memory") 1)
  (func $forever (loop $again (br $again)))
  (start $forever)
  (func (export "_start")))"#;

/// A start function that exits with 5 before `_start` runs.
const START_EXIT_5: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $init (call $exit (i32.const 5)))
  (start $init)
  (func (export "_start") unreachable))"#;

/// A start function that writes "init\n", then `_start` writes "main\n".
const START_THEN_MAIN: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "init\0a")
  (data (i32.const 200) "main\0a")
  (func $say (param $at i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $init (call $say (i32.const 100)))
  (start $init)
  (func (export "_start") (call $say (i32.const 200))))"#;

/// Grows its memory by 64 pages (4 MiB) and traps if that fails.
const GROW_4_MIB: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.lt_s (memory.grow (i32.const 64)) (i32.const 0)) (then unreachable))))"#;

#[test]
fn the_fuel_budget_holds_in_a_start_function() {
    let (_dir, module) = temp_file("start-spin.wat", START_SPIN);
    wasplug()
        .args(["run", "--timeout", "none", "--fuel", "1000000"])
        .arg(&module)
        .assert()
        .code(124)
        .stderr(predicate::str::contains("fuel budget of 1000000"));
}

#[test]
fn an_exit_in_a_start_function_is_the_exit_status() {
    let (_dir, module) = temp_file("start-exit.wat", START_EXIT_5);
    wasplug().arg("run").arg(&module).assert().code(5);
}

#[test]
fn the_start_function_runs_before_start() {
    let (_dir, module) = temp_file("start-main.wat", START_THEN_MAIN);
    wasplug()
        .arg("run")
        .arg(&module)
        .assert()
        .success()
        .stdout("init\nmain\n");
}

#[test]
fn the_memory_limit_applies() {
    let (_dir, module) = temp_file("grow.wat", GROW_4_MIB);
    wasplug().arg("run").arg(&module).assert().success();
    wasplug()
        .args(["run", "--max-memory", "2"])
        .arg(&module)
        .assert()
        .code(134)
        .stderr(predicate::str::contains("memory limit of 2 MiB"));
}

#[test]
fn a_module_with_two_memories_is_refused_at_load() {
    let (_dir, module) = temp_file(
        "two-memories.wat",
        r#"(module (memory 1) (memory (export "memory") 1) (func (export "_start")))"#,
    );
    wasplug()
        .arg("run")
        .arg(&module)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("2 linear memories"));
}
