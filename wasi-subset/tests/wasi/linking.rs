//! Linking: the function list, specification signatures, custom store types,
//! guests without a memory.

use crate::harness::{e, instantiate_wat, ready};
use crate::surface::{Rig, SIGNATURES};
use std::collections::BTreeSet;
use wasmi::{Engine, Linker, Module, ResumableCall, Store, Val};
use wasplug_wasi::{
    ALL_FUNCTIONS, Blocked, Errno, MODULE, SUPPORTED_FUNCTIONS, Stop, WasiCtx, add_to_linker,
    complete,
};

#[test]
fn function_lists() {
    let all: BTreeSet<_> = ALL_FUNCTIONS.into_iter().collect();
    assert_eq!(all.len(), 46, "no duplicates");
    let supported: BTreeSet<_> = SUPPORTED_FUNCTIONS.into_iter().collect();
    assert_eq!(supported.len(), 19);
    assert!(supported.is_subset(&all));
    let unsupported: BTreeSet<_> = crate::unsupported::COVERED.iter().copied().collect();
    assert!(supported.is_disjoint(&unsupported));
    assert_eq!(
        supported
            .union(&unsupported)
            .copied()
            .collect::<BTreeSet<_>>(),
        all,
        "every function is tested: supported ones in their modules, the rest in unsupported.rs"
    );
    assert_eq!(MODULE, "wasi_snapshot_preview1");
}

#[test]
fn errno_numbers_follow_the_specification() {
    let table = [
        (Errno::Success, 0),
        (Errno::Again, 6),
        (Errno::Badf, 8),
        (Errno::Fault, 21),
        (Errno::Inval, 28),
        (Errno::Io, 29),
        (Errno::Noent, 44),
        (Errno::Nosys, 52),
        (Errno::Notdir, 54),
        (Errno::Notsock, 57),
        (Errno::Notsup, 58),
        (Errno::Overflow, 61),
        (Errno::Spipe, 70),
        (Errno::Notcapable, 76),
    ];
    for (errno, raw) in table {
        assert_eq!(errno.raw(), raw, "{errno:?}");
        assert_eq!(e(errno), i32::from(raw));
    }
}

#[test]
fn every_function_links_with_its_specification_signature() {
    // Rig::new checks the table against ALL_FUNCTIONS and compiles a guest
    // importing all 46 with these signatures; instantiation type-checks them.
    let rig = Rig::new();
    let (store, instance, _memory) = rig.instantiate(WasiCtx::builder().build());
    let engine = rig.engine();
    let module = Module::new(engine, crate::surface::all_functions_wat()).expect("compiles");
    let imports: Vec<_> = module.imports().map(|i| i.name().to_owned()).collect();
    assert_eq!(imports, ALL_FUNCTIONS.map(str::to_owned));
    assert!(module.imports().all(|i| i.module() == MODULE));
    for (name, sig) in SIGNATURES {
        let func = instance.get_func(&store, name).expect("wrapper");
        assert_eq!(func.ty(&store).params().len(), sig.len(), "{name}");
    }
}

#[test]
fn a_wrong_signature_does_not_link() {
    let engine = Engine::default();
    let mut linker = Linker::<WasiCtx>::new(&engine);
    add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("links");
    for (name, params, result) in [
        ("fd_write", "i32 i32 i32", "(result i32)"),
        ("clock_time_get", "i32 i32 i32", "(result i32)"),
        ("proc_exit", "i32", "(result i32)"),
        ("fd_seek", "i32 i32 i32 i32", "(result i32)"),
    ] {
        let wat = format!(
            r#"(module (import "{MODULE}" "{name}" (func (param {params}) {result})) (memory (export "memory") 1))"#
        );
        let module = Module::new(&engine, &wat).expect("compiles");
        let mut store = Store::new(&engine, WasiCtx::builder().build());
        assert!(
            linker.instantiate_and_start(&mut store, &module).is_err(),
            "{name}"
        );
    }
}

#[test]
fn linking_twice_is_an_error() {
    let engine = Engine::default();
    let mut linker = Linker::<WasiCtx>::new(&engine);
    add_to_linker(&mut linker, |c: &mut WasiCtx| c).expect("links");
    assert!(add_to_linker(&mut linker, |c: &mut WasiCtx| c).is_err());
}

