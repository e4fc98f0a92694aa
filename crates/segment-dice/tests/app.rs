//! segment-dice end to end: data invariants, model shapes, a smoke train that lowers the loss,
//! predict on the saved checkpoint, and bad inputs that fail clearly.

use kit::checkpoint::Checkpoint;
use kit::data::Dataset;
use segment_dice::config::Config;
use segment_dice::data;
use segment_dice::data::sources;
use segment_dice::model::UNet;
use segment_dice::synth::{self, render};
use segment_dice::train::SegTask;
use std::path::PathBuf;
use std::process::Command;
use tch::{Device, Kind, Tensor};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn smoke() -> Config {
    kit::testing::load_config("segment-dice", "smoke")
}

/// The tumour-size axis: over 600 slices of 128×128 the share of tumour pixels is the one asked
/// for within 12% of it (the per-slice area factor in [½, 2] and 1–3 tumours give a sampling
/// spread of a few %), and the share of empty slices within 6 points.
#[test]
fn generator_hits_the_requested_tumour_fraction() {
    for (fraction, empty_share) in [(0.02, 0.3), (0.001, 1.0 / 3.0), (0.0002, 0.5)] {
        let t = synth::Tumours {
            fraction: Some(fraction),
            empty_share: Some(empty_share),
        };
        let slices: Vec<_> = (0..600).map(|i| synth::render_with(9, i, 128, t)).collect();
        let pixels: usize = slices.iter().map(|s| s.tumour_pixels()).sum();
        let got = pixels as f64 / (600.0 * 128.0 * 128.0);
        assert!(
            (got / fraction - 1.0).abs() < 0.12,
            "asked {fraction}, got {got}"
        );
        let empty = slices.iter().filter(|s| s.tumour_pixels() == 0).count() as f64 / 600.0;
        assert!(
            (empty - empty_share).abs() < 0.06,
            "asked {empty_share} empty, got {empty}"
        );
    }
    // No fraction asked: the default set, bit for bit.
    assert_eq!(
        synth::render_with(3, 5, 64, synth::Tumours::default()),
        render(3, 5, 64)
    );
}

#[test]
fn generator_is_seeded_and_imbalanced() {
    assert_eq!(render(1, 7, 64), render(1, 7, 64));
    assert_ne!(render(1, 7, 64), render(2, 7, 64));
    let slices: Vec<_> = (0..150).map(|i| render(3, i, 128)).collect();
    let empty = slices.iter().filter(|s| s.tumour_pixels() == 0).count();
    assert!(
        (30..=70).contains(&empty),
        "about a third empty, got {empty}/150"
    );
    for s in &slices {
        assert_eq!((s.image.len(), s.mask.len()), (128 * 128, 128 * 128));
        let frac = s.tumour_pixels() as f64 / (128.0 * 128.0);
        assert!(
            frac == 0.0 || (0.0002..0.03).contains(&frac),
            "tumour fraction {frac}"
        );
    }
}

#[test]
fn unet_shapes() {
    let cfg = smoke();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let net = UNet::new(&vs.root(), &cfg.model);
    let y = net.forward_t(
        &Tensor::zeros([3, 1, 64, 64], (Kind::Float, Device::Cpu)),
        false,
    );
    assert_eq!(y.size(), [3, 2, 64, 64]);
}

