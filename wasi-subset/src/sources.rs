//! Where the guest's time and randomness come from.

use web_time::{Instant, SystemTime, UNIX_EPOCH};

/// The clocks a guest reads, in nanoseconds.
///
/// Inject your own (see [`crate::WasiCtxBuilder::clock`]) to make a run
/// deterministic; the default is [`SystemClock`].
pub trait Clock: Send {
    /// Nanoseconds since the Unix epoch (`CLOCKID_REALTIME`).
    fn realtime(&mut self) -> u64;
    /// Nanoseconds since an arbitrary fixed point; never goes back (`CLOCKID_MONOTONIC`).
    fn monotonic(&mut self) -> u64;
    /// The resolution of both clocks in nanoseconds.
    fn resolution(&self) -> u64 {
        1
    }
}

/// The host's own clocks: `SystemTime` and `Instant` (on the web, the browser's).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic zero is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

fn saturating_nanos(duration: core::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock for SystemClock {
    fn realtime(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, saturating_nanos)
    }

    fn monotonic(&mut self) -> u64 {
        saturating_nanos(self.origin.elapsed())
    }

    fn resolution(&self) -> u64 {
        1_000
    }
}

/// Fills guest buffers for `random_get`.
pub trait Random: Send {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// When the source fails; the guest then sees `EIO`.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// A random source could not produce bytes.
#[derive(Debug, Clone, thiserror::Error)]
#[error("random source failed: {0}")]
pub struct RandomError(pub String);

/// The operating system's (or the browser's) secure random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|e| RandomError(e.to_string()))
    }
}
