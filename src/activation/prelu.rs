//! PReLU (He et al., 2015, "Delving Deep into Rectifiers"): a leaky ReLU whose slopes are
//! learned, one per channel or one for everything.

use crate::drivers::slope::{Io, One, Stored, Two, run_forward};
use crate::error::{Error, check_len};
use crate::isa::Isa;
use crate::parallel;

/// PReLU with borrowed slopes: `f(x) = x` for x > 0, `a_c·x` otherwise, where element `i`
/// belongs to channel `c = (i / inner) % C` of the `C` slopes (`inner` = 1 for channels-last
/// data, H·W for NCHW; with one slope every element uses it).
///
/// - Derivatives: ∂f/∂x = 1 for x > 0, `a_c` otherwise; ∂f/∂a_c = x for x ≤ 0, 0 otherwise.
///   At x = 0 both follow PyTorch (`input > 0 ? ... : ...`): dx = a_c·dy, and the element adds
///   0·dy to its slope's gradient (0, or NaN if dy is ±inf or NaN); an element with x > 0 adds
///   nothing, whatever dy.
/// - Accuracy: forward and dx are a single product, so exact (0 ULP) on every ISA. The slope
///   gradient Σ dy·x over the channel's x ≤ 0 takes each product exactly and sums in
///   double-f32 (about 48 bits) per lane and in f64 across lanes and pieces: within 1 ULP of
///   the exact sum plus about n·2^-46·Σ|dy·x| (tests/prelu.rs checks n·2^-44). A product
///   beyond f32's range overflows to ±inf, as in PyTorch's f32 arithmetic. Terms that are
///   ±inf or NaN decide the gradient (their sum: ±inf, or NaN for both signs), as in exact
///   arithmetic, even where the finite terms' f32 partial sums overflowed to the other sign.
/// - NaN: a NaN x gives NaN in y, in dx (PyTorch gives a_c·dy there) and in its slope's
///   gradient (as PyTorch). A slope of 0 at x = −inf gives 0·(−inf) = NaN, as in PyTorch.
/// - Determinism: the slope gradient is summed over fixed pieces of whole periods (C·inner
///   elements) and the pieces are added in order, so it is bitwise the same for any thread
///   count (it may differ between ISAs in the last bits).
///
/// ```
/// use nnsimd::activation::Prelu;
/// let slopes = [0.25f32, 0.5]; // two channels, NCHW with H·W = 2
/// let p = Prelu::new(&slopes, 2).unwrap();
/// let x = [-4.0f32, 1.0, -4.0, -2.0];
/// let mut y = [0.0f32; 4];
/// p.forward(&x, &mut y).unwrap();
/// assert_eq!(y, [-1.0, 1.0, -2.0, -1.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prelu<'a> {
    slopes: &'a [f32],
    inner: usize,
    /// Elements per repetition of the channel pattern: C·inner, or 1 for one slope.
    period: usize,
}

/// Stack buffer for the slopes of a block of elements (forward).
const FILL: usize = 2048;
/// Channel runs at least this long are processed one run at a time with a constant slope
/// (forward and the slope gradient); shorter ones through per-element slopes.
const LONG_RUN: usize = 64;

impl<'a> Prelu<'a> {
    /// PReLU with `slopes` (one per channel, or one for every element) and `inner` elements
    /// per channel run. Errors: no slope, a slope that is not finite, `inner` = 0, or
    /// `slopes.len()·inner` beyond `usize`.
    pub fn new(slopes: &'a [f32], inner: usize) -> Result<Prelu<'a>, Error> {
        if slopes.is_empty() {
            return Err(Error::InvalidParameter {
                name: "slopes",
                value: 0.0,
                expected: "at least one slope",
            });
        }
        if let Some(&a) = slopes.iter().find(|a| !a.is_finite()) {
            return Err(Error::InvalidParameter { name: "slopes", value: a as f64, expected: "finite" });
        }
        if inner == 0 {
            return Err(Error::InvalidParameter { name: "inner", value: 0.0, expected: "at least 1" });
        }
        let period = if slopes.len() == 1 {
            1
        } else {
            slopes.len().checked_mul(inner).ok_or(Error::InvalidParameter {
                name: "inner",
                value: inner as f64,
                expected: "such that slopes.len() · inner fits in usize",
            })?
        };
        Ok(Prelu { slopes, inner, period })
    }

    /// The slopes.
    pub fn slopes(&self) -> &'a [f32] {
        self.slopes
    }

