//! The update driver for bf16 parameters and bf16 / f16 gradients (feature `half`).
//!
//! The work is cut into the fixed chunks of [`CHUNK`] elements as for f32 (the same pieces for
//! any thread count). The unchanged f32 update runs on each chunk with the f32 state; bf16
//! parameters and bf16 gradients are loaded and stored in registers ([`Lanes`]), and the
//! parameters are stored back rounded stochastically (or kept f32, with a bf16 copy rounded to
//! nearest even). f16 gradients are widened block by block ([`BLOCK`]) into an f32 buffer on
//! the stack first. An element's random bits depend on its index only.

use super::rounding::Rounded;
use super::typed::{Grads, Params};
use crate::drivers::Lanes;
use crate::drivers::update::{UpdateRule, run_update};
use crate::element::sealed::Sealed;
use crate::element::{BLOCK, Buf, Element};
use crate::error::Error;
use crate::isa::Isa;
use crate::parallel::{CHUNK, Tasks, parallel, tree};
use crate::{bf16, f16};
use core::ops::Range;

/// Parameters in some storage: cut at chunk boundaries, and updated block by block.
trait Store: Send + Sized {
    /// Splits off the first `at` elements.
    fn split_at(self, at: usize) -> (Self, Self);
    /// Runs the update of `b` on this piece's elements `b.r`.
    fn block<K: UpdateRule<N>, G: Lanes, const N: usize>(&mut self, b: Block<'_, K, G, N>);
}

/// One block of a step: the update `k` of elements `r` of a piece whose element 0 has the
/// tensor index `first`, with their gradients `g` and state blocks `st`.
struct Block<'b, K, G, const N: usize> {
    isa: Isa,
    k: &'b K,
    r: Range<usize>,
    first: u64,
    g: &'b [G],
    st: [&'b mut [f32]; N],
}

/// f32 parameters, with or without a bf16 copy to write.
struct Master<'a> {
    p: &'a mut [f32],
    copy: Option<&'a mut [bf16]>,
}

impl Store for Master<'_> {
    fn split_at(self, at: usize) -> (Self, Self) {
        let (p0, p1) = self.p.split_at_mut(at);
        let (c0, c1) = match self.copy {
            Some(c) => {
                let (c0, c1) = c.split_at_mut(at);
                (Some(c0), Some(c1))
            }
            None => (None, None),
        };
        (Master { p: p0, copy: c0 }, Master { p: p1, copy: c1 })
    }

    fn block<K: UpdateRule<N>, G: Lanes, const N: usize>(&mut self, b: Block<'_, K, G, N>) {
        let Block { isa, k, r, g, mut st, .. } = b;
        run_update(isa, k, &mut self.p[r.clone()], g, &mut st);
        if let Some(c) = &mut self.copy {
            bf16::narrow(isa, &self.p[r.clone()], &mut c[r]);
        }
    }
}

/// bf16 parameters, rounded stochastically from the stream of one step.
struct Stochastic<'a> {
    p: &'a mut [bf16],
    stream: u64,
}

impl Store for Stochastic<'_> {
    fn split_at(self, at: usize) -> (Self, Self) {
        let (p0, p1) = self.p.split_at_mut(at);
        (Stochastic { p: p0, stream: self.stream }, Stochastic { p: p1, stream: self.stream })
    }

    fn block<K: UpdateRule<N>, G: Lanes, const N: usize>(&mut self, b: Block<'_, K, G, N>) {
        let Block { isa, k, r, first, g, mut st } = b;
        let rounded = Rounded::new(k, self.stream, first + r.start as u64);
        // The store's rounding to nearest is exact: every result is a bf16 value already.
        run_update(isa, &rounded, &mut self.p[r], g, &mut st);
    }
}

/// The chunks `[first, ..)` of a step's parameters, gradients and state.
struct Chunks<'a, K, P, G, const N: usize> {
    isa: Isa,
    k: &'a K,
    p: P,
    g: &'a [G],
    st: [&'a mut [f32]; N],
}

impl<K: UpdateRule<N>, P: Store, G: Element, const N: usize> Tasks for Chunks<'_, K, P, G, N> {
    fn cut(self, first: usize, mid: usize) -> (Self, Self) {
        let at = (mid - first) * CHUNK;
        let (p0, p1) = self.p.split_at(at);
        let (g0, g1) = self.g.split_at(at);
        let (lo, hi) = super::split_state(self.st, at);
        let (isa, k) = (self.isa, self.k);
        (Chunks { isa, k, p: p0, g: g0, st: lo }, Chunks { isa, k, p: p1, g: g1, st: hi })
    }

    fn run(mut self, chunk: usize) -> [f64; 2] {
        let first = (chunk * CHUNK) as u64;
        let (isa, k, n) = (self.isa, self.k, self.g.len());
        if let Some(g) = G::direct(self.g) {
            let st = self.st;
            self.p.block(Block { isa, k, r: 0..n, first, g, st });
            return [0.0; 2];
        }
        let mut gbuf = Buf::new();
        for b in (0..n).step_by(BLOCK) {
            let r = b..n.min(b + BLOCK);
            let g = &mut gbuf.0[..r.len()];
            G::widen(isa, &self.g[r.clone()], g);
            let st = self.st.each_mut().map(|s| &mut s[r.clone()]);
            self.p.block(Block { isa, k, r, first, g: &*g, st });
        }
        [0.0; 2]
    }
}

