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
        let mut lines = Vec::<Line>::new();
        lines.try_reserve_exact(n).map_err(|_| Error::OutOfMemory { elements: len })?;
        huge_pages(lines.as_mut_ptr().cast(), n * size_of::<Line>());
        lines.resize(n, Line([init; LINE]));
        let at = lines.as_ptr() as usize / size_of::<Line>() % PAGE_LINES;
        let start = if paged { (OFFSET_LINES + PAGE_LINES - at) % PAGE_LINES } else { 0 };
        Ok(Buffer { lines, start, len })
    }
}

/// Bytes per huge page (x86-64 and most aarch64 kernels).
const HUGE: usize = 2 << 20;

/// Asks Linux to back the whole 2 MiB pages inside `len` bytes from `at` with transparent huge
/// pages, before the first write faults them in. The state of a large model is streamed once
/// per step, and with 4 KiB pages every 4 KiB of each stream costs a TLB miss. Adam's step on
/// 16M parameters, alternated in one process with a twin whose state is on 4 KiB pages (Zen 4),
/// was faster in 15 to 23 of 23 rounds: medians 6-21% higher with f32 parameters, 9-12% with
/// bf16. Only a hint: where the kernel has THP off, or no huge page is free, the call changes
/// nothing, and its result is not needed.
#[cfg(target_os = "linux")]
fn huge_pages(at: *mut u8, len: usize) {
    let lo = (at as usize).next_multiple_of(HUGE);
    let hi = (at as usize + len) / HUGE * HUGE;
    if hi > lo {
        // SAFETY: [lo, hi) lies inside the caller's allocation of len bytes at `at`, mapped
        // memory this buffer owns; MADV_HUGEPAGE changes how it is backed, never its contents.
        unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn huge_pages(_at: *mut u8, _len: usize) {}

impl Clone for Buffer {
    /// Aborts where memory runs out, as `Vec`'s clone does.
    fn clone(&self) -> Self {
        let mut b = Buffer::filled(self.len, 0.0).unwrap_or_else(|_| {
            let lines = core::alloc::Layout::array::<Line>(self.lines.len());
            std::alloc::handle_alloc_error(lines.unwrap_or(core::alloc::Layout::new::<Line>()))
        });
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
        for len in [0, 1, 15, 16, 17, 1000, 4095, 4096, 4097, 100_000, 3 << 20] {
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
