//! Integration tests of the host kit against real guests: one file per
//! behaviour.

mod bounds;
mod cancel;
mod concurrency;
mod conformance;
mod discovery;
mod errors;
mod fuzz_props;
mod given;
mod host_call_ids;
mod host_calls;
mod hostile;
mod http_fetch;
mod kv;
mod logging;
mod manifest;
mod methods;
mod numbers;
mod permissions;
mod registry;
mod report;
mod watch;
