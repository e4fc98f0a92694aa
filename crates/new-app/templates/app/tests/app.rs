//! __NAME__ end to end: the configs validate, a smoke train lowers the loss and beats the
//! untrained model on the metric, eval and predict work from the run folder and a CSV folder,
//! and a bad key fails before anything is written.

use tch::Device;
use __CRATE__::config::Config;
use __CRATE__::data::{self, sources};
use __CRATE__::problem;
use __CRATE__::train::AppTask;

const BIN: &str = env!("CARGO_BIN_EXE___NAME__");

fn smoke() -> Config {
    kit::testing::load_config("__NAME__", "smoke")
}

#[test]
fn every_config_validates() {
    assert!(kit::testing::validate_every_config::<Config>("__NAME__") >= 3);
}

#[test]
fn smoke_train_lowers_the_loss_and_improves_the_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke();
    kit::device::seed_torch(cfg.train.seed);
    let (tr, val) = sources(&cfg).unwrap();
    let mut task = AppTask::new(&cfg, Device::Cpu, tr, val);
    let items = (0..256)
        .map(|i| problem::sample(cfg.train.seed, i))
        .collect();
    let (x, y) = data::collate(items).unwrap();
    let loss = |t: &AppTask| tch::no_grad(|| t.loss(&x, &y).unwrap().double_value(&[]));
    let (before, (m0, _)) = (loss(&task), task.validate().unwrap());
    kit::testing::smoke_fit(tmp.path(), "__NAME__", &cfg, &mut task);
    let (after, (m1, _)) = (loss(&task), task.validate().unwrap());
    assert!(after < before, "loss {before} -> {after}");
    let better = if problem::HIGHER_IS_BETTER {
        m1 > m0
    } else {
        m1 < m0
    };
    assert!(better, "{} {m0} -> {m1}", problem::METRIC);
}

#[test]
fn synth_folder_trains_then_eval_and_predict_read_only_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |x: &std::path::Path| x.to_string_lossy().to_string();
    let (ds, runs) = (tmp.path().join("ds"), tmp.path().join("runs"));
    let config = kit::testing::repo_root().join("configs/__NAME__/smoke.yaml");
    kit::testing::run_ok(
        BIN,
        &[
            "synth",
            "--out",
            &p(&ds),
            "--n",
            "400",
            "--config",
            &p(&config),
        ],
    );
    let source = format!("data.source={}", p(&ds));
    kit::testing::run_ok(
        BIN,
        &[
            "train",
            "--config",
            &p(&config),
            "--runs",
            &p(&runs),
            "--name",
            "t",
            "--set",
            &source,
            "--set",
            "train.epochs=2",
        ],
    );
    let kept = tmp.path().join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::rename(ds.join("test.csv"), kept.join("test.csv")).unwrap();
    std::fs::remove_dir_all(&ds).unwrap();
    let run = p(&runs.join("__NAME__/t"));
    let ev = kit::testing::run_ok(BIN, &["eval", "--run", &run, "--data", &p(&kept)]);
    assert!(ev.contains(&format!("| {} |", problem::METRIC)), "{ev}");
    let pr = kit::testing::run_ok(BIN, &["predict", "--run", &run, &p(&kept.join("test.csv"))]);
    assert!(pr.contains("row 1:"), "{pr}");
    let (ok, text) = kit::testing::run_cli(
        BIN,
        &[
            "train",
            "--config",
            &p(&config),
            "--runs",
            &p(&tmp.path().join("none")),
            "--set",
            "model.widht=3",
        ],
    );
    assert!(!ok && text.contains("widht"), "{text}");
    assert!(!tmp.path().join("none").exists());
}
