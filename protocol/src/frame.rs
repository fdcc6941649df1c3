//! Newline framing: turns a byte stream into lines.

use crate::error::FrameError;

/// Splits a byte stream into `\n`-terminated lines, with a maximum line length.
///
/// Feed it bytes with [`push`](Self::push) (chunks of any size, split anywhere) and take
/// complete lines with [`next_line`](Self::next_line). Each byte is scanned a bounded number
/// of times and consumed lines are dropped in amortized constant time, so feeding large
/// chunks is cheap.
///
/// A line longer than the limit is reported by `push` and dropped, together with the rest
/// of it up to its `\n`; the framer then resumes with the following line. Of an incomplete
/// line it never holds more than the limit.
///
/// ```
/// use wasplug_protocol::LineFramer;
///
/// let mut framer = LineFramer::new(1024);
/// framer.push(b"{\"a\":1}\r\n\n{\"b\"").unwrap();
/// framer.push(b":2}\n").unwrap();
/// assert_eq!(framer.next_line().unwrap().unwrap(), "{\"a\":1}");
/// assert_eq!(framer.next_line().unwrap().unwrap(), "{\"b\":2}");
/// assert!(framer.next_line().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_line: usize,
    buf: Vec<u8>,
    /// Offset of the first byte not yet handed out by `next_line`.
    start: usize,
    /// Offset just past the last `\n` in `buf`; what follows is the incomplete line.
    complete: usize,
    /// Dropping the rest of an overlong line, up to its `\n`.
    discarding: bool,
    /// Every `\n` pushed so far.
    ended: u64,
}

/// Compact the buffer once at least this many consumed bytes sit in front of it
/// (and they are at least half of it).
const COMPACT_MIN: usize = 4096;

