//! SplitMix64 (Steele, Lea and Flood, 2014): a small deterministic generator for fixed data,
//! shared by the examples and the tests (`tests/common/mod.rs`).

// Each user needs only some of the draws.
#![allow(dead_code)]

/// The generator; its state is the seed advanced by one constant per draw.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// N(0, σ²) by Box–Muller.
    pub fn normal(&mut self, sigma: f64) -> f32 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (sigma * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}
