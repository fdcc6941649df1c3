//! For build scripts of the workspace (`tests/`, `cli/`, `web/`): builds
//! Rust guest programs for `wasm32-wasip1` with a nested cargo.
//!
//! The nested cargo uses its own target directory,
//! `<workspace>/target/wasm-guests`: on the outer one it would wait forever
//! for the lock the outer cargo holds. Variables that describe the outer
//! build are removed from its environment; what configures cargo as a whole
//! (home, network, registries, jobserver) is kept.
//!
//! Build scripts may panic: a panic fails the build with its message.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // build scripts talk to cargo on stdout

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// The target guests are built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";
/// The Cargo profile (root `Cargo.toml`) guests are built with.
pub const PROFILE: &str = "plugin";
/// Workspace crates whose sources go into the test plugin.
pub const TEST_PLUGIN_SOURCES: &[&str] = &["test-plugin", "pdk", "protocol"];

/// The workspace root: the parent of the calling package's directory.
///
/// # Panics
/// Outside a build script of a workspace member.
pub fn workspace_root() -> PathBuf {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("a workspace member lives inside the workspace")
        .to_path_buf()
}

/// Where the guests are built: `<workspace>/target/wasm-guests`.
pub fn guest_target_dir(workspace: &Path) -> PathBuf {
    workspace.join("target").join("wasm-guests")
}

/// Tells cargo to rerun the build script when the sources of `crates` (their
/// `src/`, `Cargo.toml` and `build.rs`), the root `Cargo.toml` or `Cargo.lock` change.
pub fn rerun_if_sources_change(workspace: &Path, crates: &[&str]) {
    for krate in crates {
        let dir = workspace.join(krate);
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
        // A build script sets link flags (the test plugin's stack size). Only
        // an existing file is watched: cargo reruns a script on every build
        // while a watched file is missing.
        let build_script = dir.join("build.rs");
        if build_script.exists() {
            println!("cargo:rerun-if-changed={}", build_script.display());
        }
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(file).display());
    }
}

/// Fails the build with the fix when the standard library for
/// [`WASM_TARGET`] is not installed.
///
/// # Panics
/// When it is not.
pub fn require_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&rustc).display()));
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let installed = output.status.success()
        && fs::read_dir(&libdir).is_ok_and(|mut entries| entries.next().is_some());
    assert!(
        installed,
        "the Rust target {WASM_TARGET} is not installed (no standard library in {libdir:?}); \
         building the guests needs it: run `rustup target add {WASM_TARGET}`"
    );
}

/// Builds `packages` for [`WASM_TARGET`] with [`PROFILE`] in one nested
/// cargo, and returns `(package, path of its .wasm)` pairs.
///
/// # Panics
/// When the target is missing or the build fails.
pub fn build_rust_guests(workspace: &Path, packages: &[&str]) -> Vec<(String, PathBuf)> {
    require_wasm_target();
    let target_dir = guest_target_dir(workspace);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(["--target", WASM_TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(leaks_into_nested_cargo) {
            cmd.env_remove(&key);
        }
    }
    // Progress and errors go to stderr, which cargo shows when the script fails.
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run the nested cargo that builds the guests");
    assert!(
        status.success(),
        "building {} for {WASM_TARGET} failed: {status}",
        packages.join(", ")
    );

    let artifacts = target_dir.join(WASM_TARGET).join(PROFILE);
    packages
        .iter()
        .map(|package| {
            // A binary keeps its '-'; a cdylib's file uses '_'.
            let wasm = [package.to_string(), package.replace('-', "_")]
                .iter()
                .map(|stem| artifacts.join(format!("{stem}.wasm")))
                .find(|path| path.is_file())
                .unwrap_or_else(|| {
                    panic!(
                        "cargo built {package} but left no .wasm in {}",
                        artifacts.display()
                    )
                });
            (package.to_string(), wasm)
        })
        .collect()
}

/// Builds the test plugin and copies it into `$OUT_DIR` (another build may
/// rewrite the shared artifact meanwhile); returns the copy's path.
///
/// # Panics
/// When the build or the copy fails.
pub fn build_test_plugin() -> PathBuf {
    let workspace = workspace_root();
    rerun_if_sources_change(&workspace, TEST_PLUGIN_SOURCES);
    let built = build_rust_guests(&workspace, &["test-plugin"])
        .into_iter()
        .map(|(_, wasm)| wasm)
        .next()
        .expect("one package asked, one built");
    let copy =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("test-plugin.wasm");
    fs::copy(&built, &copy)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", built.display(), copy.display()));
    copy
}

/// Whether an environment variable of the build script describes the outer
/// build and must not reach the nested cargo.
///
/// Cargo gives a build script its package (`CARGO_PKG_*`, `CARGO_MANIFEST_*`),
/// its target (`CARGO_CFG_*`, `TARGET`), its features, profile and flags
/// (`CARGO_ENCODED_RUSTFLAGS`, `CARGO_PROFILE_*`, `OPT_LEVEL`, `DEBUG`), and
/// internal state (`__CARGO_*`). The nested cargo would read some of these as
/// its own configuration: the host target as `CARGO_BUILD_TARGET`, the outer
/// target directory (whose lock the outer cargo holds) as `CARGO_TARGET_DIR`,
/// host flags or `clippy-driver` (`RUSTC_WORKSPACE_WRAPPER` under `cargo
/// clippy`) for wasm code. What configures cargo as a whole (registries,
/// network, `CARGO_HOME`, the jobserver in `CARGO_MAKEFLAGS`) is kept.
fn leaks_into_nested_cargo(key: &str) -> bool {
    const KEEP: &[&str] = &["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_LOG"];
    const KEEP_PREFIXES: &[&str] = &[
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    const REMOVE: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "NUM_JOBS",
    ];
    if key.starts_with("__CARGO") || REMOVE.contains(&key) {
        return true;
    }
    key.starts_with("CARGO_")
        && !KEEP.contains(&key)
        && !KEEP_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_build_variables_do_not_leak() {
        for key in [
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_PKG_NAME",
            "__CARGO_FIX_PLZ",
            "RUSTC_WORKSPACE_WRAPPER",
            "OUT_DIR",
        ] {
            assert!(leaks_into_nested_cargo(key), "{key}");
        }
        for key in [
            "CARGO_HOME",
            "CARGO_MAKEFLAGS",
            "CARGO_NET_OFFLINE",
            "CARGO_REGISTRIES_CRATES_IO_PROTOCOL",
            "PATH",
            "HOME",
        ] {
            assert!(!leaks_into_nested_cargo(key), "{key}");
        }
    }
}
