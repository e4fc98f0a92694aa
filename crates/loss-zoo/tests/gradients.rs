//! Finite-difference gradient checks (float64) for every loss.

mod common;
use common::*;
use loss_zoo::{arcface, chamfer, ctc, dice, focal, kl, preference, Reduction};
use tch::{Kind, Tensor};

fn randn(shape: &[i64], seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn(shape, (Kind::Double, tch::Device::Cpu))
}

#[test]
fn focal_gradients() {
    let x = randn(&[3, 4], 1) * 2.0;
    let y = randn(&[3, 4], 2).gt(0.3).to_kind(Kind::Double);
    for gamma in [0.0, 2.0] {
        gradcheck(
            &x,
            |x| focal::sigmoid_focal_loss(x, &y, Some(0.25), gamma, Reduction::Sum).unwrap(),
            "sigmoid focal",
        );
    }
    let labels = Tensor::from_slice(&[0i64, 3, 1]);
    let alpha = Tensor::from_slice(&[0.1f64, 0.2, 0.3, 0.4]);
    gradcheck(
        &x,
        |x| focal::softmax_focal_loss(x, &labels, Some(&alpha), 2.0, Reduction::Mean).unwrap(),
        "softmax focal",
    );
}

#[test]
fn arcface_gradient_is_straight_through() {
    // insightface trains with the margin applied without gradient: ∂logits/∂cos = s exactly,
    // on target and non-target entries alike, for every margin kind.
    let cos = ((randn(&[3, 5], 3).tanh()) * 0.9).set_requires_grad(true);
    let labels = Tensor::from_slice(&[1i64, 4, -1]);
    let w = randn(&[3, 5], 4);
    for m in [
        arcface::MarginConfig::arcface(),
        arcface::MarginConfig::cosface(),
        arcface::MarginConfig::sphereface(),
    ] {
        let m = arcface::MarginConfig { s: 4.0, ..m };
        let out = arcface::margin_logits(&cos, &labels, &m).unwrap();
        let g = Tensor::run_backward(&[(out * &w).sum(Kind::Double)], &[&cos], false, false);
        let diff = (&g[0] - &w * 4.0).abs().max().double_value(&[]);
        assert!(diff < 1e-12, "{m:?}: gradient differs from s·w by {diff}");
    }
}

#[test]
fn arcface_pulls_embeddings_home_from_the_far_side() {
    // An embedding at angle 2.8 or 3.0 from its class centre (θ + m > π): with the true
    // derivative of cos(θ + m) it is pushed to θ = π and stays; the straight-through gradient
    // brings it home (insightface's training reaches θ ≈ 0.96 in 300 SGD steps).
    // Eight class centres evenly spaced on the circle (a low-dimensional embedding), class 0
    // at angle 0; the embedding is renormalised after each step so the angular step does not
    // shrink as its norm grows.
    let angles: Vec<f64> = (0..8)
        .map(|k| k as f64 * std::f64::consts::PI / 4.0)
        .collect();
    let flat: Vec<f64> = angles.iter().flat_map(|a| [a.cos(), a.sin()]).collect();
    let centres = Tensor::from_slice(&flat).view([8, 2]);
    let labels = Tensor::from_slice(&[0i64]);
    for start in [2.8f64, 3.0] {
        let mut x = Tensor::from_slice(&[start.cos(), start.sin()])
            .view([1, 2])
            .set_requires_grad(true);
        for _ in 0..300 {
            let cos = arcface::l2_normalize(&x).matmul(&centres.tr());
            let logits =
                arcface::margin_logits(&cos, &labels, &arcface::MarginConfig::arcface()).unwrap();
            let loss = logits.cross_entropy_for_logits(&labels);
            let g = Tensor::run_backward(&[loss], &[&x], false, false);
            tch::no_grad(|| {
                let _ = x.f_sub_(&(&g[0] * 0.01)).unwrap();
                let n = arcface::l2_normalize(&x);
                x.f_copy_(&n).unwrap();
            });
        }
        let angle = arcface::l2_normalize(&x)
            .get(0)
            .get(0)
            .double_value(&[])
            .acos();
        assert!(
            angle < 0.3,
            "start {start}: still at angle {angle:.3} after 300 steps"
        );
    }
}

