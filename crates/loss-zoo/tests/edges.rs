//! The numerically nasty edges users hit, decoders on hand-made cases, and argument errors.

mod common;
use common::*;
use loss_zoo::{arcface, chamfer, ctc, dice, kl, LossError, Reduction};
use tch::{Device, Kind, Tensor};

const CPU_F64: (Kind, Device) = (Kind::Double, Device::Cpu);

#[test]
fn arcface_cos_plus_minus_one_is_finite() {
    for kind in [Kind::Float, Kind::Double] {
        let cos = Tensor::from_slice(&[1.0f64, -1.0, 0.3, -1.0, 1.0, 0.0])
            .view([2, 3])
            .to_kind(kind)
            .set_requires_grad(true);
        let labels = Tensor::from_slice(&[0i64, 0]);
        let m = arcface::MarginConfig::arcface();
        let out = arcface::margin_logits(&cos, &labels, &m).unwrap();
        out.log_softmax(1, kind).sum(kind).backward();
        assert_eq!(out.isfinite().all().int64_value(&[]), 1, "{kind:?} values");
        assert_eq!(
            cos.grad().isfinite().all().int64_value(&[]),
            1,
            "{kind:?} gradients"
        );
        // cos = 1 -> θ = 0 -> s·cos(m) (row 0); cos = −1 -> θ = π (row 1) -> s·cos(π + m) = −s·cos(m).
        let tol = if kind == Kind::Double { 1e-4 } else { 2e-2 };
        let want = 64.0 * 0.5f64.cos();
        assert!(
            (out.double_value(&[0, 0]) - want).abs() < tol,
            "{}",
            out.double_value(&[0, 0])
        );
        assert!(
            (out.double_value(&[1, 0]) + want).abs() < tol,
            "{}",
            out.double_value(&[1, 1])
        );
    }
}

#[test]
fn arcface_head_shapes_and_errors() {
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let head = arcface::ArcFaceHead::new(&vs.root(), 8, 5, arcface::MarginConfig::arcface());
    let emb = Tensor::randn([4, 8], (Kind::Float, Device::Cpu));
    let labels = Tensor::from_slice(&[0i64, 1, 2, 4]);
    let logits = head.forward(&emb, &labels).unwrap();
    assert_eq!(logits.size(), [4, 5]);
    // Non-target entries are s·cos, bounded by s.
    assert!(head.cosine(&emb).abs().max().double_value(&[]) <= 1.0 + 1e-6);
    let err = head
        .forward(&Tensor::randn([4, 7], (Kind::Float, Device::Cpu)), &labels)
        .unwrap_err();
    assert!(
        err.to_string().contains("embeddings") && err.to_string().contains("(N, 8)"),
        "{err}"
    );
    let err = arcface::margin_logits(
        &head.cosine(&emb),
        &Tensor::from_slice(&[0i64, 1]),
        &head.margin,
    )
    .unwrap_err();
    assert!(
        matches!(err, LossError::Shape { arg: "labels", .. }),
        "{err}"
    );
}

/// −log Σ over all alignments, by enumerating every path of length T (independent of ATen).
fn ctc_brute_force(lp: &Tensor, target: &[i64]) -> f64 {
    let (t, c) = (lp.size()[0], lp.size()[1]);
    let mut total = 0.0;
    let paths = (c as u64).pow(t as u32);
    for code in 0..paths {
        let mut path = Vec::new();
        let mut k = code;
        for _ in 0..t {
            path.push((k % c as u64) as i64);
            k /= c as u64;
        }
        let mut collapsed = Vec::new();
        let mut prev = -1;
        for &s in &path {
            if s != prev && s != 0 {
                collapsed.push(s);
            }
            prev = s;
        }
        if collapsed == target {
            total += path
                .iter()
                .enumerate()
                .map(|(i, &s)| lp.double_value(&[i as i64, s]))
                .sum::<f64>()
                .exp();
        }
    }
    -total.ln()
}

