//! The bodies of the host kit's fuzz targets, shared by `cargo fuzz`
//! (`hdk/fuzz/`, which includes this file) and the property tests that run
//! in the normal test suite (`tests/tests/hdk/fuzz_props.rs`). The unit
//! tests below run the protocol's target body too
//! (`protocol/fuzz/peer_lines.rs`) as property tests.
//!
//! - [`stdout_bytes`]: arbitrary bytes become the plugin's stdout — a tiny
//!   module writes them, in chunks of a chosen size, then ends in a chosen
//!   way — so they reach the host's framing and JSON-RPC handling exactly as
//!   a plugin's output does.
//! - [`smith_module`]: an arbitrary valid module from `wasm-smith`, importing
//!   only `wasi_snapshot_preview1` functions (with their real signatures)
//!   and exporting `_start` and `memory`, runs as a plugin under small limits.
//! - [`smith_recycled`]: the same modules run as bare guests, in new
//!   instances and in recycled ones, with a fixed clock and randomness: a
//!   recycled instance must end exactly as a new one does.
//!
//! Both panic when the host breaks an invariant (and a host panic is a
//! failure too): the call must end with an answer or a typed error that fits
//! what the guest did, never [`ErrorKind::Engine`].
//!
//! Each input's plugin compiles into an engine of its own (the builder's
//! default): wasmi keeps compiled code until its engine is dropped, so one
//! engine shared by every input grows without end (by 538 MB over 900,000
//! `stdout_bytes` inputs), and a long fuzz run would end at libFuzzer's RSS
//! limit. A new engine per plugin is also faster here.

use serde_json::Value;
use std::{fmt::Write as _, sync::OnceLock, time::Duration};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin};

/// How the module of [`stdout_bytes`] ends after writing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Returns from `_start`.
    Return,
    /// Calls `proc_exit` with this status.
    Exit(i32),
    /// Reads stdin forever (answers to its requests, if it sent any).
    Read,
    /// Executes `unreachable`.
    Trap,
    /// Loops forever.
    Spin,
}

/// Host methods for fuzzed plugins: `echo` returns its params.
fn echo() -> HostMethods<()> {
    HostMethods::new(()).method("echo", |_: HostContext<()>, params: Value| async move {
        Ok(params)
    })
}

/// A module that writes `bytes` to stdout, `chunk` bytes (1 to 2^31 - 1) per
/// `fd_write`, then ends as `end` says.
pub fn stdout_module(bytes: &[u8], chunk: usize, end: End) -> String {
    const DATA: usize = 64;
    let pages = (DATA + bytes.len()).div_ceil(65536).max(1);
    let mut data = String::with_capacity(bytes.len() * 3);
    for byte in bytes {
        let _ = write!(data, "\\{byte:02x}");
    }
    let end = match end {
        End::Return => String::new(),
        End::Exit(status) => format!("(call $exit (i32.const {status}))"),
        End::Read => "(i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 48))
            (loop $again
              (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
              (br $again))"
            .to_owned(),
        End::Trap => "unreachable".to_owned(),
        End::Spin => "(loop $again (br $again))".to_owned(),
    };
    let (len, chunk) = (bytes.len(), chunk.clamp(1, i32::MAX as usize));
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") {pages})
  (data (i32.const {DATA}) "{data}")
  (func (export "_start")
    (local $at i32)
    (block $written
      (loop $more
        (br_if $written (i32.ge_u (local.get $at) (i32.const {len})))
        (i32.store (i32.const 0) (i32.add (i32.const {DATA}) (local.get $at)))
        (i32.store (i32.const 4)
          (select (i32.const {chunk}) (i32.sub (i32.const {len}) (local.get $at))
            (i32.lt_u (i32.const {chunk}) (i32.sub (i32.const {len}) (local.get $at)))))
        (br_if $written (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $at (i32.add (local.get $at) (i32.load (i32.const 8))))
        (br $more)))
    {end}))"#
    )
}

/// Reads the fuzz input front to back; past its end every read is zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }
}

