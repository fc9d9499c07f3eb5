//! The factored second moment of a stack of matrices: its state, its scratch, sweep 1 as tasks
//! of whole rows, and the small work between sweeps 1 and 2.

use super::sweep::{self, ColSums, Weights, exact};
use crate::error::Error;
use crate::isa::Isa;
use crate::optim::filled;
use crate::parallel::{CHUNK, Tasks, tree};
use std::vec::Vec;

/// At most this many row blocks per matrix in sweep 1: each block sums its columns apart.
const MAX_BLOCKS: usize = 16;

/// How sweep 1 is cut into tasks, from the shape alone (so never from the thread count): a
/// large matrix into `per` blocks of rows, each with its own column sums (a slot of `cols`),
/// added afterwards in block order; small matrices `group` at a time, one slot each.
#[derive(Clone, Debug)]
struct Blocks {
    batch: usize,
    rows: usize,
    cols: usize,
    /// Row blocks per matrix (> 1 only for matrices of ≥ 4 chunks and ≥ 64 rows, so that the
    /// column slots, three f32 each, take at most 3/32 of the matrix's size).
    per: usize,
    /// Matrices per task (1 when `per` > 1).
    group: usize,
    tasks: usize,
}

impl Blocks {
    /// The plan for `batch` matrices of `rows` × `cols`, all three ≥ 1.
    fn new(batch: usize, rows: usize, cols: usize) -> Blocks {
        let m = rows * cols;
        let per = (m / (2 * CHUNK)).min(rows / 32).clamp(1, MAX_BLOCKS);
        let group = if per > 1 { 1 } else { (2 * CHUNK / m).max(1) };
        let tasks = if per > 1 { batch * per } else { batch.div_ceil(group) };
        Blocks { batch, rows, cols, per, group, tasks }
    }

    /// The first row (counted over all matrices) of task `k` ≤ `tasks`.
    fn row(&self, k: usize) -> usize {
        if self.per > 1 {
            let (b, i, per) = (k / self.per, k % self.per, self.per);
            // ⌊rows·i/per⌋ without the product.
            b * self.rows + self.rows / per * i + self.rows % per * i / per
        } else {
            (k * self.group).min(self.batch) * self.rows
        }
    }

    /// The first column slot of task `k` ≤ `tasks`.
    fn slot(&self, k: usize) -> usize {
        if self.per > 1 { k } else { (k * self.group).min(self.batch) }
    }
}

/// Rows `[row(first), ..)` of sweep 1 with their outputs.
struct Stats<'a> {
    isa: Isa,
    plan: &'a Blocks,
    p: &'a [f32],
    g: &'a [f32],
    /// The gradients' unscaling factor.
    gs: f32,
    row: &'a mut [f32],
    sums: ColSums<'a>,
}

impl Tasks for Stats<'_> {
    fn cut(self, first: usize, mid: usize) -> (Self, Self) {
        let plan = self.plan;
        let rows = plan.row(mid) - plan.row(first);
        let slots = (plan.slot(mid) - plan.slot(first)) * plan.cols;
        let (p0, p1) = self.p.split_at(rows * plan.cols);
        let (g0, g1) = self.g.split_at(rows * plan.cols);
        let (r0, r1) = self.row.split_at_mut(rows);
        let (s0, s1) = self.sums.split_at(slots);
        let (isa, gs) = (self.isa, self.gs);
        (
            Stats { isa, plan, p: p0, g: g0, gs, row: r0, sums: s0 },
            Stats { isa, plan, p: p1, g: g1, gs, row: r1, sums: s1 },
        )
    }

    fn run(self, _: usize) -> [f64; 2] {
        let sums = self.sums;
        for x in [&mut *sums.part, &mut *sums.hi, &mut *sums.lo] {
            x.fill(0.0);
        }
        [sweep::run_stats(self.isa, self.p, self.g, self.gs, self.plan.cols, self.row, sums), 0.0]
    }
}

