//! mix-match end to end: configs, head shapes, heads that are off, a smoke train that lowers
//! the combined loss (fixed and uncertainty weighting), eval and predict through the CLI from
//! the run folder alone, and bad configs that fail before anything is written.

use kit::checkpoint::Checkpoint;
use mix_match::config::{Config, Weighting, Which};
use mix_match::data::{self, sources, Targets};
use mix_match::synth::{render, CLASSES};
use mix_match::train::{anchors, MixTask};
use std::path::PathBuf;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

const BIN: &str = env!("CARGO_BIN_EXE_mix-match");

fn smoke() -> Config {
    kit::testing::load_config("mix-match", "smoke")
}

fn config_path(name: &str) -> PathBuf {
    kit::testing::repo_root().join(format!("configs/mix-match/{name}.yaml"))
}

#[test]
fn every_config_validates() {
    assert!(kit::testing::validate_every_config::<Config>("mix-match") >= 3);
}

#[test]
fn heads_have_the_shapes_of_their_targets_and_off_heads_are_not_built() {
    let cfg = smoke();
    let (tr, val) = sources(&cfg).unwrap();
    let task = MixTask::new(&cfg, Device::Cpu, tr, val);
    let x = Tensor::zeros([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let o = tch::no_grad(|| task.forward(&x, None, false));
    let a = anchors(&cfg).len() as i64;
    assert_eq!(a, 4 * 4 * 9, "a 4×4 grid at stride 8, 3 ratios × 3 scales");
    let (cls, reg) = o.detect.unwrap();
    assert_eq!((cls.size(), reg.size()), (vec![2, a, 5], vec![2, a, 4]));
    assert_eq!(o.segment.unwrap().size(), [2, 2, 32, 32]);
    let (mu, logvar, z, logits) = o.generate.unwrap();
    assert_eq!(
        (mu.size(), logvar.size(), z.size()),
        (vec![2, 8], vec![2, 8], vec![2, 8])
    );
    assert_eq!(logits.size(), [2, 3, 32, 32]);

    let mut only = smoke();
    only.tasks.detect.weight = 0.0;
    only.tasks.generate.weight = 0.0;
    assert_eq!(only.tasks.active(), [Which::Segment]);
    let (tr, val) = sources(&only).unwrap();
    let t = MixTask::new(&only, Device::Cpu, tr, val);
    assert!(t.net.detect.is_none() && t.net.generate.is_none() && t.net.segment.is_some());
    assert!(t
        .vs
        .variables()
        .keys()
        .all(|k| !k.starts_with("detect") && !k.starts_with("generate")));
}

/// The loss of `task` on a fixed batch of 8 training scenes.
fn batch_loss(task: &MixTask, cfg: &Config) -> (f64, Vec<f64>) {
    let targets = Targets {
        anchors: Arc::new(anchors(cfg)),
        classes: CLASSES.len(),
        pos_iou: 0.5,
        neg_iou: 0.4,
    };
    let scenes = (0..8)
        .map(|i| render(cfg.train.seed, i, &cfg.scene_spec()))
        .collect();
    let b = data::collate(&targets, scenes).unwrap();
    let eps = Tensor::zeros([8, cfg.model.latent], (Kind::Float, Device::Cpu));
    tch::no_grad(|| {
        let o = task.forward(&b.images, Some(&eps), false);
        let losses = task.task_losses(&o, &b).unwrap();
        let each = losses.iter().map(|(_, l)| l.double_value(&[])).collect();
        (task.combine(&losses).unwrap().double_value(&[]), each)
    })
}

#[test]
fn smoke_train_lowers_every_task_loss_then_evals_and_predicts_from_the_run_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.train.epochs = 6;
    tch::manual_seed(0);
    let (tr, val) = sources(&cfg).unwrap();
    let mut task = MixTask::new(&cfg, Device::Cpu, tr, val);
    let (before, each_before) = batch_loss(&task, &cfg);
    let run = kit::testing::smoke_fit(tmp.path(), "mix-match", &cfg, &mut task);
    let (after, each_after) = batch_loss(&task, &cfg);
    assert!(after < before * 0.8, "combined loss {before} -> {after}");
    // Detection and segmentation fall within 48 steps; the generative head (weight 0.1)
    // needs longer: see the next test.
    for (i, (b, a)) in each_before.iter().zip(&each_after).take(2).enumerate() {
        assert!(a < b, "task {i}: {b} -> {a}");
    }
    // The fixed weights: detect 1, segment 1, generate 0.1.
    let w = [1.0, 1.0, 0.1];
    let sum: f64 = each_after.iter().zip(w).map(|(l, w)| l * w).sum();
    assert!(
        (sum - after).abs() < 1e-6 * after.max(1.0),
        "{sum} vs {after}"
    );

    let root = run.root.to_string_lossy().to_string();
    let ev = kit::testing::run_ok(BIN, &["eval", "--run", &root, "--checkpoint", "last"]);
    assert!(
        ev.contains("| detect + segment + generate (Fixed) |"),
        "{ev}"
    );
    let json = std::fs::read_to_string(run.file("eval.json")).unwrap();
    assert!(
        json.contains("\"dice\"") && json.contains("\"neg_elbo\""),
        "{json}"
    );

    let img = tmp.path().join("scene.png");
    render(7, 0, &cfg.scene_spec()).image.save(&img).unwrap();
    let out = tmp.path().join("pred");
    let pr = kit::testing::run_ok(
        BIN,
        &[
            "predict",
            "--run",
            &root,
            "--out",
            &out.to_string_lossy(),
            &img.to_string_lossy(),
        ],
    );
    assert!(
        pr.contains("object pixels") && pr.contains("object(s)"),
        "{pr}"
    );
    let pic = image::open(out.join("scene.mix-match.png")).unwrap();
    // Three panels (boxes | mask | reconstruction) of 32 × 4 pixels side by side.
    assert!(pic.width() >= 3 * 128 && pic.width() < 4 * 128 && pic.height() < 2 * 128);
}

/// The generative head alone, 128 steps: its −ELBO on validation falls below that of the
/// trivial decoder that says p = ½ for every pixel (D·log 2 nats with KL = 0).
#[test]
fn generation_alone_beats_the_constant_decoder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.tasks.detect.weight = 0.0;
    cfg.tasks.segment.weight = 0.0;
    cfg.tasks.generate.weight = 1.0;
    cfg.selection = "neg_elbo".into();
    cfg.train.epochs = 16;
    cfg.train.lr = 0.005;
    kit::device::seed_torch(cfg.train.seed); // as `train` seeds it
    let (tr, val) = sources(&cfg).unwrap();
    let mut task = MixTask::new(&cfg, Device::Cpu, tr, val);
    let first = task.validate(None, 0).unwrap().neg_elbo.unwrap();
    kit::testing::smoke_fit(tmp.path(), "mix-match", &cfg, &mut task);
    let r = task.validate(None, 0).unwrap();
    let constant = 3.0 * 32.0 * 32.0 * 2f64.ln();
    let (neg_elbo, kl) = (r.neg_elbo.unwrap(), r.kl.unwrap());
    assert!(
        neg_elbo < constant - 10.0,
        "{first} -> {neg_elbo} vs {constant}"
    );
    assert!(kl > 0.1, "the code carries information: KL {kl}");
    assert!(r.ap50.is_none() && r.dice.is_none());
}

