//! Nothing lost, nothing silently wrong: regression tests for the defects found by trying to
//! break the apps (issue 12), run through the kit's example app `spiral` and its loop.

mod common;

use common::*;
use kit::checkpoint::Checkpoint;
use kit::logging::Logger;
use kit::rundir::{RunDir, RunError};
use kit::spiral::SpiralTask;
use kit::train::{fit, FitOptions, Losses, Metrics, StepContext, Task, TrainError};
use std::path::{Path, PathBuf};
use tch::Device;

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_new_run_never_writes_into_an_existing_run() {
    let tmp = tempfile::tempdir().unwrap();
    let first = run_spiral(tmp.path(), &train_args("same", &[]));
    assert!(first.status.success(), "{}", text(&first));
    let run = tmp.path().join("spiral/same");
    let before = snapshot(&run);
    let again = run_spiral(
        tmp.path(),
        &train_args("same", &["--set", "train.max_steps=3"]),
    );
    assert!(!again.status.success());
    let msg = text(&again);
    assert!(
        msg.contains("already exists") && msg.contains("--resume"),
        "{msg}"
    );
    assert_eq!(snapshot(&run), before, "the old run changed");
    // Default names never collide either: two runs in the same second get distinct folders.
    let a = RunDir::create(tmp.path(), "x", None, "t").unwrap();
    let b = RunDir::create(tmp.path(), "x", None, "t").unwrap();
    assert_ne!(a.root, b.root);
    assert!(matches!(
        RunDir::create(tmp.path(), "spiral", Some("same"), "t"),
        Err(RunError::Exists(_))
    ));
}

#[test]
fn non_finite_weights_are_never_saved() {
    // A finite loss and gradient, but an update so large the weights overflow to ±inf: the
    // next loss would show it only after the checkpoint of this step was written.
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(tmp.path(), "spiral", Some("w"), "t").unwrap();
    let mut log = Logger::new(&run.root).unwrap();
    let good = cfg(&[
        "train.checkpoint_every=1",
        "train.max_steps=5",
        "train.warmup_steps=0",
    ]);
    let mut t = SpiralTask::new(&good, Device::Cpu);
    fit(&mut t, &good.train, &run, &mut log, FitOptions::default()).unwrap();
    let saved = std::fs::read(run.last()).unwrap();

    let bad = cfg(&[
        "train.checkpoint_every=1",
        "train.max_steps=9",
        "train.warmup_steps=0",
        "train.lr=1e39",
        "train.grad_clip=0",
    ]);
    let mut t = SpiralTask::new(&bad, Device::Cpu);
    let opts = FitOptions {
        resume: true,
        stop_after: None,
    };
    let err = fit(&mut t, &bad.train, &run, &mut log, opts).unwrap_err();
    assert!(
        matches!(err, TrainError::NonFiniteWeights { step: 6, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("without saving"), "{err}");
    assert_eq!(
        std::fs::read(run.last()).unwrap(),
        saved,
        "last.safetensors changed"
    );
    let best = Checkpoint::read(&run.best()).unwrap();
    assert!(best.train_state().unwrap().step <= 5);
}

#[test]
fn invalid_values_fail_before_any_folder_exists() {
    let tmp = tempfile::tempdir().unwrap();
    for (set, key) in [
        ("train.batch_size=0", "train.batch_size"),
        ("train.epochs=0", "train.epochs"),
        ("train.lr=.nan", "train.lr"),
        ("train.grad_clip=-1", "train.grad_clip"),
    ] {
        let o = run_spiral(tmp.path(), &train_args("bad", &["--set", set]));
        assert!(!o.status.success());
        let msg = text(&o);
        assert!(
            msg.contains(&format!("`{key}`")) && msg.contains("smoke.yaml"),
            "{msg}"
        );
        // User errors print the message, not a backtrace (RUST_BACKTRACE=1 is set).
        assert!(msg.lines().count() <= 3, "{msg}");
        assert!(
            !tmp.path().join("spiral").exists(),
            "{set}: a folder was created"
        );
    }
    // No training batch at all (here an empty set; apps that drop the incomplete last batch
    // also when there are fewer samples than one batch): named, no folder.
    let o = run_spiral(
        tmp.path(),
        &train_args("small", &["--set", "data.points_per_class=0"]),
    );
    let msg = text(&o);
    assert!(
        !o.status.success() && msg.contains("no full batch"),
        "{msg}"
    );
    assert!(!tmp.path().join("spiral/small").exists());
}

#[test]
fn a_failed_resume_changes_nothing_and_temp_files_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_spiral(tmp.path(), &train_args("r", &[]));
    assert!(o.status.success(), "{}", text(&o));
    let run = tmp.path().join("spiral/r");
    let before = snapshot(&run);
    let dir = run.to_string_lossy().to_string();
    let o = spiral(
        tmp.path(),
        &["train", "--resume", &dir, "--set", "model.hidden=32"],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("does not fit this config"),
        "{}",
        text(&o)
    );
    assert_eq!(snapshot(&run), before, "a failed resume changed the run");

    // A partial checkpoint left by a kill is removed by the next resume.
    let partial = run.join("checkpoints/.tmp-999999-last.safetensors");
    std::fs::write(&partial, b"partial").unwrap();
    let o = spiral(
        tmp.path(),
        &["train", "--resume", &dir, "--set", "train.epochs=2"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!partial.exists());
    let ck = Checkpoint::read(&run.join("checkpoints/last.safetensors")).unwrap();
    assert!(ck.train_state().unwrap().epoch == 2);
}

#[test]
fn runs_of_another_app_and_corrupt_eval_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(tmp.path(), "segment-dice", Some("s"), "t").unwrap();
    std::fs::write(run.config(), "{}").unwrap();
    let dir = run.root.to_string_lossy().to_string();
    let o = spiral(tmp.path(), &["eval", "--run", &dir]);
    let msg = text(&o);
    assert!(
        !o.status.success() && msg.contains("made by `segment-dice`"),
        "{msg}"
    );

    std::fs::write(run.file("eval.json"), b"[{\"a\": 1}, trunc").unwrap();
    let err = run.append_eval(serde_json::json!({"b": 2})).unwrap_err();
    assert!(matches!(err, RunError::CorruptJson { .. }), "{err}");
    assert_eq!(
        std::fs::read(run.file("eval.json")).unwrap(),
        b"[{\"a\": 1}, trunc"
    );
}

/// The spiral task with a selection metric that evaluation never reports.
struct MisnamedSelection(SpiralTask);

impl Task for MisnamedSelection {
    type Batch = <SpiralTask as Task>::Batch;
    type Data = <SpiralTask as Task>::Data;
    fn var_store(&self) -> &tch::nn::VarStore {
        self.0.var_store()
    }
    fn var_store_mut(&mut self) -> &mut tch::nn::VarStore {
        self.0.var_store_mut()
    }
    fn train_loader(&self) -> &kit::data::Loader<Self::Data, Self::Batch> {
        self.0.train_loader()
    }
    fn train_step(&mut self, batch: Self::Batch, ctx: &mut StepContext) -> anyhow::Result<Losses> {
        self.0.train_step(batch, ctx)
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let mut m = self.0.evaluate(logger, step)?;
        m.selection = "acuracy".into();
        Ok(m)
    }
}

#[test]
fn a_misnamed_selection_metric_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(tmp.path(), "spiral", Some("m"), "t").unwrap();
    let mut log = Logger::new(&run.root).unwrap();
    let c = cfg(&["train.max_steps=5", "train.eval_every=5"]);
    let mut t = MisnamedSelection(SpiralTask::new(&c, Device::Cpu));
    let err = fit(&mut t, &c.train, &run, &mut log, FitOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`acuracy`") && msg.contains("accuracy"),
        "{msg}"
    );
}

