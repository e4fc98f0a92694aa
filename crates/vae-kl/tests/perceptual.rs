//! The perceptual reconstruction term (DFC-VAE) and the sharpness measure: hand-computed
//! values, and the term's place in training.

use tch::{Device, Kind, Tensor};
use vae_kl::model::{laplacian_energy, perceptual_features, perceptual_term};

#[test]
fn laplacian_energy_of_a_single_bright_pixel_by_hand() {
    // A 5×5 picture with one pixel at 1: the valid 3×3 Laplacian responds −4 at the pixel and 1
    // at its four neighbours, 0 elsewhere, over 3×3 outputs: (16 + 4·1) / 9.
    let x = Tensor::zeros([1, 1, 5, 5], (Kind::Float, Device::Cpu));
    let _ = x.get(0).get(0).get(2).get(2).fill_(1.0);
    assert!((laplacian_energy(&x) - 20.0 / 9.0).abs() < 1e-6);
    // A flat picture has none, whatever its level.
    assert_eq!(
        laplacian_energy(&(Tensor::ones([2, 1, 6, 6], (Kind::Float, Device::Cpu)) * 0.3)),
        0.0
    );
}

#[test]
fn the_perceptual_term_is_zero_for_a_perfect_reconstruction_and_positive_otherwise() {
    tch::manual_seed(0);
    let features = perceptual_features(Device::Cpu);
    let x = Tensor::rand([3, 1, 28, 28], (Kind::Float, Device::Cpu)) * 0.98 + 0.01;
    let odds: Tensor = &x / (1.0 - &x);
    let logits = odds.log(); // σ(logits) = x exactly
    let zero = perceptual_term(&features, &logits, &x)
        .unwrap()
        .double_value(&[]);
    assert!(zero.abs() < 1e-6, "{zero}");
    let off = perceptual_term(&features, &(&logits + 0.5), &x)
        .unwrap()
        .double_value(&[]);
    assert!(off > 1.0, "{off}");
}

#[test]
fn training_with_the_term_logs_it_and_a_negative_weight_is_refused() {
    let bin = env!("CARGO_BIN_EXE_vae-kl");
    let tmp = tempfile::tempdir().unwrap();
    let smoke = kit::testing::repo_root().join("configs/vae-kl/smoke.yaml");
    let (s, runs) = (smoke.to_string_lossy().to_string(), tmp.path().join("runs"));
    let r = runs.to_string_lossy().to_string();
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "loss.perceptual_weight=-1",
        "loss.perceptual_weight",
        &runs,
    );
    kit::testing::run_ok(
        bin,
        &[
            "train",
            "--config",
            &s,
            "--runs",
            &r,
            "--name",
            "p",
            "--set",
            "loss.perceptual_weight=1",
            "--set",
            "train.device=cpu",
        ],
    );
    let log = std::fs::read_to_string(runs.join("vae-kl/p/metrics.jsonl")).unwrap();
    assert!(log.contains("\"train/perceptual\""), "{log}");
    assert!(log.contains("\"eval/sharpness\""), "{log}");
}