/// The plan and the scratch of a step for a stack of matrices (allocated once, here); the
/// state proper, row_var (batch·rows) and col_var (batch·cols), is in the optimizer's `State`.
#[derive(Clone, Debug)]
pub(super) struct Factored {
    plan: Blocks,
    /// Scratch per row: Σg² of the step, then √(norm / row_var).
    row: Vec<f32>,
    /// Scratch per column: 1/√col_var.
    rc: Vec<f32>,
    /// Scratch per column slot (batch·per·cols): Σg² over a block's rows, as hi + lo, and the
    /// plain partial of up to 8 rows.
    part: Vec<f32>,
    hi: Vec<f32>,
    lo: Vec<f32>,
}

impl Factored {
    /// The scratch for `batch` matrices of `rows` × `cols` (all ≥ 1, product checked).
    pub(super) fn new(batch: usize, rows: usize, cols: usize) -> Result<Factored, Error> {
        let plan = Blocks::new(batch, rows, cols);
        // Each product is at most batch·rows·cols, which the caller checked.
        let slots = batch * plan.per * cols;
        Ok(Factored {
            row: filled(batch * rows, 0.0)?,
            rc: filled(batch * cols, 0.0)?,
            part: filled(slots, 0.0)?,
            hi: filled(slots, 0.0)?,
            lo: filled(slots, 0.0)?,
            plan,
        })
    }

    /// Sweep 1: returns Σp²; keeps the row and column sums of (g·gs)² in the scratch.
    pub(super) fn stats(&mut self, isa: Isa, p: &[f32], g: &[f32], gs: f32, par: bool) -> f64 {
        let sums = ColSums { part: &mut self.part, hi: &mut self.hi, lo: &mut self.lo };
        let (row, plan) = (&mut self.row[..], &self.plan);
        tree(Stats { isa, plan, p, g, gs, row, sums }, 0, plan.tasks, par)[0]
    }

    /// Between sweeps 1 and 2, O(batch·(rows + cols)) in f64: `row_var` and `col_var` move toward
    /// the means of g² by `w` = 1 − β̂2_t, and the scratch gets the factors of the weights.
    pub(super) fn refresh(&mut self, w: f64, eps1: f64, [row_var, col_var]: [&mut [f32]; 2]) {
        let Blocks { batch, rows, cols, per, .. } = self.plan;
        let lerp = |v: f32, x: f64| (v as f64 + w * (x - v as f64)) as f32;
        for b in 0..batch {
            let rv = &mut row_var[b * rows..(b + 1) * rows];
            let ra = &mut self.row[b * rows..(b + 1) * rows];
            let mut sum = 0.0;
            for (v, s) in rv.iter_mut().zip(ra.iter()) {
                *v = lerp(*v, *s as f64 / cols as f64);
                sum += *v as f64;
            }
            // max(mean, eps1) that keeps a NaN, as torch's clamp does.
            let mean = sum / rows as f64;
            let norm = if mean < eps1 { eps1 } else { mean };
            for (a, v) in ra.iter_mut().zip(rv.iter()) {
                *a = (norm / *v as f64).sqrt() as f32;
            }
            let cv = &mut col_var[b * cols..(b + 1) * cols];
            let rc = &mut self.rc[b * cols..(b + 1) * cols];
            for (c, (v, r)) in cv.iter_mut().zip(rc.iter_mut()).enumerate() {
                let mut sum = 0.0;
                for slot in b * per..(b + 1) * per {
                    let at = slot * cols + c;
                    sum += exact(self.hi[at] as f64, self.lo[at] as f64);
                }
                *v = lerp(*v, sum / rows as f64);
                *r = (1.0 / (*v as f64).sqrt()) as f32;
            }
        }
    }

    /// The weights of sweeps 2 and 3, valid after [`Factored::refresh`], for gradients whose
    /// unscaling factor is `gs`.
    pub(super) fn weights(&self, inv_eps: f32, gs: f32) -> Weights<'_> {
        let (rows, cols) = (self.plan.rows, self.plan.cols);
        Weights { rows, cols, ra: &self.row, rc: &self.rc, inv_eps, gs }
    }
}
