//! Integration tests of every `wasi_snapshot_preview1` function, through
//! small wasm guests run by wasmi.

mod harness;
mod surface;

mod args_env;
mod clocks;
mod fd_misc;
mod fd_read;
mod fd_write;
mod fuel;
mod linking;
mod poll;
mod proc;
mod props;
mod random;
mod unsupported;
