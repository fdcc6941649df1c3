//! Property test: every WASI function, called with arbitrary arguments
//! against arbitrary memory and stdio state, never panics the host. It
//! answers a valid errno or stops with a `Stop` that fits the function, and a
//! suspended call can be completed and resumed (`surface::execute`).

use crate::surface::{
    Case, Fill, MAX_I32_PARAMS, MAX_I64_PARAMS, PAGE, Rig, SIGNATURES, Session, execute,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};

/// `i32` arguments biased toward the values where bugs live.
fn arg_i32() -> impl Strategy<Value = i32> {
    let page = PAGE as i32;
    prop_oneof![
        3 => any::<i32>(),
        3 => select(vec![
            0, 1, 2, 3, 4, 7, 8, 16, 24, 48, 64, -1, -2, -8, i32::MIN, i32::MAX,
            page, page - 1, page - 4, page - 8, page - 24, page - 32, page - 48, page - 64,
            page + 8, 1024, 1025, 4096, 4097, 0x8000, 0x7FFF_FFF8,
        ]),
        // In-bounds pointers, aligned or not.
        3 => 0..=page,
        2 => (0..page / 8).prop_map(|x| x * 8),
        // Small counts, descriptors, signals, clock ids, flags.
        3 => 0..40i32,
        1 => page - 256..=page + 16,
    ]
}

fn arg_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => any::<i64>(),
        1 => select(vec![0, 1, -1, i64::MIN, i64::MAX, i64::from(u32::MAX), 1 << 32]),
    ]
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        1 => Just(Fill::Zero),
        2 => any::<u64>().prop_map(Fill::Random),
        3 => any::<u64>().prop_map(Fill::Words),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Fill::Tiled),
    ]
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => 0..1_000_000u64,
        1 => any::<u64>(),
        1 => select(vec![0, u64::MAX, u64::MAX - 1, 1 << 63]),
    ]
}

/// A small aligned pointer, where the `Words` fill puts plausible structures.
fn aligned_ptr(align: i32) -> impl Strategy<Value = i32> {
    (0..8192 / align).prop_map(move |x| x * align)
}

/// An iovec list of four `(ptr, len)` pairs, mostly in bounds.
fn iovecs() -> impl Strategy<Value = Vec<u8>> {
    let ptr = prop_oneof![3 => 0..PAGE, 1 => PAGE - 64..=PAGE, 1 => any::<u32>()];
    let len = prop_oneof![4 => 0..32u32, 2 => 0..4096u32, 1 => any::<u32>()];
    prop::array::uniform4((ptr, len)).prop_map(|list| {
        list.iter()
            .flat_map(|(p, l)| p.to_le_bytes().into_iter().chain(l.to_le_bytes()))
            .collect()
    })
}

/// Four `poll_oneoff` subscriptions, mostly well-formed.
fn subscriptions() -> impl Strategy<Value = Vec<u8>> {
    let sub = (
        any::<u64>(),
        prop_oneof![6 => 0..3u8, 1 => any::<u8>()],
        prop_oneof![4 => 0..4u32, 1 => any::<u32>()],
        prop_oneof![4 => 0..2_000_000u64, 1 => any::<u64>()],
        prop_oneof![4 => 0..2u16, 1 => any::<u16>()],
    );
    prop::array::uniform4(sub).prop_map(|subs| {
        let mut bytes = Vec::with_capacity(4 * 48);
        for (userdata, tag, id_or_fd, timeout, flags) in subs {
            let mut s = [0u8; 48];
            s[..8].copy_from_slice(&userdata.to_le_bytes());
            s[8] = tag;
            s[16..20].copy_from_slice(&id_or_fd.to_le_bytes());
            s[24..32].copy_from_slice(&timeout.to_le_bytes());
            s[40..42].copy_from_slice(&flags.to_le_bytes());
            bytes.extend(s);
        }
        bytes
    })
}

type Shaped = ([i32; MAX_I32_PARAMS], Vec<(u32, Vec<u8>)>);

