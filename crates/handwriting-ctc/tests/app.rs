//! handwriting-ctc end to end: renderer invariants, model shapes, a smoke train that lowers
//! the CTC loss, predict on the saved checkpoint, MNIST import, and bad inputs.

use handwriting_ctc::batch::collate;
use handwriting_ctc::config::Config;
use handwriting_ctc::data;
use handwriting_ctc::glyphs;
use handwriting_ctc::model::{frames, Crnn};
use handwriting_ctc::synth::{render, HEIGHT};
use handwriting_ctc::train::{min_frames, CtcTask};
use kit::data::{rng_for, Dataset};
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Device, Kind, Tensor};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn smoke() -> Config {
    kit::testing::load_config("handwriting-ctc", "smoke")
}

#[test]
fn run_folder_is_self_contained_and_eval_data_needs_only_val() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained(
        env!("CARGO_BIN_EXE_handwriting-ctc"),
        tmp.path(),
        &repo().join("configs/handwriting-ctc/smoke.yaml"),
        32,
        &["train.epochs=1", "train.device=cpu", "train.batch_size=8"],
        &["images/00000.png"],
    );
    assert!(out.predict.contains("frames:"), "{}", out.predict);
    assert!(
        out.eval.contains("CER") && out.eval.contains("appended to"),
        "{}",
        out.eval
    );
}

#[test]
fn renderer_is_seeded_and_width_grows_with_text() {
    let a = render("2025", &mut rng_for(1, 0, 0));
    assert_eq!(a, render("2025", &mut rng_for(1, 0, 0)));
    assert_eq!(a.pixels.len(), (a.width * HEIGHT) as usize);
    let short: u32 = (0..20)
        .map(|i| render("12", &mut rng_for(2, 0, i)).width)
        .sum();
    let long: u32 = (0..20)
        .map(|i| render("12345678", &mut rng_for(2, 0, i)).width)
        .sum();
    assert!(long > 3 * short, "{short} vs {long}");
    // Every character of both configs' alphabets can be written and leaves ink.
    for c in "abcdefghijklmnopqrstuvwxyz0123456789".chars() {
        assert!(glyphs::strokes(c).is_some(), "{c}");
        let l = render(&c.to_string(), &mut rng_for(3, 0, 0));
        assert!(
            l.pixels.iter().filter(|&&p| p > 128).count() > 10,
            "{c} has no ink"
        );
    }
}

#[test]
fn model_emits_a_frame_per_four_pixels() {
    let cfg = smoke();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let net = Crnn::new(&vs.root(), &cfg.model, 11);
    let lp = net.forward_t(
        &Tensor::zeros([3, 1, 32, 100], (Kind::Float, Device::Cpu)),
        &[100, 100, 100],
        false,
    );
    assert_eq!(lp.size(), [frames(100), 3, 11]);
    // Log-probabilities: each frame sums to 1.
    let s = lp
        .exp()
        .sum_dim_intlist([2i64].as_slice(), false, Kind::Float);
    assert!((s - 1.0).abs().max().double_value(&[]) < 1e-5);
    assert_eq!(min_frames(&[1, 2, 2, 3]), 5);
    assert_eq!(min_frames(&[]), 0);
}

#[test]
fn smoke_train_lowers_ctc_loss_then_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.train.epochs = 6;
    tch::manual_seed(0);
    let (tr, val) = data::sources(&cfg.data, cfg.train.seed).unwrap();
    let fixed = collate((0..16).map(|i| tr.get(i, 0).unwrap()).collect()).unwrap();
    let mut task = CtcTask::new(&cfg, Device::Cpu, tr, val);
    let loss_on = |t: &CtcTask| {
        tch::no_grad(|| {
            let (lp, il) = t.forward(&fixed, false);
            let tl = Tensor::from_slice(&fixed.target_lengths);
            loss_zoo::ctc::ctc_loss(
                &lp,
                &fixed.targets,
                &il,
                &tl,
                &loss_zoo::ctc::CtcOptions {
                    blank: 0,
                    reduction: loss_zoo::Reduction::Mean,
                    zero_infinity: false,
                },
            )
            .unwrap()
            .double_value(&[])
        })
    };
    let before = loss_on(&task);
    let run = kit::testing::smoke_fit(tmp.path(), "handwriting-ctc", &cfg, &mut task);
    let after = loss_on(&task);
    assert!(after < before * 0.8, "CTC loss {before} -> {after}");

    // `eval --split val` scores the split training selected on: the best checkpoint's CER
    // there is the lowest CER training logged; the default reports test, and eval.json says so.
    let logged: Vec<f64> = std::fs::read_to_string(run.file("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["eval/cer"].as_f64())
        .collect();
    let best_val = logged.iter().cloned().fold(f64::INFINITY, f64::min);
    let root = run.root.to_string_lossy().to_string();
    let bin = env!("CARGO_BIN_EXE_handwriting-ctc");
    kit::testing::run_ok(bin, &["eval", "--run", &root, "--split", "val"]);
    kit::testing::run_ok(bin, &["eval", "--run", &root]);
    let evals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.file("eval.json")).unwrap()).unwrap();
    let val_cer = evals[0]["report"]["greedy"]["cer"].as_f64().unwrap();
    assert!(
        (val_cer - best_val).abs() < 1e-6,
        "{val_cer} vs logged {logged:?}"
    );
    assert!(
        evals[0]["split"]
            .as_str()
            .unwrap()
            .starts_with("validation"),
        "{evals}"
    );
    assert_eq!(evals[1]["split"], "test", "{evals}");

    let ds = tmp.path().join("ds");
    data::write_synthetic(&ds, &cfg.data, 9, 2, 1).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_handwriting-ctc"))
        .args(["predict", "--checkpoint", "last", "--run"])
        .arg(&run.root)
        .arg(ds.join("train/images/00000.png"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("frames:"))
        .unwrap();
    assert!(frames_line.contains('-'), "{stdout}");
    assert!(run.file("predictions/00000-alignment.png").is_file());
}

