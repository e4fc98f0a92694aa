//! vae-kl end to end: sprite invariants, the ELBO terms by hand, the reparameterisation
//! gradient, IW bound vs ELBO, MIG on constructed cases, the β schedule, smoke train with
//! eval / predict from a run whose data is gone, and bad inputs.

use kit::data::Part;
use std::path::PathBuf;
use tch::{Device, Kind, Tensor};
use vae_kl::config::{Anneal, Config, Likelihood};
use vae_kl::data::{self, sprite};
use vae_kl::eval::{iw_log_likelihood, mean_se, mig, IwCheck};
use vae_kl::model::{elbo_parts, kl_per_dim, reconstruction_nll, Vae};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn smoke() -> Config {
    kit::testing::load_config("vae-kl", "smoke")
}

#[test]
fn sprites_are_seeded_and_their_factors_recorded() {
    let a = sprite(1, 5, Part::Train);
    assert_eq!(a, sprite(1, 5, Part::Train));
    assert_ne!(a.pixels, sprite(1, 6, Part::Train).pixels);
    assert_eq!(a.factors.len(), data::SPRITE_FACTORS.len());
    let src = data::Source::Sprites {
        seed: 3,
        len: 200,
        part: Part::Train,
    };
    let all = src.all().unwrap();
    for s in &all {
        let on = s.pixels.iter().filter(|&&p| p == 255).count();
        assert!(on > 10 && on < 500, "a sprite covers {on} pixels");
        assert!(s.factors.iter().all(|f| f.fract() == 0.0 && *f >= 0.0));
    }
    // Every shape occurs, and the shape factor is the label.
    for shape in 0..3 {
        assert!(all
            .iter()
            .any(|s| s.label == shape && s.factors[0] == shape as f64));
    }
}

#[test]
fn elbo_terms_match_hand_computation() {
    // Bernoulli: −log p(x|z) = Σ BCE(logit, x) over pixels.
    let logits = Tensor::from_slice(&[0.0f32, 2.0, -1.0, 0.5]).view([1, 1, 2, 2]);
    let x = Tensor::from_slice(&[1.0f32, 0.0, 0.25, 1.0]).view([1, 1, 2, 2]);
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let bce = |l: f64, t: f64| -(t * sig(l).ln() + (1.0 - t) * (1.0 - sig(l)).ln());
    let want = bce(0.0, 1.0) + bce(2.0, 0.0) + bce(-1.0, 0.25) + bce(0.5, 1.0);
    let mut loss = smoke().loss;
    let got = reconstruction_nll(&logits, &x, &loss).double_value(&[0]);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    // Gaussian with σ = 0.5 around sigmoid(logits).
    loss.likelihood = Likelihood::Gaussian;
    loss.sigma = 0.5;
    let (m, t) = ([0.0, 2.0, -1.0, 0.5].map(sig), [1.0, 0.0, 0.25, 1.0]);
    let sq: f64 = m.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum();
    let want = sq / (2.0 * 0.25) + 4.0 * (0.5f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln());
    let got = reconstruction_nll(&logits, &x, &loss).double_value(&[0]);
    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    // KL(N(μ, σ²) ‖ N(0, 1)) per dimension = ½(μ² + σ² − 1 − log σ²).
    let mu = Tensor::from_slice(&[0.5f64, -1.0]).view([1, 2]);
    let lv = Tensor::from_slice(&[0.0f64, (0.25f64).ln()]).view([1, 2]);
    let kl: Vec<f64> = Vec::try_from(kl_per_dim(&mu, &lv).view([2])).unwrap();
    assert!((kl[0] - 0.125).abs() < 1e-12);
    assert!((kl[1] - 0.5 * (1.0 + 0.25 - 1.0 - 0.25f64.ln())).abs() < 1e-12);
}