#[test]
fn ctc_matches_brute_force_and_handles_edges() {
    tch::manual_seed(3);
    let lp = Tensor::randn([5, 1, 3], CPU_F64).log_softmax(2, Kind::Double);
    let one = |target: &[i64], il: i64, zi: bool| {
        let tl = Tensor::from_slice(&[target.len() as i64]);
        let padded = if target.is_empty() {
            Tensor::zeros([1, 1], (Kind::Int64, Device::Cpu))
        } else {
            Tensor::from_slice(target).view([1, -1])
        };
        ctc::ctc_loss(
            &lp.narrow(0, 0, il),
            &padded,
            &Tensor::from_slice(&[il]),
            &tl,
            &loss_zoo::ctc::CtcOptions {
                blank: 0,
                reduction: Reduction::Sum,
                zero_infinity: zi,
            },
        )
        .unwrap()
        .double_value(&[])
    };
    let lp2 = lp.squeeze_dim(1);
    for target in [vec![1i64, 2], vec![1, 1], vec![2], vec![]] {
        let want = ctc_brute_force(&lp2, &target);
        let got = one(&target, 5, false);
        assert!(
            (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "{target:?}: {got} vs {want}"
        );
    }
    // Empty target: only the all-blank path.
    let blank_only: f64 = -(0..5).map(|t| lp2.double_value(&[t, 0])).sum::<f64>();
    assert!((one(&[], 5, false) - blank_only).abs() < 1e-12);
    // Infeasible: 1 1 needs 3 frames (1 − 1).
    assert_eq!(one(&[1, 1], 2, false), f64::INFINITY);
    assert_eq!(one(&[1, 1], 2, true), 0.0);
}

#[test]
fn ctc_padded_and_concatenated_targets_agree() {
    tch::manual_seed(4);
    let lp = Tensor::randn([10, 3, 5], CPU_F64).log_softmax(2, Kind::Double);
    let padded = Tensor::from_slice(&[1i64, 2, 3, 4, 0, 0, 2, 2, 0]).view([3, 3]);
    let concat = Tensor::from_slice(&[1i64, 2, 3, 4, 2, 2]);
    let il = Tensor::from_slice(&[10i64, 8, 9]);
    let tl = Tensor::from_slice(&[3i64, 1, 2]);
    let a = ctc::ctc_loss(
        &lp,
        &padded,
        &il,
        &tl,
        &loss_zoo::ctc::CtcOptions {
            blank: 0,
            reduction: Reduction::None,
            zero_infinity: false,
        },
    )
    .unwrap();
    let b = ctc::ctc_loss(
        &lp,
        &concat,
        &il,
        &tl,
        &loss_zoo::ctc::CtcOptions {
            blank: 0,
            reduction: Reduction::None,
            zero_infinity: false,
        },
    )
    .unwrap();
    assert_close(&a, &b, "padded vs concatenated");
    let err = ctc::ctc_loss(
        &lp,
        &Tensor::from_slice(&[1i64, 2]),
        &il,
        &tl,
        &loss_zoo::ctc::CtcOptions {
            blank: 0,
            reduction: Reduction::None,
            zero_infinity: false,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("targets") && err.to_string().contains("sum of target_lengths"),
        "{err}"
    );
    let err = ctc::ctc_loss(
        &lp.squeeze_dim(1).narrow(1, 0, 1),
        &padded,
        &il,
        &tl,
        &loss_zoo::ctc::CtcOptions {
            blank: 0,
            reduction: Reduction::None,
            zero_infinity: false,
        },
    );
    assert!(err.is_err());
}

fn frames(path: &[i64], classes: i64) -> Tensor {
    // Log-probabilities that put 0.9 on the given class of each frame.
    let t = path.len() as i64;
    let p = Tensor::full([t, 1, classes], 0.1 / (classes - 1) as f64, CPU_F64);
    for (i, &c) in path.iter().enumerate() {
        let _ = p.get(i as i64).get(0).get(c).fill_(0.9);
    }
    p.log()
}

#[test]
fn decoders_on_hand_made_cases() {
    // The seed's example: 2 2 2 2 2 0 0 0 2 2 2 2 5 5 5 5 -> 2025 (classes 0..9 shifted by one,
    // blank = 10 here so that the digit 0 is a symbol).
    let path: Vec<i64> = [2, 2, 2, 2, 2, 10, 10, 10, 2, 2, 2, 2, 5, 5, 5, 5].to_vec();
    let path: Vec<i64> = path
        .into_iter()
        .enumerate()
        .map(|(i, c)| if (5..8).contains(&i) { 0 } else { c })
        .collect();
    // frames: 2 2 2 2 2 | 0 0 0 | 2 2 2 2 | 5 5 5 5 with blank = 10 never emitted -> "2025"
    let lp = frames(&path, 11);
    assert_eq!(
        ctc::greedy_decode(&lp, None, 10).unwrap(),
        vec![vec![2, 0, 2, 5]]
    );
    assert_eq!(
        ctc::beam_search_decode(&lp, None, 4, 10).unwrap(),
        vec![vec![2, 0, 2, 5]]
    );
    // Where prefix beam search beats best path: two frames of p(blank)=0.6, p(a)=0.4.
    // Best path is blank blank (""), but P("a") = 0.4·0.6 + 0.6·0.4 + 0.4·0.4 = 0.64 > 0.36.
    let lp = Tensor::from_slice(&[0.6f64, 0.4, 0.6, 0.4])
        .view([2, 1, 2])
        .log();
    assert_eq!(
        ctc::greedy_decode(&lp, None, 0).unwrap(),
        vec![Vec::<i64>::new()]
    );
    assert_eq!(
        ctc::beam_search_decode(&lp, None, 3, 0).unwrap(),
        vec![vec![1]]
    );
    // Input lengths cut the frames considered.
    let lp = frames(&[1, 0, 1, 2], 3);
    let il = Tensor::from_slice(&[2i64]);
    assert_eq!(
        ctc::greedy_decode(&lp, Some(&il), 0).unwrap(),
        vec![vec![1]]
    );
}

#[test]
fn dice_empty_masks() {
    // Empty target, empty prediction: MONAI's smoothing gives (0 + 1e-5) / (0 + 1e-5) -> loss 0.
    let pred = Tensor::zeros([1, 1, 8, 8], CPU_F64);
    let target = Tensor::zeros([1, 1, 8, 8], CPU_F64);
    let l = dice::dice_loss(&pred, &target, &dice::DiceOptions::default()).unwrap();
    assert!(l.double_value(&[]).abs() < 1e-12);
    // A batch where one sample has an empty mask stays finite, with finite gradients.
    let logits = Tensor::randn([2, 2, 8, 8], CPU_F64).set_requires_grad(true);
    let labels = Tensor::zeros([2, 1, 8, 8], (Kind::Int64, Device::Cpu));
    let _ = labels.get(0).get(0).get(3).get(3).fill_(1);
    let opts = dice::DiceOptions {
        softmax: true,
        to_onehot_y: true,
        include_background: false,
        ..Default::default()
    };
    let l = dice::dice_ce_loss(&logits, &labels, &opts, 1.0, 1.0).unwrap();
    l.backward();
    assert!(l.double_value(&[]).is_finite());
    assert_eq!(logits.grad().isfinite().all().int64_value(&[]), 1);
    let err = dice::dice_loss(
        &logits,
        &Tensor::zeros([2, 1, 8, 8], (Kind::Int64, Device::Cpu)).fill_(5),
        &opts,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("target") && err.to_string().contains("0..2"),
        "{err}"
    );
}

#[test]
fn kl_zero_probabilities_and_reductions() {
    let logq = Tensor::from_slice(&[0.5f64, 0.25, 0.25, 0.1, 0.1, 0.8])
        .view([2, 3])
        .log()
        .set_requires_grad(true);
    let p = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 0.0, 0.5, 0.5]).view([2, 3]);
    let none = kl::kl_div(&logq, &p, Reduction::None, false).unwrap();
    assert_eq!(none.double_value(&[0, 1]), 0.0);
    assert_eq!(none.double_value(&[1, 0]), 0.0);
    // Row sums by hand: log(1/0.5) and 0.5·log(0.5/0.1) + 0.5·log(0.5/0.8).
    let row1 = 0.5 * (5.0f64).ln() + 0.5 * (0.625f64).ln();
    let sum = kl::kl_div(&logq, &p, Reduction::Sum, false).unwrap();
    assert!((sum.double_value(&[]) - (2f64.ln() + row1)).abs() < 1e-12);
    let bm = kl::kl_div(&logq, &p, Reduction::BatchMean, false)
        .unwrap()
        .double_value(&[]);
    let mean = kl::kl_div(&logq, &p, Reduction::Mean, false)
        .unwrap()
        .double_value(&[]);
    assert!((bm - sum.double_value(&[]) / 2.0).abs() < 1e-12);
    assert!(
        (mean - sum.double_value(&[]) / 6.0).abs() < 1e-12,
        "Mean averages over all elements"
    );
    sum.backward();
    assert_eq!(logq.grad().isfinite().all().int64_value(&[]), 1);
    // The VAE term is 0 exactly at the prior.
    let z = Tensor::zeros([4, 3], CPU_F64);
    assert_eq!(
        kl::gaussian_kl(&z, &z, Reduction::Mean)
            .unwrap()
            .double_value(&[]),
        0.0
    );
}