#[test]
fn folder_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke();
    data::write_synthetic(tmp.path(), &cfg.data, 1, 3, 1).unwrap();
    let train = tmp.path().join("train");
    let alphabet = cfg.data.alphabet();
    assert_eq!(data::read_folder(&train, &alphabet).unwrap().len(), 3);
    let tsv = train.join("labels.tsv");
    let text = std::fs::read_to_string(&tsv).unwrap();
    std::fs::write(&tsv, format!("{text}images/00000.png\t12x4\n")).unwrap();
    let msg = data::read_folder(&train, &alphabet)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("labels.tsv:4") && msg.contains("'x'"), "{msg}");
    std::fs::write(&tsv, "images/missing.png\t12\n").unwrap();
    let msg = data::read_folder(&train, &alphabet)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("labels.tsv:1") && msg.contains("missing.png"),
        "{msg}"
    );
    std::fs::write(train.join("images/00001.png"), b"not a png").unwrap();
    std::fs::write(&tsv, "images/00001.png\t12\n").unwrap();
    let src = data::read_folder(&train, &alphabet).unwrap();
    let msg = src.get(0, 0).unwrap_err().to_string();
    assert!(msg.contains("00001.png"), "{msg}");
}

#[test]
fn labels_too_long_for_every_image_name_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke();
    data::write_synthetic(tmp.path(), &cfg.data, 1, 4, 2).unwrap();
    for split in ["train", "val"] {
        let tsv = tmp.path().join(split).join("labels.tsv");
        let text = std::fs::read_to_string(&tsv).unwrap();
        let long: String = text
            .lines()
            .map(|l| format!("{}\t{}\n", l.split('\t').next().unwrap(), "12".repeat(200)))
            .collect();
        std::fs::write(&tsv, long).unwrap();
    }
    let p = |x: &Path| x.to_string_lossy().to_string();
    let smoke = repo().join("configs/handwriting-ctc/smoke.yaml");
    let (ok, out) = kit::testing::run_cli(
        env!("CARGO_BIN_EXE_handwriting-ctc"),
        &[
            "train",
            "--config",
            &p(&smoke),
            "--runs",
            &p(&tmp.path().join("runs")),
            "--set",
            &format!("data.source={}", p(tmp.path())),
            "--set",
            "train.device=cpu",
            "--set",
            "train.batch_size=4",
        ],
    );
    assert!(
        !ok && out.contains("too narrow") && out.contains("00000.png") && out.contains("needs 400"),
        "{out}"
    );
}

#[test]
fn mnist_import_and_disjoint_split() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("digits");
    std::fs::create_dir_all(&src).unwrap();
    for d in 0..10 {
        // Five images per digit, each filled with the value (d + k) / 20.
        let data: Vec<f64> = (0..5)
            .flat_map(|k| std::iter::repeat_n((d + k) as f64 / 20.0, 784))
            .collect();
        std::fs::write(
            src.join(format!("{d}.json")),
            serde_json::json!({ "data": data }).to_string(),
        )
        .unwrap();
    }
    let out = tmp.path().join("mnist");
    assert_eq!(data::import_mnist(&src, &out).unwrap(), 50);
    let (train, val) = data::read_mnist(&out).unwrap();
    assert_eq!((train[3].len(), val[3].len()), (4, 1));
    assert!(
        !train[3].contains(&val[3][0]),
        "a validation image is also in training"
    );
    // The held-out digits split again for validation and test lines: disjoint halves.
    let held: data::DigitPool = vec![vec![vec![1u8], vec![2], vec![3], vec![4]]];
    let (v, t) = data::halves(held);
    assert_eq!(
        (v[0].clone(), t[0].clone()),
        (vec![vec![1u8], vec![2]], vec![vec![3u8], vec![4]])
    );
    std::fs::write(src.join("4.json"), "{\"data\": [0.5, 0.5]}").unwrap();
    let msg = data::import_mnist(&src, &out).unwrap_err().to_string();
    assert!(msg.contains("4.json") && msg.contains("784"), "{msg}");
}

