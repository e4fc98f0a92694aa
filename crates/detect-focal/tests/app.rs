//! detect-focal end to end: generator and COCO format invariants, model shapes and prior
//! init, the loss normalisation against a hand computation, a smoke train that lowers the
//! loss, eval / predict / sweep through the CLI, and bad inputs that fail clearly.

use detect_focal::boxes::{assign, Assignment};
use detect_focal::config::{BoxLoss, Config};
use detect_focal::data::{self, collate, CocoFolder, Targets};
use detect_focal::data::{scene_spec, sources};
use detect_focal::synth::render;
use detect_focal::train::{anchors, giou_loss_sum, DetTask};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn load(name: &str) -> Config {
    kit::testing::load_config("detect-focal", name)
}

fn cli(args: &[&str], paths: &[&Path]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_detect-focal"))
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn scenes_are_seeded_and_positives_are_rare() {
    let cfg = load("default");
    let spec = scene_spec(&cfg);
    assert_eq!(render(1, 7, &spec), render(1, 7, &spec));
    assert_ne!(render(1, 7, &spec).image, render(2, 7, &spec).image);
    let a = anchors(&cfg);
    assert_eq!(a.len(), (16 * 16 + 8 * 8 + 4 * 4) * 9);
    let (mut pos, mut total, mut objects) = (0usize, 0usize, 0usize);
    for i in 0..100 {
        let s = render(3, i, &spec);
        assert!(
            (1..=6).contains(&s.boxes.len()),
            "{} objects",
            s.boxes.len()
        );
        assert_eq!(s.boxes.len(), s.classes.len());
        for b in &s.boxes {
            assert!(b[0] >= 0.0 && b[1] >= 0.0 && b[2] <= 128.0 && b[3] <= 128.0);
            assert!(b[2] - b[0] >= 4.0 && b[3] - b[1] >= 4.0, "{b:?}");
        }
        objects += s.boxes.len();
        let m = assign(&a.boxes, &s.boxes, 0.5, 0.4);
        pos += m
            .iter()
            .filter(|x| matches!(x, Assignment::Positive(_)))
            .count();
        total += m.len();
        // Every object gets at least one anchor.
        for g in 0..s.boxes.len() {
            assert!(m.contains(&Assignment::Positive(g)));
        }
    }
    let frac = pos as f64 / total as f64;
    assert!(frac < 0.01, "positive anchors {frac}");
    assert!(
        (250..=450).contains(&objects),
        "{objects} objects in 100 scenes"
    );
}

#[test]
fn coco_round_trip_and_flip() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = load("smoke");
    let spec = scene_spec(&cfg);
    data::write_synthetic(tmp.path(), 5, 4, 2, &spec).unwrap();
    let f = CocoFolder::open(&tmp.path().join("train"), spec.size, false, 0).unwrap();
    assert_eq!(
        f.class_names,
        ["circle", "triangle", "square", "star", "cross"]
    );
    for i in 0..4 {
        let want = render(5, i as u64, &spec);
        let got = kit::data::Dataset::get(&f, i, 0).unwrap();
        assert_eq!(got.image, want.image);
        assert_eq!(got.classes, want.classes);
        for (a, b) in got.boxes.iter().zip(&want.boxes) {
            for k in 0..4 {
                assert!((a[k] - b[k]).abs() < 1e-3);
            }
        }
    }
    let s = render(5, 0, &spec);
    let f = data::hflip(s.clone());
    let w = spec.size as f32;
    assert_eq!(
        f.boxes[0],
        [
            w - s.boxes[0][2],
            s.boxes[0][1],
            w - s.boxes[0][0],
            s.boxes[0][3]
        ]
    );
    assert_eq!(f.image.get_pixel(0, 3), s.image.get_pixel(spec.size - 1, 3));
}

#[test]
fn model_shapes_and_prior_init() {
    let cfg = load("smoke");
    let (tr, val) = sources(&cfg).unwrap();
    let task = DetTask::new(&cfg, Device::Cpu, tr, val);
    let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    let (cls, reg) = task.net.forward_t(&x, false);
    let a = task.anchors.len() as i64;
    assert_eq!(cls.size(), [2, a, 5]);
    assert_eq!(reg.size(), [2, a, 4]);
    let p = cls.sigmoid().mean(Kind::Float).double_value(&[]);
    assert!((p - 0.01).abs() < 0.002, "mean initial probability {p}");
}

