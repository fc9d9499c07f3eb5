//! The reader of PyTorch's float64 reference cases in `tests/golden/rows/*.json` (one JSON object
//! per case: `op`, `params`, `inputs` and `outputs`, tensors as shape, dtype and row-major data,
//! "inf"/"-inf" for infinities and null for NaN), and the summary the golden tests print.

#[cfg(feature = "std")]
use nnsimd::loss::Reduction;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Every case file of `tests/golden/rows`, sorted by name: (file stem, parsed JSON).
pub fn files() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/rows");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden/rows")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            (p.file_stem().unwrap().to_string_lossy().into(), v)
        })
        .collect()
}

/// A tensor's data: numbers (or one bare number), the strings "inf" / "-inf", null for NaN.
pub fn tensor(t: &Value) -> Vec<f64> {
    let one = |v: &Value| match v {
        Value::Null => f64::NAN,
        Value::String(s) => s.parse().expect("inf or -inf"),
        v => v.as_f64().expect("a number"),
    };
    match &t["data"] {
        Value::Array(a) => a.iter().map(one).collect(),
        v => vec![one(v)],
    }
}

/// A tensor's data as f32 (the files' inputs are f32 values).
pub fn tensor_f32(t: &Value) -> Vec<f32> {
    tensor(t).into_iter().map(|v| v as f32).collect()
}

/// A tensor's shape.
pub fn shape(t: &Value) -> Vec<usize> {
    t["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// The case's `params.reduction`: "none", "sum" or "mean".
#[cfg(feature = "std")]
pub fn reduction(params: &Value, name: &str) -> Reduction {
    match params["reduction"].as_str().expect("a reduction") {
        "none" => Reduction::None,
        "sum" => Reduction::Sum,
        "mean" => Reduction::Mean,
        r => panic!("{name}: unknown reduction {r}"),
    }
}

/// Per summary row `K`: the worst distance in ULP over the results the ULP rule accepts, how
/// many only the absolute bound accepts, and how many there are.
pub struct Summary<K>(pub BTreeMap<K, (u64, usize, usize)>);

impl<K> Default for Summary<K> {
    fn default() -> Self {
        Summary(BTreeMap::new())
    }
}

impl<K: Ord> Summary<K> {
    /// One result of row `key`: within `Some(ulp)` ULP, or `None` within the absolute bound only.
    pub fn see(&mut self, key: K, ulp: Option<u64>) {
        let e = self.0.entry(key).or_default();
        match ulp {
            Some(u) => e.0 = e.0.max(u),
            None => e.1 += 1,
        }
        e.2 += 1;
    }

    /// Prints a line a row, the row named by `name`.
    pub fn print(&self, name: impl Fn(&K) -> String) {
        for (key, (ulp, abs, n)) in &self.0 {
            println!("{}: max {ulp} ULP over {n} results ({abs} within the absolute bound only)", name(key));
        }
    }
}
