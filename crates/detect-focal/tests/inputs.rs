//! Bad input gets a clear error: COCO files, config keys and values (issue 6's reliability
//! checks; the rest of the app's tests are in app.rs).

use detect_focal::config::Config;
use detect_focal::data::scene_spec;
use detect_focal::data::{self, CocoFolder};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn load(name: &str) -> Config {
    kit::testing::load_config("detect-focal", name)
}

/// The error opening a COCO split must give (panics if it opens).
fn open_error(dir: &Path) -> String {
    match CocoFolder::open(dir, 64, false, 0) {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_coco_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = scene_spec(&load("smoke"));
    data::write_synthetic(tmp.path(), 1, 2, 1, &spec).unwrap();
    let dir = tmp.path().join("train");
    let ann = dir.join("annotations.json");
    let good = std::fs::read_to_string(&ann).unwrap();
    let mut j: serde_json::Value = serde_json::from_str(&good).unwrap();
    j["annotations"][0]["category_id"] = 99.into();
    std::fs::write(&ann, j.to_string()).unwrap();
    let msg = open_error(&dir);
    assert!(
        msg.contains("annotations.json") && msg.contains("annotation 1") && msg.contains("99"),
        "{msg}"
    );

    // A box entirely outside its image is empty once clipped: an error, as data/README says.
    let mut j: serde_json::Value = serde_json::from_str(&good).unwrap();
    j["annotations"][0]["bbox"] = serde_json::json!([500.0, 500.0, 10.0, 10.0]);
    std::fs::write(&ann, j.to_string()).unwrap();
    let msg = open_error(&dir);
    assert!(
        msg.contains("annotation 1") && msg.contains("outside its"),
        "{msg}"
    );

    std::fs::write(&ann, &good).unwrap();
    std::fs::remove_file(dir.join("images/00001.png")).unwrap();
    let msg = open_error(&dir);
    assert!(
        msg.contains("images/00001.png") && msg.contains("missing"),
        "{msg}"
    );

    std::fs::write(&ann, "{\"images\": [").unwrap();
    let msg = open_error(&dir);
    assert!(
        msg.contains("annotations.json") && msg.contains("line 1"),
        "{msg}"
    );

    std::fs::write(&ann, &good).unwrap();
    std::fs::write(dir.join("images/00001.png"), b"not a png").unwrap();
    let f = CocoFolder::open(&dir, 64, false, 0).unwrap();
    let msg = kit::data::Dataset::get(&f, 1, 0).err().unwrap().to_string();
    assert!(msg.contains("images/00001.png"), "{msg}");
}

#[test]
fn wrong_config_key_is_reported_by_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("configs/detect-focal/default.yaml")).unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, text.replace("  gamma:", "  gama:")).unwrap();
    let (runs, bad) = (tmp.path().to_string_lossy(), bad.to_string_lossy());
    let bin = env!("CARGO_BIN_EXE_detect-focal");
    let (ok, out) = kit::testing::run_cli(bin, &["train", "--runs", &runs, "--config", &bad]);
    assert!(!ok);
    assert!(out.contains("bad.yaml:") && out.contains("gama"), "{out}");
}

#[test]
fn every_config_loads() {
    for name in ["default", "smoke", "ce", "giou"] {
        let c = load(name);
        assert_eq!(c.data.source, "synthetic", "{name}");
    }
    let ce = load("ce");
    assert_eq!((ce.loss.gamma, ce.loss.alpha), (0.0, None));
    let d = load("default");
    assert_eq!(
        (d.loss.gamma, d.loss.alpha, d.model.prior),
        (2.0, Some(0.25), 0.01)
    );
}

#[test]
fn invalid_hyper_parameters_name_the_key_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (bin, runs) = (env!("CARGO_BIN_EXE_detect-focal"), tmp.path().join("runs"));
    let smoke = repo().join("configs/detect-focal/default.yaml");
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "loss.gamma=-1",
        "loss.gamma",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(
        bin,
        &smoke,
        "loss.alpha=1.5",
        "loss.alpha",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(bin, &smoke, "data.size=100", "data.size", &runs);
    // 400,000 scenes at 64² would take 4.6 GiB rendered ahead: refused, and the key named.
    let big = "data.train_size=400000";
    kit::testing::assert_invalid_before_any_write(bin, &smoke, big, "data.render_ahead", &runs);
    // bf16 autocast is wired into face-verify and segment-dice only: the others refuse it.
    let bf16 = "train.precision=bf16";
    kit::testing::assert_invalid_before_any_write(bin, &smoke, bf16, "train.precision", &runs);
}

#[test]
fn eval_reads_a_test_split_that_training_never_saw() {
    use kit::data::Dataset;
    let cfg: detect_focal::config::Config = kit::testing::load_config("detect-focal", "smoke");
    let (tr, val) = detect_focal::data::sources(&cfg).unwrap();
    let test = detect_focal::data::test_source(&cfg).unwrap();
    assert_eq!(test.len(), val.len());
    let img = |s: &detect_focal::data::Source| s.get(0, 0).unwrap().image.into_raw();
    assert_ne!(img(&test), img(&val));
    assert_ne!(img(&test), img(&tr));
}
