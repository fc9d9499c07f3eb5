//! RReLU (Xu et al., 2015, "Empirical Evaluation of Rectified Activations in Convolutional
//! Network"): a leaky ReLU whose slope is random in training and the mean slope in evaluation.

use crate::counter::{key, unit};
use crate::drivers::slope::{Io, One, Source, Stored, Two, run_backward, run_draw, run_forward};
use crate::error::{Error, check_len};
use crate::isa::Isa;
use crate::parallel;
use crate::simd::Simd;

/// RReLU with its slope range `[lower, upper]`: `f(x) = x` for x > 0, `a·x` otherwise.
///
/// - Slopes: in training element `i` draws `a_i = min(lower + r·u_i, upper)` (f32 arithmetic,
///   each operation rounded; `r` = `upper − lower` rounded to f32), with `u_i` in [0, 1) on a
///   grid of 2^-23 from the counter-based generator of [`unit_at`](super::unit_at), keyed by
///   `(seed, offset + i)` (wrapping): the same slopes for any ISA, chunking and thread count,
///   so backward can regenerate them, or take them stored ([`Rrelu::draw`]). In evaluation
///   every element uses `(lower + upper)/2` (rounded once). PyTorch's defaults are
///   `lower` = 1/8, `upper` = 1/3 ([`Rrelu::default`]); its draws come from its own generator,
///   so the slopes are not PyTorch's.
/// - Derivative: 1 for x > 0, the element's slope otherwise, x = 0 included (PyTorch uses the
///   slope for x ≤ 0).
/// - Accuracy: given the slope, y and dx are a single product, exact (0 ULP). With
///   0 ≤ lower (no cancellation) the slope carries three roundings, so y is within 4 ULP (the
///   forward bound; 2 measured) of `x·(lower + (upper − lower)·u_i)` computed exactly
///   (tests/rrelu.rs).
/// - NaN: NaN in x gives NaN in y and dx (PyTorch gives dy there); a slope of 0 at x = −inf
///   gives 0·(−inf) = NaN, as in PyTorch.
///
/// ```
/// use nnsimd::activation::{Rrelu, RreluMode};
/// let r = Rrelu::default();
/// let x = [-1.0f32, 2.0];
/// let mut y = [0.0f32; 2];
/// r.forward(RreluMode::Train { seed: 7, offset: 0 }, &x, &mut y).unwrap();
/// assert!(y[0] <= -0.125 && y[0] >= -1.0 / 3.0 && y[1] == 2.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rrelu {
    lower: f32,
    upper: f32,
    /// upper − lower, rounded to f32.
    range: f32,
}

/// Which slopes an RReLU pass uses.
#[derive(Clone, Copy, Debug)]
pub enum RreluMode<'a> {
    /// Training: element `i` draws its slope from `(seed, offset + i)`. Give each call its own
    /// offset range (or seed) for fresh slopes, and backward the forward's seed and offset.
    Train {
        /// The generator's seed.
        seed: u64,
        /// The index of the slice's first element in the draw sequence.
        offset: u64,
    },
    /// Training with the slopes given, one per element (from [`Rrelu::draw`], say).
    Stored(&'a [f32]),
    /// Evaluation: `(lower + upper)/2` for every element.
    Eval,
}

impl Default for Rrelu {
    /// PyTorch's defaults: `lower` = 1/8, `upper` = 1/3.
    fn default() -> Rrelu {
        let upper = 1.0f32 / 3.0;
        Rrelu { lower: 0.125, upper, range: (upper as f64 - 0.125) as f32 }
    }
}

/// The drawn slopes of a slice whose elements have the index low halves `c0 ..` (no wrap).
struct Drawn {
    key: (u32, u32),
    c0: u32,
    lower: f32,
    range: f32,
    upper: f32,
}

impl Source for Drawn {
    #[inline(always)]
    fn get<S: Simd>(&self, s: S, i: usize, _n: usize) -> S::V {
        let c = s.add_u(s.splat_u(self.c0.wrapping_add(i as u32)), s.iota_u());
        let a = s.add(s.splat(self.lower), s.mul(s.splat(self.range), unit(s, self.key, c)));
        s.min(a, s.splat(self.upper))
    }
}

impl Rrelu {
    /// RReLU with slopes in `[lower, upper]`. Errors: a bound that is not finite, lower >
    /// upper, or upper − lower beyond f32's range.
    pub fn new(lower: f32, upper: f32) -> Result<Rrelu, Error> {
        for (name, v) in [("lower", lower), ("upper", upper)] {
            if !v.is_finite() {
                return Err(Error::InvalidParameter { name, value: v as f64, expected: "finite" });
            }
        }
        if lower > upper {
            return Err(Error::InvalidParameter {
                name: "lower",
                value: lower as f64,
                expected: "at most upper",
            });
        }
        let range = (upper as f64 - lower as f64) as f32;
        if !range.is_finite() {
            return Err(Error::InvalidParameter {
                name: "upper",
                value: upper as f64,
                expected: "within f32::MAX of lower",
            });
        }
        Ok(Rrelu { lower, upper, range })
    }

    /// The lower end of the slopes.
    pub fn lower(&self) -> f32 {
        self.lower
    }

    /// The upper end of the slopes.
    pub fn upper(&self) -> f32 {
        self.upper
    }

    /// The evaluation slope, (lower + upper)/2 rounded once.
    pub fn eval_slope(&self) -> f32 {
        ((self.lower as f64 + self.upper as f64) / 2.0) as f32
    }

    /// The slope that training draws for element `index` under `seed` (scalar; the kernels
    /// give the same bits).
    pub fn slope_at(&self, seed: u64, index: u64) -> f32 {
        self.drawn(seed, index).get(crate::simd::scalar::Scalar, 0, 1)
    }

