//! `random_get`.

use crate::harness::{Guest, PAGE, e};
use crate::surface::CountingRandom;
use wasplug_wasi::{Errno, Random, RandomError, WasiCtx};

struct FailingRandom;

impl Random for FailingRandom {
    fn fill(&mut self, _dest: &mut [u8]) -> Result<(), RandomError> {
        Err(RandomError("no entropy".into()))
    }
}

fn guest() -> Guest {
    let mut g = Guest::new(WasiCtx::builder().random(CountingRandom::new(10)).build());
    g.fill(0xAA);
    g
}

#[test]
fn random_get() {
    let mut g = guest();
    assert_eq!(g.call("random_get", &[0x101, 5]), 0);
    assert_eq!(g.read(0x100, 7), [0xAA, 10, 11, 12, 13, 14, 0xAA]);
    // The source continues where it stopped.
    assert_eq!(g.call("random_get", &[0x200, 3]), 0);
    assert_eq!(g.read(0x200, 4), [15, 16, 17, 0xAA]);

    // Zero bytes: success, nothing drawn, even at the very end of memory.
    assert_eq!(g.call("random_get", &[0x300, 0]), 0);
    assert_eq!(g.call("random_get", &[i64::from(PAGE), 0]), 0);
    assert_eq!(g.u8_at(0x300), 0xAA);

    // The whole memory, and its last byte.
    assert_eq!(g.call("random_get", &[i64::from(PAGE - 1), 1]), 0);
    assert_eq!(g.u8_at(PAGE - 1), 18);
    assert_eq!(g.call("random_get", &[0, i64::from(PAGE)]), 0);
    assert_eq!(g.read(0, 2), [19, 20]);

    // Out of bounds: EFAULT, nothing written, nothing drawn.
    let mut g = guest();
    for (buf, len) in [
        (i64::from(PAGE - 1), 2),
        (i64::from(PAGE), 1),
        (0, i64::from(PAGE + 1)),
        (0, 0xFFFF_FFFF),
        (0xFFFF_FFFF, 1),
        (0xFFFF_FFFF, 0),
        (0x8000_0000, 0x8000_0000),
    ] {
        assert_eq!(
            g.call("random_get", &[buf, len]),
            e(Errno::Fault),
            "{buf:#x} {len:#x}"
        );
    }
    assert!(g.mem().iter().all(|&b| b == 0xAA));
    assert_eq!(g.call("random_get", &[0, 1]), 0);
    assert_eq!(g.u8_at(0), 10, "failed calls drew nothing");
}

#[test]
fn random_get_source_failure_is_eio() {
    let mut g = Guest::new(WasiCtx::builder().random(FailingRandom).build());
    assert_eq!(g.call("random_get", &[0, 16]), e(Errno::Io));
}

#[test]
fn random_get_os_source() {
    let mut g = Guest::default_ctx();
    assert_eq!(g.call("random_get", &[0, 64]), 0);
    assert!(g.read(0, 64).iter().any(|&b| b != 0));
    assert_eq!(g.read(64, 8), [0; 8]);
}
