//! The loop end to end on the spiral task: resume equals an uninterrupted run, NaN stops
//! without touching the last good checkpoint, Ctrl-C saves and exits 0, bad configs are named.

use kit::checkpoint::Checkpoint;
use kit::config;
use kit::logging::Logger;
use kit::rundir::RunDir;
use kit::spiral::{SpiralConfig, SpiralTask};
use kit::train::{fit, FitOptions, Outcome, Task, TrainError};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn smoke(overrides: &[&str]) -> SpiralConfig {
    let mut o: Vec<String> = vec!["train.device=cpu".into(), "train.epochs=3".into()];
    o.extend(overrides.iter().map(|s| s.to_string()));
    config::load(&repo().join("configs/spiral/smoke.yaml"), &o).unwrap()
}

fn new_run(dir: &Path, name: &str) -> (RunDir, Logger) {
    let run = RunDir::create(dir, "spiral", Some(name), "t").unwrap();
    std::fs::write(run.config(), "{}").unwrap();
    let logger = Logger::new(&run.root).unwrap();
    (run, logger)
}

fn task(cfg: &SpiralConfig) -> SpiralTask {
    tch::manual_seed(cfg.train.seed as i64);
    SpiralTask::new(cfg, Device::Cpu)
}

fn weights(t: &SpiralTask) -> Vec<(String, Tensor)> {
    let mut v: Vec<_> = t.var_store().variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke(&[]);

    let (run_a, mut log_a) = new_run(tmp.path(), "a");
    let mut a = task(&cfg);
    let out = fit(
        &mut a,
        &cfg.train,
        &run_a,
        &mut log_a,
        FitOptions::default(),
    )
    .unwrap();
    let Outcome::Finished { state, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(state.step, 3 * a.batches_per_epoch() as u64);

    // Stop mid-epoch (step 25 of 19 per epoch), then resume in a fresh task.
    let (run_b, mut log_b) = new_run(tmp.path(), "b");
    let mut b = task(&cfg);
    let opts = FitOptions {
        resume: false,
        stop_after: Some(25),
    };
    let out = fit(&mut b, &cfg.train, &run_b, &mut log_b, opts).unwrap();
    assert!(
        matches!(out, Outcome::Interrupted { state } if state.step == 25),
        "{out:?}"
    );
    let mut b2 = task(&smoke(&["train.seed=42"]));
    let opts = FitOptions {
        resume: true,
        stop_after: None,
    };
    let out = fit(&mut b2, &cfg.train, &run_b, &mut log_b, opts).unwrap();
    assert!(matches!(out, Outcome::Finished { state: s, .. } if s.step == state.step));

    for ((na, ta), (nb, tb)) in weights(&a).iter().zip(weights(&b2)) {
        assert_eq!(*na, nb);
        let diff = (ta - &tb).abs().max().double_value(&[]);
        assert_eq!(diff, 0.0, "{na} differs by {diff} after resume");
    }
    // The best checkpoint loads and the training actually learned something.
    let ck = Checkpoint::read(&run_a.best()).unwrap();
    let best = ck.train_state().unwrap().best_metric.unwrap();
    // Chance is 1/3 on three arms.
    assert!(best > 0.45, "spiral accuracy after 3 epochs: {best}");
}

#[test]
fn nan_loss_stops_and_keeps_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke(&["train.checkpoint_every=10"]);
    let (run, mut log) = new_run(tmp.path(), "nan");
    let mut t = Poisoned::loss_at(task(&cfg), 25);
    let err = fit(&mut t, &cfg.train, &run, &mut log, FitOptions::default()).unwrap_err();
    match &err {
        TrainError::NonFinite { step, term, .. } => {
            assert_eq!((*step, term.as_str()), (25, "loss"));
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(err.to_string().contains("step 25"), "{err}");
    let ck = Checkpoint::read(&run.last()).unwrap();
    assert_eq!(ck.train_state().unwrap().step, 20);
    let mut fresh = task(&cfg);
    ck.load_model(fresh.var_store_mut()).unwrap();
    for (name, w) in weights(&fresh) {
        assert!(
            w.isfinite().all().int64_value(&[]) == 1,
            "{name} not finite"
        );
    }
}

#[test]
fn nan_gradient_stops_before_the_checkpoint() {
    // Step 29 is the last before the checkpoint at step 30: without the guard the NaN update
    // would be saved to last.safetensors. The loop reads a step's values only at the next log,
    // eval or checkpoint step, so the update itself happens in memory; nothing is saved.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke(&["train.checkpoint_every=10"]);
    let (run, mut log) = new_run(tmp.path(), "nan-grad");
    let mut t = Poisoned::gradient_at(task(&cfg), 29);
    let err = fit(&mut t, &cfg.train, &run, &mut log, FitOptions::default()).unwrap_err();
    assert!(
        matches!(err, TrainError::NonFiniteGradient { step: 29, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("gradient norm is NaN at step 29"),
        "{err}"
    );
    let ck = Checkpoint::read(&run.last()).unwrap();
    assert_eq!(ck.train_state().unwrap().step, 20);
    let mut fresh = task(&cfg);
    ck.load_model(fresh.var_store_mut()).unwrap();
    for (name, w) in weights(&fresh) {
        assert!(
            w.isfinite().all().int64_value(&[]) == 1,
            "{name} not finite"
        );
    }
}

#[test]
fn fp16_loss_scaling_is_exact_and_an_overflowing_step_is_skipped_not_fatal() {
    // The spiral's forward is not autocast, so fp16 here is the loss scaling alone: scaling by
    // 2^16 and unscaling is exact in float32, so the weights equal the fp32 run's bit for bit.
    let tmp = tempfile::tempdir().unwrap();
    let plain = smoke(&[]);
    let (run, mut log) = new_run(tmp.path(), "fp32");
    let mut a = task(&plain);
    fit(&mut a, &plain.train, &run, &mut log, FitOptions::default()).unwrap();
    let fp16 = smoke(&["train.precision=fp16"]);
    let (run, mut log) = new_run(tmp.path(), "fp16");
    let mut b = task(&fp16);
    fit(&mut b, &fp16.train, &run, &mut log, FitOptions::default()).unwrap();
    for ((name, x), (_, y)) in weights(&a).iter().zip(weights(&b)) {
        assert!(x.equal(&y), "{name} differs under loss scaling");
    }
    let state = Checkpoint::read(&run.last())
        .unwrap()
        .train_state()
        .unwrap();
    let s = state.scaler.expect("fp16 saves its loss scale");
    assert_eq!((s.scale, s.skipped), (65536.0, 0));
    assert!(s.growth_tracker > 0);

    // A NaN gradient at step 7: the step is skipped and the scale halved, as GradScaler does;
    // the run goes on (under fp32 the same gradient stops it: nan_gradient_stops_…).
    let (run, mut log) = new_run(tmp.path(), "overflow");
    let mut c = Poisoned::gradient_at(task(&fp16), 7);
    fit(&mut c, &fp16.train, &run, &mut log, FitOptions::default()).unwrap();
    let s = Checkpoint::read(&run.last())
        .unwrap()
        .train_state()
        .unwrap()
        .scaler
        .unwrap();
    assert_eq!((s.scale, s.skipped), (32768.0, 1));
    for (name, w) in weights(&c.inner) {
        assert!(
            w.isfinite().all().int64_value(&[]) == 1,
            "{name} not finite"
        );
    }
}

#[test]
fn the_loop_reads_the_device_once_per_log_window() {
    // 40 steps, logged every 10, evaluated and checkpointed every 20: four host reads, however
    // many terms a step logs (each read waits for the device: once per step would stall a GPU).
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke(&[
        "train.max_steps=40",
        "train.log_every=10",
        "train.eval_every=20",
        "train.checkpoint_every=20",
    ]);
    let (run, mut log) = new_run(tmp.path(), "reads");
    let before = kit::train::host_reads();
    fit(
        &mut task(&cfg),
        &cfg.train,
        &run,
        &mut log,
        FitOptions::default(),
    )
    .unwrap();
    assert_eq!(kit::train::host_reads() - before, 4);
    // Every logged step still has its loss and gradient norm.
    let text = std::fs::read_to_string(run.root.join("metrics.jsonl")).unwrap();
    let logged = text
        .lines()
        .filter(|l| l.contains("train/loss") && l.contains("train/grad_norm"))
        .count();
    assert_eq!(logged, 4, "{text}");
    // And nothing in the loop reads a tensor to the host behind the counter's back.
    let src = include_str!("../src/train.rs");
    let fit_body = &src[src.find("pub fn fit<").unwrap()..src.find("fn evaluate<").unwrap()];
    for read in ["double_value", "int64_value", "try_from", "Device::Cpu"] {
        assert!(!fit_body.contains(read), "the loop calls {read}");
    }
}

#[test]
fn wrong_config_key_names_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("configs/spiral/smoke.yaml")).unwrap();
    let bad = text.replace("  hidden: 64", "  hiden: 64");
    let line = bad.lines().position(|l| l.contains("hiden")).unwrap() + 1;
    let path = tmp.path().join("bad.yaml");
    std::fs::write(&path, bad).unwrap();
    let msg = config::load::<SpiralConfig>(&path, &[])
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&format!("bad.yaml:{line}:")), "{msg}");
    assert!(msg.contains("hiden"), "{msg}");
}