#[test]
fn ctc_gradients() {
    let logits = randn(&[8, 2, 4], 4);
    let targets = Tensor::from_slice(&[1i64, 2, 2, 3, 0, 0]).view([2, 3]);
    let il = Tensor::from_slice(&[8i64, 6]);
    let tl = Tensor::from_slice(&[3i64, 1]);
    gradcheck(
        &logits,
        |z| {
            ctc::ctc_loss(
                &z.log_softmax(2, Kind::Double),
                &targets,
                &il,
                &tl,
                &loss_zoo::ctc::CtcOptions {
                    blank: 0,
                    reduction: Reduction::Mean,
                    zero_infinity: false,
                },
            )
            .unwrap()
        },
        "ctc",
    );
}

#[test]
fn chamfer_gradients() {
    let x = randn(&[2, 5, 3], 5);
    let y = randn(&[2, 4, 3], 6);
    let xl = Tensor::from_slice(&[5i64, 3]);
    let yl = Tensor::from_slice(&[4i64, 2]);
    gradcheck(
        &x,
        |x| {
            chamfer::chamfer_distance(
                x,
                &y,
                Some(&xl),
                Some(&yl),
                &loss_zoo::chamfer::ChamferOptions {
                    point_reduction: chamfer::PointReduction::Mean,
                    batch_reduction: Reduction::Mean,
                    single_directional: false,
                },
            )
            .unwrap()
        },
        "chamfer",
    );
}

#[test]
fn dice_gradients() {
    let logits = randn(&[2, 3, 4, 4], 7);
    tch::manual_seed(8);
    let labels = Tensor::randint(3, [2, 1, 4, 4], (Kind::Int64, tch::Device::Cpu));
    let opts = dice::DiceOptions {
        softmax: true,
        to_onehot_y: true,
        ..Default::default()
    };
    gradcheck(
        &logits,
        |x| dice::dice_loss(x, &labels, &opts).unwrap(),
        "dice",
    );
    gradcheck(
        &logits,
        |x| dice::dice_ce_loss(x, &labels, &opts, 1.0, 1.0).unwrap(),
        "dice ce",
    );
}

#[test]
fn kl_gradients() {
    let logits = randn(&[3, 4], 9);
    let p = randn(&[3, 4], 10).softmax(1, Kind::Double);
    gradcheck(
        &logits,
        |z| {
            kl::kl_div(
                &z.log_softmax(1, Kind::Double),
                &p,
                Reduction::BatchMean,
                false,
            )
            .unwrap()
        },
        "kl_div",
    );
    let lv = randn(&[3, 4], 11);
    gradcheck(
        &logits,
        |mu| kl::gaussian_kl(mu, &lv, Reduction::Mean).unwrap(),
        "gaussian kl (mu)",
    );
    gradcheck(
        &lv,
        |lv| kl::gaussian_kl(&logits, lv, Reduction::Mean).unwrap(),
        "gaussian kl (logvar)",
    );
    let lv2 = randn(&[3, 4], 15);
    gradcheck(
        &lv,
        |lv| kl::gaussian_kl_between(&logits, lv, &p, &lv2, Reduction::Sum).unwrap(),
        "gaussian kl between (logvar1)",
    );
    gradcheck(
        &p,
        |mu2| kl::gaussian_kl_between(&logits, &lv, mu2, &lv2, Reduction::Sum).unwrap(),
        "gaussian kl between (mu2)",
    );
}

#[test]
fn preference_gradients() {
    let rc = randn(&[6], 12);
    let rr = randn(&[6], 13);
    let m = randn(&[6], 14).abs();
    gradcheck(
        &rc,
        |rc| preference::bradley_terry_loss(rc, &rr, Some(&m), Some(0.01)).unwrap(),
        "bradley-terry",
    );
    gradcheck(
        &rc,
        |pc| {
            preference::dpo_loss(pc, &rr, &m, &(&m * 0.5), 0.1)
                .unwrap()
                .loss
        },
        "dpo",
    );
}
