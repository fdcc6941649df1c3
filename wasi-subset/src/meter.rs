//! Fuel for host work: what the WASI functions charge, and how much work one
//! step of a long call may do.
//!
//! wasmi meters the guest's own instructions; the work a WASI function does
//! for the guest (filling a buffer with random bytes, copying output, walking
//! subscriptions) runs in the host, where the meter does not see it. So each
//! function charges fuel for it: [`CALL_FUEL`] for being called at all, plus
//! a price per unit of work. The prices make a unit of fuel of host work
//! take about as long as a unit of fuel of guest compute, so a fuel budget
//! and a fuel slice bound a guest's time whatever it calls.
//!
//! The rates were measured in a release build with the `host_work` example
//! (`cargo build --release -p wasplug-wasi --example host_work && chrt -f 10
//! target/release/examples/host_work`) on a 2-core Xeon VM (KVM), where
//! wasmi runs guest compute at 0.45–0.6 ns per unit of fuel: each rate
//! prices the measured host time at 0.5 ns per unit, rounded to keep
//! numbers simple.
//!
//! A charge larger than the fuel left takes it to zero: the call still
//! completes and the guest stops out of fuel at its next block of
//! instructions. A call that could do much more work than one step (a
//! `random_get` or a blocking `fd_write` of megabytes) does it in steps,
//! each as large as the fuel left pays for (between [`STEP_FUEL_MIN`] and
//! [`STEP_FUEL_MAX`]), and suspends the guest with
//! [`crate::Blocked::Busy`] between them.

use wasmi::AsContextMut;

/// A price for host work: `fuel` units of fuel per `per` units of work
/// (bytes, say), rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuelRate {
    fuel: u64,
    per: u64,
}

impl FuelRate {
    /// `fuel` units of fuel for every `per` units of work (`per` at least 1).
    pub const fn new(fuel: u64, per: u64) -> Self {
        Self {
            fuel,
            per: if per == 0 { 1 } else { per },
        }
    }

    /// The fuel `units` units of work cost, rounded up (saturating).
    ///
    /// ```
    /// use wasplug_wasi::FuelRate;
    ///
    /// let rate = FuelRate::new(1, 4); // one unit of fuel per 4 bytes
    /// assert_eq!(rate.cost(0), 0);
    /// assert_eq!(rate.cost(1), 1);
    /// assert_eq!(rate.cost(4096), 1024);
    /// ```
    pub const fn cost(self, units: u64) -> u64 {
        let fuel = (units as u128 * self.fuel as u128).div_ceil(self.per as u128);
        if fuel > u64::MAX as u128 {
            u64::MAX
        } else {
            fuel as u64
        }
    }

    /// The units of work `fuel` units of fuel pay for, rounded down.
    pub const fn units_for(self, fuel: u64) -> u64 {
        if self.fuel == 0 {
            return u64::MAX;
        }
        let units = fuel as u128 * self.per as u128 / self.fuel as u128;
        if units > u64::MAX as u128 {
            u64::MAX
        } else {
            units as u64
        }
    }
}

/// Fuel every WASI call costs, whatever it does: the host call itself,
/// finding the guest's memory, the checks, reading a clock.
///
/// Measured, per turn of a guest loop whose own 7 units of fuel take ~4 ns:
/// `sched_yield` 28–35 ns, `clock_time_get` 76–93 ns.
pub const CALL_FUEL: u64 = 150;

/// `random_get`: fuel per byte drawn from the random source.
///
/// Measured with the OS source (`getrandom`): 2.4–3.0 ns per byte
/// (`random_get` of 64 KiB: 162–197 µs; of 1 MiB: 2.5 ms; of 16 MiB: 42–50 ms).
pub const RANDOM_FUEL: FuelRate = FuelRate::new(5, 1);

/// `random_get`: fuel for each draw from the random source (one per step
/// that draws any byte), on top of [`RANDOM_FUEL`] per byte.
///
/// Measured: a `random_get` of 16 bytes takes ~400 ns where a
/// `clock_time_get` takes ~80: ~320 ns per draw (a system call).
pub const RANDOM_DRAW_FUEL: u64 = 640;

/// Bytes copied between guest memory and the host: `fd_read`, `fd_write`,
/// `args_get`, `environ_get`.
///
/// Measured: 0.03–0.2 ns per byte (`fd_write` of 1 MiB through a 64 KiB
/// pipe: 31–38 µs; of 64 MiB into an unbounded pipe, which grows as it
/// fills: 8–14 ms; `args_get` of 1 MiB of arguments: 80–86 µs).
pub const COPY_FUEL: FuelRate = FuelRate::new(1, 4);