#[test]
fn loss_matches_hand_computation() {
    for box_loss in [BoxLoss::SmoothL1, BoxLoss::Giou] {
        let mut cfg = load("smoke");
        cfg.loss.box_loss = box_loss;
        let (tr, val) = sources(&cfg).unwrap();
        let task = DetTask::new(&cfg, Device::Cpu, tr, val);
        let t = Targets {
            anchors: Arc::new(anchors(&cfg)),
            classes: 5,
            pos_iou: 0.5,
            neg_iou: 0.4,
        };
        let spec = scene_spec(&cfg);
        let b = collate(&t, (0..3).map(|i| render(9, i, &spec)).collect()).unwrap();
        let (n, a) = (3i64, t.anchors.len() as i64);
        // Every logit at logit(π) = log(0.01 / 0.99); all box offsets 0.
        let p = 0.01f64;
        let cls = Tensor::full([n, a, 5], (p / (1.0 - p)).ln(), (Kind::Float, Device::Cpu));
        let reg = Tensor::zeros([n, a, 4], (Kind::Float, Device::Cpu));
        let (total, terms) = task.loss(&cls, &reg, &b).unwrap();
        let n_pos = b.targets.positive.sum(Kind::Float).double_value(&[]);
        let n_valid = b.targets.valid.sum(Kind::Float).double_value(&[]);
        let (al, g) = (0.25, 2.0);
        let fl_pos = al * (1.0 - p).powf(g) * -p.ln();
        let fl_neg = (1.0 - al) * p.powf(g) * -(1.0 - p).ln();
        let want_cls = (n_pos * fl_pos + (n_valid * 5.0 - n_pos) * fl_neg) / n_pos;
        let got_cls = terms[0].1.double_value(&[]);
        assert!(
            (got_cls - want_cls).abs() < 1e-4 * want_cls,
            "{got_cls} vs {want_cls}"
        );
        let got_box = terms[1].1.double_value(&[]);
        let want_box = match box_loss {
            BoxLoss::SmoothL1 => {
                let d: Vec<f32> = Vec::try_from(b.targets.deltas.flatten(0, -1)).unwrap();
                let beta = cfg.loss.smooth_l1_beta;
                d.iter()
                    .map(|&v| {
                        let v = (v as f64).abs();
                        if v < beta {
                            0.5 * v * v / beta
                        } else {
                            v - 0.5 * beta
                        }
                    })
                    .sum::<f64>()
                    / n_pos
            }
            BoxLoss::Giou => {
                // Zero offsets predict the anchors: sum of 1 − GIoU(anchor, matched box).
                let mut sum = 0.0;
                for (i, s) in b.scenes.iter().enumerate() {
                    let _ = i;
                    for m in assign(&t.anchors.boxes, &s.boxes, 0.5, 0.4)
                        .iter()
                        .zip(&t.anchors.boxes)
                    {
                        if let (Assignment::Positive(gi), an) = m {
                            let gt = s.boxes[*gi];
                            let iou = detect_focal::boxes::iou(an, &gt) as f64;
                            let union = (detect_focal::boxes::area(an)
                                + detect_focal::boxes::area(&gt))
                                as f64
                                / (1.0 + iou)
                                * 1.0;
                            let hull = ((an[2].max(gt[2]) - an[0].min(gt[0]))
                                * (an[3].max(gt[3]) - an[1].min(gt[1])))
                                as f64;
                            sum += 1.0 - (iou - (hull - union) / hull);
                        }
                    }
                }
                sum / n_pos
            }
        };
        assert!(
            (got_box - want_box).abs() < 2e-3 * want_box,
            "{box_loss:?}: {got_box} vs {want_box}"
        );
        let want_total = got_cls + cfg.loss.box_weight * got_box;
        assert!((total.double_value(&[]) - want_total).abs() < 1e-5 * want_total);
    }
}

#[test]
fn giou_by_hand() {
    let a = Tensor::from_slice(&[0f32, 0., 1., 1., 0., 0., 2., 2.]).view([2, 4]);
    let b = Tensor::from_slice(&[2f32, 0., 3., 1., 0., 0., 2., 2.]).view([2, 4]);
    // Disjoint unit boxes 1 apart: IoU 0, hull 3, union 2 -> GIoU −1/3, loss 4/3; same box: 0.
    let l = giou_loss_sum(&a, &b).double_value(&[]);
    assert!((l - 4.0 / 3.0).abs() < 1e-5, "{l}");
}

