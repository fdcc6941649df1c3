//! The one checked door to guest linear memory.
//!
//! Every pointer and length a guest passes is untrusted. All reads and writes of
//! guest memory in this crate go through [`GuestMemory`], which does checked
//! arithmetic on `ptr + len * size`, bounds checks, alignment checks and UTF-8
//! validation, and reports failures as an [`Errno`]. Nothing else in the crate
//! slices or indexes guest memory.

use crate::Errno;

/// A checked view of a guest's linear memory.
#[derive(Debug)]
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the bytes of a linear memory.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        Self { bytes }
    }

    /// Size of the memory in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The byte range `[ptr, ptr + len)` after checking it lies inside memory.
    fn range(&self, ptr: u32, len: u32) -> Result<core::ops::Range<usize>, Errno> {
        let start = usize::try_from(ptr).map_err(|_| Errno::Fault)?;
        let len = usize::try_from(len).map_err(|_| Errno::Fault)?;
        let end = start.checked_add(len).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// The byte range of `count` elements of `size` bytes each, aligned to `align`.
    fn array_range(
        &self,
        ptr: u32,
        count: u32,
        size: u32,
        align: u32,
    ) -> Result<core::ops::Range<usize>, Errno> {
        if align > 1 && !ptr.is_multiple_of(align) {
            return Err(Errno::Inval);
        }
        let len = count.checked_mul(size).ok_or(Errno::Overflow)?;
        self.range(ptr, len)
    }

    /// Borrows `len` bytes at `ptr`.
    ///
    /// # Errors
    /// [`Errno::Fault`] when the range is not inside memory.
    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        self.bytes.get(range).ok_or(Errno::Fault)
    }

    /// Mutably borrows `len` bytes at `ptr`.
    ///
    /// # Errors
    /// [`Errno::Fault`] when the range is not inside memory.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        self.bytes.get_mut(range).ok_or(Errno::Fault)
    }

    /// Borrows `len` bytes at `ptr` as UTF-8 text.
    ///
    /// # Errors
    /// [`Errno::Fault`] out of bounds, [`Errno::Inval`] when not UTF-8 (the
    /// errno wasi-libc maps to `EILSEQ`-like failures is not part of this subset).
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        core::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Inval)
    }

    /// Checks that an array of `count` elements of `size` bytes, aligned to
    /// `align`, lies inside memory, and returns its total length in bytes.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Overflow`] when `count * size`
    /// overflows, [`Errno::Fault`] out of bounds.
    pub fn check_array(&self, ptr: u32, count: u32, size: u32, align: u32) -> Result<u32, Errno> {
        let range = self.array_range(ptr, count, size, align)?;
        u32::try_from(range.len()).map_err(|_| Errno::Overflow)
    }

    fn read_array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let len = u32::try_from(N).map_err(|_| Errno::Overflow)?;
        let range = self.array_range(ptr, 1, len, len)?;
        let bytes = self.bytes.get(range).ok_or(Errno::Fault)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Errno::Fault)
    }

    fn write_array<const N: usize>(&mut self, ptr: u32, value: [u8; N]) -> Result<(), Errno> {
        let len = u32::try_from(N).map_err(|_| Errno::Overflow)?;
        let range = self.array_range(ptr, 1, len, len)?;
        self.bytes
            .get_mut(range)
            .ok_or(Errno::Fault)?
            .copy_from_slice(&value);
        Ok(())
    }

    /// Reads a byte.
    ///
    /// # Errors
    /// [`Errno::Fault`] out of bounds.
    pub fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        self.read_array::<1>(ptr).map(u8::from_le_bytes)
    }

    /// Reads a little-endian `u16` at a 2-byte-aligned address.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Fault`] out of bounds.
    pub fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        self.read_array::<2>(ptr).map(u16::from_le_bytes)
    }

    /// Reads a little-endian `u32` at a 4-byte-aligned address.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Fault`] out of bounds.
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        self.read_array::<4>(ptr).map(u32::from_le_bytes)
    }

    /// Reads a little-endian `u64` at an 8-byte-aligned address.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Fault`] out of bounds.
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        self.read_array::<8>(ptr).map(u64::from_le_bytes)
    }

    /// Writes a byte.
    ///
    /// # Errors
    /// [`Errno::Fault`] out of bounds.
    pub fn write_u8(&mut self, ptr: u32, value: u8) -> Result<(), Errno> {
        self.write_array(ptr, value.to_le_bytes())
    }

    /// Writes a little-endian `u16` at a 2-byte-aligned address.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Fault`] out of bounds.
    pub fn write_u16(&mut self, ptr: u32, value: u16) -> Result<(), Errno> {
        self.write_array(ptr, value.to_le_bytes())
    }

    /// Writes a little-endian `u32` at a 4-byte-aligned address.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Fault`] out of bounds.
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.write_array(ptr, value.to_le_bytes())
    }

    /// Writes a little-endian `u64` at an 8-byte-aligned address.
    ///
    /// # Errors
    /// [`Errno::Inval`] misaligned, [`Errno::Fault`] out of bounds.
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.write_array(ptr, value.to_le_bytes())
    }

    /// Reads an array of `(buf, buf_len)` pairs (a WASI `iovec`/`ciovec` list)
    /// after checking the whole list lies in memory; each pair is checked again
    /// when it is used.
    ///
    /// # Errors
    /// As [`GuestMemory::check_array`].
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Iovecs<'_>, Errno> {
        let range = self.array_range(ptr, count, 8, 4)?;
        let bytes = self.bytes.get(range).ok_or(Errno::Fault)?;
        Ok(Iovecs { bytes })
    }
}