#[test]
fn dark_ink_on_light_paper_is_detected_and_inverted() {
    use handwriting_ctc::config::Ink;
    let line = render("2025", &mut rng_for(3, 0, 0));
    let light = image::GrayImage::from_raw(line.width, HEIGHT, line.pixels.clone()).unwrap();
    let mut scan = light.clone();
    image::imageops::invert(&mut scan); // what a scanner gives: dark ink, light paper
    let (a, inv_a) = data::line_from_image(light.clone(), Ink::Auto);
    let (b, inv_b) = data::line_from_image(scan.clone(), Ink::Auto);
    assert!(!inv_a && inv_b);
    assert_eq!(
        a.pixels, b.pixels,
        "auto should read the scan like the original"
    );
    // Forced polarities do what they say.
    assert!(data::line_from_image(scan.clone(), Ink::Dark).1);
    let (c, inv_c) = data::line_from_image(scan, Ink::Light);
    assert!(!inv_c && c.pixels != a.pixels);
}

#[test]
fn a_digit_class_with_one_image_is_a_named_error() {
    let tmp = tempfile::tempdir().unwrap();
    for d in 0..10 {
        let n = if d == 7 { 1 } else { 5 };
        std::fs::write(tmp.path().join(format!("{d}.u8")), vec![0u8; 784 * n]).unwrap();
    }
    let msg = data::read_mnist(tmp.path()).err().unwrap().to_string();
    assert!(msg.contains("7.u8") && msg.contains("digit 7"), "{msg}");
}

#[test]
fn padding_never_changes_a_transcript_or_its_log_probabilities() {
    // A short line alone, and in a batch padded to a line three times as long: the CNN masks
    // and the packed GRU make every frame's log-probabilities identical.
    let cfg = smoke();
    tch::manual_seed(5);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let net = Crnn::new(&vs.root(), &cfg.model, 11);
    let mut rng = rng_for(9, 0, 0);
    let short = render("12", &mut rng);
    let long = render("34567890", &mut rng);
    let sample = |line: handwriting_ctc::synth::Line| data::Sample {
        line,
        label: vec![1],
        name: "x".into(),
    };
    let alone = collate(vec![sample(short.clone())]).unwrap();
    let both = collate(vec![sample(long), sample(short.clone())]).unwrap();
    assert!(both.images.size()[3] > alone.images.size()[3] * 2);
    let t = frames(short.width as i64);
    let a = net
        .forward_t(&alone.images, &alone.widths, false)
        .narrow(0, 0, t);
    let b = net
        .forward_t(&both.images, &both.widths, false)
        .narrow(1, 1, 1)
        .narrow(0, 0, t);
    let diff = (a - b).abs().max().double_value(&[]);
    assert!(
        diff < 1e-4,
        "log-probabilities differ by {diff} between alone and batched"
    );
}

#[test]
fn invalid_hyper_parameters_name_the_key_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (bin, runs) = (
        env!("CARGO_BIN_EXE_handwriting-ctc"),
        tmp.path().join("runs"),
    );
    let smoke = repo().join("configs/handwriting-ctc/smoke.yaml");
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "data.alphabet=\"\"",
        "data.alphabet",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "data.min_len=0",
        "data.min_len",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "train.batch_size=0",
        "train.batch_size",
        &runs,
    );
}

/// The framewise-CE baseline's targets for hand-made labels: "335" over 7 frames splits
/// 3 / 2 / 2 and blanks the first frame of the repeated 3; "12" over 6 frames is 3 + 3.
#[test]
fn uniform_alignment_of_hand_made_labels() {
    use handwriting_ctc::train::uniform_alignment;
    assert_eq!(uniform_alignment(&[3, 3, 5], 7), vec![3, 3, 3, 0, 3, 5, 5]);
    assert_eq!(uniform_alignment(&[1, 2], 6), vec![1, 1, 1, 2, 2, 2]);
    assert_eq!(uniform_alignment(&[4], 3), vec![4, 4, 4]);
}

#[test]
fn every_config_in_the_folder_validates() {
    let n =
        kit::testing::validate_every_config::<handwriting_ctc::config::Config>("handwriting-ctc");
    assert!(n >= 5, "only {n} configs in configs/handwriting-ctc/");
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_handwriting-ctc"),
        "handwriting-ctc",
        &kit::testing::repo_root().join("configs/handwriting-ctc/smoke.yaml"),
        &[],
    );
}
