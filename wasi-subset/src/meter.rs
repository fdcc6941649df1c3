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
//! The rates were measured with `cargo run --release -p wasplug-wasi
//! --example host_work` on a 2-core Xeon (KVM) shared with other builds,
//! where wasmi runs guest compute at 1.0–1.5 ns per unit of fuel.
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
/// finding the guest's memory, the checks.
///
/// Measured: a guest loop of `clock_time_get` takes ~200 ns per call where
/// the same loop's 7 units of guest fuel take ~10 ns; a loop of
/// `sched_yield` (which touches no memory) ~85 ns.
pub const CALL_FUEL: u64 = 100;

/// `random_get`: fuel per byte drawn from the OS random source.
///
/// Measured: `getrandom` fills ~150–300 MB/s here (3–6.5 ns per byte).
pub const RANDOM_FUEL: FuelRate = FuelRate::new(4, 1);

/// Bytes copied between guest memory and the host: `fd_read`, `fd_write`,
/// `args_get`, `environ_get`.
///
/// Measured: ~0.25 ns per byte for copies of 64 KiB (about 1 GB/s after
/// the pipe's own bookkeeping), 0.6 ns per byte for `args_get`'s strings.
pub const COPY_FUEL: FuelRate = FuelRate::new(1, 2);

/// Fuel per iovec `fd_read`/`fd_write` check and walk.
///
/// Measured: `fd_write` with 1024 empty iovecs takes ~28 µs, 27 ns per iovec.
pub const IOVEC_FUEL: u64 = 20;

/// Fuel per `poll_oneoff` subscription read, checked and answered.
///
/// Measured: a `poll_oneoff` with 4096 ready clock subscriptions takes
/// ~1.3 ms before this crate read the realtime clock once per call instead of
/// once per subscription; ~?? after.
pub const SUBSCRIPTION_FUEL: u64 = 100;

/// Fuel per argument or environment string `args_get`, `environ_get` and
/// their `_sizes_get` walk (the bytes are charged as [`COPY_FUEL`]).
///
/// Measured: `args_sizes_get` over 4096 arguments takes ~28 µs, 7 ns per string.
pub const STRING_FUEL: u64 = 5;

/// The least fuel's worth of work one step of a long call does, even when
/// the guest has no fuel left: every step makes progress, whatever the
/// executor does about fuel between steps. 64 KiB of copying, 4 KiB of
/// random bytes.
pub const STEP_FUEL_MIN: u64 = 32 << 10;

/// The most fuel's worth of work one step of a long call does (and all it
/// does when fuel metering is off): well under a millisecond of host time,
/// so an executor regains control at least that often.
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