#[test]
fn chamfer_sizes_padding_and_chunks() {
    tch::manual_seed(5);
    // Different sizes, and more points than one chunk.
    let x = Tensor::randn([2, chamfer::CHUNK + 300, 3], CPU_F64);
    let y = Tensor::randn([2, 700, 3], CPU_F64);
    let got = chamfer::chamfer_distance(
        &x,
        &y,
        None,
        None,
        &loss_zoo::chamfer::ChamferOptions {
            point_reduction: Default::default(),
            batch_reduction: Reduction::Mean,
            single_directional: false,
        },
    )
    .unwrap();
    let want = chamfer::chamfer_distance_bruteforce(&x, &y);
    assert_close(&got, &want, "chunked vs brute force");
    // A padded cloud with lengths equals the unpadded cloud.
    let a = Tensor::randn([1, 5, 3], CPU_F64);
    let b = Tensor::randn([1, 4, 3], CPU_F64);
    let a_pad = Tensor::cat(&[&a, &Tensor::full([1, 3, 3], 100.0, CPU_F64)], 1);
    let b_pad = Tensor::cat(&[&b, &Tensor::full([1, 2, 3], -100.0, CPU_F64)], 1);
    let l = |t: i64| Tensor::from_slice(&[t]);
    let padded = chamfer::chamfer_distance(
        &a_pad,
        &b_pad,
        Some(&l(5)),
        Some(&l(4)),
        &loss_zoo::chamfer::ChamferOptions {
            point_reduction: Default::default(),
            batch_reduction: Reduction::Mean,
            single_directional: false,
        },
    )
    .unwrap();
    assert_close(
        &padded,
        &chamfer::chamfer_distance_bruteforce(&a, &b),
        "padded vs unpadded",
    );
    let err = chamfer::chamfer_distance(
        &a,
        &Tensor::randn([1, 4, 2], CPU_F64),
        None,
        None,
        &loss_zoo::chamfer::ChamferOptions {
            point_reduction: Default::default(),
            batch_reduction: Reduction::Mean,
            single_directional: false,
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("`y`"), "{err}");
}

#[test]
fn dice_one_channel_softmax_or_onehot_is_an_error() {
    // MONAI warns and skips the softmax; a silent all-ones prediction trains nothing, so here
    // it is an error that says what to do instead.
    let logits = Tensor::randn([2, 1, 4, 4], CPU_F64);
    let labels = Tensor::zeros([2, 1, 4, 4], (Kind::Int64, Device::Cpu));
    for opts in [
        dice::DiceOptions {
            softmax: true,
            ..Default::default()
        },
        dice::DiceOptions {
            to_onehot_y: true,
            ..Default::default()
        },
    ] {
        let msg = dice::dice_loss(&logits, &labels, &opts)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("1 channel") && msg.contains("sigmoid"),
            "{msg}"
        );
    }
    // Sigmoid on one channel with a binary target is the supported binary form.
    let ok = dice::DiceOptions {
        sigmoid: true,
        ..Default::default()
    };
    assert!(dice::dice_loss(&logits, &labels.to_kind(Kind::Double), &ok).is_ok());
}