/// Runs the bytes after a 3-byte header as a plugin's stdout. The header
/// picks the write size, how the module ends, the largest line and the
/// deepest JSON the host accepts.
///
/// # Panics
/// When the host breaks an invariant: an answer without a complete line, an
/// [`ErrorKind::Engine`], a trap or fuel running out that the module did not
/// cause, or a host panic.
pub fn stdout_bytes(data: &[u8]) {
    let mut input = Input(data);
    let chunk = [1, 7, 64, 4096, 65536, 1 << 30][usize::from(input.byte() % 6)];
    let end_byte = input.byte();
    let end = match end_byte % 5 {
        0 => End::Return,
        1 => End::Exit(i32::from(end_byte >> 3)),
        2 => End::Read,
        3 => End::Trap,
        _ => End::Spin,
    };
    let shape = input.byte();
    let max_line = [16, 256, 64 << 10, 16 << 20][usize::from(shape & 3)];
    let max_depth = [1, 3, 64, 100_000][usize::from((shape >> 2) & 3)];
    let bytes = input.0;

    let limits = Limits::default()
        // Ample for the writes (one per byte at worst, host work metered or
        // not); a spinning guest runs out soon.
        .with_fuel(Some(100_000 + 1_000 * bytes.len() as u64))
        .with_timeout(Some(Duration::from_secs(20)))
        .with_memory(Some(16 << 20))
        .with_max_line(max_line)
        .with_max_depth(max_depth)
        .with_max_input(1 << 20);
    let plugin = Plugin::builder(stdout_module(bytes, chunk, end))
        .name("stdout-bytes")
        .limits(limits)
        .host_methods(echo())
        .grants(Grants::methods(["echo"]))
        .logger(|_: &str, _: &str| {})
        .build()
        .unwrap_or_else(|e| panic!("the stdout module does not load: {e}"));
    let outcome = futures::executor::block_on(plugin.call("fuzz", Value::Null));
    match outcome.as_ref().map_err(|e| e.kind()) {
        Ok(_) | Err(ErrorKind::Plugin { .. }) => assert!(
            bytes.contains(&b'\n'),
            "an answer without a complete line: {outcome:?}"
        ),
        Err(ErrorKind::Engine { .. } | ErrorKind::Timeout { .. }) => {
            panic!("{end:?}: {outcome:?}")
        }
        Err(ErrorKind::Trap { .. }) => assert_eq!(end, End::Trap, "{outcome:?}"),
        Err(ErrorKind::OutOfFuel { .. }) => assert_eq!(end, End::Spin, "{outcome:?}"),
        Err(_) => {}
    }
}

/// The wasm-smith configuration: only WASI imports, with their real
/// signatures; exports `_start` and `memory`; only what wasmi supports;
/// small sizes.
pub fn smith_config() -> wasm_smith::Config {
    static CONFIG: OnceLock<wasm_smith::Config> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut imports = String::from("(module\n");
            let wat_types = |types: &[wasmi::ValType]| -> String {
                types
                    .iter()
                    .map(|t| {
                        if *t == wasmi::ValType::I64 {
                            " i64"
                        } else {
                            " i32"
                        }
                    })
                    .collect()
            };
            for name in wasplug_wasi::ALL_FUNCTIONS {
                let Some(signature) = wasplug_wasi::signature(name) else {
                    continue;
                };
                let _ = writeln!(
                    imports,
                    "  (import \"{}\" \"{name}\" (func (param{}) (result{})))",
                    wasplug_wasi::MODULE,
                    wat_types(signature.params()),
                    wat_types(signature.results()),
                );
            }
            imports.push(')');
            let exports = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;
            wasm_smith::Config {
                available_imports: Some(wat::parse_str(imports).expect("the imports parse")),
                exports: Some(wat::parse_str(exports).expect("the exports parse")),
                max_imports: 16,
                max_funcs: 16,
                max_instructions: 200,
                // The exported memory is the one the host allows: no others.
                max_memories: 0,
                max_memory32_bytes: 4 << 20,
                max_memory64_bytes: 4 << 20,
                max_table_elements: 10_000,
                max_data_segments: 8,
                max_elements: 64,
                threads_enabled: false,
                shared_everything_threads_enabled: false,
                gc_enabled: false,
                compact_imports_enabled: false,
                exceptions_enabled: false,
                simd_enabled: false,
                relaxed_simd_enabled: false,
                wide_arithmetic_enabled: false,
                custom_page_sizes_enabled: false,
                ..wasm_smith::Config::default()
            }
        })
        .clone()
}

