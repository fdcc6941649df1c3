//! For browser builds (`wasm32-unknown-unknown`) only: builds the test plugin
//! and the heavy-init plugin of the warm-start tests
//! (`tests/guests/rust/warm-table`) for `wasm32-wasip1`, and sets
//! `WASPLUG_TEST_PLUGIN` and `WASPLUG_WARM_TABLE` to the paths of copies in
//! `$OUT_DIR`, which the browser tests (`tests/browser.rs`) embed with
//! `include_bytes!`. `build.sh` copies the test plugin next to the demo page.
//! Native builds do nothing.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("TARGET").is_ok_and(|target| target == "wasm32-unknown-unknown") {
        let plugin = wasplug_build_support::build_test_plugin();
        println!("cargo:rustc-env=WASPLUG_TEST_PLUGIN={}", plugin.display());

        let workspace = wasplug_build_support::workspace_root();
        wasplug_build_support::rerun_if_sources_change(
            &workspace,
            &["tests/guests/rust/warm-table", "pdk", "protocol"],
        );
        let (_, built) = wasplug_build_support::build_rust_guests(&workspace, &["warm-table"])
            .into_iter()
            .next()
            .expect("one package asked, one built");
        // A copy: another build may rewrite the shared artifact meanwhile.
        let copy = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("warm-table.wasm");
        fs::copy(&built, &copy).unwrap_or_else(|e| {
            panic!("cannot copy {} to {}: {e}", built.display(), copy.display())
        });
        println!("cargo:rustc-env=WASPLUG_WARM_TABLE={}", copy.display());
    }
}
