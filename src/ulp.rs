//! The accuracy metric: the distance in ULP between an f32 result and an f64 reference.

/// The position of `v` on the ordered f32 line (+0 and −0 are the same point).
fn ordinal(v: f32) -> i64 {
    let b = v.to_bits() as i32 as i64;
    if b < 0 { -(b & 0x7fff_ffff) } else { b }
}

/// Distance in ULP between `got` and the f32 rounding of `want`, counted along the ordered
/// f32 line (subnormals count 2^-149 each). NaN against NaN is 0; NaN against a number is
/// `u64::MAX`.
pub fn ulp_distance(got: f32, want: f64) -> u64 {
    let w = want as f32;
    match (got.is_nan(), w.is_nan()) {
        (true, true) => 0,
        (false, false) => (ordinal(got) - ordinal(w)).unsigned_abs(),
        _ => u64::MAX,
    }
}