#[test]
fn the_context_can_live_inside_a_larger_store() {
    struct State {
        calls: u32,
        wasi: WasiCtx,
    }
    let wat = format!(
        r#"(module
          (import "{MODULE}" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "host" "count" (func $count))
          (memory (export "memory") 1)
          (func (export "read") (result i32)
            (call $count)
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const 8))
            (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))))"#
    );
    let engine = Engine::default();
    let module = Module::new(&engine, &wat).expect("compiles");
    let mut linker = Linker::<State>::new(&engine);
    add_to_linker(&mut linker, |s: &mut State| &mut s.wasi).expect("links");
    linker
        .func_wrap("host", "count", |mut c: wasmi::Caller<'_, State>| {
            c.data_mut().calls += 1;
        })
        .expect("links");
    let state = State {
        calls: 0,
        wasi: WasiCtx::builder().build(),
    };
    let mut store = Store::new(&engine, state);
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiates");
    let read = instance.get_func(&store, "read").expect("export");
    let mut out = [Val::I32(-1)];
    let ResumableCall::HostTrap(trap) = read
        .call_resumable(&mut store, &[], &mut out)
        .expect("no wasm trap")
    else {
        panic!("expected to block on empty stdin");
    };
    assert_eq!(
        Stop::from_error(trap.host_error()),
        Some(Stop::Blocked(Blocked::Input { deadline: None }))
    );
    assert_eq!(
        store.data().wasi.blocked(),
        Some(Blocked::Input { deadline: None })
    );
    store.data_mut().wasi.stdin_mut().push(b"abcdefghij");
    let value = ready(complete(&mut store, |s: &mut State| &mut s.wasi));
    let done = trap
        .resume(&mut store, &[value], &mut out)
        .expect("resumes");
    assert!(matches!(done, ResumableCall::Finished));
    assert!(matches!(out[0], Val::I32(0)));
    let memory = instance.get_memory(&store, "memory").expect("memory");
    assert_eq!(&memory.data(&store)[64..73], b"abcdefgh\0");
    assert_eq!(&memory.data(&store)[16..20], &8u32.to_le_bytes());
    assert_eq!(store.data().calls, 1);
    assert_eq!(store.data().wasi.stdin().len(), 2);
}

/// Calls export `run` of `wat`, resumably, and returns how it stopped.
fn run(wat: &str) -> Result<i32, Stop> {
    let (mut store, instance) = instantiate_wat(wat, WasiCtx::builder().stdin(b"in").build());
    let run = instance.get_func(&store, "run").expect("export run");
    let mut out = [Val::I32(-1)];
    match run
        .call_resumable(&mut store, &[], &mut out)
        .expect("no wasm trap")
    {
        ResumableCall::Finished => Ok(out[0].i32().expect("i32")),
        ResumableCall::HostTrap(trap) => {
            Err(Stop::from_error(trap.host_error()).expect("a wasplug-wasi stop"))
        }
        ResumableCall::OutOfFuel(_) => panic!("out of fuel"),
    }
}

fn module_without_memory(memory: &str, import: &str, call: &str) -> String {
    format!(
        r#"(module
          (import "{MODULE}" {import})
          {memory}
          (func (export "run") (result i32) {call}))"#
    )
}