#[test]
fn ctrl_c_saves_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(kit::testing::example_bin("kit", "spiral"))
        .args(["train", "--config"])
        .arg(repo().join("configs/spiral/smoke.yaml"))
        .args([
            "--set",
            "train.epochs=100000",
            "--set",
            "train.device=cpu",
            "--name",
            "c",
        ])
        .arg("--runs")
        .arg(tmp.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = tmp.path().join("spiral/c/metrics.jsonl");
    let t0 = std::time::Instant::now();
    while std::fs::metadata(&metrics).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(t0.elapsed().as_secs() < 60, "no progress within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {stdout}", out.status);
    assert!(stdout.contains("interrupted at step"), "{stdout}");
    let ck = Checkpoint::read(&tmp.path().join("spiral/c/checkpoints/last.safetensors")).unwrap();
    assert!(ck.train_state().unwrap().step > 0);
}

/// The spiral task with a NaN loss, or a finite loss with a NaN gradient, at one step.
struct Poisoned {
    inner: SpiralTask,
    loss_step: Option<u64>,
    grad_step: Option<u64>,
}

impl Poisoned {
    fn loss_at(inner: SpiralTask, step: u64) -> Self {
        Self {
            inner,
            loss_step: Some(step),
            grad_step: None,
        }
    }
    fn gradient_at(inner: SpiralTask, step: u64) -> Self {
        Self {
            inner,
            loss_step: None,
            grad_step: Some(step),
        }
    }
}