/// A validated list of guest `(pointer, length)` buffer descriptors.
#[derive(Debug, Clone, Copy)]
pub struct Iovecs<'a> {
    bytes: &'a [u8],
}

impl Iovecs<'_> {
    /// The descriptors, as `(ptr, len)`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.bytes.chunks_exact(8).map(|pair| {
            let (ptr, len) = pair.split_at(4);
            let word = |b: &[u8]| <[u8; 4]>::try_from(b).map_or(0, u32::from_le_bytes);
            (word(ptr), word(len))
        })
    }

    /// Copies the descriptors out, so that guest memory can be written while
    /// walking them. At most `limit` descriptors are returned.
    pub fn to_vec(&self, limit: usize) -> Vec<(u32, u32)> {
        self.iter().take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_alignment_and_overflow() {
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_u32(60), Ok(0));
        assert_eq!(mem.read_u32(61), Err(Errno::Inval));
        assert_eq!(mem.read_u32(64), Err(Errno::Fault));
        assert_eq!(mem.read_u64(u32::MAX - 7), Err(Errno::Fault));
        assert_eq!(mem.slice(0, 65), Err(Errno::Fault));
        assert_eq!(mem.slice(u32::MAX, 2), Err(Errno::Fault));
        assert_eq!(mem.check_array(0, u32::MAX, 8, 4), Err(Errno::Overflow));
        assert_eq!(mem.write_u16(62, 7), Ok(()));
        assert_eq!(mem.read_u16(62), Ok(7));
        assert_eq!(mem.slice_mut(64, 0).map(|s| s.len()), Ok(0));
        mem.slice_mut(0, 2)
            .map(|s| s.copy_from_slice(&[0xff, 0xfe]))
            .ok();
        assert_eq!(mem.str(0, 2), Err(Errno::Inval));
    }

    #[test]
    fn iovecs_are_read_little_endian() {
        let mut bytes = vec![0u8; 32];
        bytes[0..4].copy_from_slice(&16u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&3u32.to_le_bytes());
        let mem = GuestMemory::new(&mut bytes);
        let iovs = mem.iovecs(0, 1).map(|v| v.to_vec(8));
        assert_eq!(iovs, Ok(vec![(16, 3)]));
        assert!(mem.iovecs(2, 1).is_err());
    }
}
