//! Fuzzes every `wasi_snapshot_preview1` function of wasplug-wasi.
//!
//! The input is decoded into one call: which function, its arguments, the
//! stdio state and the guest's memory contents. `surface::execute` (shared
//! with the integration tests' property test) makes the call through a wasm
//! wrapper and panics when the host breaks an invariant: an errno outside
//! 0..77, a stop that does not fit the function, a suspended call that cannot
//! be completed and resumed. A host panic is a crash too.
//!
//! Run with `cargo fuzz run -s none wasi_calls` from `wasi-subset/` (stable
//! Rust works with `-s none`), or `.ci/fuzz` from the repository root.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/wasi/surface.rs"]
mod surface;

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use surface::{Case, Fill, MAX_I32_PARAMS, MAX_I64_PARAMS, PAGE, Rig, SIGNATURES, Session};

/// Reads the input front to back; past its end every read is zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }

    /// An `i32` argument: a selector byte picks raw bits or one of the
    /// values where bugs live, so small inputs reach them.
    fn arg_i32(&mut self) -> i32 {
        let page = PAGE as i32;
        let v = self.u32();
        match self.u8() % 8 {
            0 => v as i32,
            1 => (v % 4) as i32,
            2 => (v % PAGE) as i32 & !7,
            3 => (v % PAGE) as i32,
            4 => page - (v % 128) as i32,
            5 => [0, -1, i32::MIN, i32::MAX, page, 1024, 1025, 4096][v as usize % 8],
            6 => (v % 64) as i32,
            _ => (v % 8192) as i32 & !7,
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head.to_vec()
    }

    fn rest(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

fn decode(data: &[u8]) -> Case {
    let mut input = Input(data);
    let func = usize::from(input.u8()) % SIGNATURES.len();
    let flags = input.u8();
    let mut i32s = [0i32; MAX_I32_PARAMS];
    for a in &mut i32s {
        *a = input.arg_i32();
    }
    let mut i64s = [0i64; MAX_I64_PARAMS];
    for a in &mut i64s {
        *a = input.u64() as i64;
    }
    let stdin_len = usize::from(input.u8() % 32);
    let stdin = input.take(stdin_len);
    let capacity = input.u8();
    let prefill = usize::from(input.u8() % 24);
    let closed = input.u8();
    let realtime = input.u64();
    let monotonic = input.u64();
    let patch_at = input.u32() % PAGE;
    let fill_kind = input.u8();
    let seed = input.u64();
    // The rest of the input is memory: written at `patch_at` over the fill,
    // or, for the Tiled fill, repeated over all of memory.
    let rest = input.rest();
    let (fill, patches) = match fill_kind % 4 {
        0 => (Fill::Zero, vec![(patch_at, rest)]),
        1 => (Fill::Random(seed), vec![(patch_at, rest)]),
        2 => (Fill::Words(seed), vec![(patch_at, rest)]),
        _ => (Fill::Tiled(rest), Vec::new()),
    };
    Case {
        func,
        i32s,
        i64s,
        fill,
        patches,
        stdin,
        close_stdin: flags & 1 != 0,
        output_capacity: (flags & 2 != 0).then_some(usize::from(capacity % 32)),
        output_prefill: prefill,
        nonblocking_stdin: flags & 4 != 0,
        closed_fd: (flags & 8 != 0).then_some(u32::from(closed % 3)),
        realtime,
        monotonic,
    }
}

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session::new(&Rig::new()));
}

fuzz_target!(|data: &[u8]| {
    let case = decode(data);
    SESSION.with(|session| surface::execute(&mut session.borrow_mut(), &case));
});
