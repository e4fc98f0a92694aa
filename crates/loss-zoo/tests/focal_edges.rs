//! Focal-loss edges: γ = 0 equals (B)CE, argument errors, and finite gradients for γ < 1 where
//! outputs saturate.

use loss_zoo::{focal, LossError, Reduction};
use tch::{Device, Kind, Tensor};

const CPU_F64: (Kind, Device) = (Kind::Double, Device::Cpu);

#[test]
fn focal_gamma_zero_is_bce() {
    let x = Tensor::randn([6, 7], CPU_F64) * 3.0;
    let y = Tensor::rand([6, 7], CPU_F64).gt(0.5).to_kind(Kind::Double);
    let f = focal::sigmoid_focal_loss(&x, &y, None, 0.0, Reduction::Mean).unwrap();
    let bce = x.binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
    assert_eq!(f.double_value(&[]), bce.double_value(&[]));
    let labels = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 6]);
    let sf = focal::softmax_focal_loss(&x, &labels, None, 0.0, Reduction::Mean).unwrap();
    let ce = x.cross_entropy_loss::<Tensor>(&labels, None, tch::Reduction::Mean, -100, 0.0);
    assert!((sf.double_value(&[]) - ce.double_value(&[])).abs() < 1e-12);
    let err =
        focal::sigmoid_focal_loss(&x, &y.narrow(1, 0, 3), None, 2.0, Reduction::Mean).unwrap_err();
    assert!(
        err.to_string().contains("`targets`") && err.to_string().contains("[6, 7]"),
        "{err}"
    );
    let err = focal::softmax_focal_loss(&x, &y, None, 2.0, Reduction::Mean).unwrap_err();
    assert!(
        matches!(err, LossError::Dtype { arg: "labels", .. }),
        "{err}"
    );
}

/// γ < 1 at saturated logits: p_t rounds to 1, and d/dx x^γ at x = 0 is infinite. The
/// gradient must stay finite (it is ~0 there), in float32 (where detection training runs)
/// and float64; unsaturated elements keep their exact gradient.
#[test]
fn focal_gamma_below_one_has_finite_gradients_when_saturated() {
    for kind in [Kind::Float, Kind::Double] {
        for gamma in [0.2, 0.5, 0.9] {
            let x = Tensor::from_slice(&[40.0f64, -40.0, 120.0, 0.3, -1.0])
                .to_kind(kind)
                .set_requires_grad(true);
            let y = Tensor::from_slice(&[1.0f64, 0.0, 1.0, 1.0, 0.0]).to_kind(kind);
            let l = focal::sigmoid_focal_loss(&x, &y, Some(0.25), gamma, Reduction::Sum).unwrap();
            l.backward();
            let g: Vec<f64> = Vec::try_from(x.grad().to_kind(Kind::Double)).unwrap();
            assert!(g.iter().all(|v| v.is_finite()), "{kind:?} γ={gamma}: {g:?}");
            assert!(g[0].abs() < 1e-9 && g[2].abs() < 1e-9, "{g:?}");
            // Element 3 (x = 0.3, y = 1): FL = α(1−p)^γ·(−log p), against finite differences.
            let f = |v: f64| {
                let p = 1.0 / (1.0 + (-v).exp());
                0.25 * (1.0 - p).powf(gamma) * -p.ln()
            };
            let fd = (f(0.3 + 1e-6) - f(0.3 - 1e-6)) / 2e-6;
            let tol = if kind == Kind::Double { 1e-6 } else { 1e-4 };
            assert!(
                (g[3] - fd).abs() < tol,
                "{kind:?} γ={gamma}: {} vs {fd}",
                g[3]
            );

            let xs = Tensor::from_slice(&[60.0f64, 0.0, 0.0, 0.5, 0.2, 0.1])
                .to_kind(kind)
                .view([2, 3])
                .set_requires_grad(true);
            let labels = Tensor::from_slice(&[0i64, 1]);
            let l = focal::softmax_focal_loss(&xs, &labels, None, gamma, Reduction::Sum).unwrap();
            l.backward();
            let g: Vec<f64> =
                Vec::try_from(xs.grad().to_kind(Kind::Double).flatten(0, -1)).unwrap();
            assert!(
                g.iter().all(|v| v.is_finite()),
                "softmax {kind:?} γ={gamma}: {g:?}"
            );
        }
    }
}
