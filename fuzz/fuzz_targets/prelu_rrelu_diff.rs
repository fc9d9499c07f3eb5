//! PReLU (one or C slopes, any `inner`, a length that is or is not a multiple of the period)
//! and RReLU (default, moderate or arbitrary bounds; training with any seed and offset, stored
//! slopes, evaluation) with arbitrary values, pass (forward, backward, in place), ISA (any of
//! `Isa::available()`, the plain entry points, or one the CPU lacks) and slice offsets,
//! sometimes with a wrong length. Checked:
//! - no panic;
//! - bad input (an invalid layout or bound, an unavailable ISA, a length mismatch, x not a
//!   multiple of PReLU's period) gives one of the errors that apply, with its fields, and writes
//!   nothing (neither the output nor PReLU's slope gradient);
//! - valid input writes exactly its outputs; y and dx on the ISA and on the scalar backend
//!   equal the oracle bit for bit (tests/common/slope.rs: the single product with the slope,
//!   RReLU's slopes from the generator's definition `nnsimd::internals::reference::rrelu_unit`); in place
//!   equals out of place;
//! - PReLU's slope gradient, on the ISA and on scalar, within tests/prelu.rs's bound of the
//!   exact sum, and bitwise the same in place and out of place;
//! - RReLU's training forward within 4 ULP of the exact x·(lower + (upper − lower)·u) for
//!   default or moderate bounds with lower ≥ 0 (tests/rrelu.rs), `draw` gives the defined
//!   slopes, and two calls on a split slice (the second at `offset + split`) give the whole's
//!   bits;
//! - on inputs long enough to split (≥ 2·CHUNK), every output, the slope gradient included,
//!   is bitwise the same in rayon pools of 1, 2 and 3 threads.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::CHUNK;
use nnsimd::Isa;
use nnsimd_fuzz::input;
use nnsimd_fuzz::leaky::{self, Io, Kind};

fn decode(u: &mut Unstructured) -> Result<(Io, Kind)> {
    let kind = if u.arbitrary()? { leaky::prelu(u)? } else { leaky::rrelu(u)? };
    let pass = *u.choose(&leaky::PASSES)?;
    let isa = input::isa(u)?;
    let missing = if u.ratio(1u8, 32)? { input::unavailable_isa(u)? } else { None };
    let n = match &kind {
        Kind::Prelu { slopes, inner, .. } => leaky::prelu_length(u, slopes.len(), *inner)?,
        Kind::Rrelu { .. } => input::length(u)?,
    };
    let (out_len, dy_len) = input::out_and_dy_lengths(u, n)?;
    let offsets = [u.int_in_range(0..=15)?, u.int_in_range(0..=15)?, u.int_in_range(0..=15)?];
    let split = u.int_in_range(0..=n)?;
    let x = input::long_values(u, n, input::any_f32)?;
    let dy = input::long_values(u, dy_len, input::any_f32)?;
    let kind = leaky::with_stored(u, kind, n)?;
    Ok((Io { pass, isa, missing, x, dy, out_len, offsets, split }, kind))
}

fn check(io: &Io, kind: &Kind) {
    let (errs, built) = leaky::expected_errors(io, kind);
    let r = leaky::run(io, kind, io.pass, io.missing.or(io.isa));
    let (out, ds) = match r {
        leaky::Ran::Refused(e) => {
            assert!(leaky::param_error_fits(&e, &built), "{kind:?}: {e:?} is not one of {built:?}");
            let _ = e.to_string();
            return;
        }
        leaky::Ran::Done(Err(e), out, ds) => {
            assert!(built.is_empty(), "{kind:?}: built, but {built:?} break the rules");
            assert!(
                errs.contains(&e),
                "{kind:?} {:?}: {e:?} does not apply (expected one of {errs:?})",
                io.pass
            );
            assert!(io.untouched(&out, &ds), "{kind:?} {:?}: written on {e:?}", io.pass);
            let _ = e.to_string();
            return;
        }
        leaky::Ran::Done(Ok(()), out, ds) => (out, ds),
    };
    assert!(built.is_empty(), "{kind:?}: built, but {built:?} break the rules");
    assert!(errs.is_empty(), "{kind:?} {:?}: Ok, but expected one of {errs:?}", io.pass);
    assert!(
        out.guard_damage().is_none() && ds.guard_damage().is_none(),
        "{kind:?} {:?}: wrote outside its outputs",
        io.pass
    );
    let isa = io.isa.unwrap_or_else(Isa::detect);
    leaky::against_oracle(io, kind, isa, out.slice(), ds.slice());
    // The passes below also write y or dx, whose length the pass above may not have needed.
    let io = &Io { out_len: io.x.len(), ..io.clone() };
    // The other of in place / out of place on the same ISA, then the scalar backend.
    let twin = leaky::done(leaky::run(io, kind, leaky::twin(io.pass), Some(isa)));
    assert!(
        input::same_bits(twin.0.slice(), out.slice()) && input::same_bits(twin.1.slice(), ds.slice()),
        "{kind:?} {isa}: {:?} and its in-place twin differ",
        io.pass
    );
    if isa != Isa::Scalar {
        let s = leaky::done(leaky::run(io, kind, io.pass, Some(Isa::Scalar)));
        leaky::against_oracle(io, kind, Isa::Scalar, s.0.slice(), s.1.slice());
    }
    leaky::rrelu_extras(io, kind, isa, out.slice());
    if io.x.len() >= 2 * CHUNK {
        for (t, pool) in leaky::pools().iter().enumerate() {
            let (o, d) = pool.install(|| leaky::done(leaky::run(io, kind, io.pass, Some(isa))));
            let same = input::same_bits(o.slice(), out.slice()) && input::same_bits(d.slice(), ds.slice());
            assert!(same, "{kind:?} {isa} {:?}: {} threads differ from the global pool", io.pass, t + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok((io, kind)) = decode(&mut u) {
        check(&io, &kind);
    }
});