/// Runs `k` over `p`, `g` and `st` (equal lengths, checked), chunk by chunk.
fn chunks<K: UpdateRule<N>, P: Store, G: Element, const N: usize>(
    isa: Isa,
    k: &K,
    p: P,
    g: &[G],
    st: [&mut [f32]; N],
) {
    let n = g.len();
    tree(Chunks { isa, k, p, g, st }, 0, n.div_ceil(CHUNK), parallel(n));
}

/// [`chunks`] with the gradients as their element type.
fn with_grads<K: UpdateRule<N>, P: Store, const N: usize>(
    isa: Isa,
    k: &K,
    p: P,
    g: Grads<'_>,
    st: [&mut [f32]; N],
) {
    match g {
        Grads::F32(g) => chunks(isa, k, p, g, st),
        Grads::Bf16(g) => chunks(isa, k, p, g, st),
        Grads::F16(g) => chunks(isa, k, p, g, st),
    }
}

/// Runs `k` over checked parameters and gradients of any type and `st`, for step `step`.
pub(crate) fn run<K: UpdateRule<N>, const N: usize>(
    isa: Isa,
    k: &K,
    p: Params<'_>,
    g: Grads<'_>,
    step: u64,
    st: [&mut [f32]; N],
) {
    match p {
        Params::F32(p) => with_grads(isa, k, Master { p, copy: None }, g, st),
        Params::Master { master, copy } => with_grads(isa, k, Master { p: master, copy: Some(copy) }, g, st),
        Params::Stochastic { params, seed } => {
            let stream = crate::counter::stream(seed, step);
            with_grads(isa, k, Stochastic { p: params, stream }, g, st)
        }
    }
}

/// A typed step staged through f32 scratch, for an optimizer whose sweeps take f32 slices only
/// (Adafactor): the gradients widened into the scratch, bf16 parameters too, and after the f32
/// step the parameters stored back (rounded stochastically, or a master's copy written).
/// Serial; the scratch (2 values per parameter) is kept by the caller from step to step.
pub(crate) struct Staged<'a> {
    p: Params<'a>,
    /// The f32 parameters (for bf16 ones) and then the f32 gradients.
    scratch: &'a mut [f32],
    step: u64,
}

impl<'a> Staged<'a> {
    /// Widens `g` (and bf16 parameters) into `scratch`, grown to `2·len` if needed: the only
    /// error is [`Error::OutOfMemory`], before any write to the parameters.
    pub(crate) fn new(
        isa: Isa,
        p: Params<'a>,
        g: Grads<'_>,
        step: u64,
        scratch: &'a mut Vec<f32>,
    ) -> Result<Staged<'a>, Error> {
        let n = g.len();
        if scratch.len() < 2 * n {
            let more = 2 * n - scratch.len();
            scratch.try_reserve_exact(more).map_err(|_| Error::OutOfMemory { elements: 2 * n })?;
            scratch.resize(2 * n, 0.0);
        }
        let (pb, gb) = scratch[..2 * n].split_at_mut(n);
        match g {
            Grads::F32(g) => gb.copy_from_slice(g),
            Grads::Bf16(g) => bf16::widen(isa, g, gb),
            Grads::F16(g) => f16::widen(isa, g, gb),
        }
        if let Params::Stochastic { params, .. } = &p {
            bf16::widen(isa, params, pb);
        }
        Ok(Staged { p, scratch: &mut scratch[..2 * n], step })
    }

    /// The f32 parameters and gradients to step.
    pub(crate) fn f32(&mut self) -> (&mut [f32], &[f32]) {
        let (pb, gb) = self.scratch.split_at_mut(self.scratch.len() / 2);
        match &mut self.p {
            Params::F32(p) | Params::Master { master: p, .. } => (p, gb),
            Params::Stochastic { .. } => (pb, gb),
        }
    }

    /// Stores the stepped parameters back.
    pub(crate) fn finish(self, isa: Isa) {
        let (pb, gb) = self.scratch.split_at_mut(self.scratch.len() / 2);
        match self.p {
            Params::F32(_) => {}
            Params::Master { master, copy } => bf16::narrow(isa, master, copy),
            Params::Stochastic { params, seed } => {
                let stream = crate::counter::stream(seed, self.step);
                for (j, (p, g)) in pb.chunks_mut(CHUNK).zip(gb.chunks(CHUNK)).enumerate() {
                    run_update(isa, &Rounded::new(&Keep, stream, (j * CHUNK) as u64), p, g, &mut []);
                }
                bf16::narrow(isa, pb, params);
            }
        }
    }
}

/// The update that keeps the parameters: with [`Rounded`], stochastic rounding alone.
#[derive(Clone, Copy)]
struct Keep;

impl UpdateRule<0> for Keep {
    #[inline(always)]
    fn update<S: crate::simd::Simd>(&self, _: S, p: S::V, _: S::V, _: &mut [S::V; 0]) -> S::V {
        p
    }
}
