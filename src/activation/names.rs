//! The other names an activation goes by: PyTorch's module spellings without the underscore and
//! the `hidden_act` strings of Hugging Face model configs, and `FromStr`.

use core::str::FromStr;

use super::Activation;
use crate::error::Error;

/// The activation that `name` means where it is not one of [`Activation::name`]'s names:
///
/// | name | activation |
/// |---|---|
/// | `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast` | [`Activation::GeluTanh`] (Hugging Face's tanh approximations) |
/// | `quick_gelu` | [`Activation::Swish`] with β = 1.702: x·σ(1.702x) |
/// | `hardswish`, `hardsigmoid`, `hardtanh`, `logsigmoid` | PyTorch's functional spellings |
///
/// Hugging Face's other `hidden_act` strings (`gelu` = erf GELU, `silu`, `swish`, `relu`,
/// `relu6`, `mish`, `tanh`, `sigmoid`, `leaky_relu`, `elu`, `selu`, `celu`, `softplus`) are
/// already the activations' own names; `swish` with its default β = 1 is SiLU.
pub(super) fn alias(name: &str) -> Option<Activation> {
    Some(match name {
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "quick_gelu" => Activation::Swish { beta: 1.702 },
        "hardswish" => Activation::HardSwish,
        "hardsigmoid" => Activation::HardSigmoid,
        "hardtanh" => Activation::from_name("hard_tanh").ok()?,
        "logsigmoid" => Activation::LogSigmoid,
        _ => return None,
    })
}

/// [`Activation::from_name`]: `"gelu".parse::<Activation>()`.
impl FromStr for Activation {
    type Err = Error;

    fn from_str(name: &str) -> Result<Activation, Error> {
        Activation::from_name(name)
    }
}
