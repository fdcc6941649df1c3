//! The stack the pdk docs recommend ("A small, fast build"), as the test
//! plugin has: the warm start is measured against that plugin's ping, and a
//! call resets (or creates) the whole memory, the 1 MiB default stack too.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|family| family == "wasm") {
        println!("cargo::rustc-link-arg-bins=-zstack-size=65536");
    }
}
