//! `uniffi-bindgen`, pinned to the UniFFI version wasplug-ffi is built with:
//! `cargo run -p wasplug-uniffi-bindgen -- generate --library <libwasplug_ffi.so>
//! --language python --out-dir <dir>`.
#![forbid(unsafe_code)]

fn main() {
    uniffi::uniffi_bindgen_main();
}
