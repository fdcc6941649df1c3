//! What every test uses: the binary, the test plugin, and temporary modules.

use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The `wasplug` binary, as a command to configure.
pub(crate) fn wasplug() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_wasplug"))
}

/// The test plugin (`test-plugin/`), built by `cli/build.rs`.
pub(crate) fn test_plugin() -> &'static Path {
    Path::new(env!("WASPLUG_TEST_PLUGIN"))
}

/// A file `name` holding `contents` in a fresh temporary directory (kept
/// while the returned `TempDir` lives).
pub(crate) fn temp_file(name: &str, contents: impl AsRef<[u8]>) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write the temporary file");
    (dir, path)
}

/// A module that imports `env::foo`, which the sandbox does not provide, and
/// `path_open`, which it links but answers with an errno.
pub(crate) const IMPORTS_ENV_FOO: &str = r#"(module
  (import "env" "foo" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))"#;

/// `bytes` as the inside of a WAT string literal.
fn wat_string(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b' '..=b'~' if b != b'"' && b != b'\\' => char::from(b).to_string(),
            _ => format!("\\{b:02x}"),
        })
        .collect()
}

/// A plugin that writes `stderr` to its stderr and `stdout` to its stdout
/// (say, a fixed JSON-RPC line answering request 1, the first the host
/// sends), then exits without reading anything.
pub(crate) fn writing_plugin(stderr: &[u8], stdout: &[u8]) -> String {
    let at = 1024 + stderr.len();
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{}")
  (data (i32.const {at}) "{}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const {}))
    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const {at}))
    (i32.store (i32.const 4) (i32.const {}))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        wat_string(stderr),
        wat_string(stdout),
        stderr.len(),
        stdout.len(),
    )
}

/// A plugin that copies its stdin to its stdout, like `cat`. Called with
/// `echo`, it passes the host's request on as its own request to the host's
/// `echo` method (same id, same params), then passes the host's answer back
/// as its answer: the params go CLI → plugin → host `echo` → plugin → CLI,
/// and the plugin never parses them.
pub(crate) const MIRROR: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; 0: read iovec, 8: bytes read, 16: write iovec, 24: bytes written, 1024: buffer
  (func (export "_start")
    (local $n i32)
    (loop $copy
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 65536))
      (if (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)) (then (return)))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.eqz (local.get $n)) (then (return)))
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (local.get $n))
      (loop $out
        (if (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)) (then (return)))
        (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 24))))
        (i32.store (i32.const 20) (i32.sub (i32.load (i32.const 20)) (i32.load (i32.const 24))))
        (br_if $out (i32.load (i32.const 20))))
      (br $copy))))"#;
