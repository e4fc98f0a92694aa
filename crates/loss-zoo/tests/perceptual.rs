//! The perceptual losses against PyTorch (tests/fixtures/perceptual.json, written by
//! tests/reference/gen_perceptual.py): values and gradients, float64, to 1e-6 relative.

mod common;
use common::*;
use loss_zoo::perceptual::{
    feature_loss, gram, style_loss, total_variation, weighted_style_loss, FeatureExtractor,
};
use tch::Tensor;

/// `f(x)` and the gradient of its sum with respect to `x`.
fn value_and_grad(x: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> (Tensor, Tensor) {
    let x = x.copy().set_requires_grad(true);
    let out = f(&x);
    out.sum(out.kind()).backward();
    (out.detach(), x.grad())
}

#[test]
fn every_perceptual_loss_and_its_gradient_match_pytorch() {
    let cases = cases("perceptual");
    assert_eq!(cases.len(), 6);
    for (i, c) in cases.iter().enumerate() {
        let what = format!("case {i} ({})", c["kind"]);
        let (out, grad) = match c["kind"].as_str().unwrap() {
            "gram" => value_and_grad(&input(c, "f"), |f| gram(f).unwrap()),
            "feature" => {
                let b = input(c, "b");
                value_and_grad(&input(c, "a"), |a| feature_loss(a, &b).unwrap())
            }
            "style" => {
                let g = input(c, "style_gram");
                value_and_grad(&input(c, "f"), |f| style_loss(f, &g).unwrap())
            }
            "weighted_style" => {
                let w: Vec<f64> = c["params"]["weights"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                let (g1, g2, f2) = (input(c, "g1"), input(c, "g2"), input(c, "f2"));
                let f2 = f2.set_requires_grad(true);
                let (out, grad) = value_and_grad(&input(c, "f1"), |f1| {
                    weighted_style_loss(
                        &[f1.shallow_clone(), f2.shallow_clone()],
                        &[g1.shallow_clone(), g2.shallow_clone()],
                        &w,
                    )
                    .unwrap()
                });
                assert_close(
                    &f2.grad(),
                    &tensor(&c["grad2"]),
                    &format!("{what}: gradient of layer 2"),
                );
                (out, grad)
            }
            "tv" => value_and_grad(&input(c, "x"), |x| total_variation(x).unwrap()),
            k => panic!("unknown case kind {k}"),
        };
        assert_close(&out, &tensor(&c["expected"]), &what);
        assert_close(&grad, &tensor(&c["grad"]), &format!("{what}: gradient"));
    }
}

#[test]
fn a_hand_computed_gram_and_style_loss() {
    // One channel pair over 2 pixels: F = [[1, 2], [3, 4]] (C = 2, H·W = 2), so
    // G = F Fᵀ / (C·H·W) = [[5, 11], [11, 25]] / 4.
    let f = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0]).view([1, 2, 1, 2]);
    let g: Vec<f64> = Vec::try_from(gram(&f).unwrap().flatten(0, -1)).unwrap();
    assert_eq!(g, vec![1.25, 2.75, 2.75, 6.25]);
    // Against a zero Gram matrix the style loss is ‖G‖²_F = (1.25² + 2·2.75² + 6.25²).
    let zero = Tensor::zeros([1, 2, 2], (tch::Kind::Double, tch::Device::Cpu));
    let l = style_loss(&f, &zero).unwrap().double_value(&[]);
    assert!((l - (1.5625 + 2.0 * 7.5625 + 39.0625)).abs() < 1e-12, "{l}");
    // A constant picture has no total variation.
    let flat = Tensor::ones([1, 1, 3, 3], (tch::Kind::Double, tch::Device::Cpu));
    assert_eq!(total_variation(&flat).unwrap().double_value(&[]), 0.0);
    let edge = Tensor::from_slice(&[0.0f64, 0.0, 1.0, 1.0]).view([1, 1, 2, 2]);
    // Vertical differences |1 − 0| in both columns (mean 1), horizontal ones 0.
    assert_eq!(total_variation(&edge).unwrap().double_value(&[]), 1.0);
}

#[test]
fn bad_shapes_and_layer_names_are_refused_with_what_was_expected() {
    let f = Tensor::zeros([2, 3, 4, 4], (tch::Kind::Float, tch::Device::Cpu));
    let wrong = Tensor::zeros([1, 4, 4], (tch::Kind::Float, tch::Device::Cpu));
    let e = style_loss(&f, &wrong).unwrap_err().to_string();
    assert!(e.contains("(1 or 2, 3, 3)"), "{e}");
    let e = weighted_style_loss(&[f.shallow_clone()], &[], &[1.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("one of each per layer"), "{e}");
    let e = total_variation(&Tensor::zeros(
        [1, 3, 1, 4],
        (tch::Kind::Float, tch::Device::Cpu),
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("at least 2 × 2"), "{e}");

    struct Two;
    impl FeatureExtractor for Two {
        fn features(&self, x: &Tensor, layers: &[usize]) -> Vec<Tensor> {
            layers.iter().map(|_| x.shallow_clone()).collect()
        }
        fn layer_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
    }
    assert_eq!(Two.layer("b").unwrap(), 1);
    let e = Two.layer("conv9").unwrap_err().to_string();
    assert!(e.contains("no layer `conv9`; the layers are a, b"), "{e}");
}