#[test]
fn warm_start_loads_what_matches_and_reports_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_spiral(tmp.path(), &train_args("src", &[]));
    assert!(o.status.success(), "{}", text(&o));
    let src = tmp.path().join("spiral/src");
    let init = format!("train.init_from={{run: {}}}", src.display());
    // Same model: every variable loaded.
    let o = run_spiral(
        tmp.path(),
        &train_args(
            "warm",
            &[
                "--set",
                &init,
                "--set",
                "train.max_steps=1",
                "--set",
                "train.lr=1e-12",
                "--set",
                "train.min_lr=0",
            ],
        ),
    );
    let out = text(&o);
    assert!(
        o.status.success() && out.contains("variables loaded, 0 new"),
        "{out}"
    );
    // One more layer: refused unless it is allowed to be new, then reported as new.
    let deeper = ["--set", "model.layers=4", "--set", &init];
    let o = run_spiral(tmp.path(), &train_args("deep", &deeper));
    let out = text(&o);
    assert!(!o.status.success() && out.contains("allow_new"), "{out}");
    let allowed = format!(
        "train.init_from={{run: {}, allow_new: [fc3, out]}}",
        src.display()
    );
    let o = run_spiral(
        tmp.path(),
        &train_args("deep2", &["--set", "model.layers=4", "--set", &allowed]),
    );
    let out = text(&o);
    assert!(
        o.status.success() && out.contains("new: fc3.bias, fc3.weight"),
        "{out}"
    );
    // Renaming: a prefix map that matches nothing leaves every variable unmapped.
    let bad = format!(
        "train.init_from={{run: {}, rename: [[nothing., x.]]}}",
        src.display()
    );
    let o = run_spiral(tmp.path(), &train_args("ren", &["--set", &bad]));
    assert!(
        !o.status.success() && text(&o).contains("init_from.rename"),
        "{}",
        text(&o)
    );
}