#[test]
fn uncertainty_weighting_learns_one_log_variance_per_active_task() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.weighting = Weighting::Uncertainty;
    cfg.tasks.detect.weight = 0.0;
    cfg.selection = "dice".into();
    cfg.train.epochs = 4;
    tch::manual_seed(0);
    let (tr, val) = sources(&cfg).unwrap();
    let mut task = MixTask::new(&cfg, Device::Cpu, tr, val);
    let (before, _) = batch_loss(&task, &cfg);
    let run = kit::testing::smoke_fit(tmp.path(), "mix-match", &cfg, &mut task);
    let (after, each) = batch_loss(&task, &cfg);
    assert!(after < before, "{before} -> {after}");
    let s: Vec<f64> = Vec::try_from(task.log_vars.as_ref().unwrap().detach()).unwrap();
    assert_eq!(s.len(), 2, "segment and generate");
    assert!(
        s.iter().all(|v| v.abs() > 1e-3),
        "the log-variances moved: {s:?}"
    );
    // The combined value is Σ e^{−sᵢ}Lᵢ + sᵢ of the learned sᵢ.
    let expect: f64 = each.iter().zip(&s).map(|(l, s)| (-s).exp() * l + s).sum();
    assert!(
        (expect - after).abs() < 1e-6 * after.abs().max(1.0),
        "{expect} vs {after}"
    );
    let ck = Checkpoint::read(&run.last()).unwrap();
    let mut reload = MixTask::new(
        &cfg,
        Device::Cpu,
        data::test_source(&cfg).unwrap(),
        data::test_source(&cfg).unwrap(),
    );
    ck.load_model(&mut reload.vs).unwrap();
    let s2: Vec<f64> = Vec::try_from(reload.log_vars.as_ref().unwrap().detach()).unwrap();
    assert_eq!(s, s2, "the log-variances are checkpointed");
}

