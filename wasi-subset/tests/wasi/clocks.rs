//! `clock_time_get`, `clock_res_get`.

use crate::harness::{Guest, PAGE, e};
use crate::surface::FakeClock;
use wasplug_wasi::{Errno, WasiCtx};

const REAL: u64 = 1_700_000_000_123_456_789;
const MONO: u64 = 5_000;

fn guest(clock: &FakeClock) -> Guest {
    let mut g = Guest::new(WasiCtx::builder().clock(clock.clone()).build());
    g.fill(0xAA);
    g
}

#[test]
fn clock_time_get() {
    let clock = FakeClock::new(REAL, MONO);
    let mut g = guest(&clock);
    // The precision argument is a hint and is ignored, whatever its value.
    assert_eq!(g.call("clock_time_get", &[0, 0, 8]), 0);
    assert_eq!(g.u64_at(8), REAL);
    assert_eq!(g.call("clock_time_get", &[1, -1, 16]), 0);
    assert_eq!(g.u64_at(16), MONO);
    assert_eq!(g.read(24, 8), [0xAA; 8], "only 8 bytes written");

    clock.advance(1_234);
    assert_eq!(g.call("clock_time_get", &[0, i64::MAX, 8]), 0);
    assert_eq!(g.u64_at(8), REAL + 1_234);
    assert_eq!(g.call("clock_time_get", &[1, 1, 16]), 0);
    assert_eq!(g.u64_at(16), MONO + 1_234);

    // Process and thread CPU-time clocks: time elapsed since the context was built.
    assert_eq!(g.call("clock_time_get", &[2, 0, 32]), 0);
    assert_eq!(g.u64_at(32), 1_234);
    assert_eq!(g.call("clock_time_get", &[3, 0, 40]), 0);
    assert_eq!(g.u64_at(40), 1_234);

    // The last 8 bytes of memory.
    assert_eq!(g.call("clock_time_get", &[1, 0, i64::from(PAGE - 8)]), 0);
    assert_eq!(g.u64_at(PAGE - 8), MONO + 1_234);

    // Unknown clocks: EINVAL, nothing written.
    for id in [4, 5, 100, 0xFFFF_FFFF] {
        assert_eq!(
            g.call("clock_time_get", &[id, 0, 48]),
            e(Errno::Inval),
            "{id}"
        );
        assert_eq!(g.read(48, 8), [0xAA; 8]);
    }
    // Bad result pointers.
    for (ptr, errno) in [
        (4, Errno::Inval),
        (1, Errno::Inval),
        (i64::from(PAGE - 4), Errno::Inval),
        (i64::from(PAGE), Errno::Fault),
        (0xFFFF_FFF8, Errno::Fault),
    ] {
        assert_eq!(g.call("clock_time_get", &[1, 0, ptr]), e(errno), "{ptr:#x}");
    }
    assert_eq!(g.read(0, 8), [0xAA; 8]);
}

#[test]
fn clock_time_get_system_clock() {
    let mut g = Guest::default_ctx();
    assert_eq!(g.call("clock_time_get", &[0, 0, 0]), 0);
    let real = g.u64_at(0);
    // After 2020-01-01 and before 2200.
    assert!((1_577_836_800_000_000_000..7_258_118_400_000_000_000).contains(&real));
    assert_eq!(g.call("clock_time_get", &[1, 0, 8]), 0);
    assert_eq!(g.call("clock_time_get", &[1, 0, 16]), 0);
    assert!(g.u64_at(16) >= g.u64_at(8), "monotonic");
}

#[test]
fn clock_res_get() {
    let clock = FakeClock::new(REAL, MONO).with_resolution(1_000);
    let mut g = guest(&clock);
    for id in 0..4 {
        let ptr = 8 * (id as u32 + 1);
        assert_eq!(g.call("clock_res_get", &[id, i64::from(ptr)]), 0, "{id}");
        assert_eq!(g.u64_at(ptr), 1_000);
    }
    assert_eq!(g.read(40, 8), [0xAA; 8]);

    for id in [4, 99, 0xFFFF_FFFF] {
        assert_eq!(g.call("clock_res_get", &[id, 64]), e(Errno::Inval), "{id}");
    }
    for (ptr, errno) in [
        (2, Errno::Inval),
        (i64::from(PAGE - 4), Errno::Inval),
        (i64::from(PAGE), Errno::Fault),
        (0xFFFF_FFF8, Errno::Fault),
    ] {
        assert_eq!(g.call("clock_res_get", &[0, ptr]), e(errno), "{ptr:#x}");
    }
    assert_eq!(g.read(64, 8), [0xAA; 8]);

    // A clock that claims a resolution of 0 is reported as 1 ns.
    let mut g = guest(&FakeClock::new(REAL, MONO).with_resolution(0));
    assert_eq!(g.call("clock_res_get", &[1, 0]), 0);
    assert_eq!(g.u64_at(0), 1);

    // The system clock's documented resolution: 1 µs.
    let mut g = Guest::default_ctx();
    assert_eq!(g.call("clock_res_get", &[0, 0]), 0);
    assert_eq!(g.u64_at(0), 1_000);
}
