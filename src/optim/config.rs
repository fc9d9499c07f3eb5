//! One value that names an optimizer and holds its hyperparameters, and builds it for a shape.

use super::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamWConfig, Adamax, AdamaxConfig, Lion, LionConfig, NAdam, NAdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};
use crate::error::{Error, NameBuf};
use std::boxed::Box;

/// An optimizer and its hyperparameters.
///
/// With the `serde` feature it (de)serializes as the golden files' JSON object: the variant's
/// lowercase name under `"optimizer"` (`sgd`, `adagrad`, `adadelta`, `rmsprop`, `adam`,
/// `adamw`, `adamax`, `nadam`, `lion`, `adafactor`) and its config struct's fields under
/// `"hyperparameters"`, where a missing field takes PyTorch's default and an unknown one is an
/// error (PyTorch's `betas` and Adafactor's `eps` pairs are split: `beta1`, `beta2`, `eps1`,
/// `eps2`):
///
/// ```text
/// {"optimizer": "adam", "hyperparameters": {"lr": 0.001, "amsgrad": true}, "shape": [1000]}
/// ```
///
/// Other keys of the object (the golden files' `shape`, `steps`, `source`, `layout`) are
/// ignored, so a golden file's object deserializes as it is; `"hyperparameters"` itself must be
/// present (it may be `{}`). An unknown optimizer name is a deserialization error.
///
/// With `serde_json`, enable its `float_roundtrip` feature (`serde_json = { version = "1",
/// features = ["float_roundtrip"] }`) for every hyperparameter to parse to the f64 its digits
/// denote. Without it serde_json's faster parser may land one f64 off: about 3 in 10 of the
/// 17-digit numbers that `{:?}` prints for arbitrary f64s, and `0.9999999999999999`, a valid
/// β, parses as `1.0`, which `build` refuses. Usual values (`0.001`, `0.9`, `0.999`, `1e-8`)
/// parse exactly either way.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "optimizer", content = "hyperparameters", rename_all = "lowercase")
)]
#[non_exhaustive]
pub enum Config {
    /// [`Sgd`].
    Sgd(SgdConfig),
    /// [`Adagrad`].
    Adagrad(AdagradConfig),
    /// [`Adadelta`].
    Adadelta(AdadeltaConfig),
    /// [`RmsProp`].
    RmsProp(RmsPropConfig),
    /// [`Adam`] (AMSGrad with `amsgrad: true`).
    Adam(AdamConfig),
    /// [`Adam::adamw`]: decoupled weight decay.
    AdamW(AdamWConfig),
    /// [`Adamax`].
    Adamax(AdamaxConfig),
    /// [`NAdam`].
    NAdam(NAdamConfig),
    /// [`Lion`].
    Lion(LionConfig),
    /// [`Adafactor`]: its `build` factors the shape's last two dimensions.
    Adafactor(AdafactorConfig),
}

impl Config {
    /// The serialized name: `"sgd"`, `"adamw"`, `"nadam"`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Config::Sgd(_) => "sgd",
            Config::Adagrad(_) => "adagrad",
            Config::Adadelta(_) => "adadelta",
            Config::RmsProp(_) => "rmsprop",
            Config::Adam(_) => "adam",
            Config::AdamW(_) => "adamw",
            Config::Adamax(_) => "adamax",
            Config::NAdam(_) => "nadam",
            Config::Lion(_) => "lion",
            Config::Adafactor(_) => "adafactor",
        }
    }

    /// The optimizer called `name` (as [`Config::name`] spells it) at its defaults, or
    /// [`Error::UnknownName`].
    pub fn from_name(name: &str) -> Result<Config, Error> {
        Ok(match name {
            "sgd" => Config::Sgd(SgdConfig::default()),
            "adagrad" => Config::Adagrad(AdagradConfig::default()),
            "adadelta" => Config::Adadelta(AdadeltaConfig::default()),
            "rmsprop" => Config::RmsProp(RmsPropConfig::default()),
            "adam" => Config::Adam(AdamConfig::default()),
            "adamw" => Config::AdamW(AdamWConfig::default()),
            "adamax" => Config::Adamax(AdamaxConfig::default()),
            "nadam" => Config::NAdam(NAdamConfig::default()),
            "lion" => Config::Lion(LionConfig::default()),
            "adafactor" => Config::Adafactor(AdafactorConfig::default()),
            _ => return Err(Error::UnknownName { kind: "optimizer", name: NameBuf::new(name) }),
        })
    }

    /// The optimizer with its state, for one parameter tensor of `shape` (row-major; `[]` is
    /// a scalar). Errors: [`Error::ShapeOverflow`] if the number of elements overflows `usize`,
    /// the optimizer's own hyperparameter checks, [`Error::OutOfMemory`] if the state does not
    /// fit.
    pub fn build(&self, shape: &[usize]) -> Result<Box<dyn Optimizer>, Error> {
        let n = num_elements(shape)?;
        Ok(match *self {
            Config::Sgd(c) => Box::new(Sgd::new(c, n)?),
            Config::Adagrad(c) => Box::new(Adagrad::new(c, n)?),
            Config::Adadelta(c) => Box::new(Adadelta::new(c, n)?),
            Config::RmsProp(c) => Box::new(RmsProp::new(c, n)?),
            Config::Adam(c) => Box::new(Adam::new(c, n)?),
            Config::AdamW(c) => Box::new(Adam::adamw(c, n)?),
            Config::Adamax(c) => Box::new(Adamax::new(c, n)?),
            Config::NAdam(c) => Box::new(NAdam::new(c, n)?),
            Config::Lion(c) => Box::new(Lion::new(c, n)?),
            Config::Adafactor(c) => Box::new(Adafactor::new(c, shape)?),
        })
    }
}

/// The number of elements of a tensor of `shape`, or [`Error::ShapeOverflow`]. A zero
/// dimension makes it 0, even where the other dimensions alone would overflow.
pub(crate) fn num_elements(shape: &[usize]) -> Result<usize, Error> {
    if shape.contains(&0) {
        return Ok(0);
    }
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or(Error::ShapeOverflow)
}
