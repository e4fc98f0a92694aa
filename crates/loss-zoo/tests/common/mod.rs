//! Fixture loading and comparison helpers shared by loss-zoo's tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;
use tch::{Kind, Tensor};

/// The cases of `tests/fixtures/<name>.json` (written by tests/reference/gen.py).
pub fn cases(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// A fixture tensor `{shape, dtype, data}` (float64 or int64; "inf" strings allowed).
pub fn tensor(v: &Value) -> Tensor {
    let shape: Vec<i64> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    let data = v["data"].as_array().unwrap();
    if v["dtype"] == "i64" {
        let d: Vec<i64> = data.iter().map(|x| x.as_i64().unwrap()).collect();
        Tensor::from_slice(&d).view(shape.as_slice())
    } else {
        let d: Vec<f64> = data
            .iter()
            .map(|x| match x {
                Value::String(s) if s == "inf" => f64::INFINITY,
                x => x.as_f64().unwrap(),
            })
            .collect();
        Tensor::from_slice(&d).view(shape.as_slice())
    }
}

pub fn input(case: &Value, name: &str) -> Tensor {
    tensor(&case["inputs"][name])
}

pub fn opt_input(case: &Value, name: &str) -> Option<Tensor> {
    case["inputs"].get(name).map(tensor)
}

/// Asserts `got` equals `want` to 1e-6 relative (absolute near zero); infinities must match.
pub fn assert_close(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    let g: Vec<f64> = Vec::try_from(got.to_kind(Kind::Double).flatten(0, -1)).unwrap();
    let w: Vec<f64> = Vec::try_from(want.to_kind(Kind::Double).flatten(0, -1)).unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        if b.is_infinite() {
            assert_eq!(a, b, "{what}[{i}]");
            continue;
        }
        let tol = 1e-6 * b.abs().max(1e-3);
        assert!((a - b).abs() <= tol, "{what}[{i}]: got {a}, reference {b}");
    }
}

/// Reduction named as in PyTorch.
pub fn reduction(name: &str) -> loss_zoo::Reduction {
    match name {
        "none" => loss_zoo::Reduction::None,
        "mean" => loss_zoo::Reduction::Mean,
        "sum" => loss_zoo::Reduction::Sum,
        "batchmean" => loss_zoo::Reduction::BatchMean,
        other => panic!("reduction {other}"),
    }
}

/// Checks the gradient of the scalar `f(x)` at `x` (float64) against central differences.
pub fn gradcheck(x: &Tensor, f: impl Fn(&Tensor) -> Tensor, what: &str) {
    let x = x.to_kind(Kind::Double).detach().set_requires_grad(true);
    let y = f(&x);
    assert_eq!(y.numel(), 1, "{what}: gradcheck needs a scalar");
    y.backward();
    let analytic: Vec<f64> = Vec::try_from(x.grad().flatten(0, -1)).unwrap();
    let base: Vec<f64> = Vec::try_from(x.detach().flatten(0, -1)).unwrap();
    let h = 1e-6;
    for i in 0..base.len() {
        let eval = |d: f64| {
            let mut v = base.clone();
            v[i] += d;
            let xi = Tensor::from_slice(&v).view(x.size().as_slice());
            tch::no_grad(|| f(&xi).double_value(&[]))
        };
        let numeric = (eval(h) - eval(-h)) / (2.0 * h);
        let a = analytic[i];
        assert!(
            (a - numeric).abs() <= 1e-5 * numeric.abs().max(1.0),
            "{what}: d/dx[{i}] analytic {a} vs numeric {numeric}"
        );
    }
}
