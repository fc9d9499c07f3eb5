//! The losses (`nnsimd::loss`) with arbitrary values, options (valid or not), reductions,
//! lengths (now and then wrong), class targets (in range, ignored, or out of range) and ISA.
//! Checked:
//! - no panic;
//! - an error writes nothing: the gradient, the per-element losses and, in place, the logits
//!   keep their bytes;
//! - where the call succeeds: `forward` gives the same bits as `forward_backward`'s loss, the
//!   same call on the scalar backend succeeds too (errors do not depend on the ISA), and
//!   cross-entropy in place gives the bits of out of place.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use nnsimd::loss::{Bce, BceWithLogits, CrossEntropy, Huber, KlDiv, L1, Mse, Nll, Reduction, SmoothL1};
use nnsimd::{Error, Isa};
use nnsimd_fuzz::input;

/// A reduction: mostly valid, sometimes `BatchMean(0)`.
fn reduction(u: &mut Unstructured) -> Result<Reduction> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => Reduction::None,
        1 => Reduction::Sum,
        2 => Reduction::Mean,
        3 => Reduction::BatchMean(u.int_in_range(1usize..=9)?),
        _ => Reduction::BatchMean(0),
    })
}

/// Both results of an element-wise loss's run: `forward` (or `forward_none`), then
/// `forward_backward` (or `forward_backward_none`), the loss (0 for `_none`) or the error.
type Pair = (std::result::Result<f32, Error>, std::result::Result<f32, Error>);

/// An element-wise loss with decoded options, as a function of the ISA and the outputs (the
/// per-element losses and the gradient).
#[allow(clippy::type_complexity)]
fn elementwise(
    u: &mut Unstructured,
    p: &[f32],
    t: &[f32],
    dloss: &[f32],
) -> Result<Box<dyn Fn(Isa, &mut [f32], &mut [f32]) -> Pair>> {
    let r = reduction(u)?;
    let param = input::any_f32(u)?;
    let kind = u.int_in_range(0u8..=6)?;
    let (p, t, dloss) = (p.to_vec(), t.to_vec(), dloss.to_vec());
    Ok(Box::new(move |isa, loss: &mut [f32], grad: &mut [f32]| {
        macro_rules! run {
            ($l:expr) => {{
                let l = $l;
                if r == Reduction::None {
                    let a = l.forward_none_with(isa, &p, &t, loss).map(|_| 0.0);
                    let b = l.forward_backward_none_with(isa, &p, &t, &dloss, loss, grad).map(|_| 0.0);
                    (a, b)
                } else {
                    (l.forward_with(isa, &p, &t), l.forward_backward_with(isa, &p, &t, grad))
                }
            }};
        }
        match kind {
            0 => run!(Mse { reduction: r }),
            1 => run!(L1 { reduction: r }),
            2 => run!(Huber { delta: param, reduction: r }),
            3 => run!(SmoothL1 { beta: param, reduction: r }),
            4 => run!(Bce { reduction: r }),
            5 => run!(BceWithLogits { pos_weight: param, reduction: r }),
            _ => run!(KlDiv { log_target: param > 0.0, reduction: r }),
        }
    }))
}

fn check_elementwise(u: &mut Unstructured) -> Result<()> {
    let isa = input::isa(u)?.unwrap_or_else(Isa::detect);
    let n = input::length(u)?;
    let p = input::long_values(u, n, input::any_f32)?;
    let lens: Vec<usize> = (0..4)
        .map(|_| if u.ratio(1u8, 24)? { input::other_length(u, n) } else { Ok(n) })
        .collect::<Result<_>>()?;
    let t = input::long_values(u, lens[0], input::any_f32)?;
    let dloss = input::long_values(u, lens[1], input::any_f32)?;
    let (mut loss, mut grad) = (vec![7.0f32; lens[2]], vec![7.0f32; lens[3]]);
    let f = elementwise(u, &p, &t, &dloss)?;
    let (a, b) = f(isa, &mut loss, &mut grad);
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert!(input::same_value(*x, *y), "{isa}: forward {x} but forward_backward {y}"),
        (_, Err(e)) => {
            let _ = e.to_string();
            assert!(grad.iter().all(|&v| v == 7.0), "{isa}: gradient written on {e:?}");
            match &a {
                // The forward pass does not read `dloss` nor write the gradient.
                Ok(_) => assert!(
                    matches!(e, Error::LengthMismatch { arg: "grad" | "dloss", .. }),
                    "{isa}: forward ran but forward_backward gave {e:?}"
                ),
                Err(_) => assert!(loss.iter().all(|&v| v == 7.0), "{isa}: losses written on {e:?}"),
            }
        }
        (Err(e), Ok(_)) => panic!("{isa}: forward gave {e:?} but forward_backward ran"),
    }
    let (mut l2, mut g2) = (vec![7.0f32; lens[2]], vec![7.0f32; lens[3]]);
    let (a2, _) = f(Isa::Scalar, &mut l2, &mut g2);
    assert_eq!(a.is_ok(), a2.is_ok(), "{isa}: {a:?} but scalar {a2:?}");
    Ok(())
}

