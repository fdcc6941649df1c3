//! In-memory stdio pipes shared by the guest and the embedder.

use std::collections::VecDeque;

/// The guest's stdin: bytes the embedder pushes, read by `fd_read` on fd 0.
///
/// While it is empty and open, a blocking read suspends the guest (see
/// [`crate::Blocked::Input`]); once closed and drained, reads return end of file.
#[derive(Debug, Default)]
pub struct InputPipe {
    buf: VecDeque<u8>,
    closed: bool,
}

impl InputPipe {
    /// Appends bytes for the guest to read.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes);
    }

    /// Marks the end of input: once the buffered bytes are read, the guest sees EOF.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Whether [`InputPipe::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes buffered and not yet read by the guest.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no bytes are buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether a read would return at once (data buffered, or end of file).
    pub fn is_readable(&self) -> bool {
        self.closed || !self.buf.is_empty()
    }

    /// Moves up to `dst.len()` bytes into `dst`; returns how many.
    pub(crate) fn read_into(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.buf.len());
        let (front, back) = self.buf.as_slices();
        let from_front = n.min(front.len());
        let (dst_front, dst_back) = dst.split_at_mut(from_front);
        dst_front.copy_from_slice(front.get(..from_front).unwrap_or_default());
        let from_back = n.saturating_sub(from_front);
        if let (Some(dst), Some(src)) = (dst_back.get_mut(..from_back), back.get(..from_back)) {
            dst.copy_from_slice(src);
        }
        self.buf.drain(..n);
        n
    }
}

/// The guest's stdout or stderr: bytes written by `fd_write`, taken by the embedder.
///
/// A pipe has a capacity (default: unbounded). When it is full, a write suspends
/// the guest with [`crate::Blocked::Output`] until the embedder takes bytes out,
/// exactly like a full OS pipe — so a guest can never make the host buffer
/// without bound.
#[derive(Debug)]
pub struct OutputPipe {
    buf: Vec<u8>,
    capacity: usize,
}

impl Default for OutputPipe {
    fn default() -> Self {
        Self::with_capacity(usize::MAX)
    }
}

impl OutputPipe {
    /// A pipe that holds at most `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::new(),
            capacity,
        }
    }

    /// The most bytes the pipe holds before writes suspend the guest.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity (bytes already held are kept).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// The bytes written and not yet taken.
    pub fn contents(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes everything written so far.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Drops the first `n` bytes (all of them if `n` is larger).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Room left before writes suspend.
    pub fn room(&self) -> usize {
        self.capacity.saturating_sub(self.buf.len())
    }

    /// Appends as much of `bytes` as fits; returns how many were taken.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        self.buf
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reads_in_order_then_eof() {
        let mut pipe = InputPipe::default();
        pipe.push(b"hello");
        let mut dst = [0u8; 3];
        assert_eq!(pipe.read_into(&mut dst), 3);
        assert_eq!(&dst, b"hel");
        assert!(pipe.is_readable());
        assert_eq!(pipe.read_into(&mut dst), 2);
        assert!(!pipe.is_readable());
        pipe.close();
        assert!(pipe.is_readable());
        assert_eq!(pipe.read_into(&mut dst), 0);
    }

    #[test]
    fn input_reads_across_the_ring_buffer_wrap() {
        let mut pipe = InputPipe::default();
        pipe.buf.reserve_exact(8);
        let capacity = pipe.buf.capacity();
        // Fill, take most out, refill: the bytes now wrap around the end.
        pipe.push(&vec![1; capacity]);
        let mut sink = vec![0; capacity - 2];
        assert_eq!(pipe.read_into(&mut sink), capacity - 2);
        pipe.push(&[2, 3, 4]);
        assert!(!pipe.buf.as_slices().1.is_empty(), "the bytes wrap");
        let mut dst = [0u8; 4];
        assert_eq!(pipe.read_into(&mut dst), 4);
        assert_eq!(dst, [1, 1, 2, 3]);
        assert_eq!(pipe.read_into(&mut dst), 1);
        assert_eq!(dst[0], 4);
    }

    #[test]
    fn output_respects_capacity() {
        let mut pipe = OutputPipe::with_capacity(4);
        assert_eq!(pipe.write(b"abcdef"), 4);
        assert_eq!(pipe.room(), 0);
        pipe.consume(2);
        assert_eq!(pipe.write(b"xyz"), 2);
        assert_eq!(pipe.contents(), b"cdxy");
    }
}
