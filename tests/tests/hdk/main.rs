//! Integration tests of the host kit against real guests: one file per
//! behaviour.

mod cancel;
mod concurrency;
mod errors;
mod host_calls;
mod logging;
mod methods;
