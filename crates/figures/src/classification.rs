//! Figures of the classification-style losses: focal loss (Lin et al. 2017, Fig. 1 and the
//! easy-negative share), the angular margins of ArcFace and its relatives (Deng et al. 2019,
//! Fig. 4b), and Dice against cross-entropy as the foreground shrinks.

use crate::{linspace, t64, Figure};
use loss_zoo::arcface::{margin_logits, MarginConfig};
use loss_zoo::dice::{dice_loss, DiceOptions};
use loss_zoo::focal::sigmoid_focal_loss;
use loss_zoo::Reduction;
use plot::{bar_chart, line_chart, Chart, Corner, Series};
use tch::{Kind, Tensor};

const GAMMAS: [f64; 5] = [0.0, 0.5, 1.0, 2.0, 5.0];

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Focal loss of a positive predicted with probability `p_t` (sigmoid_focal_loss, no α).
fn focal_at(p_t: &[f64], gamma: f64) -> anyhow::Result<Vec<f64>> {
    let x = t64(&p_t.iter().map(|&p| logit(p)).collect::<Vec<_>>());
    let y = Tensor::ones_like(&x);
    let l = sigmoid_focal_loss(&x, &y, None, gamma, Reduction::None)?;
    Ok(Vec::<f64>::try_from(l)?)
}

/// Focal loss against the probability of the true class, one curve per γ.
pub fn focal() -> anyhow::Result<Figure> {
    let p = linspace(0.005, 0.995, 199);
    let mut chart = Chart::new(
        "focal loss: FL(p_t) = −(1 − p_t)^γ log p_t",
        "probability of the ground-truth class p_t",
        "loss",
    )
    .y_range(0.0, 5.0)
    .legend(Corner::UpperRight);
    for g in GAMMAS {
        let l = focal_at(&p, g)?;
        chart = chart.series(Series::new(
            format!("γ = {g}"),
            p.iter().copied().zip(l).collect(),
        ));
    }
    let at = focal_at(&[0.9], 2.0)?[0] / focal_at(&[0.9], 0.0)?[0];
    Ok(Figure {
        name: "focal-loss",
        image: line_chart(&chart)?,
        caption: format!(
            "focal loss vs p_t for γ ∈ {{0, 0.5, 1, 2, 5}}; at p_t = 0.9, γ = 2 gives {at:.4} × the cross-entropy"
        ),
        numbers: vec![("fl_over_ce_pt0.9_g2".into(), at)],
    })
}

/// Share of the total loss coming from easy negatives: 1,000 negatives at p_t = 0.99 and one
/// positive at p_t = 0.3, as γ grows.
pub fn focal_share() -> anyhow::Result<Figure> {
    let mut shares = Vec::new();
    for g in GAMMAS {
        let neg = 1000.0 * focal_at(&[0.99], g)?[0];
        let pos = focal_at(&[0.3], g)?[0];
        shares.push(neg / (neg + pos));
    }
    // The lecture's numbers: 100,000 easy examples at cross-entropy 0.1 (p_t = e^−0.1) and 100
    // hard ones at 2.3 (p_t = e^−2.3): 10,000 against 230, computed by the loss itself.
    let (p_easy, p_hard) = ((-0.1f64).exp(), (-2.3f64).exp());
    let lecture = |g: f64| -> anyhow::Result<(f64, f64)> {
        Ok((
            100_000.0 * focal_at(&[p_easy], g)?[0],
            100.0 * focal_at(&[p_hard], g)?[0],
        ))
    };
    let (easy_ce, hard_ce) = lecture(0.0)?;
    let (easy_fl, hard_fl) = lecture(2.0)?;
    // "7 of 100 boxes hold an object": 93 background boxes per 7, 1 : 13.3.
    let ratio = 93.0 / 7.0;
    let labels: Vec<String> = GAMMAS.iter().map(|g| format!("γ = {g}")).collect();
    let img = bar_chart(
        "share of the loss from 1,000 easy negatives (p_t = 0.99) vs 1 hard positive (p_t = 0.3)",
        "share of total loss",
        &labels,
        &shares,
    )?;
    Ok(Figure {
        name: "focal-easy-negatives",
        image: img,
        caption: format!(
            "at 1:1000 imbalance easy negatives carry {:.0}% of the cross-entropy but {:.2}% of \
             the γ = 2 focal loss. The lecture's numbers: 100,000 easy × {:.1} = {:.0} against \
             100 hard × {:.1} = {:.0}, so easy examples carry {:.1}% of the cross-entropy; under \
             γ = 2 they carry {:.0} against {:.0}, {:.1}%. 7 of 100 boxes with an object is 1 : \
             {:.1}",
            100.0 * shares[0],
            100.0 * shares[3],
            easy_ce / 100_000.0,
            easy_ce,
            hard_ce / 100.0,
            hard_ce,
            100.0 * easy_ce / (easy_ce + hard_ce),
            easy_fl,
            hard_fl,
            100.0 * easy_fl / (easy_fl + hard_fl),
            ratio
        ),
        numbers: GAMMAS
            .iter()
            .zip(&shares)
            .map(|(g, s)| (format!("easy_share_g{g}"), *s))
            .chain([
                ("lecture_easy_ce".into(), easy_ce),
                ("lecture_hard_ce".into(), hard_ce),
                (
                    "lecture_easy_share_ce".into(),
                    easy_ce / (easy_ce + hard_ce),
                ),
                (
                    "lecture_easy_share_g2".into(),
                    easy_fl / (easy_fl + hard_fl),
                ),
                ("lecture_negatives_per_positive".into(), ratio),
            ])
            .collect(),
    })
}