#[test]
fn smoke_train_lowers_loss_then_eval_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = load("smoke");
    cfg.train.epochs = 6;
    tch::manual_seed(0);
    let (tr, val) = sources(&cfg).unwrap();
    let mut task = DetTask::new(&cfg, Device::Cpu, tr, val);
    let t = Targets {
        anchors: task.anchors.clone(),
        classes: 5,
        pos_iou: 0.5,
        neg_iou: 0.4,
    };
    let spec = scene_spec(&cfg);
    let b = collate(
        &t,
        (0..8).map(|i| render(cfg.train.seed, i, &spec)).collect(),
    )
    .unwrap();
    let loss_on = |task: &DetTask| {
        tch::no_grad(|| {
            let (c, r) = task.net.forward_t(&b.images, false);
            task.loss(&c, &r, &b).unwrap().0.double_value(&[])
        })
    };
    let before = loss_on(&task);
    let run = kit::testing::smoke_fit(tmp.path(), "detect-focal", &cfg, &mut task);
    let after = loss_on(&task);
    assert!(after < before * 0.8, "loss {before} -> {after}");

    let (ok, text) = cli(&["eval", "--checkpoint", "last", "--run"], &[&run.root]);
    assert!(
        ok && text.contains("| AP | AP50 | AP75 |") && text.contains("| circle |"),
        "{text}"
    );
    assert!(run.file("eval.json").is_file());

    let ds = tmp.path().join("ds");
    data::write_synthetic(&ds, 5, 2, 1, &spec).unwrap();
    let img = ds.join("val/images/00000.png");
    let (ok, text) = cli(
        &["predict", "--checkpoint", "last", "--run"],
        &[&run.root, &img],
    );
    assert!(ok && text.contains("class      score"), "{text}");
    assert!(run.file("predictions/00000-boxes.png").is_file());
}

#[test]
fn the_gamma_grid_pairs_alpha_with_gamma_and_goes_to_slurm_as_one_array() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = repo().join("configs/detect-focal/sweeps/gamma.yaml");
    let (ok, text) = kit::testing::run_cli(
        env!("CARGO_BIN_EXE_detect-focal"),
        &[
            "sweep",
            "--grid",
            &grid.to_string_lossy(),
            "--seeds",
            "3",
            "--runs",
            &tmp.path().to_string_lossy(),
            "--slurm",
            "--no-submit",
            "--partition",
            "cpu",
        ],
    );
    assert!(
        ok && text.contains("5 grid points × 3 seeds = 15 runs"),
        "{text}"
    );
    let dir = tmp.path().join("detect-focal/sweep-gamma");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    let names: Vec<&str> = plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "gamma=0_alpha=0.75_seed=42");
    assert_eq!(names[14], "gamma=5_alpha=0.25_seed=44");
    assert!(names.contains(&"gamma=0.5_alpha=0.5_seed=43"));
    let sb = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    for want in [
        "#SBATCH --array=0-14\n",
        "#SBATCH --time=01:00:00\n",
        "#SBATCH --partition=cpu\n",
        "#SBATCH --cpus-per-task=2\n",
    ] {
        assert!(sb.contains(want), "missing {want:?}:\n{sb}");
    }
    assert!(!sb.contains("gpus-per-task"), "{sb}");
}

#[test]
fn run_folder_is_self_contained_and_eval_data_needs_only_val() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained(
        env!("CARGO_BIN_EXE_detect-focal"),
        tmp.path(),
        &repo().join("configs/detect-focal/smoke.yaml"),
        16,
        &["train.epochs=1", "train.device=cpu"],
        &["images/00000.png"],
    );
    assert!(
        out.predict.contains("objects") && out.predict.contains("box colours"),
        "{}",
        out.predict
    );
    assert!(
        out.eval.contains("AP") && out.eval.contains("appended to"),
        "{}",
        out.eval
    );
    // The same run's detections in COCO results format, ids from the kept annotations.json.
    let run = tmp.path().join("runs/detect-focal/self-contained");
    let json = tmp.path().join("results.json");
    let p = |x: &Path| x.to_string_lossy().to_string();
    let kept = tmp.path().join("kept");
    kit::testing::run_ok(
        env!("CARGO_BIN_EXE_detect-focal"),
        &[
            "coco-results",
            "--run",
            &p(&run),
            "--data",
            &p(&kept),
            "--out",
            &p(&json),
            "--set",
            "detect.score_threshold=0.001",
        ],
    );
    let results: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ann: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(kept.join("val/annotations.json")).unwrap())
            .unwrap();
    let ids: Vec<u64> = ann["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert!(!results.is_empty(), "no detections were written");
    let threshold = 0.001;
    for r in &results {
        assert!(ids.contains(&r["image_id"].as_u64().unwrap()), "{r}");
        assert!((1..=5).contains(&r["category_id"].as_u64().unwrap()), "{r}");
        assert!(r["score"].as_f64().unwrap() >= threshold, "{r}");
        let b: Vec<f64> = serde_json::from_value(r["bbox"].clone()).unwrap();
        assert!(
            b[2] >= 0.0 && b[3] >= 0.0 && b[0] + b[2] <= 64.01 && b[1] + b[3] <= 64.01,
            "{r}"
        );
    }
}

#[test]
fn every_config_in_the_folder_validates() {
    let n = kit::testing::validate_every_config::<detect_focal::config::Config>("detect-focal");
    assert!(n >= 5, "only {n} configs in configs/detect-focal/");
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_detect-focal"),
        "detect-focal",
        &kit::testing::repo_root().join("configs/detect-focal/smoke.yaml"),
        &[],
    );
}