/// Generates a module from `data` with [`smith_config`] and runs it as a
/// plugin under small limits, twice.
///
/// # Panics
/// When the host breaks an invariant: refusing a module that imports only
/// WASI (or that exports `_start` and `memory`), an [`ErrorKind::Engine`], a
/// call that does not end within its limits, or a host panic.
pub fn smith_module(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(module) = wasm_smith::Module::new(smith_config(), &mut u) else {
        return;
    };
    let wasm = module.to_bytes();
    let limits = Limits::default()
        .with_fuel(Some(200_000))
        .with_fuel_slice(20_000)
        .with_timeout(Some(Duration::from_millis(200)))
        .with_memory(Some(8 << 20))
        .with_max_line(64 << 10)
        .with_max_input(64 << 10)
        .with_host_calls(8);
    let plugin = match Plugin::builder(&wasm)
        .name("smith")
        .limits(limits)
        .host_methods(echo())
        .grants(Grants::methods(["echo"]))
        .logger(|_: &str, _: &str| {})
        .build()
    {
        Ok(plugin) => plugin,
        // wasm-smith may use a feature this engine does not enable.
        Err(error) if matches!(error.kind(), ErrorKind::InvalidModule { .. }) => return,
        Err(error) => panic!("a module with only WASI imports was refused: {error:?}"),
    };
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let outcome = futures::executor::block_on(plugin.call("fuzz", Value::Null));
        assert!(
            !matches!(
                outcome.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::Engine { .. })
            ),
            "{outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}: {outcome:?}",
            started.elapsed()
        );
    }
}

/// A clock that starts at 0 and ticks 1 µs per reading: the same in every
/// run.
struct TickingClock(u64);

impl wasplug_wasi::Clock for TickingClock {
    fn realtime(&mut self) -> u64 {
        self.monotonic()
    }

    fn monotonic(&mut self) -> u64 {
        self.0 += 1_000;
        self.0
    }
}

/// Randomness that is all zeros.
struct Zeros;

impl wasplug_wasi::Random for Zeros {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), wasplug_wasi::RandomError> {
        dest.fill(0);
        Ok(())
    }
}