    /// Elements per channel run.
    pub fn inner(&self) -> usize {
        self.inner
    }

    /// The lengths that x must be a multiple of: `slopes.len() · inner`, or 1 with one slope.
    pub fn period(&self) -> usize {
        self.period
    }

    fn check_x(&self, n: usize) -> Result<(), Error> {
        if n.is_multiple_of(self.period) {
            Ok(())
        } else {
            Err(Error::NotMultiple { arg: "x", found: n, multiple_of: self.period })
        }
    }

    /// y = f(x) on the detected ISA.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        self.forward_with(Isa::detect(), x, y)
    }

    /// y = f(x) on `isa`.
    pub fn forward_with(&self, isa: Isa, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("y", x.len(), y.len())?;
        self.check_x(x.len())?;
        parallel::zip2_at(x, y, |at, x, y| self.forward_chunk(isa, at, Two(x, y)));
        Ok(())
    }

    /// x = f(x) on the detected ISA.
    pub fn forward_inplace(&self, x: &mut [f32]) -> Result<(), Error> {
        self.forward_inplace_with(Isa::detect(), x)
    }

    /// x = f(x) on `isa`.
    pub fn forward_inplace_with(&self, isa: Isa, x: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        self.check_x(x.len())?;
        parallel::each1_at(x, |at, x| self.forward_chunk(isa, at, One(x)));
        Ok(())
    }

    /// Forward over the elements `at ..` of one chunk: one slope as a constant, long channel
    /// runs as a constant each, short ones through a buffer of each block's slopes.
    fn forward_chunk<IO: Io>(&self, isa: Isa, at: usize, mut io: IO) {
        let n = io.len();
        if self.slopes.len() == 1 {
            return run_forward(isa, &self.slopes[0], io);
        }
        if self.inner >= LONG_RUN {
            return runs(at, n, self.slopes, self.inner, |a, b, slope| {
                run_forward(isa, &slope, io.sub(a, b))
            });
        }
        let mut buf = [0.0f32; FILL];
        // A short period is laid out once, and every block reads it from its phase.
        let (fixed, block) = if self.period <= FILL / 2 {
            fill_pattern(&mut buf, 0, self.slopes, self.inner);
            (true, (FILL - self.period) & !31)
        } else {
            (false, FILL)
        };
        let mut j = 0;
        while j < n {
            let len = block.min(n - j);
            let a = if fixed {
                let phase = (at + j) % self.period;
                &buf[phase..phase + len]
            } else {
                fill_pattern(&mut buf[..len], at + j, self.slopes, self.inner);
                &buf[..len]
            };
            run_forward(isa, &Stored(a), io.sub(j, j + len));
            j += len;
        }
    }
}

/// Calls `f(a, b, slope)` for each channel run `a..b` of the `n` elements `g ..` (element i:
/// `slopes[(i / inner) % C]`), in order.
fn runs(g: usize, n: usize, slopes: &[f32], inner: usize, mut f: impl FnMut(usize, usize, f32)) {
    let channels = slopes.len();
    let (mut c, mut left, mut j) = ((g / inner) % channels, inner - g % inner, 0);
    while j < n {
        let k = left.min(n - j);
        f(j, j + k, slopes[c]);
        (j, left) = (j + k, inner);
        c = if c + 1 == channels { 0 } else { c + 1 };
    }
}

/// Fills `buf` with the slopes of the elements `g ..`, run by run (channels-last: copies).
fn fill_pattern(buf: &mut [f32], g: usize, slopes: &[f32], inner: usize) {
    if inner == 1 {
        let (channels, mut c, mut j) = (slopes.len(), g % slopes.len(), 0);
        while j < buf.len() {
            let k = (buf.len() - j).min(channels - c);
            buf[j..j + k].copy_from_slice(&slopes[c..c + k]);
            (j, c) = (j + k, 0);
        }
        return;
    }
    runs(g, buf.len(), slopes, inner, |a, b, slope| buf[a..b].fill(slope));
}

#[cfg(feature = "std")]
mod grad {
    use super::*;
    use crate::drivers::dsum::Total;
    use crate::drivers::slope::{RUN_ACC, run_row_grad, run_run_grad};
    use crate::error::try_filled;

    /// The shortest row of the per-position gradient accumulators (short runs).
    const ROW_MIN: usize = 512;

