//! The registry of optimizers: one entry per optimizer, from which [`Config`] (its variants,
//! serialized names, `name`, `from_name`, `build`), the list of names and defaults, and the
//! configurations the speed measurements run are all generated. Adding an optimizer is its
//! module (update rule and config) and one entry here.

use super::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adam, AdamConfig,
    AdamWConfig, Adamax, AdamaxConfig, Lion, LionConfig, NAdam, NAdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};
use crate::error::{Error, NameBuf};
use std::boxed::Box;
use std::vec::Vec;

/// Generates [`Config`] and the lists from the entries, each
/// `Variant(ConfigType) "name" = |config, shape, len| build, speed [rows]`: the build expression
/// makes the optimizer from its checked config for a tensor of `shape` with `len` elements; the
/// speed rows are extra named configurations (any `Config`) measured after this one's defaults.
macro_rules! optimizers {
    ($(
        $(#[$doc:meta])*
        $variant:ident($cfg:ty) $name:literal = |$c:ident, $shape:ident, $n:ident| $build:expr,
            speed [$($row:literal = $row_cfg:expr),*];
    )+) => {
        /// An optimizer and its hyperparameters.
        ///
        /// With the `serde` feature it (de)serializes as the golden files' JSON object: the
        /// optimizer's name ([`Config::NAMES`]) under `"optimizer"` and its config struct's fields
        /// under `"hyperparameters"`, where a missing field takes PyTorch's default and an unknown
        /// one is an error (PyTorch's `betas` and Adafactor's `eps` pairs are split: `beta1`,
        /// `beta2`, `eps1`, `eps2`):
        ///
        /// ```text
        /// {"optimizer": "adam", "hyperparameters": {"lr": 0.001, "amsgrad": true}, "shape": [1000]}
        /// ```
        ///
        /// Other keys of the object (the golden files' `shape`, `steps`, `source`, `layout`) are
        /// ignored, so a golden file's object deserializes as it is; `"hyperparameters"` itself
        /// must be present (it may be `{}`). An unknown optimizer name is a deserialization error.
        /// Both the configuration and its `"hyperparameters"` must be objects: an array (serde's
        /// positional form, `["adam", {}]` or `"hyperparameters": [0.1]`, and `[]`, which would
        /// read as every default) is a deserialization error, so that a value can never be taken
        /// for a field by its position.
        ///
        /// With `serde_json`, enable its `float_roundtrip` feature (`serde_json = { version = "1",
        /// features = ["float_roundtrip"] }`) for every hyperparameter to parse to the f64 its
        /// digits denote. Without it serde_json's faster parser may land one f64 off: about 3 in
        /// 10 of the 17-digit numbers that `{:?}` prints for arbitrary f64s, and
        /// `0.9999999999999999`, a valid β, parses as `1.0`, which `build` refuses. Usual values
        /// (`0.001`, `0.9`, `0.999`, `1e-8`) parse exactly either way.
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize),
            serde(tag = "optimizer", content = "hyperparameters")
        )]
        #[non_exhaustive]
        pub enum Config {
            $(
                $(#[$doc])*
                #[cfg_attr(feature = "serde", serde(rename = $name))]
                $variant($cfg),
            )+
        }

        /// [`Config`] as serde reads it, each configuration struct read from an object only.
        #[cfg(feature = "serde")]
        #[derive(serde::Deserialize)]
        #[serde(tag = "optimizer", content = "hyperparameters")]
        enum Repr {
            $(
                #[serde(rename = $name)]
                $variant(object::Object<$cfg>),
            )+
        }

        // Reads a `Repr`, from an object only, and gives the configuration it holds.
        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for Config {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Config, D::Error> {
                let object::Object(repr) = object::Object::<Repr>::deserialize(d)?;
                Ok(match repr {
                    $(Repr::$variant(object::Object(c)) => Config::$variant(c),)+
                })
            }
        }

        impl Config {
            /// Every optimizer's name, as [`Config::name`] spells it, in the registry's order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The serialized name: `"sgd"`, `"adamw"`, `"nadam"`, ...
            pub fn name(&self) -> &'static str {
                match self {
                    $(Config::$variant(_) => $name,)+
                }
            }

            /// The optimizer called `name` (as [`Config::name`] spells it) at its defaults, or
            /// [`Error::UnknownName`].
            pub fn from_name(name: &str) -> Result<Config, Error> {
                match name {
                    $($name => Ok(Config::$variant(<$cfg>::default())),)+
                    _ => Err(Error::UnknownName { kind: "optimizer", name: NameBuf::new(name) }),
                }
            }

            /// Every optimizer at its defaults, in the order of [`Config::NAMES`].
            pub fn defaults() -> impl Iterator<Item = Config> {
                [$(Config::$variant(<$cfg>::default())),+].into_iter()
            }

            /// The optimizer with its state, for one parameter tensor of `shape` (row-major; `[]`
            /// is a scalar). Errors: [`Error::ShapeOverflow`] if the number of elements overflows
            /// `usize`, the optimizer's own hyperparameter checks, [`Error::OutOfMemory`] if the
            /// state does not fit.
            pub fn build(&self, shape: &[usize]) -> Result<Box<dyn Optimizer>, Error> {
                let len = num_elements(shape)?;
                Ok(match *self {
                    $(Config::$variant($c) => {
                        let ($shape, $n) = (shape, len);
                        Box::new($build?)
                    })+
                })
            }
        }

        /// The rows the `speed` example and the benches measure, by the name they report:
        /// every optimizer at its defaults, each followed by its extra rows (momentum, Nesterov,
        /// AMSGrad). Not part of the stable API (feature `internals`).
        #[cfg_attr(not(feature = "internals"), allow(dead_code))]
        pub fn speed_rows() -> Vec<(&'static str, Config)> {
            std::vec![$(
                ($name, Config::$variant(<$cfg>::default())),
                $(($row, $row_cfg),)*
            )+]
        }
    };
}

