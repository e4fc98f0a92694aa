//! face-verify end to end: renderer and split invariants, shapes, a smoke train that lowers
//! the loss, eval + predict + embed on the saved checkpoint, and bad inputs.

use face_verify::config::Config;
use face_verify::data::{self, FaceRef};
use face_verify::model::{Backbone, Head};
use face_verify::synth::{render, Identity};
use face_verify::train::FaceTask;
use kit::data::Part;
use std::path::PathBuf;
use std::process::Command;
use tch::{Device, Kind, Tensor};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn smoke() -> Config {
    kit::testing::load_config("face-verify", "smoke")
}

#[test]
fn renderer_and_split_invariants() {
    let p = Identity::new(1, 5);
    assert_eq!(p, Identity::new(1, 5));
    assert_eq!(p, Identity::with_spread(1, 5, 1.0));
    // Look-alikes: two people drawn from a tenth of each range render closer than at full range.
    let gap = |spread: f32| -> f64 {
        let (a, b) = (
            Identity::with_spread(1, 5, spread),
            Identity::with_spread(1, 6, spread),
        );
        let (ia, ib) = (render(&a, 1, 3, 32, 0.0), render(&b, 1, 3, 32, 0.0));
        ia.as_raw()
            .iter()
            .zip(ib.as_raw())
            .map(|(&x, &y)| (x as f64 - y as f64).abs())
            .sum()
    };
    assert!(gap(0.1) < gap(1.0), "{} vs {}", gap(0.1), gap(1.0));
    assert_ne!(p, Identity::new(1, 6));
    assert_eq!(render(&p, 1, 3, 32, 1.0), render(&p, 1, 3, 32, 1.0));
    assert_ne!(render(&p, 1, 3, 32, 1.0), render(&p, 1, 4, 32, 1.0));
    let cfg = smoke();
    let s = data::synthetic_split(&cfg.data, 42);
    let train_ids: std::collections::HashSet<u64> = s
        .train
        .iter()
        .map(|(r, _)| match r {
            FaceRef::Synthetic { id, .. } => *id,
            _ => unreachable!(),
        })
        .collect();
    for (a, b, same) in &s.pairs {
        let (FaceRef::Synthetic { id: ia, .. }, FaceRef::Synthetic { id: ib, .. }) = (a, b) else {
            unreachable!()
        };
        assert!(
            !train_ids.contains(ia) && !train_ids.contains(ib),
            "pair uses a training identity"
        );
        assert_eq!(ia == ib, *same);
    }
    assert_eq!(s.pairs.iter().filter(|p| p.2).count(), s.pairs.len() / 2);
    assert_eq!(
        s.train.len(),
        cfg.data.train_identities * cfg.data.images_per_identity
    );
}

#[test]
fn shapes() {
    let cfg = smoke();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let bb = Backbone::new(&vs.root(), &cfg.model);
    let e = bb.forward_t(
        &Tensor::zeros([4, 3, 32, 32], (Kind::Float, Device::Cpu)),
        false,
    );
    assert_eq!(e.size(), [4, cfg.model.embedding]);
    let head = Head::new(&(vs.root() / "h"), &cfg.head, cfg.model.embedding, 12);
    assert_eq!(
        head.logits(&e, &Tensor::from_slice(&[0i64, 1, 2, 3]))
            .unwrap()
            .size(),
        [4, 12]
    );
}

