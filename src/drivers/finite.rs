//! Whether every value of a slice is finite: the read-only check that gradient scaling runs
//! before a step (PyTorch's `found_inf`).

use super::*;
use crate::isa::Isa;

/// Accumulators in flight, so that the additions do not wait on each other.
const ACCS: usize = 4;

/// Whether no element of `x` is ±inf or NaN. x − x is +0 for a finite x and NaN otherwise; the
/// sums of those stay ±0 until a NaN enters, and a NaN stays. Each element is read once, and no
/// lane past the slice is read (a partial load fills zeros, which are finite).
#[inline(always)]
fn finite<S: Simd>(s: S, x: &[f32]) -> bool {
    let (n, w) = (x.len(), S::LANES);
    let mut acc = [s.splat(0.0); ACCS];
    let mut i = 0;
    while i + ACCS * w <= n {
        for (j, a) in acc.iter_mut().enumerate() {
            let v = s.load(&x[i + j * w..]);
            *a = s.add(*a, s.sub(v, v));
        }
        i += ACCS * w;
    }
    while i + w <= n {
        let v = s.load(&x[i..]);
        acc[0] = s.add(acc[0], s.sub(v, v));
        i += w;
    }
    if i < n {
        let v = s.load_partial(&x[i..]);
        acc[0] = s.add(acc[0], s.sub(v, v));
    }
    let sum = s.add(s.add(acc[0], acc[1]), s.add(acc[2], acc[3]));
    // Every lane is ±0 or NaN: looked at once per call, in memory.
    let mut lanes = [0f32; 64];
    s.store(sum, &mut lanes[..S::LANES]);
    lanes[..S::LANES].iter().all(|v| !v.is_nan())
}

simd_fn! {
    /// [`all_finite`] on the calling thread.
    pub(crate) fn all_finite_serial(x: &[f32]) -> bool => finite;
}

/// Whether every element of `x` is finite, on an available `isa`: one read-only pass, over
/// threads in fixed chunks where that pays (the answer does not depend on the split).
pub(crate) fn all_finite(isa: Isa, x: &[f32]) -> bool {
    #[cfg(feature = "rayon")]
    if crate::parallel::parallel(x.len()) {
        use rayon::prelude::*;
        return x.par_chunks(crate::parallel::CHUNK).all(|c| all_finite_serial(isa, c));
    }
    all_finite_serial(isa, x)
}

/// Whether no element of `bits`, 16-bit floats (bf16 or f16) as their bit patterns, has every
/// bit of `exponent` (the type's exponent field) set, which is ±inf or NaN. Each block is one
/// branch-free OR, which the compiler vectorizes on any target; over threads in fixed chunks
/// where that pays, as [`all_finite`].
#[cfg(feature = "half")]
pub(crate) fn all_finite_bits(bits: &[u16], exponent: u16) -> bool {
    let blocks = |c: &[u16]| {
        c.chunks(1024).all(|b| b.iter().fold(0u16, |acc, &v| acc | u16::from(!v & exponent == 0)) == 0)
    };
    #[cfg(feature = "rayon")]
    if crate::parallel::parallel(bits.len()) {
        use rayon::prelude::*;
        return bits.par_chunks(crate::parallel::CHUNK).all(blocks);
    }
    blocks(bits)
}

#[cfg(all(test, feature = "half"))]
mod tests {
    use super::all_finite_bits;

    /// One ±inf or NaN anywhere, in the first or a later block or thread chunk, is found; the
    /// largest finite values and the subnormals are finite.
    #[test]
    fn bits_check_finds_one_non_finite_anywhere() {
        let n = 2 * crate::parallel::CHUNK + 5;
        // (exponent field, finite patterns, non-finite patterns) for bf16 and f16.
        let types = [
            (0x7F80u16, [0x7F7Fu16, 0xFF7F, 0x0001, 0x8000], [0x7F80u16, 0xFF80, 0x7FC0, 0xFF81]),
            (0x7C00, [0x7BFF, 0xFBFF, 0x0001, 0x8000], [0x7C00, 0xFC00, 0x7E00, 0xFC01]),
        ];
        for (exponent, finite, bad) in types {
            let mut g: Vec<u16> = (0..n).map(|i| finite[i % finite.len()]).collect();
            assert!(all_finite_bits(&g, exponent));
            for at in [0, 1023, 1024, crate::parallel::CHUNK, n - 1] {
                for b in bad {
                    g[at] = b;
                    assert!(!all_finite_bits(&g, exponent), "{b:#06x} at {at}");
                    assert!(!all_finite_bits(&g[at..], exponent), "{b:#06x} first");
                }
                g[at] = finite[0];
            }
            assert!(all_finite_bits(&g, exponent));
            assert!(all_finite_bits(&[], exponent));
        }
    }
}
