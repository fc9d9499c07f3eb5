//! The element-wise sweeps of an Adafactor step as tasks of [`CHUNK`] elements, their partial
//! sums added in the fixed tree of [`tree`].

use super::sweep::{self, Apply, Full, Weights};
use crate::isa::Isa;
use crate::parallel::{CHUNK, Tasks, tree};

/// Which sweep the chunks run.
pub(super) enum Pass<'a> {
    /// Factored sweep 2: ΣU².
    Norm(Weights<'a>),
    /// Factored sweep 3: writes p.
    Apply(Weights<'a>, Apply),
    /// Unfactored sweep 1: writes v; Σp², ΣU².
    FullStats(Full),
    /// Unfactored sweep 2: writes p.
    FullApply(Full, Apply),
}

/// Chunks `[first, ..)` of the parameters, gradients and (unfactored) second moment.
struct Chunks<'a> {
    isa: Isa,
    pass: &'a Pass<'a>,
    p: &'a mut [f32],
    g: &'a [f32],
    /// The second moment, or empty (factored).
    v: &'a mut [f32],
}

impl Tasks for Chunks<'_> {
    fn cut(self, first: usize, mid: usize) -> (Self, Self) {
        let at = (mid - first) * CHUNK;
        let (p0, p1) = self.p.split_at_mut(at);
        let (g0, g1) = self.g.split_at(at);
        let (v0, v1) = self.v.split_at_mut(at.min(self.v.len()));
        let (isa, pass) = (self.isa, self.pass);
        (Chunks { isa, pass, p: p0, g: g0, v: v0 }, Chunks { isa, pass, p: p1, g: g1, v: v1 })
    }

    fn run(self, k: usize) -> [f64; 2] {
        let (isa, e0, p, g, v) = (self.isa, k * CHUNK, self.p, self.g, self.v);
        match self.pass {
            Pass::Norm(wt) => [sweep::run_norm(isa, wt, e0, g), 0.0],
            Pass::Apply(wt, ap) => {
                sweep::run_apply(isa, wt, e0, p, g, *ap);
                [0.0; 2]
            }
            Pass::FullStats(f) => sweep::run_full_stats(isa, p, g, v, *f),
            Pass::FullApply(f, ap) => {
                sweep::run_full_apply(isa, p, g, v, *f, *ap);
                [0.0; 2]
            }
        }
    }
}

/// Runs `pass` over `p`, `g` (equal lengths) and `v` (the same length, or empty), in chunks,
/// on two threads where `par` says so; returns the pass's sums.
pub(super) fn run(isa: Isa, pass: &Pass, p: &mut [f32], g: &[f32], v: &mut [f32], par: bool) -> [f64; 2] {
    let tasks = p.len().div_ceil(CHUNK);
    tree(Chunks { isa, pass, p, g, v }, 0, tasks, par)
}
