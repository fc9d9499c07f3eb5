use nnsimd::{Activation, Isa, reference};
fn main() {
    let stride: u64 = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(4099);
    let xs: Vec<f32> = (0..(1u64 << 32)).step_by(stride as usize).map(|b| f32::from_bits(b as u32)).collect();
    for name in nnsimd::math::probe::NAMES {
        for isa in Isa::available() {
            let mut y = vec![0.0; xs.len()];
            nnsimd::math::probe::eval(name, isa, &xs, &mut y).unwrap();
            let (mut worst, mut wx) = (0u64, 0.0f32);
            for (&x, &y) in xs.iter().zip(&y) {
                let d = reference::ulp_distance(y, reference::math(name, x as f64).unwrap());
                if d > worst { worst = d; wx = x; }
            }
            println!("{:10} {:9} {:6} at {:e}", name, isa, worst, wx);
        }
    }
    for act in [Activation::GeluTanh, Activation::Mish, Activation::Selu, Activation::Elu { alpha: 1.0 }] {
        for isa in Isa::available() {
            let mut y = vec![0.0; xs.len()];
            act.forward_with(isa, &xs, &mut y).unwrap();
            let (mut worst, mut wx) = (0u64, 0.0f32);
            for (&x, &y) in xs.iter().zip(&y) {
                let d = reference::ulp_distance(y, reference::forward(&act, x as f64).unwrap());
                if d > worst { worst = d; wx = x; }
            }
            let ones = vec![1.0; xs.len()];
            act.backward_with(isa, &xs, &ones, &mut y).unwrap();
            let (mut bw, mut bx, mut bad) = (0u64, 0.0f32, 0);
            for (&x, &g) in xs.iter().zip(&y) {
                let want = reference::derivative(&act, x as f64).unwrap();
                let d = reference::ulp_distance(g, want);
                if !reference::backward_ok(&act, x, g, want) { bad += 1; if d > bw { bw = d; bx = x; } }
            }
            println!("{:10} {:9} fwd {:6} at {:e}   bwd-bad {} worst {} at {:e}", act.name(), isa, worst, wx, bad, bw, bx);
        }
    }
}
#[allow(dead_code)]
fn unused() {}