fn check_classes(u: &mut Unstructured) -> Result<()> {
    let isa = input::isa(u)?.unwrap_or_else(Isa::detect);
    let (classes, inner, outer) =
        (u.int_in_range(1usize..=40)?, u.int_in_range(1usize..=4)?, u.int_in_range(0usize..=8)?);
    let rows = outer * inner;
    let n = rows * classes + if u.ratio(1u8, 24)? { 1 } else { 0 };
    let x = input::long_values(u, n, input::any_f32)?;
    let ignore = if u.arbitrary()? { -100 } else { u.int_in_range(-2i64..=45)? };
    let t: Vec<i64> = (0..rows)
        .map(|_| {
            Ok(match u.int_in_range(0u8..=15)? {
                0 => ignore,
                1 => u.int_in_range(-3i64..=50)?,
                _ => u.int_in_range(0..=classes as i64 - 1)?,
            })
        })
        .collect::<Result<_>>()?;
    let wlen = if u.ratio(1u8, 16)? { input::other_length(u, classes)? } else { classes };
    let weight = input::values(u, wlen, input::moderate_f32)?;
    let weighted = u.arbitrary::<bool>()?;
    let eps = if u.ratio(1u8, 8)? { input::any_f32(u)? } else { u.int_in_range(0u8..=10)? as f32 / 10.0 };
    let r = reduction(u)?;
    let nll = u.ratio(1u8, 4)?;
    let Ok(ce) = CrossEntropy::along(classes, inner) else { return Ok(()) };
    let mut ce = ce.ignore_index(ignore).label_smoothing(eps).reduction(r);
    let mut nl = Nll::along(classes, inner).expect("valid shape").ignore_index(ignore).reduction(r);
    if weighted {
        ce = ce.weight(&weight);
        nl = nl.weight(&weight);
    }
    let mut grad = vec![7.0f32; n];
    let (a, b) = if nll {
        (nl.forward_with(isa, &x, &t), nl.forward_backward_with(isa, &x, &t, &mut grad))
    } else {
        (ce.forward_with(isa, &x, &t), ce.forward_backward_with(isa, &x, &t, &mut grad))
    };
    match (&a, &b) {
        (Ok(p), Ok(q)) => {
            assert!(input::same_value(*p, *q), "{isa}: forward {p} but forward_backward {q}");
            if !nll {
                let mut inplace = x.clone();
                let c = ce.forward_backward_inplace_with(isa, &mut inplace, &t).expect("as out of place");
                assert!(
                    input::same_value(c, *q) && input::same_bits(&inplace, &grad),
                    "{isa}: in place differs"
                );
            }
        }
        (Err(_), Err(e)) => {
            assert!(grad.iter().all(|&v| v == 7.0), "{isa}: written on {e:?}");
            let _ = e.to_string();
            if !nll {
                let mut inplace = x.clone();
                assert!(ce.forward_backward_inplace_with(isa, &mut inplace, &t).is_err());
                assert!(input::same_bits(&inplace, &x), "{isa}: logits written on {e:?}");
            }
        }
        _ => panic!("{isa}: forward {a:?} but forward_backward {b:?}"),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = if u.arbitrary::<bool>().unwrap_or(false) {
        check_classes(&mut u)
    } else {
        check_elementwise(&mut u)
    };
});
