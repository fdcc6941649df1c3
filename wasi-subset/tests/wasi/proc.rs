//! `proc_exit`, `proc_raise`, `sched_yield`.

use crate::harness::{Guest, e};
use wasplug_wasi::{Errno, Stop};

#[test]
fn proc_exit() {
    for status in [0, 3, 1, -1, i32::MAX, i32::MIN] {
        let mut g = Guest::default_ctx();
        assert_eq!(g.ctx().exit_code(), None);
        let (_trap, stop) = g.suspend("proc_exit", &[i64::from(status)]);
        assert_eq!(stop, Stop::Exit(status));
        assert_eq!(g.ctx().exit_code(), Some(status));
        assert_eq!(g.ctx().blocked(), None);
    }
    // Through a plain (non-resumable) call too.
    let mut g = Guest::default_ctx();
    let error = g
        .try_call("proc_exit", &[42])
        .expect_err("proc_exit returns no value");
    assert_eq!(Stop::from_error(&error), Some(Stop::Exit(42)));
    assert_eq!(g.ctx().exit_code(), Some(42));
}

#[test]
fn proc_raise() {
    let mut g = Guest::default_ctx();
    // Signal 0 tests nothing and returns; so do signals whose default action
    // is to be ignored or to stop the process (no job control here).
    for signal in [0, 16, 17, 18, 19, 20, 21, 22, 27] {
        assert_eq!(g.call("proc_raise", &[signal]), 0, "{signal}");
    }
    for signal in [1u8, 6, 9, 15, 30] {
        let (_trap, stop) = g.suspend("proc_raise", &[i64::from(signal)]);
        assert_eq!(stop, Stop::Signal(signal));
        let error = g
            .try_call("proc_raise", &[i64::from(signal)])
            .expect_err("terminates");
        assert_eq!(Stop::from_error(&error), Some(Stop::Signal(signal)));
    }
    for signal in [31, 99, 255, 256, -1, 0xFFFF_FFFF, i64::from(i32::MIN)] {
        assert_eq!(g.call("proc_raise", &[signal]), e(Errno::Inval), "{signal}");
    }
    assert_eq!(g.ctx().exit_code(), None, "a signal is not an exit");
}

#[test]
fn sched_yield() {
    let mut g = Guest::default_ctx();
    g.fill(0x55);
    assert_eq!(g.call("sched_yield", &[]), 0);
    assert_eq!(g.call("sched_yield", &[]), 0);
    assert!(g.mem().iter().all(|&b| b == 0x55));
}