#[test]
fn reparameterisation_gives_finite_gradients_and_free_bits_floor_the_kl() {
    let mut cfg = smoke();
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let vae = Vae::new(&vs.root(), &cfg.model);
    let (x, _) = data::collate((0..8).map(|i| sprite(2, i, Part::Train)).collect()).unwrap();
    let p = elbo_parts(&vae, &x, &cfg.loss);
    (&p.recon + &p.kl).backward();
    for (name, v) in vs.variables() {
        let g = v.grad();
        assert!(
            g.defined() && g.isfinite().all().int64_value(&[]) == 1,
            "{name}"
        );
    }
    // Free bits: each dimension's KL counts at least free_bits.
    cfg.loss.free_bits = 5.0;
    let p = tch::no_grad(|| elbo_parts(&vae, &x, &cfg.loss));
    let floor = 5.0 * cfg.model.latent as f64;
    assert!(p.kl_train.double_value(&[]) >= floor - 1e-6);
    assert!(p.kl.double_value(&[]) < floor);
}

#[test]
fn iw_bound_is_above_the_elbo_and_equals_it_at_k_1() {
    let cfg = smoke();
    tch::manual_seed(1);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let vae = Vae::new(&vs.root(), &cfg.model);
    let (x, _) = data::collate((0..4).map(|i| sprite(4, i, Part::Train)).collect()).unwrap();
    tch::no_grad(|| {
        // E[IW_1] = ELBO: both are unbiased single-sample estimates of the same number (at a
        // random init each draw varies by ~80 nats), so compare their means within 4 standard
        // errors of the difference.
        let n = 400;
        let stats = |v: Vec<f64>| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
            (m, var / v.len() as f64)
        };
        let (iw1, se_iw) = stats(
            (0..n)
                .map(|_| {
                    iw_log_likelihood(&vae, &x, 1, &cfg.loss)
                        .mean(Kind::Double)
                        .double_value(&[])
                })
                .collect(),
        );
        let (elbo, se_elbo) = stats(
            (0..n)
                .map(|_| {
                    let p = elbo_parts(&vae, &x, &cfg.loss);
                    -(p.recon + p.kl).double_value(&[])
                })
                .collect(),
        );
        let tol = 4.0 * (se_iw + se_elbo).sqrt();
        assert!(
            (iw1 - elbo).abs() < tol,
            "IW_1 {iw1} vs ELBO {elbo} (±{tol})"
        );
        let iw = iw_log_likelihood(&vae, &x, 500, &cfg.loss)
            .mean(Kind::Double)
            .double_value(&[]);
        assert!(iw >= elbo, "IW_500 {iw} below ELBO {elbo}");
    });
}

#[test]
fn the_iw_check_allows_noise_and_catches_a_bound_below_the_elbo() {
    // A hand case: IW − ELBO per image = 1, 2, 3 → gap 2, SE = 1/√3.
    let c = IwCheck::new(10, &[-9.0, -8.0, -7.0], &[-10.0, -10.0, -10.0]);
    assert!((c.gap - 2.0).abs() < 1e-12 && (c.gap_se - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert!((c.neg_iw_bound - 8.0).abs() < 1e-12 && (c.neg_elbo - 10.0).abs() < 1e-12);
    assert!(c.consistent());
    // k = 1: IW and ELBO are two noisy estimates of the same number. A mean gap slightly below
    // 0 is noise (the old check printed "BOUND BELOW ELBO" about half the time).
    let elbo: Vec<f64> = (0..200).map(|i| -100.0 - (i % 7) as f64).collect();
    let noisy: Vec<f64> = elbo
        .iter()
        .enumerate()
        .map(|(i, e)| e + if i % 2 == 0 { 3.0 } else { -3.1 })
        .collect();
    let c = IwCheck::new(1, &noisy, &elbo);
    assert!(c.gap < 0.0 && c.consistent(), "{c:?}");
    // A bound 1 nat below the ELBO on every image is a bug, whatever the noise.
    let low: Vec<f64> = elbo
        .iter()
        .enumerate()
        .map(|(i, e)| e - 1.0 + 0.1 * (i % 3) as f64)
        .collect();
    let c = IwCheck::new(100, &low, &elbo);
    assert!(!c.consistent(), "{c:?}");
    assert_eq!(mean_se(&[4.0]), (4.0, 0.0));
}

#[test]
fn projector_labels_show_factors_when_there_is_no_class() {
    let names: Vec<String> = ["shape", "scale"].map(String::from).to_vec();
    let with_class = data::Sample {
        pixels: vec![],
        label: 2,
        factors: vec![1.0, 0.5],
    };
    assert_eq!(vae_kl::train::projector_label(&with_class, &names), "2");
    let folder = data::Sample {
        label: -1,
        ..with_class
    };
    assert_eq!(
        vae_kl::train::projector_label(&folder, &names),
        "shape=1 scale=0.5"
    );
}

#[test]
fn mig_on_constructed_cases() {
    // Latent 0 is factor A, latent 1 is factor B, latent 2 is noise: a perfect gap.
    let mut rng = 7u64;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as f64 / (1u64 << 31) as f64
    };
    let (mut mu, mut f) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        let (a, b) = ((i % 4) as f64, ((i / 4) % 5) as f64);
        mu.push(vec![a, b, next()]);
        f.push(vec![a, b]);
    }
    let good = mig(&mu, &f).unwrap();
    assert!(good > 0.9, "disentangled MIG {good}");
    // Both latents carry both factors equally: no gap.
    let mixed: Vec<Vec<f64>> = f
        .iter()
        .map(|r| vec![r[0] * 5.0 + r[1], r[0] * 5.0 + r[1]])
        .collect();
    let bad = mig(&mixed, &f).unwrap();
    assert!(bad < 0.05, "entangled MIG {bad}");
    assert_eq!(mig(&mu, &[]), None);
}