/// What a guest did: how it ended (or what it waited for), its fuel, its
/// output, and the memory it left.
type Run = (String, u64, Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// Runs a guest of `program` to its end, or to its first wait (stdin is
/// closed and empty, so only a sleep waits), with a fixed clock and
/// randomness; then, with `scribble`, overwrites every byte of its memory.
fn run_guest(program: &wasplug_wasi::Program, scribble: bool) -> Run {
    use wasplug_wasi::{Guest, GuestLimits, Step, WasiCtx};
    let wasi = WasiCtx::builder()
        .stdin_closed(b"")
        .clock(TickingClock(0))
        .random(Zeros)
        .build();
    let limits = GuestLimits::default()
        .with_fuel(Some(200_000))
        .with_fuel_slice(20_000)
        .with_memory(Some(8 << 20));
    let mut guest = Guest::new(program, wasi, limits);
    let end = loop {
        match guest.step() {
            Step::Continue => {}
            other => break without_store_ids(&format!("{other:?}")),
        }
    };
    let fuel = guest.fuel_used();
    let memory = guest.memory().map(<[u8]>::to_vec);
    if let (true, Some(memory)) = (scribble, guest.memory_mut()) {
        memory.fill(0xa5);
    }
    let wasi = guest.wasi_mut();
    let stdout = wasi.stdout_mut().take();
    let stderr = wasi.stderr_mut().take();
    (end, fuel, stdout, stderr, memory)
}

/// A [`Run`] without its bytes.
fn summary((end, fuel, stdout, stderr, memory): &Run) -> String {
    let memory = memory.as_ref().map(Vec::len);
    format!(
        "{end}, fuel {fuel}, out {} B, err {} B, memory {memory:?} B",
        stdout.len(),
        stderr.len()
    )
}

/// `text` with the numbers of wasmi's store ids (which trap messages about
/// instantiation may quote) left out: each store has its own.
fn without_store_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("StoreId(") {
        let (before, after) = rest.split_at(at + "StoreId(".len());
        out.push_str(before);
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// Generates a module from `data` with [`smith_config`] and runs it as a
/// bare guest in a new instance, then three times in a program that keeps
/// idle instances (the first of those instantiates, the next two run in
/// recycled instances), scribbling over each guest's memory when it is
/// done: a leftover byte would show.
///
/// # Panics
/// When a recycled instance ends differently, uses other fuel, writes
/// other output or leaves other memory than a new one.
pub fn smith_recycled(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(module) = wasm_smith::Module::new(smith_config(), &mut u) else {
        return;
    };
    let wasm = module.to_bytes();
    let engine = wasplug_hdk::Engine::new();
    let Ok(program) = wasplug_wasi::Program::new(engine.wasmi(), &wasm) else {
        return;
    };
    let new = run_guest(&program.with_idle_instances(0), false);
    let recycling = program.with_idle_instances(1);
    for round in 0..3 {
        let run = run_guest(&recycling, true);
        // Not `assert_eq!`: the memories are too long to print.
        assert!(
            run == new,
            "run {round} of a recycling program: {} against {}",
            summary(&run),
            summary(&new),
        );
    }
}

/// The protocol target's body (`protocol/fuzz/`), for the tests below.
#[cfg(test)]
#[path = "../../protocol/fuzz/peer_lines.rs"]
mod peer_lines;

#[cfg(test)]
mod tests {
    use super::peer_lines::peer_lines;
    use proptest::{collection::vec, prelude::*};

    /// One line a peer might read: messages of every kind (ids that may be
    /// pending, params nested to a chosen depth), near misses and garbage.
    fn line() -> impl Strategy<Value = String> {
        let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        prop_oneof![
            (0u64..5, 0usize..10).prop_map(move |(id, depth)| format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"m","params":[{}]}}"#,
                nested(depth)
            )),
            "[a-z\\\\\"]{0,4}".prop_map(|s| format!(
                r#"{{"jsonrpc":"2.0","id":"{s}","method":"{s}","params":{{"{s}":null}}}}"#
            )),
            (0usize..10).prop_map(move |depth| format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":[\r{}]}}",
                nested(depth)
            )),
            (0u64..5, 0usize..10).prop_map(move |(id, depth)| format!(
                r#"{{"jsonrpc":"2.0","id":{id},"result":{}}}"#,
                nested(depth)
            )),
            (0u64..5, any::<i32>(), prop::sample::select(&["1e400", r#"{"k":[1]}"#][..])).prop_map(
                |(id, code, data)| format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":"no","data":{data}}}}}"#
                )
            ),
            Just(r#"[{"jsonrpc":"2.0","id":1,"result":1}]"#.to_owned()),
            Just(r#"{"jsonrpc":"2.0","id":1,"id":2,"result":1}"#.to_owned()),
            Just(r#"{"jsonrpc":"1.0","id":3,"method":"m"}"#.to_owned()),
            r#"[\[\]{}":,0-9a-z \\]{0,40}"#,
            vec(any::<u8>(), 0..24).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ]
    }

    proptest! {
        #[test]
        fn peer_lines_on_arbitrary_bytes(data in vec(any::<u8>(), 0..512)) {
            peer_lines(&data);
        }

        #[test]
        fn peer_lines_on_json_rpc_lines(
            header in vec(any::<u8>(), 4),
            lines in vec(line(), 0..8),
            crlf in any::<bool>(),
        ) {
            let body = lines.join(if crlf { "\r\n" } else { "\n" }) + "\n";
            peer_lines(&[header, body.into_bytes()].concat());
        }
    }
}
