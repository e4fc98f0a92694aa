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
fn arcface_gradients() {
    let cos = (randn(&[3, 5], 3).tanh()) * 0.9;
    let labels = Tensor::from_slice(&[1i64, 4, -1]);
    for m in [
        arcface::MarginConfig::arcface(),
        arcface::MarginConfig::cosface(),
        arcface::MarginConfig::sphereface(),
    ] {
        gradcheck(
            &cos,
            |c| {
                let m = arcface::MarginConfig { s: 4.0, ..m };
                arcface::margin_logits(c, &labels, &m)
                    .unwrap()
                    .log_softmax(1, Kind::Double)
                    .sum(Kind::Double)
            },
            "margin logits",
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
                0,
                Reduction::Mean,
                false,
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
                chamfer::PointReduction::Mean,
                Reduction::Mean,
                false,
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