    /// How the slope gradient is split: pieces of whole periods, each summed on its own, then
    /// added in order. Depends only on the layout, never on the thread count.
    struct Plan {
        /// Elements per piece (a multiple of the period).
        piece: usize,
        /// Row length of the per-position accumulators, or 0 for long runs (per-channel
        /// vector accumulators).
        row: usize,
    }

    /// One piece's working memory: per-channel partial sums, and the accumulators (per
    /// channel for long runs, per row position for short ones: h then l).
    struct Slot {
        partial: Vec<Total>,
        acc: Vec<f32>,
    }

    impl Prelu<'_> {
        fn plan(&self) -> Plan {
            let chunk = parallel::CHUNK;
            if self.slopes.len() == 1 {
                Plan { piece: chunk, row: 0 }
            } else if self.inner >= LONG_RUN {
                // At least 32·RUN_ACC elements per channel, so that folding the accumulators
                // costs at most 1/32 of a piece.
                let periods = chunk.div_ceil(self.period).max((32 * RUN_ACC).div_ceil(self.inner));
                Plan { piece: self.period * periods, row: 0 }
            } else {
                let row = self.period * ROW_MIN.div_ceil(self.period);
                Plan { piece: row * chunk.div_ceil(row).max(64), row }
            }
        }

        /// dx = dy·f'(x) and the slope gradient `dslopes[c]` = Σ dy·x over the elements of
        /// channel c with x ≤ 0 (written, not added to), on the detected ISA.
        ///
        /// The slope gradient's working memory (a row of whole periods, per-channel
        /// accumulators) is allocated per call, in proportion to x's length; an empty x
        /// allocates none and gives `dslopes` = 0, whatever the number of slopes.
        pub fn backward(
            &self,
            x: &[f32],
            dy: &[f32],
            dx: &mut [f32],
            dslopes: &mut [f32],
        ) -> Result<(), Error> {
            self.backward_with(Isa::detect(), x, dy, dx, dslopes)
        }

        /// [`Prelu::backward`] on `isa`.
        pub fn backward_with(
            &self,
            isa: Isa,
            x: &[f32],
            dy: &[f32],
            dx: &mut [f32],
            dslopes: &mut [f32],
        ) -> Result<(), Error> {
            let isa = isa.check()?;
            check_len("dy", x.len(), dy.len())?;
            check_len("dx", x.len(), dx.len())?;
            self.grad(isa, x, Two(dy, dx), dslopes)
        }

        /// Backward in place: dy is overwritten by dx; `dslopes` as [`Prelu::backward`].
        pub fn backward_inplace(&self, x: &[f32], dy: &mut [f32], dslopes: &mut [f32]) -> Result<(), Error> {
            self.backward_inplace_with(Isa::detect(), x, dy, dslopes)
        }

        /// [`Prelu::backward_inplace`] on `isa`.
        pub fn backward_inplace_with(
            &self,
            isa: Isa,
            x: &[f32],
            dy: &mut [f32],
            dslopes: &mut [f32],
        ) -> Result<(), Error> {
            let isa = isa.check()?;
            check_len("dy", x.len(), dy.len())?;
            self.grad(isa, x, One(dy), dslopes)
        }