/// Arguments shaped like a real call of `name` (small descriptors and counts,
/// aligned in-bounds pointers) and, for the calls that read structures, the
/// structures they point at. These reach past the argument checks.
fn shaped(name: &str) -> BoxedStrategy<Shaped> {
    let rest = || prop::array::uniform5(prop_oneof![0..64i32, aligned_ptr(8)]);
    let join = |a: [i32; 4], b: [i32; 5]| [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], b[4]];
    match name {
        "fd_read" | "fd_write" => {
            let fd = if name == "fd_read" {
                prop_oneof![4 => Just(0), 1 => 0..4i32].boxed()
            } else {
                prop_oneof![4 => 1..3i32, 1 => 0..4i32].boxed()
            };
            (
                fd,
                aligned_ptr(8),
                0..5i32,
                aligned_ptr(4),
                rest(),
                iovecs(),
            )
                .prop_map(move |(fd, iovs, n, nio, rest, list)| {
                    (join([fd, iovs, n, nio], rest), vec![(iovs as u32, list)])
                })
                .boxed()
        }
        "poll_oneoff" => (
            aligned_ptr(8),
            aligned_ptr(8),
            1..5i32,
            aligned_ptr(4),
            rest(),
            subscriptions(),
        )
            .prop_map(move |(subs, events, n, nev, rest, list)| {
                (
                    join([subs, events, n, nev], rest),
                    vec![(subs as u32, list)],
                )
            })
            .boxed(),
        _ => {
            let arg = || prop_oneof![0..4i32, aligned_ptr(8)];
            ((arg(), arg(), arg(), arg()), rest())
                .prop_map(move |((a, b, c, d), rest)| (join([a, b, c, d], rest), Vec::new()))
                .boxed()
        }
    }
}

/// One case for the function at `index` of [`SIGNATURES`].
fn case(index: usize) -> impl Strategy<Value = Case> {
    let name = SIGNATURES[index].0;
    (
        (
            prop_oneof![
                2 => prop::array::uniform9(arg_i32()).prop_map(|a| (a, Vec::new())),
                3 => shaped(name),
            ],
            prop::array::uniform2(arg_i64()),
            fill(),
        ),
        (
            prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 1..24)],
            prop::bool::weighted(0.3),
            prop::option::weighted(0.3, 0..16usize),
            prop_oneof![3 => Just(0usize), 1 => 1..24usize],
            prop::bool::weighted(0.2),
            prop::option::weighted(0.15, 0..3u32),
            time(),
            time(),
        ),
    )
        .prop_map(move |(((i32s, patches), i64s, fill), rest)| {
            let (stdin, close_stdin, output_capacity, output_prefill, nonblocking, closed, r, m) =
                rest;
            Case {
                func: index,
                i32s,
                i64s,
                fill,
                patches,
                stdin,
                close_stdin,
                output_capacity,
                output_prefill,
                nonblocking_stdin: nonblocking,
                closed_fd: closed,
                realtime: r,
                monotonic: m,
            }
        })
}

const _: () = assert!(MAX_I32_PARAMS == 9 && MAX_I64_PARAMS == 2);

/// Cases per function; the calls that can suspend get more, as they have the
/// most state. 43 × 200 + 3 × 1500 = 13,100 cases in all.
fn cases_for(name: &str) -> u32 {
    match name {
        "fd_read" | "fd_write" | "poll_oneoff" => 1500,
        _ => 200,
    }
}

#[test]
fn every_function_survives_arbitrary_arguments_and_memory() {
    let session = std::cell::RefCell::new(Session::new(&Rig::new()));
    let started = std::time::Instant::now();
    let mut total = 0;
    for (index, (name, _)) in SIGNATURES.iter().enumerate() {
        let config = Config {
            cases: cases_for(name),
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&case(index), |case| {
            execute(&mut session.borrow_mut(), &case);
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{name}: {failure}");
        }
        total += cases_for(name);
    }
    assert!(total >= 10_000);
    // Keep the suite quick: this runs in the normal `cargo test`.
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs() < 120, "{total} cases took {elapsed:?}");
}