optimizers! {
    /// [`Sgd`].
    Sgd(SgdConfig) "sgd" = |c, _shape, n| Sgd::new(c, n),
        speed [
            "sgd_momentum" = Config::Sgd(SgdConfig { momentum: 0.9, ..SgdConfig::default() }),
            "sgd_nesterov" = Config::Sgd(SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::default() })
        ];
    /// [`Adagrad`].
    Adagrad(AdagradConfig) "adagrad" = |c, _shape, n| Adagrad::new(c, n), speed [];
    /// [`Adadelta`].
    Adadelta(AdadeltaConfig) "adadelta" = |c, _shape, n| Adadelta::new(c, n), speed [];
    /// [`RmsProp`].
    RmsProp(RmsPropConfig) "rmsprop" = |c, _shape, n| RmsProp::new(c, n), speed [];
    /// [`Adam`] (AMSGrad with `amsgrad: true`).
    Adam(AdamConfig) "adam" = |c, _shape, n| Adam::new(c, n), speed [];
    /// [`Adam::adamw`]: decoupled weight decay.
    AdamW(AdamWConfig) "adamw" = |c, _shape, n| Adam::adamw(c, n),
        speed ["amsgrad" = Config::Adam(AdamConfig { amsgrad: true, ..AdamConfig::default() })];
    /// [`Adamax`].
    Adamax(AdamaxConfig) "adamax" = |c, _shape, n| Adamax::new(c, n), speed [];
    /// [`NAdam`].
    NAdam(NAdamConfig) "nadam" = |c, _shape, n| NAdam::new(c, n), speed [];
    /// [`Lion`].
    Lion(LionConfig) "lion" = |c, _shape, n| Lion::new(c, n), speed [];
    /// [`Adafactor`]: its `build` factors the shape's last two dimensions.
    Adafactor(AdafactorConfig) "adafactor" = |c, shape, _n| Adafactor::new(c, shape), speed [];
}

/// Deserialization from objects only.
#[cfg(feature = "serde")]
mod object {
    use core::fmt;
    use core::marker::PhantomData;
    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

    /// A `T` that deserializes from a map (a JSON object) and from nothing else. serde's derived
    /// structs and adjacently tagged enums also take a sequence, their fields by position: that
    /// form is refused here, before `T` sees it.
    pub(super) struct Object<T>(pub(super) T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Object<T>, D::Error> {
            d.deserialize_map(MapOnly(PhantomData))
        }
    }

    /// Hands a map, and only a map, to `T`.
    struct MapOnly<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for MapOnly<T> {
        type Value = Object<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Object)
        }
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