        fn grad<IO: Io>(&self, isa: Isa, x: &[f32], io: IO, dslopes: &mut [f32]) -> Result<(), Error> {
            check_len("dslopes", self.slopes.len(), dslopes.len())?;
            self.check_x(x.len())?;
            let (n, channels) = (x.len(), self.slopes.len());
            // The working memory below is sized by the layout (a row of whole periods, the
            // channels' accumulators), which any nonempty x covers; an empty x has no element to
            // sum, and its gradient is 0 without it.
            if n == 0 {
                dslopes.fill(0.0);
                return Ok(());
            }
            let plan = self.plan();
            let pieces = n.div_ceil(plan.piece);
            #[cfg(feature = "rayon")]
            let slots = if pieces > 1 { pieces.min(2 * rayon::current_num_threads()) } else { 1 };
            #[cfg(not(feature = "rayon"))]
            let slots = 1;
            // Every allocation before the first write.
            let mut total = try_filled(channels, Total::default())?;
            let mut parts = Vec::new();
            parts.try_reserve_exact(pieces).map_err(|_| Error::OutOfMemory { elements: pieces })?;
            // The slopes of one row, from channel 0 (rows start at whole periods).
            let mut srow = try_filled(plan.row, 0.0f32)?;
            fill_pattern(&mut srow, 0, self.slopes, self.inner);
            let acc_len = if plan.row == 0 { channels.saturating_mul(RUN_ACC) } else { 2 * plan.row };
            let mut work = Vec::new();
            work.try_reserve_exact(slots).map_err(|_| Error::OutOfMemory { elements: slots })?;
            for _ in 0..slots {
                work.push(Slot {
                    partial: try_filled(channels, Total::default())?,
                    acc: try_filled(acc_len, 0.0f32)?,
                });
            }

            let mut rest = io;
            for k in 0..pieces {
                let len = plan.piece.min(n - k * plan.piece);
                let (a, b) = rest.split_at(len);
                parts.push((&x[k * plan.piece..k * plan.piece + len], a));
                rest = b;
            }
            for batch in parts.chunks_mut(slots) {
                let run =
                    |(x, io): &mut (&[f32], IO), slot: &mut Slot| self.piece(isa, &plan, &srow, x, io, slot);
                #[cfg(feature = "rayon")]
                if batch.len() > 1 {
                    use rayon::prelude::*;
                    batch.par_iter_mut().zip(work.par_iter_mut()).for_each(|(p, s)| run(p, s));
                } else {
                    batch.iter_mut().zip(work.iter_mut()).for_each(|(p, s)| run(p, s));
                }
                #[cfg(not(feature = "rayon"))]
                batch.iter_mut().zip(work.iter_mut()).for_each(|(p, s)| run(p, s));
                for slot in &work[..batch.len()] {
                    for (t, p) in total.iter_mut().zip(&slot.partial) {
                        *t += *p;
                    }
                }
            }
            for (d, t) in dslopes.iter_mut().zip(&total) {
                *d = t.value();
            }
            Ok(())
        }

        /// dx and the per-channel slope gradient of one piece (which starts at channel 0),
        /// into `slot.partial`.
        #[allow(clippy::too_many_arguments)]
        fn piece<IO: Io>(
            &self,
            isa: Isa,
            plan: &Plan,
            srow: &[f32],
            x: &[f32],
            io: &mut IO,
            slot: &mut Slot,
        ) {
            let (channels, n) = (self.slopes.len(), x.len());
            slot.acc.fill(0.0);
            if plan.row == 0 {
                // Long runs: each adds into its channel's vector accumulators.
                let run = if channels == 1 { n.max(1) } else { self.inner };
                let mut c = 0;
                for j in (0..n).step_by(run) {
                    let e = (j + run).min(n);
                    let acc = &mut slot.acc[c * RUN_ACC..(c + 1) * RUN_ACC];
                    run_run_grad(isa, self.slopes[c], &x[j..e], io.sub(j, e), acc);
                    c = if c + 1 == channels { 0 } else { c + 1 };
                }
                for (p, acc) in slot.partial.iter_mut().zip(slot.acc.chunks(RUN_ACC)) {
                    let (h, l) = (acc[..32].iter().chain(&acc[64..96]), acc[32..64].iter().chain(&acc[96..]));
                    *p = h.zip(l).map(|(&h, &l)| Total::lane(h, l)).sum();
                }
                return;
            }
            // Short runs: per-position accumulators over rows of whole periods.
            let (hs, ls) = slot.acc.split_at_mut(plan.row);
            for j in (0..n).step_by(plan.row) {
                let (e, r) = ((j + plan.row).min(n), (n - j).min(plan.row));
                run_row_grad(isa, &srow[..r], &x[j..e], io.sub(j, e), &mut hs[..r], &mut ls[..r]);
            }
            // Fold the positions into their channels in position order; within a run, four
            // partial sums, so that the adds do not wait on each other.
            slot.partial.fill(Total::default());
            let (partial, inner) = (&mut slot.partial, self.inner);
            let mut c = 0;
            for j in (0..plan.row).step_by(inner) {
                let run = hs[j..j + inner].iter().zip(&ls[j..j + inner]);
                partial[c] += if inner < 4 {
                    run.map(|(&h, &l)| Total::lane(h, l)).sum::<Total>()
                } else {
                    let mut four = [Total::default(); 4];
                    for (k, (&h, &l)) in run.enumerate() {
                        four[k % 4] += Total::lane(h, l);
                    }
                    (four[0] + four[1]) + (four[2] + four[3])
                };
                c = if c + 1 == channels { 0 } else { c + 1 };
            }
        }
    }
}
