//! A worked example by hand, reproduced with the crate's kernels: one input, two hidden units,
//! one linear output, squared-error loss.
//!
//! ```text
//! x = 0.5   w = (0.6, −0.4)   b = (0.1, 0.2)   v = (0.3, 0.3)   c = 0   t = 1
//! z = w·x + b,  h = f(z),  y = v·h + c,  L = ½(y − t)²
//! dL/dy = y − t,  dL/dh = v·dL/dy,  dL/dz = dL/dh·f'(z)
//! ```
//!
//! `cargo run --example seed_network [-- ACTIVATION...]` prints the pass for each named
//! activation (snake_case names as `Activation::from_name` takes them; ReLU and sigmoid by
//! default). With ReLU: h = (0.4, 0), y = 0.12, dL/dy = −0.88, dL/dz = (−0.264, 0) since
//! PyTorch's ReLU'(0) = 0. With sigmoid: h = (0.5987, 0.5), y = 0.3296, dL/dy = −0.6704,
//! dL/dz = (−0.0483, −0.0503). `tests/seed_network.rs` asserts these numbers.

#[path = "common/seed.rs"]
mod seed;

use nnsimd::Activation;

fn main() {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        names = vec!["relu".into(), "sigmoid".into()];
    }
    println!(
        "x = {}, w = ({}, {}), b = ({}, {}), v = ({}, {}), c = {}, t = {}",
        seed::X,
        seed::W[0],
        seed::W[1],
        seed::B[0],
        seed::B[1],
        seed::V[0],
        seed::V[1],
        seed::C,
        seed::T
    );
    for name in &names {
        let pass = Activation::from_name(name).and_then(seed::run).unwrap_or_else(|e| {
            eprintln!("seed_network: {name}: {e}");
            std::process::exit(2);
        });
        println!("\nhidden activation: {name}\n{pass}");
    }
}
