//! Integration tests of the host kit against real guests: one file per
//! behaviour.

mod bounds;
mod cancel;
mod concurrency;
mod discovery;
mod errors;
mod fuzz_props;
mod host_calls;
mod hostile;
mod logging;
mod manifest;
mod methods;
mod numbers;
