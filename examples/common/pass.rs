//! The pass of an activation a row reports, shared by the `ulp` and `speed` examples.

/// Forward (y = f(x)) or backward (dx = dy·f'(x)).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pass {
    Forward,
    Backward,
}

impl Pass {
    /// The name used in the JSON rows: `forward` or `backward`.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::Backward => "backward",
        }
    }
}