#[test]
fn a_guest_without_memory_gets_no_memory_not_a_panic() {
    let needs_memory = [
        (
            r#""fd_write" (func $f (param i32 i32 i32 i32) (result i32))"#,
            "(call $f (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))",
        ),
        (
            r#""fd_read" (func $f (param i32 i32 i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))",
        ),
        (
            r#""poll_oneoff" (func $f (param i32 i32 i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))",
        ),
        (
            r#""args_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""args_sizes_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""environ_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""environ_sizes_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""clock_time_get" (func $f (param i32 i64 i32) (result i32))"#,
            "(call $f (i32.const 0) (i64.const 0) (i32.const 0))",
        ),
        (
            r#""clock_res_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""random_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""fd_fdstat_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
        (
            r#""fd_filestat_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 0))",
        ),
    ];
    let no_memory = [
        "",
        // A memory under another name.
        r#"(memory (export "mem") 1)"#,
        // An export named "memory" that is not a memory.
        r#"(memory 1) (func (export "memory"))"#,
        r#"(global (export "memory") i32 (i32.const 0))"#,
    ];
    for (import, call) in needs_memory {
        for memory in no_memory {
            let wat = module_without_memory(memory, import, call);
            assert_eq!(run(&wat), Err(Stop::NoMemory), "{import} {memory}");
        }
    }

    // Functions that need no memory work without one.
    let works = [
        (r#""sched_yield" (func $f (result i32))"#, "(call $f)", 0),
        (
            r#""proc_raise" (func $f (param i32) (result i32))"#,
            "(call $f (i32.const 0))",
            0,
        ),
        (
            r#""fd_close" (func $f (param i32) (result i32))"#,
            "(call $f (i32.const 2))",
            0,
        ),
        (
            r#""fd_fdstat_set_flags" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 0) (i32.const 4))",
            0,
        ),
        (
            r#""fd_seek" (func $f (param i32 i64 i32 i32) (result i32))"#,
            "(call $f (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 0))",
            e(Errno::Spipe),
        ),
        (
            r#""fd_prestat_get" (func $f (param i32 i32) (result i32))"#,
            "(call $f (i32.const 3) (i32.const 0))",
            e(Errno::Badf),
        ),
    ];
    for (import, call, expected) in works {
        let wat = module_without_memory("", import, call);
        assert_eq!(run(&wat), Ok(expected), "{import}");
    }
    let exit = module_without_memory(
        "",
        r#""proc_exit" (func $f (param i32))"#,
        "(call $f (i32.const 5)) (i32.const 0)",
    );
    assert_eq!(run(&exit), Err(Stop::Exit(5)));
}

#[test]
fn the_guest_sees_memory_it_grew() {
    // Host functions look the memory up on every call, so a grown memory is
    // usable at once.
    let wat = format!(
        r#"(module
          (import "{MODULE}" "random_get" (func $r (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "run") (result i32)
            (drop (memory.grow (i32.const 1)))
            (call $r (i32.const 65536) (i32.const 65536))))"#
    );
    assert_eq!(run(&wat), Ok(0));
    let wat = format!(
        r#"(module
          (import "{MODULE}" "random_get" (func $r (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "run") (result i32)
            (drop (memory.grow (i32.const 1)))
            (call $r (i32.const 65536) (i32.const 65537))))"#
    );
    assert_eq!(run(&wat), Ok(e(Errno::Fault)));
}

/// `wasplug_wasi::signature` (what the host kit checks imports against) is
/// exactly what `add_to_linker` defines: a module importing all 46 functions
/// with those signatures instantiates (linking type-checks every import).
#[test]
fn the_public_signature_table_matches_the_linker() {
    let ty = |t: &wasmi::ValType| match t {
        wasmi::ValType::I64 => "i64",
        _ => "i32",
    };
    let mut wat = String::from("(module\n");
    for name in ALL_FUNCTIONS {
        let sig =
            wasplug_wasi::signature(name).unwrap_or_else(|| panic!("no signature for {name}"));
        let params: Vec<&str> = sig.params().iter().map(ty).collect();
        let results: Vec<&str> = sig.results().iter().map(ty).collect();
        wat.push_str(&format!(
            "  (import \"{MODULE}\" \"{name}\" (func (param {}) (result {})))\n",
            params.join(" "),
            results.join(" ")
        ));
    }
    wat.push_str("  (memory (export \"memory\") 1)\n  (func (export \"_start\")))\n");
    let engine = wasmi::Engine::default();
    let module = Module::new(&engine, &wat).expect("compiles");
    let mut linker = wasmi::Linker::<WasiCtx>::new(&engine);
    wasplug_wasi::add_to_linker(&mut linker, |ctx| ctx).expect("links");
    let mut store = wasmi::Store::new(&engine, WasiCtx::builder().build());
    linker
        .instantiate_and_start(&mut store, &module)
        .expect("every signature in the table matches the linker");
    assert!(wasplug_wasi::signature("not_a_wasi_function").is_none());
}