#[test]
fn mig_equals_the_known_mutual_information_at_two_noise_levels() {
    // A binary factor A (uniform), latent 0 = A + u with u uniform on [0, w], latent 1 = u
    // alone (independent of A). For z0 in the overlap [1, w) both values of A are equally
    // likely, elsewhere A is known, so I(z0; A) = H(A) · (1 − (w − 1)/w) = H(A)/w for w ≥ 1,
    // and I(z1; A) = 0: MIG = 1/w exactly. u is evenly spaced (not drawn) and the 20 bins
    // are aligned with 1 and w, so the binned estimate has no bias here: w = 1.5 → 2/3,
    // w = 3 → 1/3. (Un-normalised MI would give 0.46 and 0.23 nats.)
    for (w, want) in [(1.5, 2.0 / 3.0), (3.0, 1.0 / 3.0)] {
        let m = 20_001;
        let (mut mu, mut f) = (Vec::new(), Vec::new());
        for a in [0.0, 1.0] {
            for i in 0..m {
                let u = w * i as f64 / (m - 1) as f64;
                mu.push(vec![a + u, u]);
                f.push(vec![a]);
            }
        }
        let got = mig(&mu, &f).unwrap();
        assert!((got - want).abs() < 2e-3, "w = {w}: MIG {got}, want {want}");
    }
}

#[test]
fn beta_schedules() {
    let mut l = smoke().loss;
    l.beta = 2.0;
    l.anneal_steps = 100;
    l.anneal = Anneal::Linear;
    assert_eq!(
        (l.beta_at(0), l.beta_at(50), l.beta_at(500)),
        (0.0, 1.0, 2.0)
    );
    l.anneal = Anneal::Cyclical;
    assert_eq!(
        (l.beta_at(25), l.beta_at(60), l.beta_at(125)),
        (1.0, 2.0, 1.0)
    );
    l.anneal = Anneal::None;
    assert_eq!(l.beta_at(0), 2.0);
}

#[test]
fn smoke_train_lowers_the_loss_and_the_run_is_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained_split(
        env!("CARGO_BIN_EXE_vae-kl"),
        tmp.path(),
        &repo().join("configs/vae-kl/smoke.yaml"),
        128,
        &["train.epochs=3", "train.device=cpu"],
        &["00000.png", "00001.png"],
        "test",
    );
    assert!(out.predict.contains("−ELBO"), "{}", out.predict);
    assert!(
        out.eval.contains("active units")
            && out.eval.contains("bound ≥ ELBO within noise")
            && out.eval.contains(" ± "),
        "{}",
        out.eval
    );
    // The loss fell: the last logged −ELBO is below the first.
    let jsonl =
        std::fs::read_to_string(tmp.path().join("runs/vae-kl/self-contained/metrics.jsonl"))
            .unwrap();
    let elbos: Vec<f64> = jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("train/neg_elbo").and_then(|x| x.as_f64()))
        .collect();
    assert!(
        elbos.len() >= 2 && elbos[elbos.len() - 1] < elbos[0] * 0.9,
        "{elbos:?}"
    );
}