#[test]
fn dice_ce_parts_add_up_to_the_loss() {
    let logits = Tensor::randn([2, 3, 4, 4], CPU_F64);
    let labels = Tensor::randint(3, [2, 1, 4, 4], (Kind::Int64, Device::Cpu));
    let opts = dice::DiceOptions {
        softmax: true,
        to_onehot_y: true,
        ..Default::default()
    };
    let p = dice::dice_ce_parts(&logits, &labels, &opts, 0.7, 1.3).unwrap();
    let total = dice::dice_ce_loss(&logits, &labels, &opts, 0.7, 1.3).unwrap();
    let d = dice::dice_loss(&logits, &labels, &opts).unwrap();
    assert_close(&p.total, &total, "total");
    assert_close(&p.dice, &d, "dice part");
    assert_close(&(&p.dice * 0.7 + &p.ce * 1.3), &total, "weighted sum");
}

#[test]
fn nearest_sq_distances_match_brute_force() {
    let x = Tensor::rand([2, 1500, 3], CPU_F64);
    let y = Tensor::rand([2, 700, 3], CPU_F64);
    let got = chamfer::nearest_sq_distances(&x, &y).unwrap();
    let all = (x.unsqueeze(2) - y.unsqueeze(1))
        .pow_tensor_scalar(2)
        .sum_dim_intlist([-1i64].as_slice(), false, Kind::Double);
    let (want, _) = all.min_dim(2, false);
    assert_eq!(got.size(), [2, 1500]);
    assert!((got - want).abs().max().double_value(&[]) < 1e-12);
    assert!(chamfer::nearest_sq_distances(&x, &Tensor::rand([2, 0, 3], CPU_F64)).is_err());
}
