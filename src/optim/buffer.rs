//! The optimizers' per-element state buffers, aligned to a cache line.

use crate::error::Error;
use core::fmt;
use core::ops::{Deref, DerefMut};
use std::vec::Vec;

/// Elements per cache line.
const LINE: usize = 16;

/// One 64-byte cache line of f32: `repr(C)` over an array, so no padding.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; LINE]);

/// Lines per 4 KiB page.
const PAGE_LINES: usize = 64;

/// Where in its page element 0 sits, in lines: half a page from where large allocations start
/// (16 bytes in for glibc, 0 for most other allocators).
const OFFSET_LINES: usize = PAGE_LINES / 2;

/// f32 values whose element 0 starts a cache line, and for buffers of 4 pages or more, half a
/// page from a page's start. The update drivers run fixed chunks that start at multiples of
/// 16 elements, so every vector store to the state stays within one line; a `Vec<f32>` from
/// the system allocator starts 16 bytes into one, and every AVX-512 store to it straddled two.
/// The half page keeps the state's stores away from the parameters' and gradients' loads in
/// the low 12 address bits, which the CPU compares first: with the state one line from the
/// parameters' start, Adam's loads waited on its stores and it ran 20% slower than unaligned.
pub(crate) struct Buffer {
    lines: Vec<Line>,
    /// The line that holds element 0.
    start: usize,
    len: usize,
}

impl Buffer {
    /// `len` elements of `init`, or [`Error::OutOfMemory`].
    pub(crate) fn filled(len: usize, init: f32) -> Result<Buffer, Error> {
        let used = len.div_ceil(LINE);
        let paged = used >= 4 * PAGE_LINES;
        let n = if paged { used + PAGE_LINES - 1 } else { used };
        let mut lines = Vec::new();
        lines.try_reserve_exact(n).map_err(|_| Error::OutOfMemory { elements: len })?;
        lines.resize(n, Line([init; LINE]));
        let at = lines.as_ptr() as usize / size_of::<Line>() % PAGE_LINES;
        let start = if paged { (OFFSET_LINES + PAGE_LINES - at) % PAGE_LINES } else { 0 };
        Ok(Buffer { lines, start, len })
    }
}

impl Clone for Buffer {
    /// Aborts where memory runs out, as `Vec`'s clone does.
    fn clone(&self) -> Self {
        let mut b = Buffer::filled(self.len, 0.0)
            .unwrap_or_else(|_| std::alloc::handle_alloc_error(core::alloc::Layout::new::<Line>()));
        b.copy_from_slice(self);
        b
    }
}

impl Deref for Buffer {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        // SAFETY: `lines[start..]` holds at least len initialised f32, contiguous (`Line` is an
        // f32 array without padding), and the slice borrows `self`.
        unsafe { core::slice::from_raw_parts(self.lines[self.start..].as_ptr().cast::<f32>(), self.len) }
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and the slice borrows `self` mutably.
        unsafe {
            core::slice::from_raw_parts_mut(self.lines[self.start..].as_mut_ptr().cast::<f32>(), self.len)
        }
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_filled() {
        for len in [0, 1, 15, 16, 17, 1000, 4095, 4096, 4097, 100_000] {
            let mut b = Buffer::filled(len, 1.5).unwrap();
            assert_eq!(b.len(), len);
            let at = b.as_ptr() as usize;
            assert_eq!(at % if len >= 4096 { 4096 } else { 64 }, if len >= 4096 { 2048 } else { 0 }, "{len}");
            assert!(b.iter().all(|&v| v == 1.5));
            b.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
            let c = b.clone();
            assert!(c.iter().enumerate().all(|(i, &v)| v == i as f32));
            assert_eq!(c.as_ptr() as usize % 64, 0);
        }
    }
}