#[test]
fn bad_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("imgs");
    std::fs::create_dir_all(&dir).unwrap();
    let msg = data::read_folder(&dir).unwrap_err().to_string();
    assert!(msg.contains("imgs") && msg.contains("no .png"), "{msg}");
    data::write_sprites(tmp.path(), 1, 4, 2).unwrap();
    let train = tmp.path().join("train");
    let csv = train.join("factors.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replace("00002.png,", "00002.png,x")).unwrap();
    let msg = data::read_folder(&train).unwrap_err().to_string();
    assert!(
        msg.contains("factors.csv:4") && msg.contains("not a number"),
        "{msg}"
    );
    std::fs::write(&csv, &text).unwrap();
    std::fs::write(train.join("00001.png"), b"not a png").unwrap();
    let msg = data::read_folder(&train).unwrap_err().to_string();
    assert!(msg.contains("00001.png"), "{msg}");
    // 00001.png is gone but still listed in factors.csv (line 3).
    std::fs::remove_file(train.join("00001.png")).unwrap();
    let msg = data::read_folder(&train).unwrap_err().to_string();
    assert!(
        msg.contains("factors.csv:3") && msg.contains("not found"),
        "{msg}"
    );
    let runs = tmp.path().join("runs");
    let bin = env!("CARGO_BIN_EXE_vae-kl");
    let smoke = repo().join("configs/vae-kl/smoke.yaml");
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "model.latent=0",
        "model.latent",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(bin, &smoke, "loss.beta=-1", "loss.beta", &runs);
}

#[test]
fn every_config_in_the_folder_validates() {
    let n = kit::testing::validate_every_config::<vae_kl::config::Config>("vae-kl");
    assert!(n >= 8, "only {n} configs in configs/vae-kl/");
}

#[test]
fn three_splits_training_selects_on_validation_and_eval_reads_test() {
    use kit::data::Dataset;
    let cfg = smoke();
    let (tr, va, te, _) = data::splits(&cfg.data, 7).unwrap();
    assert_eq!(
        (va.len(), te.len()),
        (cfg.data.test_size, cfg.data.test_size)
    );
    let first = |s: &data::Source| s.get(0, 0).unwrap().pixels;
    assert_ne!(first(&tr), first(&va));
    assert_ne!(first(&va), first(&te));
    // A folder without val/: a seeded 10% of train/ is held out, test/ untouched.
    let tmp = tempfile::tempdir().unwrap();
    data::write_sprites(tmp.path(), 1, 20, 4).unwrap();
    std::fs::remove_dir_all(tmp.path().join("val")).unwrap();
    let mut d = cfg.data.clone();
    d.source = tmp.path().to_string_lossy().to_string();
    let (tr, va, te, names) = data::splits(&d, 1).unwrap();
    assert_eq!((tr.len(), va.len(), te.len()), (18, 2, 4));
    assert_eq!(names.len(), 5);
    // A run on it records in meta.json how its validation split was made.
    let runs = tmp.path().join("runs");
    let smoke = repo().join("configs/vae-kl/smoke.yaml");
    let source = format!("data.source={}", tmp.path().display());
    kit::testing::run_ok(
        env!("CARGO_BIN_EXE_vae-kl"),
        &[
            "train",
            "--config",
            &smoke.to_string_lossy(),
            "--runs",
            &runs.to_string_lossy(),
            "--name",
            "m",
            "--set",
            &source,
            "--set",
            "train.batch_size=6",
            "--set",
            "train.max_steps=2",
            "--set",
            "train.device=cpu",
        ],
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs.join("vae-kl/m/meta.json")).unwrap())
            .unwrap();
    let note = meta["validation"].as_str().unwrap_or_default();
    assert!(
        note.contains("2 of 20") && note.contains("seed 42"),
        "{meta}"
    );
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_vae-kl"),
        "vae-kl",
        &kit::testing::repo_root().join("configs/vae-kl/smoke.yaml"),
        &[],
    );
}
