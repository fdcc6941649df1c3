//! For browser builds (`wasm32-unknown-unknown`) only: builds the test plugin
//! for `wasm32-wasip1` and sets `WASPLUG_TEST_PLUGIN` to the path of a copy in
//! `$OUT_DIR`, which the browser tests (`tests/browser.rs`) embed with
//! `include_bytes!`. `build.sh` copies the same plugin next to the demo page.
//!
//! The nested cargo uses its own target directory, `<workspace>/target/wasm-guests`
//! (shared with `tests/build.rs` and `cli/build.rs`): on the outer one it would
//! wait forever for the lock the outer cargo holds. Native builds do nothing.

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

const WASM_TARGET: &str = "wasm32-wasip1";
/// The Cargo profile (root `Cargo.toml`) plugins are built with.
const PROFILE: &str = "plugin";
/// Workspace crates whose sources go into the test plugin.
const SOURCE_CRATES: &[&str] = &["test-plugin", "pdk", "protocol"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    if target != "wasm32-unknown-unknown" {
        return;
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir.parent().expect("web/ is inside the workspace");
    for krate in SOURCE_CRATES {
        let dir = workspace.join(krate);
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(file).display());
    }

    let target_dir = workspace.join("target").join("wasm-guests");
    build_test_plugin(workspace, &target_dir);
    let built = target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("test-plugin.wasm");
    // A private copy: another build may rewrite the shared artifact meanwhile.
    let copy =
        PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("test-plugin.wasm");
    std::fs::copy(&built, &copy)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", built.display(), copy.display()));
    println!("cargo:rustc-env=WASPLUG_TEST_PLUGIN={}", copy.display());
}

fn build_test_plugin(workspace: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args([
            "-p",
            "test-plugin",
            "--target",
            WASM_TARGET,
            "--profile",
            PROFILE,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(leaks_into_nested_cargo) {
            cmd.env_remove(&key);
        }
    }
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run the nested cargo that builds the test plugin");
    assert!(
        status.success(),
        "building test-plugin for {WASM_TARGET} failed ({status}); \
         is the target installed? `rustup target add {WASM_TARGET}`"
    );
}

/// Whether a variable describes the outer build (its package, target,
/// profile, flags, wrappers, target directory) and must not reach the nested
/// cargo; what configures cargo as a whole (home, network, registries,
/// jobserver) is kept. The same rule as `tests/build.rs`.
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
