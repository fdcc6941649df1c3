//! Limits on what a [`Peer`](crate::Peer) accepts.

use crate::frame::LineFramer;

/// Limits on what a [`Peer`](crate::Peer) accepts.
///
/// ```
/// use wasplug_protocol::PeerConfig;
///
/// let config = PeerConfig::default().with_max_line(64 * 1024).with_max_depth(32).with_max_pending(8);
/// assert_eq!((config.max_line, config.max_depth, config.max_pending), (65536, 32, 8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerConfig {
    /// Maximum length of an incoming line in bytes, excluding the `\n` (default 1 MiB).
    pub max_line: usize,
    /// Maximum nesting of arrays/objects in an incoming line, counting the message object
    /// itself as level 1 (default 64). Values above 127 are capped in effect by
    /// `serde_json`'s own recursion limit (deeper lines are then reported as not JSON).
    pub max_depth: usize,
    /// Maximum number of outgoing requests awaiting an answer (default 64).
    pub max_pending: usize,
}

impl PeerConfig {
    /// Default [`max_line`](Self::max_line): 1 MiB.
    pub const DEFAULT_MAX_LINE: usize = 1 << 20;
    /// Default [`max_depth`](Self::max_depth): 64.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// Default [`max_pending`](Self::max_pending): 64.
    pub const DEFAULT_MAX_PENDING: usize = 64;

    /// Sets [`max_line`](Self::max_line).
    #[must_use]
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// Sets [`max_depth`](Self::max_depth).
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Sets [`max_pending`](Self::max_pending).
    #[must_use]
    pub fn with_max_pending(mut self, max_pending: usize) -> Self {
        self.max_pending = max_pending;
        self
    }

    /// A [`LineFramer`] enforcing [`max_line`](Self::max_line).
    pub fn framer(&self) -> LineFramer {
        LineFramer::new(self.max_line)
    }
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            max_line: Self::DEFAULT_MAX_LINE,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_pending: Self::DEFAULT_MAX_PENDING,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = PeerConfig::default();
        assert_eq!((c.max_line, c.max_depth, c.max_pending), (1 << 20, 64, 64));
        assert_eq!(c.framer().max_line(), 1 << 20);
    }
}
