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
