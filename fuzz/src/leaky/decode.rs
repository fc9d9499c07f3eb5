//! Decoding a PReLU layout and length, or an RReLU slope range, mode and stored slopes.

use super::{Kind, Mode};
use crate::act::{Params, plausible};
use crate::common::slope::rrelu_slope;
use crate::input::{self, any_f32, moderate_f32};
use arbitrary::{Result, Unstructured};
use nnsimd::CHUNK;
use nnsimd::Rrelu;
use nnsimd::internals::reference::rrelu_unit;

/// A PReLU layout: mostly one slope or a few channels with short, long (≥ 64) or any runs;
/// sometimes no slope, `inner` = 0 or an `inner` whose product with C overflows. Slopes are
/// moderate, now and then any f32 (NaN and infinities included).
pub fn prelu(u: &mut Unstructured) -> Result<Kind> {
    let channels = match u.int_in_range(0u8..=31)? {
        0 => 0,
        1 => 1500,
        2..=15 => 1,
        16..=25 => u.int_in_range(2..=8)?,
        _ => u.int_in_range(9..=40)?,
    };
    let inner = match u.int_in_range(0u8..=31)? {
        0 => 0,
        1 => u.int_in_range(usize::MAX / 4..=usize::MAX)?,
        2..=17 => u.int_in_range(1..=8)?,
        18..=23 => u.int_in_range(60..=70)?,
        _ => u.int_in_range(1..=300)?,
    };
    let slope = if u.ratio(1u8, 8)? { any_f32 } else { moderate_f32 };
    let slopes = input::values(u, channels, slope)?;
    let ds_len = if u.ratio(1u8, 32)? { input::other_length(u, channels)? } else { channels };
    Ok(Kind::Prelu { slopes, inner, ds_len })
}

/// The period of a PReLU layout (None if it cannot be built).
pub(super) fn period(channels: usize, inner: usize) -> Option<usize> {
    match (channels, inner) {
        (0, _) | (_, 0) => None,
        (1, _) => Some(1),
        _ => channels.checked_mul(inner),
    }
}

/// A length for a layout: a few whole periods, sometimes enough of them to split into
/// threads, now and then one that is not a multiple of the period.
pub fn prelu_length(u: &mut Unstructured, channels: usize, inner: usize) -> Result<usize> {
    let Some(p) = period(channels, inner).filter(|&p| p <= 20_000) else {
        return input::length(u);
    };
    let k = if u.ratio(1u8, 32)? {
        (2 * CHUNK).div_ceil(p) + u.int_in_range(0..=(2 * CHUNK).div_ceil(p))?
    } else {
        u.int_in_range(0..=(300 / p).max(3))?
    };
    let off = if p > 1 && u.ratio(1u8, 16)? { u.int_in_range(1..=p - 1)? } else { 0 };
    Ok(k * p + off)
}

/// An RReLU slope range (PyTorch's default, moderate bounds of either sign, mostly ordered, or
/// any f32) and mode (training at an offset near 0, a 2^32 boundary, the end of u64 or
/// anywhere; stored slopes; evaluation).
pub fn rrelu(u: &mut Unstructured) -> Result<Kind> {
    let params = match u.int_in_range(0u8..=4)? {
        0 | 1 => Params::Default,
        2 => Params::Plausible,
        3 => Params::Extreme,
        _ => Params::Raw,
    };
    let (lower, upper) = match params {
        Params::Default => (Rrelu::default().lower(), Rrelu::default().upper()),
        Params::Plausible => {
            let (a, b) = (plausible(u, true)?, plausible(u, false)?);
            if a > b && !u.ratio(1u8, 16)? { (b, a) } else { (a, b) }
        }
        Params::Extreme => {
            let ends = [-f32::MAX, f32::MAX, Rrelu::default().lower(), Rrelu::default().upper()];
            (*u.choose(&ends)?, *u.choose(&ends)?)
        }
        Params::Raw => (any_f32(u)?, any_f32(u)?),
    };
    let mode = match u.int_in_range(0u8..=5)? {
        0..=2 => {
            let seed = u.arbitrary()?;
            let offset = match u.int_in_range(0u8..=3)? {
                0 => u.int_in_range(0..=1000)?,
                1 => (u.int_in_range(1u64..=8)? << 32).wrapping_sub(u.int_in_range(0..=300)?),
                2 => u64::MAX - u.int_in_range(0..=300)?,
                _ => u.arbitrary()?,
            };
            Mode::Train { seed, offset }
        }
        3 | 4 => Mode::Stored,
        _ => Mode::Eval,
    };
    Ok(Kind::Rrelu { lower, upper, params, mode, stored: Vec::new() })
}

/// Fills in RReLU's stored slopes for `n` elements: the drawn ones or any f32, sometimes of
/// the wrong length.
pub fn with_stored(u: &mut Unstructured, kind: Kind, n: usize) -> Result<Kind> {
    match kind {
        Kind::Rrelu { lower, upper, params, mode: Mode::Stored, .. } => {
            let len = if u.ratio(1u8, 16)? { input::other_length(u, n)? } else { n };
            let stored = if u.arbitrary()? {
                let seed = u.arbitrary()?;
                (0..len as u64).map(|i| rrelu_slope(lower, upper, rrelu_unit(seed, i))).collect()
            } else {
                input::long_values(u, len, any_f32)?
            };
            Ok(Kind::Rrelu { lower, upper, params, mode: Mode::Stored, stored })
        }
        other => Ok(other),
    }
}