impl LineFramer {
    /// A framer accepting lines of at most `max_line` bytes (excluding the `\n`).
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line,
            buf: Vec::new(),
            start: 0,
            complete: 0,
            discarding: false,
            ended: 0,
        }
    }

    /// The maximum line length in bytes (excluding the `\n`).
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Appends bytes.
    ///
    /// Returns [`FrameError::LineTooLong`] as soon as a line (complete or still pending)
    /// exceeds the limit. That line is dropped, and so is the rest of it in later pushes, up
    /// to its `\n`. All other lines in `bytes` are kept even when the error is returned.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), FrameError> {
        self.compact();
        let mut result = Ok(());
        while !bytes.is_empty() {
            let pending = self.buf.len() - self.complete;
            match bytes.iter().position(|&b| b == b'\n') {
                Some(newline) => {
                    let (segment, rest) = bytes.split_at(newline);
                    bytes = rest.get(1..).unwrap_or_default();
                    self.ended = self.ended.saturating_add(1);
                    if self.discarding {
                        self.discarding = false;
                    } else if pending.saturating_add(segment.len()) > self.max_line {
                        self.buf.truncate(self.complete);
                        result = result.and(Err(self.too_long()));
                    } else {
                        self.buf.extend_from_slice(segment);
                        self.buf.push(b'\n');
                        self.complete = self.buf.len();
                    }
                }
                None => {
                    if self.discarding {
                        // Still inside an overlong line: drop.
                    } else if pending.saturating_add(bytes.len()) > self.max_line {
                        self.buf.truncate(self.complete);
                        self.discarding = true;
                        result = result.and(Err(self.too_long()));
                    } else {
                        self.buf.extend_from_slice(bytes);
                    }
                    break;
                }
            }
        }
        result
    }

    /// The next complete line, without its `\n` (and without a `\r` before it), or `None`.
    ///
    /// Empty and whitespace-only lines are skipped. A line that is not valid UTF-8 yields
    /// [`FrameError::InvalidUtf8`] and is dropped.
    pub fn next_line(&mut self) -> Option<Result<String, FrameError>> {
        loop {
            let region = self.buf.get(self.start..self.complete)?;
            let newline = region.iter().position(|&b| b == b'\n')?;
            let line = region.get(..newline)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let item = if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                None
            } else {
                Some(match std::str::from_utf8(line) {
                    Ok(s) => Ok(s.to_owned()),
                    Err(e) => Err(FrameError::InvalidUtf8 {
                        valid_up_to: e.valid_up_to(),
                        len: line.len(),
                    }),
                })
            };
            self.start += newline + 1;
            if self.start == self.buf.len() {
                self.buf.clear();
                self.start = 0;
                self.complete = 0;
            }
            if item.is_some() {
                return item;
            }
        }
    }

    /// Whether complete lines wait to be taken with [`next_line`](Self::next_line).
    pub fn has_line(&self) -> bool {
        self.start < self.complete
    }

    /// How many lines ended (`\n` bytes were pushed) so far: blank,
    /// overlong and not yet taken ones included. What a caller charges for
    /// framing, whatever the lines turn out to be.
    pub fn lines_ended(&self) -> u64 {
        self.ended
    }

    /// Bytes held that do not yet form a line (the incomplete last line).
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() - self.complete
    }

    fn too_long(&self) -> FrameError {
        FrameError::LineTooLong {
            limit: self.max_line,
        }
    }

    /// Drops consumed bytes from the front of the buffer when that is cheap enough:
    /// the bytes moved are never more than the bytes dropped.
    fn compact(&mut self) {
        if self.start >= COMPACT_MIN && self.start >= self.buf.len() - self.start {
            self.buf.drain(..self.start);
            self.complete -= self.start;
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(framer: &mut LineFramer) -> Vec<Result<String, FrameError>> {
        std::iter::from_fn(|| framer.next_line()).collect()
    }

    #[test]
    fn splits_and_strips() {
        let mut f = LineFramer::new(100);
        f.push(b"a\r\n\n  \r\n\t\nb\nc").unwrap();
        assert_eq!(f.lines_ended(), 5);
        assert_eq!(lines(&mut f), vec![Ok("a".into()), Ok("b".into())]);
        assert_eq!(f.pending_bytes(), 1);
        f.push(b"d\n").unwrap();
        assert_eq!(lines(&mut f), vec![Ok("cd".into())]);
        assert_eq!(f.pending_bytes(), 0);
        assert_eq!(f.max_line(), 100);
    }

    #[test]
    fn invalid_utf8_is_reported_and_skipped() {
        let mut f = LineFramer::new(100);
        f.push(b"ok\nab\xffc\nnext\n").unwrap();
        assert_eq!(
            lines(&mut f),
            vec![
                Ok("ok".into()),
                Err(FrameError::InvalidUtf8 {
                    valid_up_to: 2,
                    len: 4
                }),
                Ok("next".into())
            ]
        );
    }

    #[test]
    fn limit_is_exact() {
        let mut f = LineFramer::new(3);
        f.push(b"abc\n").unwrap();
        assert_eq!(f.push(b"abcd\n"), Err(FrameError::LineTooLong { limit: 3 }));
        f.push(b"abc").unwrap();
        assert_eq!(f.push(b"d"), Err(FrameError::LineTooLong { limit: 3 }));
        assert_eq!(f.pending_bytes(), 0);
        // The rest of the overlong line is dropped, then framing resumes.
        f.push(b"efgh\nxy\n").unwrap();
        assert_eq!(lines(&mut f), vec![Ok("abc".into()), Ok("xy".into())]);
    }

    #[test]
    fn overlong_line_in_the_middle_keeps_neighbours() {
        let mut f = LineFramer::new(4);
        assert_eq!(
            f.push(b"one\ntoo long\ntwo\nthree!\nfour"),
            Err(FrameError::LineTooLong { limit: 4 })
        );
        assert_eq!(lines(&mut f), vec![Ok("one".into()), Ok("two".into())]);
        assert_eq!(f.pending_bytes(), 4);
    }

    #[test]
    fn huge_chunk_without_newline_is_not_buffered() {
        let mut f = LineFramer::new(1024);
        let chunk = vec![b'x'; 10 * 1024 * 1024];
        assert_eq!(f.push(&chunk), Err(FrameError::LineTooLong { limit: 1024 }));
        assert_eq!(f.pending_bytes(), 0);
        assert!(f.buf.capacity() <= 2048);
        f.push(&chunk).unwrap(); // still inside the same overlong line
        f.push(b"\n{}\n").unwrap();
        assert_eq!(lines(&mut f), vec![Ok("{}".into())]);
    }

    #[test]
    fn compaction_keeps_lines_intact() {
        // A partial line is always pending, so the buffer never empties by itself.
        let mut f = LineFramer::new(64);
        f.push(b"L").unwrap();
        let mut got = Vec::new();
        for i in 0..20_000 {
            f.push(format!("{i}\nL").as_bytes()).unwrap();
            if i % 3 == 0 {
                got.extend(lines(&mut f).into_iter().map(Result::unwrap));
            }
            assert!(f.buf.len() < 3 * COMPACT_MIN);
        }
        got.extend(lines(&mut f).into_iter().map(Result::unwrap));
        let expected: Vec<String> = (0..20_000).map(|i| format!("L{i}")).collect();
        assert_eq!(got, expected);
        assert_eq!(f.pending_bytes(), 1);
    }
}
