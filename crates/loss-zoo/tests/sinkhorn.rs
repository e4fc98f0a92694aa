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
