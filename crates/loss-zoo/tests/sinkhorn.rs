//! Sinkhorn-EMD against the exact assignment (brute force over permutations) and its gradient
//! on a case whose optimal matching is known.

use loss_zoo::sinkhorn::{emd_bruteforce, sinkhorn_emd, SinkhornOptions};
use loss_zoo::{LossError, Reduction};
use rand::{Rng, SeedableRng};
use tch::{Device, Kind, Tensor};

fn cloud(rng: &mut rand_chacha::ChaCha8Rng, n: usize) -> Vec<[f64; 3]> {
    (0..n)
        .map(|_| [rng.random(), rng.random(), rng.random()])
        .collect()
}

fn tensor(p: &[[f64; 3]]) -> Tensor {
    let flat: Vec<f64> = p.iter().flatten().copied().collect();
    Tensor::from_slice(&flat).view([1, p.len() as i64, 3])
}

#[test]
fn close_to_the_exact_assignment_within_the_entropic_bias() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for eps in [0.02, 0.005] {
        for _ in 0..5 {
            let (x, y) = (cloud(&mut rng, 6), cloud(&mut rng, 6));
            let exact = emd_bruteforce(&x, &y);
            let opts = SinkhornOptions {
                epsilon: eps,
                iters: 2000,
                reduction: Reduction::None,
            };
            let got = sinkhorn_emd(&tensor(&x), &tensor(&y), &opts)
                .unwrap()
                .double_value(&[0]);
            let bias = eps * 6f64.ln();
            // After finitely many iterations the row marginals are off by a little, so the
            // plan may undercut the exact cost by that much (1e-4 here).
            assert!(
                got >= exact - 1e-4 && got <= exact + bias + 1e-6,
                "ε = {eps}: sinkhorn {got}, exact {exact}, allowed bias {bias}"
            );
        }
    }
}

#[test]
fn a_translated_shuffled_copy_costs_the_squared_shift_and_pulls_by_it() {
    // y = permutation of x shifted by δ: the best matching pairs x_i with its own shifted
    // copy, so EMD = ‖δ‖² and d EMD / d x_i = −2δ / n.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let x = cloud(&mut rng, 8);
    let delta = [0.05, -0.02, 0.03];
    let mut y: Vec<[f64; 3]> = x
        .iter()
        .map(|p| [p[0] + delta[0], p[1] + delta[1], p[2] + delta[2]])
        .collect();
    y.rotate_left(3);
    let xt = tensor(&x).set_requires_grad(true);
    let opts = SinkhornOptions {
        epsilon: 1e-3,
        iters: 500,
        reduction: Reduction::Mean,
    };
    let loss = sinkhorn_emd(&xt, &tensor(&y), &opts).unwrap();
    let want: f64 = delta.iter().map(|d| d * d).sum();
    assert!((loss.double_value(&[]) - want).abs() < 1e-4, "{loss}");
    loss.backward();
    let g = xt.grad();
    for i in 0..8 {
        for (k, d) in delta.iter().enumerate() {
            let got = g.double_value(&[0, i, k as i64]);
            assert!(
                (got + 2.0 * d / 8.0).abs() < 1e-3,
                "point {i} axis {k}: {got}"
            );
        }
    }
}

#[test]
fn unequal_sizes_batches_and_errors() {
    let x = Tensor::rand([3, 10, 3], (Kind::Float, Device::Cpu));
    let y = Tensor::rand([3, 25, 3], (Kind::Float, Device::Cpu));
    let opts = SinkhornOptions {
        reduction: Reduction::None,
        ..Default::default()
    };
    let v = sinkhorn_emd(&x, &y, &opts).unwrap();
    assert_eq!(v.size(), [3]);
    assert_eq!(v.isfinite().all().int64_value(&[]), 1);
    let err = sinkhorn_emd(
        &x,
        &Tensor::rand([2, 5, 3], (Kind::Float, Device::Cpu)),
        &opts,
    )
    .unwrap_err();
    assert!(matches!(err, LossError::Shape { arg: "y", .. }), "{err}");
    let bad = SinkhornOptions {
        epsilon: 0.0,
        ..opts
    };
    assert!(sinkhorn_emd(&x, &y, &bad).is_err());
}

/// Plain log-domain Sinkhorn, written out: the reference for the stabilised kernel-domain
/// iterations (same fixed point, same iteration count).
fn log_domain(x: &Tensor, y: &Tensor, eps: f64, iters: usize) -> Tensor {
    let c = (x.unsqueeze(2) - y.unsqueeze(1))
        .pow_tensor_scalar(2)
        .sum_dim_intlist([-1i64].as_slice(), false, x.kind());
    let (p1, p2) = (x.size()[1], y.size()[1]);
    let (la, lb) = (-(p1 as f64).ln(), -(p2 as f64).ln());
    let mut g = Tensor::zeros([x.size()[0], 1, p2], (x.kind(), Device::Cpu));
    let mut f = Tensor::zeros([x.size()[0], p1, 1], (x.kind(), Device::Cpu));
    for _ in 0..iters {
        f = -((&g - &c) / eps + lb).logsumexp([2i64].as_slice(), true) * eps;
        g = -((&f - &c) / eps + la).logsumexp([1i64].as_slice(), true) * eps;
    }
    let plan = ((f + g - &c) / eps + la + lb).exp();
    (plan * c).sum_dim_intlist([1i64, 2].as_slice(), false, x.kind())
}

#[test]
fn stabilised_iterations_reach_the_log_domain_fixed_point() {
    // Far-apart clouds and a small ε: exp(−C/ε) underflows in float32, the case the
    // stabilisation is for.
    tch::manual_seed(1);
    for (eps, shift) in [(1e-3, 0.0), (1e-3, 2.0), (0.05, 0.5)] {
        let x = Tensor::rand([2, 40, 3], (Kind::Float, Device::Cpu));
        let y = Tensor::rand([2, 70, 3], (Kind::Float, Device::Cpu)) + shift;
        let opts = SinkhornOptions {
            epsilon: eps,
            iters: 300,
            reduction: Reduction::None,
        };
        let got = sinkhorn_emd(&x, &y, &opts).unwrap();
        let want = log_domain(&x.to_kind(Kind::Double), &y.to_kind(Kind::Double), eps, 300);
        for i in 0..2 {
            let (g, w) = (got.double_value(&[i]), want.double_value(&[i]));
            assert!(
                (g - w).abs() <= 1e-3 * w.abs().max(1e-2),
                "ε {eps}, shift {shift}: {g} vs {w}"
            );
        }
    }
}