/// Fuel per iovec `fd_read` and `fd_write` check and walk.
///
/// Measured: `fd_write` with 1024 empty iovecs takes 3.7–6.6 µs, 3.6–6.4 ns
/// per iovec.
pub const IOVEC_FUEL: u64 = 8;

/// Fuel per `poll_oneoff` subscription read, checked and answered.
///
/// Measured: a `poll_oneoff` with 4096 ready clock subscriptions takes
/// 56–66 µs, 14–16 ns per subscription (1.3 ms before the realtime clock was
/// read once per call instead of once per subscription).
pub const SUBSCRIPTION_FUEL: u64 = 32;

/// Fuel per argument or environment string `args_get`, `environ_get` and
/// their `_sizes_get` walk (the bytes are charged as [`COPY_FUEL`]).
///
/// Measured: `args_sizes_get` over 4096 arguments takes 4.5–5.7 µs, 1.1–1.4
/// ns per string.
pub const STRING_FUEL: u64 = 3;

/// The least fuel's worth of work one step of a long call does, even when
/// the guest has no fuel left, so that every step makes progress whatever
/// the executor does about fuel between steps: 128 KiB of copying, 6.5 KB
/// of random bytes, ~16 µs here.
pub const STEP_FUEL_MIN: u64 = 32 << 10;

/// The most fuel's worth of work one step of a long call does (and what
/// each step does when fuel metering is off): ~250 µs of host work here, so
/// an executor regains control well within a millisecond.
pub const STEP_FUEL_MAX: u64 = 500_000;

/// The fuel account of one run of a WASI function: what the guest had when
/// it started and what the function spent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meter {
    left: Option<u64>,
    spent: u64,
}

impl Meter {
    /// An account over `left` units of fuel; `None` when fuel metering is
    /// off (then nothing is charged and steps are as large as allowed).
    pub(crate) fn new(left: Option<u64>) -> Self {
        Self { left, spent: 0 }
    }

    /// Spends `fuel`; more than is left is the same as all of it.
    pub(crate) fn charge(&mut self, fuel: u64) {
        self.spent = self.spent.saturating_add(fuel);
    }

    /// The fuel left after what was spent, or `None` without metering.
    pub(crate) fn remaining(&self) -> Option<u64> {
        self.left.map(|left| left.saturating_sub(self.spent))
    }

    /// Takes what was spent from the store's fuel (nothing without metering).
    pub(crate) fn settle(self, mut store: impl AsContextMut) {
        if let Some(left) = self.remaining() {
            // Cannot fail: the fuel was read, so metering is on.
            store.as_context_mut().set_fuel(left).ok();
        }
    }

    /// How many units of work priced at `rate` this step may do: as many as
    /// the fuel left pays for, within [`STEP_FUEL_MIN`]..=[`STEP_FUEL_MAX`];
    /// always at least one.
    pub(crate) fn step(&self, rate: FuelRate) -> u64 {
        let fuel = self.remaining().map_or(STEP_FUEL_MAX, |left| {
            left.clamp(STEP_FUEL_MIN, STEP_FUEL_MAX)
        });
        rate.units_for(fuel).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_up_and_saturate() {
        let half = FuelRate::new(1, 2);
        assert_eq!(half.cost(3), 2);
        assert_eq!(half.units_for(3), 6);
        assert_eq!(RANDOM_FUEL.cost(u64::MAX), u64::MAX);
        assert_eq!(FuelRate::new(0, 1).units_for(1), u64::MAX);
        assert_eq!(FuelRate::new(1, 0), FuelRate::new(1, 1));
    }

    #[test]
    fn steps_follow_the_fuel_left_within_bounds() {
        let rate = FuelRate::new(1, 1);
        assert_eq!(Meter::new(None).step(rate), STEP_FUEL_MAX);
        assert_eq!(Meter::new(Some(0)).step(rate), STEP_FUEL_MIN);
        assert_eq!(Meter::new(Some(u64::MAX)).step(rate), STEP_FUEL_MAX);
        let mut meter = Meter::new(Some(STEP_FUEL_MIN * 3));
        assert_eq!(meter.step(rate), STEP_FUEL_MIN * 3);
        meter.charge(STEP_FUEL_MIN);
        assert_eq!(meter.step(rate), STEP_FUEL_MIN * 2);
        meter.charge(u64::MAX);
        assert_eq!(meter.remaining(), Some(0));
        assert_eq!(meter.step(FuelRate::new(u64::MAX, 1)), 1);
    }
}