#[test]
fn bad_task_settings_fail_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let smoke = config_path("smoke");
    let check = |set: &str, key: &str| {
        kit::testing::assert_invalid_before_any_write(BIN, &smoke, set, key, &runs)
    };
    check("tasks.segment.weight=-1", "tasks.segment.weight");
    check("selection=accuracy", "selection");
    check("data.size=36", "data.size");
    check("tasks.detect.loss=giou", "tasks.detect.loss");
    // Every task off; and selecting on a task that is off.
    for set in [
        "tasks.detect.weight=0 tasks.segment.weight=0 tasks.generate.weight=0",
        "tasks.segment.weight=0",
    ] {
        let mut args = vec!["train", "--config", smoke.to_str().unwrap(), "--runs"];
        let r = runs.to_string_lossy().to_string();
        args.push(&r);
        for s in set.split(' ') {
            args.extend(["--set", s]);
        }
        let (ok, text) = kit::testing::run_cli(BIN, &args);
        assert!(!ok, "{set}: {text}");
        assert!(
            text.contains("`tasks`") || text.contains("`selection`"),
            "{set}: {text}"
        );
        assert!(!runs.exists(), "{set}: wrote a run");
    }
}

/// A sweep over which tasks are on: each point's table row shows only its own tasks' metrics
/// ("–" for a task it turns off), measured on the test split.
#[test]
fn a_sweep_over_tasks_reports_each_point_on_test_with_dashes_for_tasks_that_are_off() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = tmp.path().join("grid.yaml");
    std::fs::write(
        &grid,
        format!(
            "config: {}\nset: [train.epochs=1, train.device=cpu]\naxes:\n  - tasks.detect.weight: [1.0, 0]\n    tasks.segment.weight: [0, 1.0]\n    tasks.generate.weight: [0, 0]\n    selection: [ap50, dice]\nmetrics: [ap50, dice]\ntest: true\n",
            config_path("smoke").display()
        ),
    )
    .unwrap();
    let runs = tmp.path().join("runs");
    let out = kit::testing::run_ok(
        BIN,
        &[
            "sweep",
            "--grid",
            &grid.to_string_lossy(),
            "--name",
            "s",
            "--runs",
            &runs.to_string_lossy(),
        ],
    );
    let table = std::fs::read_to_string(runs.join("mix-match/sweep-s/table.md"))
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("| 1/1 |")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].ends_with("| – |") && !rows[0].contains("| – | –"),
        "{table}"
    );
    assert!(rows[1].contains("| 1/1 | – |"), "{table}");
    assert!(table.contains("the test split"), "{table}");
}

#[test]
fn synth_output_trains_and_the_run_folder_alone_predicts_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained_split(
        BIN,
        tmp.path(),
        &config_path("smoke"),
        24,
        &["train.epochs=1"],
        &["images/00000.png"],
        "test",
    );
    assert!(out.predict.contains("object pixels"), "{}", out.predict);
    assert!(
        out.eval.contains("| detect + segment + generate"),
        "{}",
        out.eval
    );
}

#[test]
fn a_bad_folder_names_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke();
    mix_match::synth::write(tmp.path(), 1, 3, &cfg.scene_spec()).unwrap();
    let list = tmp.path().join("boxes.jsonl");
    let text = std::fs::read_to_string(&list).unwrap();
    let second = text.lines().nth(1).unwrap().to_string();
    let broken = text.replacen(
        &second,
        &second.replace("\"classes\":[\"", "\"classes\":[\"hexagon"),
        1,
    );
    assert_ne!(broken, text, "the fixture changed nothing");
    std::fs::write(&list, broken).unwrap();
    let msg = data::Folder::open(tmp.path(), 32, false, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("boxes.jsonl") && msg.contains("line 2") && msg.contains("hexagon"),
        "{msg}"
    );
    // Boxes outside the picture or with x2 < x1 are refused, as detect-focal refuses them
    // (they used to train and score with exit 0).
    for (bad_box, why) in [
        ("[500,500,520,530]", "outside its"),
        ("[20,5,10,15]", "positive width"),
    ] {
        let v: serde_json::Value = serde_json::from_str(&second).unwrap();
        let mut v = v;
        v["boxes_xyxy"][0] = serde_json::from_str(bad_box).unwrap();
        std::fs::write(&list, text.replacen(&second, &v.to_string(), 1)).unwrap();
        let msg = data::Folder::open(tmp.path(), 32, false, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("line 2") && msg.contains(why),
            "{bad_box}: {msg}"
        );
    }
    std::fs::write(&list, &text).unwrap();
    std::fs::remove_file(tmp.path().join("masks/00002.png")).unwrap();
    let msg = data::Folder::open(tmp.path(), 32, false, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("masks/00002.png") && msg.contains("images/00002.png"),
        "{msg}"
    );
    // A picture of the wrong size is named when it is read.
    std::fs::write(&list, &text).unwrap();
    mix_match::synth::write(tmp.path(), 1, 3, &cfg.scene_spec()).unwrap();
    let f = data::Folder::open(tmp.path(), 64, false, 0).unwrap();
    use kit::data::Dataset;
    let msg = f.get(0, 0).err().unwrap().to_string();
    assert!(
        msg.contains("images/00000.png") && msg.contains("32×32"),
        "{msg}"
    );
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_mix-match"),
        "mix-match",
        &kit::testing::repo_root().join("configs/mix-match/smoke.yaml"),
        &[],
    );
}