#[test]
fn smoke_train_lowers_loss_then_eval_predict_embed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.train.epochs = 6;
    tch::manual_seed(0);
    let split = data::synthetic_split(&cfg.data, cfg.train.seed);
    let fixed: Vec<(Vec<f32>, i64)> = split
        .train
        .iter()
        .take(16)
        .map(|(r, l)| {
            let img = data::load_face(r, &cfg.data, cfg.train.seed).unwrap();
            (
                kit::images::normalise_planar(img.as_raw(), 3, &[0.5; 3], &[0.5; 3]),
                *l,
            )
        })
        .collect();
    let (x, y) = data::collate(fixed).unwrap();
    // The batch is the stacked per-image tensors, as embed_refs builds them.
    let first =
        data::to_tensor(&data::load_face(&split.train[0].0, &cfg.data, cfg.train.seed).unwrap());
    assert!(x.get(0).equal(&first));
    let mut task = FaceTask::new(&cfg, Device::Cpu, split);
    let loss_on = |t: &FaceTask| {
        tch::no_grad(|| {
            t.head
                .logits(&t.backbone.forward_t(&x, false), &y)
                .unwrap()
                .cross_entropy_for_logits(&y)
                .double_value(&[])
        })
    };
    let before = loss_on(&task);
    let run = kit::testing::smoke_fit(tmp.path(), "face-verify", &cfg, &mut task);
    let after = loss_on(&task);
    assert!(after < before * 0.8, "loss {before} -> {after}");
    assert!(run.file("projector_config.pbtxt").is_file());

    let bin = env!("CARGO_BIN_EXE_face-verify");
    let ds = tmp.path().join("ds");
    data::write_synthetic(&ds, &cfg.data, 3).unwrap();
    let out = Command::new(bin)
        .args(["eval", "--checkpoint", "last", "--run"])
        .arg(&run.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("AUC"));
    // Cosine and the Euclidean distance of unnormalised features, both measured.
    assert!(
        stdout.contains("| cosine of the features |")
            && stdout.contains("| −Euclidean distance, unnormalised features |"),
        "{stdout}"
    );
    assert!(run.file("norms-last.png").is_file());
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.file("eval.json")).unwrap()).unwrap();
    let report = &all[all.as_array().map_or(0, |a| a.len().saturating_sub(1))];
    let auc = report
        .pointer("/report/euclidean_unnormalised/auc")
        .and_then(|v| v.as_f64());
    assert!(auc.is_some_and(|a| (0.0..=1.0).contains(&a)), "{report}");
    let a = ds.join("train/00000/0000.png");
    let b = ds.join("train/00000/0001.png");
    // `eval` on test never writes predict's threshold (it would be fitted on the pairs it
    // reports); `eval --split val` chooses it, and a later test eval reports accuracy at it.
    assert!(!run.file("threshold-last.json").exists());
    let eval = |split: &str| {
        let out = Command::new(bin)
            .args(["eval", "--checkpoint", "last", "--split", split, "--run"])
            .arg(&run.root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    eval("val");
    let chosen = std::fs::read_to_string(run.file("threshold-last.json")).unwrap();
    let stdout = eval("test");
    assert!(stdout.contains("(chosen on validation)"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(run.file("threshold-last.json")).unwrap(),
        chosen
    );
    // A threshold belongs to its checkpoint: eval of `last` must not feed predict with `best`.
    let out = Command::new(bin)
        .args(["predict", "--checkpoint", "best", "--run"])
        .arg(&run.root)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("threshold-best.json"),
        "{stderr}"
    );
    let out = Command::new(bin)
        .args(["predict", "--checkpoint", "last", "--run"])
        .arg(&run.root)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("cosine similarity")
            && (stdout.contains("same person") || stdout.contains("different people")),
        "{stdout}"
    );
    let out = Command::new(bin)
        .args(["embed", "--checkpoint", "last", "--run"])
        .arg(&run.root)
        .arg(ds.join("train/00000"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(run.file("embeddings.csv")).unwrap();
    assert_eq!(csv.lines().count(), cfg.data.images_per_identity);
    assert_eq!(
        csv.lines().next().unwrap().split(',').count(),
        1 + cfg.model.embedding as usize
    );
}

#[test]
fn run_folder_is_self_contained_and_eval_data_needs_only_pairs() {
    use kit::testing::run_ok;
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_face-verify");
    let p = |x: &std::path::Path| x.to_string_lossy().to_string();
    let (ds, runs, kept) = (
        tmp.path().join("ds"),
        tmp.path().join("runs"),
        tmp.path().join("kept"),
    );
    let smoke = p(&repo().join("configs/face-verify/smoke.yaml"));
    run_ok(bin, &["synth", "--out", &p(&ds), "--config", &smoke]);
    let source = format!("data.source={}", p(&ds));
    run_ok(
        bin,
        &[
            "train",
            "--config",
            &smoke,
            "--runs",
            &p(&runs),
            "--name",
            "r",
            "--set",
            &source,
            "--set",
            "train.epochs=1",
            "--set",
            "train.device=cpu",
        ],
    );
    // Keep only the verification part (test/ + pairs.txt); the training identities are gone.
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::rename(ds.join("test"), kept.join("test")).unwrap();
    std::fs::rename(ds.join("pairs.txt"), kept.join("pairs.txt")).unwrap();
    std::fs::remove_dir_all(&ds).unwrap();
    let run = p(&runs.join("face-verify/r"));
    let pairs = std::fs::read_to_string(kept.join("pairs.txt")).unwrap();
    let first: Vec<&str> = pairs.lines().next().unwrap().split_whitespace().collect();
    let (a, b) = (p(&kept.join(first[0])), p(&kept.join(first[1])));
    let out = run_ok(bin, &["predict", "--run", &run, &a, &b]);
    assert!(out.contains("cosine similarity"), "{out}");
    let out = run_ok(bin, &["eval", "--run", &run, "--data", &p(&kept)]);
    assert!(out.contains("AUC") && out.contains("appended to"), "{out}");
    // All pairs among the files of pairs.txt, identities from their folders: genuine pairs exist.
    let line = out
        .lines()
        .find(|l| l.starts_with("all pairs among"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains(" genuine, ") && !line.contains("(0 genuine"),
        "{line}"
    );
    assert!(out.contains("| 1e-4 |"), "{out}");
    let (ok, out) = kit::testing::run_cli(bin, &["predict", "--run", &run, &a]);
    assert!(!ok && out.contains("exactly two images"), "{out}");
}

#[test]
fn bad_pairs_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke();
    data::write_synthetic(tmp.path(), &cfg.data, 1).unwrap();
    let s = data::folder_split(tmp.path(), 1, Part::Test).unwrap();
    assert_eq!(s.classes as usize, cfg.data.train_identities);
    let pairs = tmp.path().join("pairs.txt");
    let text = std::fs::read_to_string(&pairs).unwrap();
    std::fs::write(&pairs, format!("{text}a.png b.png maybe\n")).unwrap();
    let msg = data::folder_split(tmp.path(), 1, Part::Test)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(&format!("pairs.txt:{}", text.lines().count() + 1)),
        "{msg}"
    );
    // An empty pairs.txt (it used to panic in torch.cat) and only same-person pairs.
    for body in [
        "".to_string(),
        text.lines()
            .filter(|l| l.ends_with(" 1"))
            .map(|l| format!("{l}\n"))
            .collect(),
    ] {
        std::fs::write(&pairs, body).unwrap();
        let msg = data::folder_split(tmp.path(), 1, Part::Test)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("pairs.txt") && msg.contains("different-person"),
            "{msg}"
        );
    }
    std::fs::write(&pairs, "test/nope.png test/nope2.png 1\n").unwrap();
    let msg = data::folder_split(tmp.path(), 1, Part::Test)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("pairs.txt:1") && msg.contains("nope.png"),
        "{msg}"
    );
    let bad = tmp.path().join("train/00000/0000.png");
    std::fs::write(&bad, b"garbage").unwrap();
    let msg = data::load_face(&FaceRef::File(bad), &cfg.data, 0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("0000.png"), "{msg}");
}