    fn drawn(&self, seed: u64, k: u64) -> Drawn {
        Drawn {
            key: key(seed, (k >> 32) as u32),
            c0: k as u32,
            lower: self.lower,
            range: self.range,
            upper: self.upper,
        }
    }

    /// Writes the slopes that training draws for the elements `offset ..` under `seed`, on the
    /// detected ISA (to store them for [`RreluMode::Stored`]).
    pub fn draw(&self, seed: u64, offset: u64, out: &mut [f32]) -> Result<(), Error> {
        self.draw_with(Isa::detect(), seed, offset, out)
    }

    /// [`Rrelu::draw`] on `isa`.
    pub fn draw_with(&self, isa: Isa, seed: u64, offset: u64, out: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        parallel::each1_at(out, |at, out| {
            segments(offset.wrapping_add(at as u64), out.len(), |a, b, k| {
                run_draw(isa, &self.drawn(seed, k), &mut out[a..b])
            })
        });
        Ok(())
    }

    fn check_mode(&self, mode: &RreluMode, n: usize) -> Result<(), Error> {
        match mode {
            RreluMode::Stored(a) => check_len("slopes", n, a.len()),
            _ => Ok(()),
        }
    }

    /// y = f(x) on the detected ISA.
    pub fn forward(&self, mode: RreluMode, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        self.forward_with(Isa::detect(), mode, x, y)
    }

    /// y = f(x) on `isa`.
    pub fn forward_with(&self, isa: Isa, mode: RreluMode, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("y", x.len(), y.len())?;
        self.check_mode(&mode, x.len())?;
        parallel::zip2_at(x, y, |at, x, y| self.chunk(isa, &mode, at, None, Two(x, y)));
        Ok(())
    }

    /// x = f(x) on the detected ISA.
    pub fn forward_inplace(&self, mode: RreluMode, x: &mut [f32]) -> Result<(), Error> {
        self.forward_inplace_with(Isa::detect(), mode, x)
    }

    /// x = f(x) on `isa`.
    pub fn forward_inplace_with(&self, isa: Isa, mode: RreluMode, x: &mut [f32]) -> Result<(), Error> {
        let isa = isa.check()?;
        self.check_mode(&mode, x.len())?;
        parallel::each1_at(x, |at, x| self.chunk(isa, &mode, at, None, One(x)));
        Ok(())
    }

    /// dx = dy·f'(x) on the detected ISA, with the forward's mode (the same seed and offset, or
    /// the stored slopes).
    pub fn backward(&self, mode: RreluMode, x: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), Error> {
        self.backward_with(Isa::detect(), mode, x, dy, dx)
    }

    /// dx = dy·f'(x) on `isa`.
    pub fn backward_with(
        &self,
        isa: Isa,
        mode: RreluMode,
        x: &[f32],
        dy: &[f32],
        dx: &mut [f32],
    ) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("dy", x.len(), dy.len())?;
        check_len("dx", x.len(), dx.len())?;
        self.check_mode(&mode, x.len())?;
        parallel::zip3_at(x, dy, dx, |at, x, dy, dx| self.chunk(isa, &mode, at, Some(x), Two(dy, dx)));
        Ok(())
    }

    /// dy = dy·f'(x) (backward in place) on the detected ISA.
    pub fn backward_inplace(&self, mode: RreluMode, x: &[f32], dy: &mut [f32]) -> Result<(), Error> {
        self.backward_inplace_with(Isa::detect(), mode, x, dy)
    }

    /// dy = dy·f'(x) on `isa`.
    pub fn backward_inplace_with(
        &self,
        isa: Isa,
        mode: RreluMode,
        x: &[f32],
        dy: &mut [f32],
    ) -> Result<(), Error> {
        let isa = isa.check()?;
        check_len("dy", x.len(), dy.len())?;
        self.check_mode(&mode, x.len())?;
        parallel::zip2_at(x, dy, |at, x, dy| self.chunk(isa, &mode, at, Some(x), One(dy)));
        Ok(())
    }

    /// One chunk (its first element is element `at` of the call): forward, or backward with
    /// `x`'s chunk.
    fn chunk<IO: Io>(&self, isa: Isa, mode: &RreluMode, at: usize, x: Option<&[f32]>, mut io: IO) {
        let n = io.len();
        match *mode {
            RreluMode::Eval => pass(isa, &self.eval_slope(), x, io),
            RreluMode::Stored(a) => pass(isa, &Stored(&a[at..at + n]), x, io),
            RreluMode::Train { seed, offset } => segments(offset.wrapping_add(at as u64), n, |a, b, k| {
                pass(isa, &self.drawn(seed, k), x.map(|x| &x[a..b]), io.sub(a, b))
            }),
        }
    }
}

/// Forward (`x` None) or backward with the slopes of `p`.
fn pass<P: Source, IO: Io>(isa: Isa, p: &P, x: Option<&[f32]>, io: IO) {
    match x {
        None => run_forward(isa, p, io),
        Some(x) => run_backward(isa, p, x, io),
    }
}

/// Splits `n` elements with indices `k0 ..` (wrapping) where the index's high half changes,
/// calling `f(a, b, k)` for each part `a..b` whose first index is `k`.
fn segments(k0: u64, n: usize, mut f: impl FnMut(usize, usize, u64)) {
    let mut a = 0;
    while a < n {
        let k = k0.wrapping_add(a as u64);
        let room = (1u64 << 32) - (k & 0xFFFF_FFFF);
        let b = n.min(a.saturating_add(usize::try_from(room).unwrap_or(usize::MAX)));
        f(a, b, k);
        a = b;
    }
}
