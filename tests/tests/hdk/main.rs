//! Integration tests of the host kit against real guests: one file per
//! behaviour.

mod bounds;
mod cancel;
mod concurrency;
mod errors;
mod fuzz_props;
mod host_calls;
mod hostile;
mod logging;
mod methods;
mod numbers;
mod registry;
mod report;
mod watch;