#[test]
fn invalid_hyper_parameters_name_the_key_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (bin, runs) = (env!("CARGO_BIN_EXE_face-verify"), tmp.path().join("runs"));
    let smoke = repo().join("configs/face-verify/smoke.yaml");
    kit::testing::assert_invalid_before_any_write(bin, &smoke, "head.m=-0.5", "head.m", &runs);
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "data.train_identities=1",
        "data.train_identities",
        &runs,
    );
}

#[test]
fn every_config_in_the_folder_validates() {
    let n = kit::testing::validate_every_config::<face_verify::config::Config>("face-verify");
    assert!(n >= 6, "only {n} configs in configs/face-verify/");
}

#[test]
fn test_pairs_use_people_seen_neither_in_training_nor_in_validation() {
    let cfg: Config = kit::testing::load_config("face-verify", "smoke");
    let d = &cfg.data;
    let ids = |s: &data::Split| -> std::collections::BTreeSet<u64> {
        s.pairs
            .iter()
            .flat_map(|(a, b, _)| [a, b])
            .map(|r| match r {
                FaceRef::Synthetic { id, .. } => *id,
                FaceRef::File(_) => u64::MAX,
            })
            .collect()
    };
    let (val, test) = (
        data::synthetic_split(d, 1),
        data::synthetic_test_split(d, 1),
    );
    let (v, t) = (ids(&val), ids(&test));
    let nt = d.train_identities as u64;
    assert!(
        v.iter().chain(&t).all(|&i| i >= nt),
        "a pair uses a training identity"
    );
    assert!(v.is_disjoint(&t), "validation and test pairs share people");
    assert_eq!(test.pairs.len(), val.pairs.len());
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_face-verify"),
        "face-verify",
        &kit::testing::repo_root().join("configs/face-verify/smoke.yaml"),
        &[],
    );
}