/// The target logit (s = 1) as a function of θ for each margin, past θ + m > π too.
pub fn margins() -> anyhow::Result<Figure> {
    let theta = linspace(0.0, std::f64::consts::PI, 300);
    let cos: Vec<f64> = theta.iter().flat_map(|t| [t.cos(), 0.0]).collect();
    let cos = t64(&cos).view([-1, 2]);
    let labels = Tensor::zeros([theta.len() as i64], (Kind::Int64, tch::Device::Cpu));
    let kinds = [
        ("softmax: cos θ", MarginConfig::none(1.0)),
        (
            "SphereFace: cos(1.35θ)",
            MarginConfig {
                s: 1.0,
                ..MarginConfig::sphereface()
            },
        ),
        (
            "CosFace: cos θ − 0.35",
            MarginConfig {
                s: 1.0,
                ..MarginConfig::cosface()
            },
        ),
        (
            "ArcFace: cos(θ + 0.5)",
            MarginConfig {
                s: 1.0,
                ..MarginConfig::arcface()
            },
        ),
        (
            "combined: cos(θ + 0.3) − 0.2",
            MarginConfig {
                s: 1.0,
                m1: 1.0,
                m2: 0.3,
                m3: 0.2,
            },
        ),
    ];
    let mut chart = Chart::new(
        "target logit against the angle to the class centre (s = 1)",
        "θ (radians)",
        "target logit",
    )
    .legend(Corner::LowerLeft);
    let mut numbers = Vec::new();
    for (name, m) in kinds {
        let out = margin_logits(&cos, &labels, &m)?.select(1, 0);
        let v = Vec::<f64>::try_from(out)?;
        if name.starts_with("ArcFace") {
            let at = |t: f64| v[(t / std::f64::consts::PI * 299.0).round() as usize];
            numbers.push(("arcface_theta3.0_minus_theta2.8".into(), at(3.0) - at(2.8)));
        }
        chart = chart.series(Series::new(name, theta.iter().copied().zip(v).collect()));
    }
    let pi_m = std::f64::consts::PI - 0.5;
    Ok(Figure {
        name: "margins",
        image: line_chart(&chart.mark("θ + m = π", (pi_m, (pi_m + 0.5).cos())))?,
        caption: "target logit vs θ: every margin lowers the target logit at the same angle; \
                  ArcFace's cos(θ + m) rises again past θ = π − m (its gradient there is \
                  replaced by the straight-through one in training)"
            .into(),
        numbers,
    })
}

/// Share of the gradient magnitude on foreground pixels under Dice and under cross-entropy,
/// as the foreground falls from 10% to 0.01% of 20,000 pixels (uncertain model: p = 0.5).
pub fn dice_vs_ce() -> anyhow::Result<Figure> {
    let n = 20_000i64;
    let fractions = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001];
    let (mut dice_share, mut ce_share) = (Vec::new(), Vec::new());
    for &f in &fractions {
        let fg = ((n as f64 * f).round() as i64).max(1);
        let mut mask = vec![0i64; n as usize];
        mask[..fg as usize].iter_mut().for_each(|m| *m = 1);
        let target = Tensor::from_slice(&mask).view([1, 1, 1, n]);
        let share = |loss: &dyn Fn(&Tensor) -> anyhow::Result<Tensor>| -> anyhow::Result<f64> {
            let logits = Tensor::zeros([1, 2, 1, n], (Kind::Double, tch::Device::Cpu))
                .set_requires_grad(true);
            let l = loss(&logits)?;
            let g = Tensor::run_backward(&[l], &[&logits], false, false);
            let mag = g[0]
                .abs()
                .sum_dim_intlist([1i64].as_slice(), false, Kind::Double)
                .view([n]);
            let on_fg = mag.narrow(0, 0, fg).sum(Kind::Double).double_value(&[]);
            Ok(on_fg / mag.sum(Kind::Double).double_value(&[]))
        };
        let opts = DiceOptions {
            softmax: true,
            to_onehot_y: true,
            include_background: false,
            ..Default::default()
        };
        dice_share.push(share(&|x| Ok(dice_loss(x, &target, &opts)?))?);
        ce_share.push(share(&|x| {
            Ok(x.log_softmax(1, Kind::Double).nll_loss_nd::<Tensor>(
                &target.squeeze_dim(1),
                None,
                tch::Reduction::Mean,
                -100,
            ))
        })?);
    }
    let pts = |v: &[f64]| fractions.iter().copied().zip(v.iter().copied()).collect();
    let chart = Chart::new(
        "where the gradient goes: share on tumour pixels",
        "tumour fraction of the pixels (log)",
        "share of |∂L/∂logits| on tumour pixels (log)",
    )
    .series(Series::new("Dice", pts(&dice_share)))
    .series(Series::new("cross-entropy", pts(&ce_share)))
    .log_x()
    .log_y();
    let last = fractions.len() - 1;
    Ok(Figure {
        name: "dice-vs-ce",
        image: line_chart(&chart)?,
        caption: format!(
            "at 0.01% tumour, cross-entropy puts {:.3}% of its gradient on tumour pixels, Dice {:.0}%",
            100.0 * ce_share[last],
            100.0 * dice_share[last]
        ),
        numbers: vec![
            ("ce_share_at_1e-4".into(), ce_share[last]),
            ("dice_share_at_1e-4".into(), dice_share[last]),
        ],
    })
}
