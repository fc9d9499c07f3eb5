//! `Activation` in serde's data model (feature `serde`): an object tagged by the PyTorch name,
//! with the parameters by field name, `{"name": "leaky_relu", "slope": 0.2}`. A bare string is
//! that name with its defaults, and so is an object without some parameters. A parameter the
//! activation does not have, or a value outside its range, is an error naming it.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Activation;

impl Serialize for Activation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut n = 1;
        self.for_each_param(|_, _| n += 1);
        let mut map = serializer.serialize_map(Some(n))?;
        map.serialize_entry("name", self.name())?;
        let mut result = Ok(());
        self.for_each_param(|key, value| {
            if result.is_ok() {
                result = map.serialize_entry(key, &value);
            }
        });
        result?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Activation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Activation, D::Error> {
        deserializer.deserialize_any(ActivationVisitor)
    }
}

struct ActivationVisitor;

/// The activation `name` with `params` set, checked as the kernels check it.
fn build<E: de::Error>(name: &str, params: &[(String, f32)]) -> Result<Activation, E> {
    let mut act = Activation::from_name(name).map_err(E::custom)?;
    for (key, value) in params {
        match act.param_mut(key) {
            Some(p) => *p = *value,
            None => return Err(E::custom(format_args!("`{}` has no parameter `{key}`", act.name()))),
        }
    }
    act.kernel().map_err(E::custom)?;
    Ok(act)
}

impl<'de> Visitor<'de> for ActivationVisitor {
    type Value = Activation;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an activation name, or an object such as {"name": "leaky_relu", "slope": 0.2}"#)
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Activation, E> {
        build(name, &[])
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Activation, A::Error> {
        let mut name: Option<String> = None;
        let mut params: Vec<(String, f32)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "name" {
                if name.is_some() {
                    return Err(de::Error::duplicate_field("name"));
                }
                name = Some(map.next_value()?);
            } else if params.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format_args!("duplicate parameter `{key}`")));
            } else {
                let value: f32 = map.next_value()?;
                params.push((key, value));
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        build(&name, &params)
    }
}
