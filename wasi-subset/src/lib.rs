//! The WASI preview 1 subset wasplug plugins run against, as [`wasmi`] host
//! functions.
//!
//! - **Every** `wasi_snapshot_preview1` function is linked ([`ALL_FUNCTIONS`]),
//!   so any `wasm32-wasip1` program — Rust std, wasi-libc C, Zig, Go — links
//!   and starts. What is not supported answers with the errno a system without
//!   that capability gives; there is no file system and no network.
//! - Stdio are in-memory pipes the embedder fills and drains ([`InputPipe`],
//!   [`OutputPipe`]); clocks and randomness are injectable ([`Clock`],
//!   [`Random`]) so a run can be made deterministic.
//! - A guest that waits — reading an empty stdin, sleeping in `poll_oneoff`,
//!   writing to a full pipe — is **suspended** with a resumable host trap
//!   ([`Stop::Blocked`]), never left spinning. The embedder does what
//!   [`Blocked`] asks, calls [`complete`] and resumes the guest, which sees an
//!   ordinary blocking call that returned.
//! - Host work is metered: when the store consumes fuel, each function charges
//!   fuel for the work it does for the guest ([`CALL_FUEL`] per call, plus a
//!   rate per byte, iovec, subscription or string), and a call that could
//!   hold the thread long works in bounded steps, suspending the guest with
//!   [`Blocked::Busy`] between them.
//! - Every guest pointer goes through one checked helper, [`GuestMemory`]: a
//!   wild pointer or length becomes `EFAULT`/`EINVAL`/`EOVERFLOW`, never a host
//!   panic, and no allocation is ever sized by an unchecked guest number.
//!
//! # Quick start
//! ```
//! use wasmi::{Engine, Linker, Module, ResumableCall, Store};
//! use wasplug_wasi::{Stop, WasiCtx, add_to_linker};
//!
//! let wat = r#"(module
//!   (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
//!   (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!   (memory (export "memory") 1)
//!   (data (i32.const 16) "hello\n")
//!   (func (export "_start")
//!     (i32.store (i32.const 0) (i32.const 16))
//!     (i32.store (i32.const 4) (i32.const 6))
//!     (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
//!     (call $exit (i32.const 3))))"#;
//! let engine = Engine::default();
//! let module = Module::new(&engine, wat)?;
//! let mut linker = Linker::<WasiCtx>::new(&engine);
//! add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let mut store = Store::new(&engine, WasiCtx::builder().arg("hello").build());
//! let instance = linker.instantiate_and_start(&mut store, &module)?;
//! let start = instance.get_func(&store, "_start").ok_or("no _start")?;
//! let ResumableCall::HostTrap(trap) = start.call_resumable(&mut store, &[], &mut [])? else {
//!     panic!("expected proc_exit");
//! };
//! assert_eq!(Stop::from_error(trap.host_error()), Some(Stop::Exit(3)));
//! assert_eq!(store.data().stdout().contents(), b"hello\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod ctx;
mod driver;
mod errno;
mod funcs;
mod linker;
mod memory;
mod meter;
mod module;
mod pipe;
mod recycle;
mod sources;
mod stop;
mod warm;

pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use driver::{
    Embedder, End, Guest, GuestLimits, GuestState, Outcome, Phase, Step, TABLE_ELEMENT_BYTES,
    host_instant, run,
};
pub use errno::Errno;
pub use linker::{ALL_FUNCTIONS, MODULE, SUPPORTED_FUNCTIONS, add_to_linker, signature};
pub use memory::{GuestMemory, Iovecs};
pub use meter::{
    CALL_FUEL, COPY_FUEL, FuelRate, IOVEC_FUEL, RANDOM_DRAW_FUEL, RANDOM_FUEL, STEP_FUEL_MAX,
    STEP_FUEL_MIN, STRING_FUEL, SUBSCRIPTION_FUEL,
};
pub use module::{ImportStatus, MAX_TABLES, ModuleError, Program, START_EXPORT};
pub use pipe::{InputPipe, OutputPipe};
pub use recycle::{IDLE_BYTES_MAX, IDLE_MAX};
pub use sources::{Clock, OsRandom, Random, RandomError, SystemClock};
pub use stop::{Blocked, Completion, Stop, complete};
pub use warm::{INIT_EXPORT, INIT_STDERR_KEPT, InitError, InitFailure, InitReport};
