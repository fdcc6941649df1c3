//! A 64 KiB stack instead of Rust's 1 MiB default: every call instantiates
//! the plugin afresh, and a smaller initial memory is cheaper to set up.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|family| family == "wasm") {
        println!("cargo::rustc-link-arg-bins=-zstack-size=65536");
    }
}
