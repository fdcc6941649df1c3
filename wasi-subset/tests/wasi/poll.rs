//! `poll_oneoff`: clocks, stdin and output subscriptions, suspension and errors.

use crate::harness::{Guest, PAGE, e, ready};
use crate::surface::FakeClock;
use wasmi::Val;
use wasplug_wasi::{Blocked, Completion, Errno, Stop, WasiCtx};

const SUBS: u32 = 0x100;
const EVENTS: u32 = 0x800;
const NEVENTS: u32 = 0x80;

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_PROCESS: u32 = 2;
const CLOCK_THREAD: u32 = 3;
const ABSTIME: u16 = 1;
const EVENT_CLOCK: u8 = 0;
const EVENT_FD_READ: u8 = 1;
const EVENT_FD_WRITE: u8 = 2;
const HANGUP: u16 = 1;

/// Realtime starts at 10^12 ns, monotonic at 1000 ns.
const REAL: u64 = 1_000_000_000_000;
const MONO: u64 = 1_000;

fn clock_sub(userdata: u64, id: u32, timeout: u64, flags: u16) -> Vec<u8> {
    let mut s = vec![0u8; 48];
    s[..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = EVENT_CLOCK;
    s[16..20].copy_from_slice(&id.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    s[32..40].copy_from_slice(&1_000u64.to_le_bytes()); // precision: ignored
    s[40..42].copy_from_slice(&flags.to_le_bytes());
    s
}

fn fd_sub(userdata: u64, tag: u8, fd: u32) -> Vec<u8> {
    let mut s = vec![0u8; 48];
    s[..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = tag;
    s[16..20].copy_from_slice(&fd.to_le_bytes());
    s
}

#[derive(Debug, PartialEq, Eq)]
struct Event {
    userdata: u64,
    error: u16,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

fn ev(userdata: u64, error: Errno, kind: u8, nbytes: u64, flags: u16) -> Event {
    Event {
        userdata,
        error: error.raw(),
        kind,
        nbytes,
        flags,
    }
}

fn clock_event(userdata: u64) -> Event {
    ev(userdata, Errno::Success, EVENT_CLOCK, 0, 0)
}

fn event(g: &Guest, i: u32) -> Event {
    let at = EVENTS + 32 * i;
    // The padding of the event is zeroed.
    assert_eq!(g.u8_at(at + 11), 0);
    assert_eq!(g.read(at + 26, 6), [0; 6]);
    Event {
        userdata: g.u64_at(at),
        error: g.u16_at(at + 8),
        kind: g.u8_at(at + 10),
        nbytes: g.u64_at(at + 16),
        flags: g.u16_at(at + 24),
    }
}

struct Poll {
    g: Guest,
    clock: FakeClock,
}

impl Poll {
    fn new(stdin: Option<&[u8]>, closed: bool) -> Self {
        let clock = FakeClock::new(REAL, MONO);
        let mut b = WasiCtx::builder().clock(clock.clone());
        if let Some(bytes) = stdin {
            b = if closed {
                b.stdin_closed(bytes)
            } else {
                b.stdin(bytes)
            };
        }
        let mut g = Guest::new(b.build());
        g.fill(0xAA);
        Self { g, clock }
    }

    fn subs(&mut self, subs: &[Vec<u8>]) {
        self.g.write(SUBS, &subs.concat());
    }

    fn args(nsubs: u32) -> [i64; 4] {
        [
            i64::from(SUBS),
            i64::from(EVENTS),
            i64::from(nsubs),
            i64::from(NEVENTS),
        ]
    }

    fn poll(&mut self, nsubs: u32) -> i32 {
        self.g.call("poll_oneoff", &Self::args(nsubs))
    }

    fn suspend(&mut self, nsubs: u32) -> (wasmi::ResumableCallHostTrap, Blocked) {
        let (trap, stop) = self.g.suspend("poll_oneoff", &Self::args(nsubs));
        let Stop::Blocked(blocked) = stop else {
            panic!("expected a Blocked stop, got {stop:?}");
        };
        assert_eq!(self.g.ctx().blocked(), Some(blocked));
        (trap, blocked)
    }
}

#[test]
fn poll_oneoff_relative_sleep_suspends_until_deadline() {
    let mut p = Poll::new(None, false);
    p.subs(&[clock_sub(0xABCD, CLOCK_MONOTONIC, 500, 0)]);
    let (_trap, blocked) = p.suspend(1);
    assert_eq!(
        blocked,
        Blocked::Sleep {
            deadline: MONO + 500
        }
    );
    assert_eq!(
        p.g.u32_at(NEVENTS),
        0xAAAA_AAAA,
        "nothing written while blocked"
    );
    assert_eq!(p.g.read(EVENTS, 32), [0xAA; 32]);

    // Every clock sleeps relative to now; the deadline is on the monotonic clock.
    for id in [CLOCK_REALTIME, CLOCK_PROCESS, CLOCK_THREAD] {
        let mut p = Poll::new(None, false);
        p.subs(&[clock_sub(1, id, 7, 0)]);
        let (_trap, blocked) = p.suspend(1);
        assert_eq!(blocked, Blocked::Sleep { deadline: MONO + 7 }, "clock {id}");
    }

    // Several clocks: the earliest deadline.
    let mut p = Poll::new(None, false);
    p.subs(&[
        clock_sub(1, CLOCK_MONOTONIC, 900, 0),
        clock_sub(2, CLOCK_MONOTONIC, 300, 0),
        clock_sub(3, CLOCK_MONOTONIC, 2_000, ABSTIME),
    ]);
    let (_trap, blocked) = p.suspend(3);
    assert_eq!(
        blocked,
        Blocked::Sleep {
            deadline: MONO + 300
        }
    );
}

/// Relative timeouts count from the original call, however often the
/// embedder completes it (regression: they used to restart at every
/// `complete`, so a sleep never ended).
#[test]
fn poll_oneoff_relative_sleep_completes_after_deadline() {
    let mut p = Poll::new(None, false);
    p.subs(&[clock_sub(0xABCD, CLOCK_MONOTONIC, 500, 0)]);
    let (trap, blocked) = p.suspend(1);
    assert_eq!(
        blocked,
        Blocked::Sleep {
            deadline: MONO + 500
        }
    );

    // Not yet.
    p.clock.advance(100);
    assert!(matches!(
        p.g.complete(),
        Completion::Blocked(Blocked::Sleep { deadline }) if deadline == MONO + 500
    ));
    // The deadline passed: the clock event fires.
    p.clock.advance_to(MONO + 500);
    let value = ready(p.g.complete());
    assert!(matches!(value, Val::I32(0)));
    assert_eq!(p.g.u32_at(NEVENTS), 1);
    assert_eq!(event(&p.g, 0), clock_event(0xABCD));
    assert_eq!(p.g.resume(trap, value), 0);

    // A new call counts from its own start.
    p.clock.advance(1_000);
    let (_trap, blocked) = p.suspend(1);
    assert_eq!(
        blocked,
        Blocked::Sleep {
            deadline: MONO + 1_500 + 500
        }
    );
}

#[test]
fn poll_oneoff_absolute_sleep_completes_after_deadline() {
    let mut p = Poll::new(None, false);
    p.subs(&[clock_sub(
        0x1234_5678_9ABC_DEF0,
        CLOCK_MONOTONIC,
        MONO + 500,
        ABSTIME,
    )]);
    let (trap, blocked) = p.suspend(1);
    assert_eq!(
        blocked,
        Blocked::Sleep {
            deadline: MONO + 500
        }
    );

    p.clock.advance(499);
    assert!(matches!(
        p.g.complete(),
        Completion::Blocked(Blocked::Sleep { deadline }) if deadline == MONO + 500
    ));
    assert_eq!(p.g.read(EVENTS, 32), [0xAA; 32]);
    p.clock.advance(1);
    let value = ready(p.g.complete());
    assert!(matches!(value, Val::I32(0)));
    assert_eq!(p.g.u32_at(NEVENTS), 1);
    assert_eq!(event(&p.g, 0), clock_event(0x1234_5678_9ABC_DEF0));
    assert_eq!(p.g.resume(trap, value), 0);
    assert!(matches!(p.g.complete(), Completion::NotBlocked));
}

#[test]
fn poll_oneoff_absolute_clocks() {
    // In the past or now: an immediate event.
    for (id, timeout) in [
        (CLOCK_MONOTONIC, MONO - 1),
        (CLOCK_MONOTONIC, MONO),
        (CLOCK_MONOTONIC, 0),
        (CLOCK_REALTIME, REAL - 5),
        (CLOCK_REALTIME, 0),
        (CLOCK_PROCESS, 0),
    ] {
        let mut p = Poll::new(None, false);
        p.subs(&[clock_sub(id.into(), id, timeout, ABSTIME)]);
        assert_eq!(p.poll(1), 0, "{id} {timeout}");
        assert_eq!(p.g.u32_at(NEVENTS), 1);
        assert_eq!(event(&p.g, 0), clock_event(id.into()));
    }
    // In the future: the deadline translated to the monotonic clock.
    for (id, timeout, deadline) in [
        (CLOCK_REALTIME, REAL + 300, MONO + 300),
        (CLOCK_MONOTONIC, u64::MAX, u64::MAX),
        // CPU-time clocks count from when the context was built (at MONO).
        (CLOCK_PROCESS, 200, MONO + 200),
        (CLOCK_THREAD, 1, MONO + 1),
    ] {
        let mut p = Poll::new(None, false);
        p.subs(&[clock_sub(9, id, timeout, ABSTIME)]);
        let (_trap, blocked) = p.suspend(1);
        assert_eq!(blocked, Blocked::Sleep { deadline }, "{id} {timeout}");
    }
    // A relative timeout of 0 fires at once; a huge one saturates.
    let mut p = Poll::new(None, false);
    p.subs(&[clock_sub(5, CLOCK_MONOTONIC, 0, 0)]);
    assert_eq!(p.poll(1), 0);
    assert_eq!(event(&p.g, 0), clock_event(5));
    p.subs(&[clock_sub(5, CLOCK_MONOTONIC, u64::MAX, 0)]);
    let (_trap, blocked) = p.suspend(1);
    assert_eq!(blocked, Blocked::Sleep { deadline: u64::MAX });
}

#[test]
fn poll_oneoff_unknown_clock_is_an_error_event() {
    let mut p = Poll::new(None, false);
    p.subs(&[
        clock_sub(1, 4, 100, 0),
        clock_sub(2, CLOCK_MONOTONIC, 100, 0),
        clock_sub(3, 0xFFFF_FFFF, 0, ABSTIME),
    ]);
    assert_eq!(p.poll(3), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 2);
    assert_eq!(event(&p.g, 0), ev(1, Errno::Inval, EVENT_CLOCK, 0, 0));
    assert_eq!(event(&p.g, 1), ev(3, Errno::Inval, EVENT_CLOCK, 0, 0));
    assert_eq!(p.g.read(EVENTS + 64, 32), [0xAA; 32]);
}

#[test]
fn poll_oneoff_stdin_ready() {
    let mut p = Poll::new(Some(b"abc"), false);
    p.subs(&[
        fd_sub(0x11, EVENT_FD_READ, 0),
        clock_sub(0x22, CLOCK_MONOTONIC, 1_000, 0),
    ]);
    assert_eq!(p.poll(2), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 1);
    assert_eq!(
        event(&p.g, 0),
        ev(0x11, Errno::Success, EVENT_FD_READ, 3, 0)
    );
    // Polling consumes nothing.
    assert_eq!(p.g.ctx().stdin().len(), 3);

    // Closed with data left: no hangup yet. Closed and drained: hangup.
    let mut p = Poll::new(Some(b"abc"), true);
    p.subs(&[fd_sub(1, EVENT_FD_READ, 0)]);
    assert_eq!(p.poll(1), 0);
    assert_eq!(event(&p.g, 0), ev(1, Errno::Success, EVENT_FD_READ, 3, 0));
    let mut p = Poll::new(Some(b""), true);
    p.subs(&[fd_sub(1, EVENT_FD_READ, 0)]);
    assert_eq!(p.poll(1), 0);
    assert_eq!(
        event(&p.g, 0),
        ev(1, Errno::Success, EVENT_FD_READ, 0, HANGUP)
    );

    // A past clock and ready stdin: both events, in subscription order.
    let mut p = Poll::new(Some(b"xy"), false);
    p.subs(&[
        clock_sub(7, CLOCK_MONOTONIC, 0, ABSTIME),
        fd_sub(8, EVENT_FD_READ, 0),
    ]);
    assert_eq!(p.poll(2), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 2);
    assert_eq!(event(&p.g, 0), clock_event(7));
    assert_eq!(event(&p.g, 1), ev(8, Errno::Success, EVENT_FD_READ, 2, 0));
}

#[test]
fn poll_oneoff_bad_descriptors_are_error_events() {
    let mut p = Poll::new(Some(b"abc"), false);
    p.subs(&[
        fd_sub(1, EVENT_FD_READ, 1),
        fd_sub(2, EVENT_FD_READ, 3),
        fd_sub(3, EVENT_FD_WRITE, 0),
        fd_sub(4, EVENT_FD_WRITE, 0xFFFF_FFFF),
    ]);
    assert_eq!(p.poll(4), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 4);
    assert_eq!(event(&p.g, 0), ev(1, Errno::Badf, EVENT_FD_READ, 0, 0));
    assert_eq!(event(&p.g, 1), ev(2, Errno::Badf, EVENT_FD_READ, 0, 0));
    assert_eq!(event(&p.g, 2), ev(3, Errno::Badf, EVENT_FD_WRITE, 0, 0));
    assert_eq!(event(&p.g, 3), ev(4, Errno::Badf, EVENT_FD_WRITE, 0, 0));

    // stdin closed by the guest.
    assert_eq!(p.g.call("fd_close", &[0]), 0);
    p.subs(&[fd_sub(5, EVENT_FD_READ, 0)]);
    assert_eq!(p.poll(1), 0);
    assert_eq!(event(&p.g, 0), ev(5, Errno::Badf, EVENT_FD_READ, 0, 0));
}

#[test]
fn poll_oneoff_output_room() {
    let clock = FakeClock::new(REAL, MONO);
    let ctx = WasiCtx::builder()
        .clock(clock.clone())
        .stdout_capacity(10)
        .build();
    let mut g = Guest::new(ctx);
    g.write(0x40, b"abc");
    g.iovecs(0x20, &[(0x40, 3)]);
    assert_eq!(g.call("fd_write", &[1, 0x20, 1, 0x30]), 0);
    let subs = [fd_sub(1, EVENT_FD_WRITE, 1), fd_sub(2, EVENT_FD_WRITE, 2)].concat();
    g.write(SUBS, &subs);
    assert_eq!(g.call("poll_oneoff", &Poll::args(2)), 0);
    assert_eq!(g.u32_at(NEVENTS), 2);
    assert_eq!(event(&g, 0), ev(1, Errno::Success, EVENT_FD_WRITE, 7, 0));
    // stderr is unbounded.
    assert_eq!(
        event(&g, 1),
        ev(2, Errno::Success, EVENT_FD_WRITE, u64::MAX, 0)
    );

    // stdout full: suspended until the embedder takes output.
    g.iovecs(0x20, &[(0x40, 7)]);
    assert_eq!(g.call("fd_write", &[1, 0x20, 1, 0x30]), 0);
    assert_eq!(g.ctx().stdout().len(), 10);
    g.write(SUBS, &fd_sub(1, EVENT_FD_WRITE, 1));
    let (trap, stop) = g.suspend("poll_oneoff", &Poll::args(1));
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 1 }));
    g.ctx_mut().stdout_mut().consume(4);
    let value = ready(g.complete());
    assert_eq!(g.resume(trap, value), 0);
    assert_eq!(event(&g, 0), ev(1, Errno::Success, EVENT_FD_WRITE, 4, 0));
}

#[test]
fn poll_oneoff_empty_stdin_suspends() {
    // stdin alone: no deadline.
    let mut p = Poll::new(None, false);
    p.subs(&[fd_sub(1, EVENT_FD_READ, 0)]);
    let (_trap, blocked) = p.suspend(1);
    assert_eq!(blocked, Blocked::Input { deadline: None });

    // stdin and a clock: the clock's deadline.
    let mut p = Poll::new(None, false);
    p.subs(&[
        clock_sub(0x22, CLOCK_MONOTONIC, 100, 0),
        fd_sub(0x11, EVENT_FD_READ, 0),
    ]);
    let (trap, blocked) = p.suspend(2);
    assert_eq!(
        blocked,
        Blocked::Input {
            deadline: Some(MONO + 100)
        }
    );

    // Input arrives before the deadline: the stdin event only.
    p.g.ctx_mut().stdin_mut().push(b"hello");
    let value = ready(p.g.complete());
    assert!(matches!(value, Val::I32(0)));
    assert_eq!(p.g.u32_at(NEVENTS), 1);
    assert_eq!(
        event(&p.g, 0),
        ev(0x11, Errno::Success, EVENT_FD_READ, 5, 0)
    );
    assert_eq!(p.g.resume(trap, value), 0);
}

#[test]
fn poll_oneoff_empty_stdin_until_relative_deadline() {
    let mut p = Poll::new(None, false);
    p.subs(&[
        fd_sub(0x11, EVENT_FD_READ, 0),
        clock_sub(0x22, CLOCK_MONOTONIC, 100, 0),
    ]);
    let (trap, blocked) = p.suspend(2);
    assert_eq!(
        blocked,
        Blocked::Input {
            deadline: Some(MONO + 100)
        }
    );
    p.clock.advance(100);
    let value = ready(p.g.complete());
    assert_eq!(p.g.resume(trap, value), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 1);
    assert_eq!(event(&p.g, 0), clock_event(0x22));
}

#[test]
fn poll_oneoff_empty_stdin_until_absolute_deadline() {
    let mut p = Poll::new(None, false);
    p.subs(&[
        fd_sub(0x11, EVENT_FD_READ, 0),
        clock_sub(0x22, CLOCK_MONOTONIC, MONO + 100, ABSTIME),
    ]);
    let (trap, blocked) = p.suspend(2);
    assert_eq!(
        blocked,
        Blocked::Input {
            deadline: Some(MONO + 100)
        }
    );
    p.clock.advance(100);
    let value = ready(p.g.complete());
    assert_eq!(p.g.resume(trap, value), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 1);
    assert_eq!(event(&p.g, 0), clock_event(0x22));
}

#[test]
fn poll_oneoff_subscriptions_and_events_may_overlap() {
    let mut p = Poll::new(Some(b"z"), false);
    p.subs(&[
        clock_sub(0xC0, CLOCK_MONOTONIC, 0, ABSTIME),
        fd_sub(0xF0, EVENT_FD_READ, 0),
    ]);
    let args = [i64::from(SUBS), i64::from(SUBS), 2, i64::from(NEVENTS)];
    assert_eq!(p.g.call("poll_oneoff", &args), 0);
    assert_eq!(p.g.u32_at(NEVENTS), 2);
    assert_eq!(p.g.u64_at(SUBS), 0xC0);
    assert_eq!(p.g.u64_at(SUBS + 32), 0xF0);
    assert_eq!(p.g.u8_at(SUBS + 32 + 10), EVENT_FD_READ);
    assert_eq!(p.g.u64_at(SUBS + 32 + 16), 1);
}

#[test]
fn poll_oneoff_invalid_arguments() {
    let good = clock_sub(1, CLOCK_MONOTONIC, 0, ABSTIME);
    let cases: [([i64; 4], Vec<u8>, Errno); 14] = [
        // No subscriptions, too many.
        (Poll::args(0), good.clone(), Errno::Inval),
        (Poll::args(4097), good.clone(), Errno::Inval),
        (Poll::args(0xFFFF_FFFF), good.clone(), Errno::Inval),
        // Unknown subscription tags.
        (Poll::args(1), fd_sub(1, 3, 0), Errno::Inval),
        (Poll::args(1), fd_sub(1, 0xFF, 0), Errno::Inval),
        // Misaligned arrays.
        (
            [
                i64::from(SUBS + 4),
                i64::from(EVENTS),
                1,
                i64::from(NEVENTS),
            ],
            good.clone(),
            Errno::Inval,
        ),
        (
            [
                i64::from(SUBS),
                i64::from(EVENTS + 4),
                1,
                i64::from(NEVENTS),
            ],
            good.clone(),
            Errno::Inval,
        ),
        (
            [
                i64::from(SUBS),
                i64::from(EVENTS),
                1,
                i64::from(NEVENTS + 2),
            ],
            good.clone(),
            Errno::Inval,
        ),
        // Out of bounds.
        (
            [
                i64::from(PAGE - 40),
                i64::from(EVENTS),
                1,
                i64::from(NEVENTS),
            ],
            good.clone(),
            Errno::Fault,
        ),
        (
            [i64::from(SUBS), i64::from(PAGE - 24), 1, i64::from(NEVENTS)],
            good.clone(),
            Errno::Fault,
        ),
        (
            [i64::from(SUBS), i64::from(EVENTS), 1, i64::from(PAGE)],
            good.clone(),
            Errno::Fault,
        ),
        (
            [0xFFFF_FFF8, i64::from(EVENTS), 1, i64::from(NEVENTS)],
            good.clone(),
            Errno::Fault,
        ),
        // 4096 subscriptions do not fit in one page.
        (Poll::args(4096), good.clone(), Errno::Fault),
        (
            [i64::from(SUBS), i64::from(EVENTS), 2, i64::from(NEVENTS)],
            [good.clone(), fd_sub(2, 9, 0)].concat(),
            Errno::Inval,
        ),
    ];
    for (args, subs, errno) in cases {
        let mut p = Poll::new(Some(b"x"), false);
        p.g.write(SUBS, &subs);
        assert_eq!(p.g.call("poll_oneoff", &args), e(errno), "{args:?}");
        assert_eq!(p.g.read(EVENTS, 32), [0xAA; 32], "no event written");
        assert_eq!(p.g.u32_at(NEVENTS), 0xAAAA_AAAA);
        assert_eq!(p.g.ctx().blocked(), None);
    }
}
