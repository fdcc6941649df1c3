//! WASI preview1 error numbers.

/// A WASI preview1 `errno`: what a WASI function returns to the guest.
///
/// Only the values this subset can produce are named; the numbers are those of
/// the `wasi_snapshot_preview1` specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[non_exhaustive]
pub enum Errno {
    /// No error occurred.
    Success = 0,
    /// Resource unavailable, try again (non-blocking stdin with no data).
    Again = 6,
    /// Bad file descriptor.
    Badf = 8,
    /// Bad address: a guest pointer or length lies outside linear memory.
    Fault = 21,
    /// Invalid argument (also: a misaligned guest pointer).
    Inval = 28,
    /// I/O error (for example the host's random source failed).
    Io = 29,
    /// No such file or directory.
    Noent = 44,
    /// Function not supported.
    Nosys = 52,
    /// Not a directory.
    Notdir = 54,
    /// Not a socket.
    Notsock = 57,
    /// Not supported.
    Notsup = 58,
    /// Value too large to be stored in the data type.
    Overflow = 61,
    /// Invalid seek: the descriptor is a pipe.
    Spipe = 70,
    /// Extension: capabilities insufficient.
    Notcapable = 76,
}

impl Errno {
    /// The raw number the guest sees.
    pub fn raw(self) -> u16 {
        self as u16
    }
}

impl From<Errno> for i32 {
    fn from(errno: Errno) -> i32 {
        i32::from(errno.raw())
    }
}