impl Task for Poisoned {
    type Batch = <SpiralTask as Task>::Batch;
    type Data = <SpiralTask as Task>::Data;
    fn var_store(&self) -> &tch::nn::VarStore {
        self.inner.var_store()
    }
    fn var_store_mut(&mut self) -> &mut tch::nn::VarStore {
        self.inner.var_store_mut()
    }
    fn train_loader(&self) -> &kit::data::Loader<Self::Data, Self::Batch> {
        self.inner.train_loader()
    }
    fn train_step(
        &mut self,
        batch: Self::Batch,
        ctx: &mut kit::train::StepContext,
    ) -> anyhow::Result<kit::train::Losses> {
        let step = ctx.step;
        let mut l = self.inner.train_step(batch, ctx)?;
        if self.loss_step == Some(step) {
            l.total = &l.total * f64::NAN;
        }
        if self.grad_step == Some(step) {
            // sqrt at 0: adds 0 to the loss, but its gradient is 0·∞ = NaN.
            let w = &self.inner.var_store().trainable_variables()[0];
            l.total = &l.total + (w * 0.0).sqrt().sum(tch::Kind::Float);
        }
        Ok(l)
    }
    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<kit::train::Metrics> {
        self.inner.evaluate(logger, step)
    }
}

/// The spiral task with an evaluation that always scores the same: every evaluation ties.
struct Flat(SpiralTask);

impl Task for Flat {
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
    fn train_step(
        &mut self,
        batch: Self::Batch,
        ctx: &mut kit::train::StepContext,
    ) -> anyhow::Result<kit::train::Losses> {
        self.0.train_step(batch, ctx)
    }
    fn evaluate(
        &mut self,
        _logger: &mut Logger,
        _step: u64,
    ) -> anyhow::Result<kit::train::Metrics> {
        Ok(kit::train::Metrics {
            values: vec![("accuracy".into(), 0.5)],
            selection: "accuracy".into(),
            higher_is_better: true,
        })
    }
}

#[test]
fn selection_ties_keep_the_latest_or_the_earliest_checkpoint_as_configured() {
    let tmp = tempfile::tempdir().unwrap();
    for (ties, want_last) in [("latest", true), ("earliest", false)] {
        let cfg = smoke(&[&format!("train.selection_ties={ties}")]);
        let (run, mut log) = new_run(tmp.path(), ties);
        let mut t = Flat(task(&cfg));
        let per_epoch = t.batches_per_epoch() as u64;
        let out = fit(&mut t, &cfg.train, &run, &mut log, FitOptions::default()).unwrap();
        let Outcome::Finished { state, .. } = out else {
            panic!("{out:?}")
        };
        let want = if want_last { state.step } else { per_epoch };
        assert_eq!(state.best_step, want, "{ties}");
        let ck = Checkpoint::read(&run.best()).unwrap();
        assert_eq!(ck.train_state().unwrap().best_step, want, "{ties}");
    }
}
