//! Fuzzer bytes to values. Every decoder takes what it needs from an [`Unstructured`] and, when
//! the bytes run out, falls back to zeros (`arbitrary`'s rule), so any input decodes.

use crate::common::SPECIALS;
use arbitrary::{Result, Unstructured};
use nnsimd::Isa;

/// An f32 from the whole line: raw bit patterns (NaN payloads, infinities, subnormals, huge
/// values), moderate values, the test suite's special values and small integers.
pub fn any_f32(u: &mut Unstructured) -> Result<f32> {
    Ok(match u.int_in_range(0u8..=7)? {
        0..=2 => f32::from_bits(u.arbitrary()?),
        3..=5 => moderate_f32(u)?,
        6 => SPECIALS[u.choose_index(SPECIALS.len())?],
        _ => u.int_in_range(-8i8..=8)? as f32,
    })
}

/// A finite value with |x| ≤ 4, in the range of the golden optimizer data: a 16-bit fraction
/// of 4 scaled down by 2^0..2^-30 (exact zeros included).
pub fn moderate_f32(u: &mut Unstructured) -> Result<f32> {
    let m = u.int_in_range(-65_536i32..=65_536)? as f32 / 16_384.0;
    Ok(m * (-(u.int_in_range(0u8..=30)? as f32)).exp2())
}

/// `n` values from `f`.
pub fn values(u: &mut Unstructured, n: usize, f: fn(&mut Unstructured) -> Result<f32>) -> Result<Vec<f32>> {
    (0..n).map(|_| f(u)).collect()
}

/// A length: mostly 0..=300 (every tail and unroll case of every ISA), sometimes one that
/// crosses the parallel threshold of 2·CHUNK elements.
pub fn length(u: &mut Unstructured) -> Result<usize> {
    Ok(if u.ratio(1u8, 64)? {
        2 * nnsimd::CHUNK + u.int_in_range(0usize..=100)?
    } else {
        u.int_in_range(0usize..=300)?
    })
}

/// `n` values: decoded one by one up to 512, then the decoded ones repeated (so a long
/// input does not need megabytes of fuzzer data).
pub fn long_values(
    u: &mut Unstructured,
    n: usize,
    f: fn(&mut Unstructured) -> Result<f32>,
) -> Result<Vec<f32>> {
    let head = values(u, n.min(512), f)?;
    if head.is_empty() {
        return Ok(vec![0.0; n]);
    }
    Ok(head.iter().copied().cycle().take(n).collect())
}

/// An available ISA, or `None` for the plain entry points (the detected ISA).
pub fn isa(u: &mut Unstructured) -> Result<Option<Isa>> {
    let avail = Isa::available();
    let i = u.int_in_range(0..=avail.len())?;
    Ok(avail.get(i).copied())
}

/// An ISA this CPU does not have, if there is one (on x86-64 NEON always is).
pub fn unavailable_isa(u: &mut Unstructured) -> Result<Option<Isa>> {
    let missing: Vec<Isa> = Isa::ALL.iter().copied().filter(|i| !i.is_available()).collect();
    if missing.is_empty() { Ok(None) } else { Ok(Some(missing[u.choose_index(missing.len())?])) }
}

/// A length different from `n` (a mismatch), close to it or far.
pub fn other_length(u: &mut Unstructured, n: usize) -> Result<usize> {
    let d = u.int_in_range(1usize..=40)?;
    Ok(if n >= d && u.arbitrary()? { n - d } else { n + d })
}

/// The lengths of the output (y or dx) and of dy for `n` elements: `n` and `n`, or now and
/// then one or both wrong (a mismatch).
pub fn out_and_dy_lengths(u: &mut Unstructured, n: usize) -> Result<(usize, usize)> {
    let (mut out_len, mut dy_len) = (n, n);
    if u.ratio(1u8, 16)? {
        match u.int_in_range(0u8..=2)? {
            0 => out_len = other_length(u, n)?,
            1 => dy_len = other_length(u, n)?,
            _ => (out_len, dy_len) = (other_length(u, n)?, other_length(u, n)?),
        }
    }
    Ok((out_len, dy_len))
}

/// Bitwise equality, treating every NaN as equal to every NaN.
pub fn same_value(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Bitwise equality of two slices (NaN payloads included).
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