#[test]
fn smoke_train_lowers_loss_then_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.train.epochs = 4;
    tch::manual_seed(0);
    let (tr, val) = sources(&cfg).unwrap();
    let mut task = SegTask::new(&cfg, Device::Cpu, tr, val);
    let (x, y) = data::collate(
        (0..8)
            .map(|i| render(cfg.train.seed, i, 64).into())
            .collect(),
    )
    .unwrap();
    let loss_on = |t: &SegTask| {
        tch::no_grad(|| {
            t.loss(&t.net.forward_t(&x, false), &y)
                .unwrap()
                .0
                .double_value(&[])
        })
    };
    let before = loss_on(&task);
    let run = kit::testing::smoke_fit(tmp.path(), "segment-dice", &cfg, &mut task);
    let after = loss_on(&task);
    assert!(after < before * 0.9, "loss {before} -> {after}");

    // predict with the saved checkpoint through the CLI.
    let ds = tmp.path().join("ds");
    data::write_synthetic(&ds, 5, 4, 2, 64, Default::default()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_segment-dice"))
        .args(["predict", "--checkpoint", "last", "--run"])
        .arg(&run.root)
        .arg(ds.join("val/images/00000.png"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("tumour area") && stdout.contains("Dice vs true mask"),
        "{stdout}"
    );
    assert!(run.file("predictions/00000-overlay.png").is_file());
    assert!(run.file("predictions/00000-mask.png").is_file());
    Checkpoint::read(&run.best()).unwrap();
}

#[test]
fn missing_or_mismatched_mask_names_both_files() {
    let tmp = tempfile::tempdir().unwrap();
    data::write_synthetic(tmp.path(), 1, 3, 1, 32, Default::default()).unwrap();
    let train = tmp.path().join("train");
    std::fs::remove_file(train.join("masks/00001.png")).unwrap();
    let msg = data::Folder::open(&train, false, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("masks/00001.png") && msg.contains("images/00001.png"),
        "{msg}"
    );
    // A 16×16 mask for a 32×32 image.
    let small = image::GrayImage::new(16, 16);
    small.save(train.join("masks/00001.png")).unwrap();
    let msg = data::read_pair(
        &train.join("images/00001.png"),
        &train.join("masks/00001.png"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("masks/00001.png")
            && msg.contains("images/00001.png")
            && msg.contains("(16, 16)"),
        "{msg}"
    );
    // A non-square slice says so (it used to contrast two equal sizes).
    image::GrayImage::new(48, 64)
        .save(train.join("images/00001.png"))
        .unwrap();
    image::GrayImage::new(48, 64)
        .save(train.join("masks/00001.png"))
        .unwrap();
    let msg = data::read_pair(
        &train.join("images/00001.png"),
        &train.join("masks/00001.png"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("images/00001.png") && msg.contains("48×64") && msg.contains("not square"),
        "{msg}"
    );
    std::fs::write(train.join("images/00002.png"), b"garbage").unwrap();
    let msg = data::read_pair(
        &train.join("images/00002.png"),
        &train.join("masks/00002.png"),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("images/00002.png"), "{msg}");
}

#[test]
fn binary_255_masks_are_read_and_bad_values_or_sizes_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    data::write_synthetic(tmp.path(), 1, 3, 1, 32, Default::default()).unwrap();
    let train = tmp.path().join("train");
    // Rewrite mask 0 as 0/255 (what mask tools and our own predict write): read as 0/1.
    let m0 = train.join("masks/00000.png");
    let orig = data::read_pair(&train.join("images/00000.png"), &m0).unwrap();
    let scaled: Vec<u8> = orig
        .mask
        .iter()
        .map(|&v| if v > 0 { 255 } else { 0 })
        .collect();
    image::GrayImage::from_raw(32, 32, scaled)
        .unwrap()
        .save(&m0)
        .unwrap();
    let again = data::read_pair(&train.join("images/00000.png"), &m0).unwrap();
    assert_eq!(again.mask, orig.mask);

    let mut folder = data::Folder::open(&train, false, 0).unwrap();
    folder.size = Some(32);
    folder.classes = Some(2);
    assert!(folder.get(0, 0).is_ok());
    // A mask value beyond model.classes names the mask file and the key.
    image::GrayImage::from_pixel(32, 32, image::Luma([7]))
        .save(train.join("masks/00001.png"))
        .unwrap();
    let msg = folder.get(1, 0).unwrap_err().to_string();
    assert!(
        msg.contains("masks/00001.png") && msg.contains("model.classes"),
        "{msg}"
    );
    // A slice of another size names the image and data.size.
    folder.size = Some(64);
    let msg = folder.get(0, 0).unwrap_err().to_string();
    assert!(
        msg.contains("images/00000.png") && msg.contains("data.size"),
        "{msg}"
    );
}

#[test]
fn invalid_hyper_parameters_name_the_key_before_a_folder_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let smoke = repo().join("configs/segment-dice/default.yaml");
    for (set, key) in [
        ("model.classes=1", "model.classes"),
        ("data.size=36", "data.size"),
        ("loss.gamma=-1", "loss.gamma"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_segment-dice"))
            .args(["train", "--set", set, "--config"])
            .arg(&smoke)
            .arg("--runs")
            .arg(tmp.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(&format!("`{key}`")),
            "{err}"
        );
        assert!(
            !tmp.path().join("segment-dice").exists(),
            "{set}: folder created"
        );
    }
}

#[test]
fn run_folder_is_self_contained_and_eval_data_needs_only_val() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained(
        env!("CARGO_BIN_EXE_segment-dice"),
        tmp.path(),
        &repo().join("configs/segment-dice/default.yaml"),
        16,
        &["train.epochs=1", "train.device=cpu"],
        &["images/00000.png"],
    );
    assert!(out.predict.contains("tumour area"), "{}", out.predict);
    assert!(
        out.eval.contains("Dice") && out.eval.contains("appended to"),
        "{}",
        out.eval
    );
}

#[test]
fn wrong_config_key_is_reported_by_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("configs/segment-dice/default.yaml")).unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, text.replace("  lambda_ce:", "  lamda_ce:")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_segment-dice"))
        .args(["train", "--config"])
        .arg(&bad)
        .arg("--runs")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("bad.yaml:") && stderr.contains("lamda_ce"),
        "{stderr}"
    );
}

#[test]
fn every_config_in_the_folder_validates() {
    let n = kit::testing::validate_every_config::<segment_dice::config::Config>("segment-dice");
    assert!(n >= 6, "only {n} configs in configs/segment-dice/");
}

#[test]
fn eval_reads_a_test_split_that_training_never_saw() {
    let cfg = smoke();
    let (tr, val) = sources(&cfg).unwrap();
    let test = segment_dice::data::test_source(&cfg).unwrap();
    assert_eq!(test.len(), val.len());
    for i in 0..3 {
        let t = test.get(i, 0).unwrap().image;
        assert_ne!(t, val.get(i, 0).unwrap().image);
        assert_ne!(t, tr.get(i, 0).unwrap().image);
    }
    // synth writes the three splits; eval --data prefers test/.
    let tmp = tempfile::tempdir().unwrap();
    data::write_synthetic(tmp.path(), 1, 4, 2, 32, Default::default()).unwrap();
    assert!(tmp.path().join("test/masks/00001.png").is_file());
    assert_eq!(
        kit::cli::held_out_split(tmp.path(), kit::cli::Split::Test),
        tmp.path().join("test")
    );
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_segment-dice"),
        "segment-dice",
        &kit::testing::repo_root().join("configs/segment-dice/smoke.yaml"),
        &[],
    );
}
