//! Fixture loading and comparison helpers shared by loss-zoo's tests.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

// The same cases run on another device and in float32 for `just gpu-check`, which copies this
// test binary to a GPU machine: LOSS_ZOO_DEVICE=cuda places every fixture tensor there,
// LOSS_ZOO_KIND=f32 computes in float32, LOSS_ZOO_FIXTURES is the fixtures folder (the binary
// is not where it was built) and LOSS_ZOO_DUMP=FILE appends every compared output as a JSON
// line, so that a CPU run and a CUDA run can be compared value by value.

/// The device the fixtures are placed on (`LOSS_ZOO_DEVICE`: `cpu`, the default, or `cuda`).
pub fn device() -> Device {
    match std::env::var("LOSS_ZOO_DEVICE").as_deref() {
        Ok("cuda") => Device::Cuda(0),
        Ok("cpu") | Err(_) => Device::Cpu,
        Ok(other) => panic!("LOSS_ZOO_DEVICE={other}: use cpu or cuda"),
    }
}

/// The float kind of the computation (`LOSS_ZOO_KIND`: `f64`, the default, or `f32`).
pub fn float_kind() -> Kind {
    match std::env::var("LOSS_ZOO_KIND").as_deref() {
        Ok("f32") => Kind::Float,
        Ok("f64") | Err(_) => Kind::Double,
        Ok(other) => panic!("LOSS_ZOO_KIND={other}: use f64 or f32"),
    }
}

fn fixtures() -> PathBuf {
    std::env::var_os("LOSS_ZOO_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    )
}

/// The cases of `tests/fixtures/<name>.json` (written by tests/reference/gen.py).
pub fn cases(name: &str) -> Vec<Value> {
    let path = fixtures().join(format!("{name}.json"));
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
        Tensor::from_slice(&d).view(shape.as_slice()).to(device())
    } else {
        let d: Vec<f64> = data
            .iter()
            .map(|x| match x {
                Value::String(s) if s == "inf" => f64::INFINITY,
                x => x.as_f64().unwrap(),
            })
            .collect();
        Tensor::from_slice(&d)
            .view(shape.as_slice())
            .to_kind(float_kind())
            .to(device())
    }
}

pub fn input(case: &Value, name: &str) -> Tensor {
    tensor(&case["inputs"][name])
}

pub fn opt_input(case: &Value, name: &str) -> Option<Tensor> {
    case["inputs"].get(name).map(tensor)
}

/// A tensor's values as f64 on the host.
fn host(t: &Tensor) -> Vec<f64> {
    let t = t.to_kind(Kind::Double).to(Device::Cpu).flatten(0, -1);
    Vec::try_from(t).unwrap()
}

/// Appends `what` and its values to `LOSS_ZOO_DUMP`, when set.
fn dump(what: &str, values: &[f64]) {
    let Some(path) = std::env::var_os("LOSS_ZOO_DUMP") else {
        return;
    };
    let line = serde_json::json!({ "what": what, "values": values }).to_string() + "\n";
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

/// Asserts `got` equals `want` to 1e-6 relative (absolute near zero; 1e-4 relative in float32);
/// infinities must match.
pub fn assert_close(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    assert_eq!(
        got.device(),
        device(),
        "{what}: the output left the inputs' device"
    );
    let g = host(got);
    let w = host(want);
    dump(what, &g);
    let (rel, floor) = match float_kind() {
        Kind::Float => (1e-4, 1e-2),
        _ => (1e-6, 1e-3),
    };
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        if b.is_infinite() {
            assert_eq!(a, b, "{what}[{i}]");
            continue;
        }
        let tol = rel * b.abs().max(floor);
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
