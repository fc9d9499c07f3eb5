//! Shared pieces of the fuzz targets: decoding fuzzer bytes into values, lengths, ISAs,
//! activations (PReLU and RReLU included) and optimizer configurations, and the checks every
//! target makes.
//!
//! The oracles and acceptance rules are the test suite's own (`tests/common`, included below),
//! so the targets hold kernels to exactly the bounds `cargo test` does.

#![forbid(unsafe_code)]

#[path = "../../tests/common/mod.rs"]
pub mod common;

pub mod act;
pub mod input;
pub mod leaky;
pub mod opt;
