//! style-transfer end to end: the smoke run learns (its objective falls and the results move
//! towards the style in an independent network), `optimize` lowers the objective, a run folder
//! is enough for predict and eval, and bad inputs are refused before anything is written.

use kit::testing::{run_cli, run_ok};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_style-transfer");

fn smoke() -> String {
    kit::testing::repo_root()
        .join("configs/style-transfer/smoke.yaml")
        .to_string_lossy()
        .to_string()
}

fn p(x: &Path) -> String {
    x.to_string_lossy().to_string()
}

/// Values of `key` in a run's metrics.jsonl, in order.
fn logged(run: &Path, key: &str) -> Vec<f64> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v[key].as_f64())
        .collect()
}

#[test]
fn the_stylizer_learns_and_eval_measures_it_in_an_independent_network() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    run_ok(
        BIN,
        &[
            "train",
            "--config",
            &smoke(),
            "--runs",
            &p(&runs),
            "--name",
            "s",
            "--set",
            "train.epochs=6",
            "--set",
            "train.device=cpu",
        ],
    );
    let run = runs.join("style-transfer/s");
    let loss = logged(&run, "train/loss");
    assert!(loss.len() >= 4, "{loss:?}");
    let (first, last) = (loss[0], loss[loss.len() - 1]);
    assert!(last < 0.7 * first, "training loss {first} -> {last}");
    // Validation: the results' style loss is below that of the unchanged content.
    let ratio = logged(&run, "eval/style_ratio");
    assert!(*ratio.last().unwrap() < 1.0, "{ratio:?}");
    let out = run_ok(BIN, &["eval", "--run", &p(&run)]);
    assert!(
        out.contains("| random_vgg19 (seed 7) |") && out.contains("ms per picture"),
        "{out}"
    );
    let evals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    let r = &evals[0]["report"];
    assert_eq!(evals[0]["split"], "test");
    assert_eq!(r["independent"][0]["network"], "random_vgg19 (seed 7)");
    let independent = &r["independent"][0]["scores"];
    let (style, unchanged) = (
        independent["style"].as_f64().unwrap(),
        independent["style_unchanged"].as_f64().unwrap(),
    );
    assert!(style.is_finite() && unchanged > 0.0);
    // Measured in a network it was not trained against, the results are closer to the style
    // than the content pictures themselves.
    assert!(style < unchanged, "{r}");
    assert!(
        (independent["style_ratio"].as_f64().unwrap() - style / unchanged).abs() < 1e-9,
        "{r}"
    );
    assert_eq!(r["pictures"], 4);
}

#[test]
fn optimize_lowers_the_objective_and_writes_a_new_folder_each_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = p(&tmp.path().join("runs"));
    let args = [
        "optimize",
        "--config",
        &smoke(),
        "--runs",
        &runs,
        "--device",
        "cpu",
    ];
    let out = run_ok(BIN, &args);
    let line = out.lines().find(|l| l.starts_with("objective")).unwrap();
    // "objective A -> B (style C -> D) in N steps; folder F"
    let nums: Vec<f64> = line
        .split([' ', '(', ')'])
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(nums[1] < 0.5 * nums[0], "{line}");
    assert!(nums[3] < 0.5 * nums[2], "style {line}");
    run_ok(BIN, &args);
    let folders: Vec<_> = std::fs::read_dir(tmp.path().join("runs/style-transfer"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 2, "{folders:?}");
    for f in folders {
        let img = image::open(f.join("result.png")).unwrap();
        assert_eq!((img.width(), img.height()), (32, 32));
        assert!(f.join("content-style-result.png").is_file());
        assert!(f.join("metrics.jsonl").is_file());
    }
}

#[test]
fn a_run_folder_is_enough_for_predict_and_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let config = kit::testing::repo_root().join("configs/style-transfer/smoke.yaml");
    let out = kit::testing::self_contained(
        BIN,
        tmp.path(),
        &config,
        6,
        &["train.device=cpu"],
        &["scene-0000.png", "scene-0001.png"],
    );
    assert!(
        out.predict.contains("ms per 256×256 picture"),
        "{}",
        out.predict
    );
    let styled = tmp
        .path()
        .join("runs/style-transfer/self-contained/predictions/scene-0001-styled.png");
    let img = image::open(&styled).unwrap();
    assert_eq!((img.width(), img.height()), (32, 32));
    assert!(
        out.eval.contains("6 held-out content pictures"),
        "{}",
        out.eval
    );
}

#[test]
fn bad_settings_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let config = kit::testing::repo_root().join("configs/style-transfer/smoke.yaml");
    let cases: [(&[&str], &str); 10] = [
        (
            &["loss.content_weight=0", "loss.style_weight=0"],
            "loss.style_weight",
        ),
        (&["loss.style_weight=.nan"], "loss.style_weight"),
        (&["loss.tv_weight=-1"], "loss.tv_weight"),
        (&["data.size=30"], "data.size"),
        (&["data.test_size=0"], "data.test_size"),
        (&["features.kind=vgg19"], "features.weights"),
        (
            &["features.style_layer_weights=[1.0]"],
            "features.style_layer_weights",
        ),
        // A negative weight trained with exit 0 and a style ratio of −27.7.
        (
            &["features.style_layer_weights=[-1.0, 1.0]"],
            "features.style_layer_weights",
        ),
        (
            &["features.style_layer_weights=[0.0, 0.0]"],
            "features.style_layer_weights",
        ),
        // An eval network's layer that does not exist used to fail only at `eval`.
        (
            &["eval.networks=[{kind: random_vgg19, weights: '', seed: 7, filters: 8, kernel_sizes: [3], content_layers: [relu2_2], style_layers: [relu9_9], style_layer_weights: [1.0]}]"],
            "eval.networks[0].style_layers",
        ),
    ];
    for (sets, key) in cases {
        let mut args = vec![
            "train".to_string(),
            "--config".into(),
            p(&config),
            "--runs".into(),
            p(&runs),
        ];
        for set in sets {
            args.extend(["--set".into(), set.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = run_cli(BIN, &args);
        assert!(!ok, "--set {sets:?} was accepted:\n{text}");
        assert!(
            text.contains(&format!("`{key}`")),
            "--set {sets:?}: `{key}` not named:\n{text}"
        );
        assert_eq!(
            std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0),
            0,
            "{sets:?}"
        );
    }
    // An unknown layer names the layers there are.
    let (ok, text) = run_cli(
        BIN,
        &[
            "train",
            "--config",
            &p(&config),
            "--runs",
            &p(&runs),
            "--set",
            "features.content_layers=[conv4_2]",
        ],
    );
    assert!(
        !ok && text.contains("`features.content_layers`")
            && text.contains("no layer `conv4_2` in RandomMultiscale; its layers are ms3, ms5"),
        "{text}"
    );
    assert_eq!(std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn style_pictures_too_small_are_refused_and_odd_formats_converted() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = p(&tmp.path().join("runs"));
    // 4×4 pixels: smaller than the 5×5 receptive field of the smoke config's ms5 layer.
    let tiny = tmp.path().join("tiny.png");
    image::RgbImage::new(4, 4).save(&tiny).unwrap();
    let (ok, text) = run_cli(
        BIN,
        &[
            "optimize",
            "--config",
            &smoke(),
            "--runs",
            &runs,
            "--set",
            &format!("data.style={}", p(&tiny)),
        ],
    );
    assert!(
        !ok && text.contains("smaller than the 5-pixel receptive field"),
        "{text}"
    );
    // A 1×1 content picture: refused by optimize as predict refuses it, nothing written.
    let dot = tmp.path().join("dot.png");
    image::RgbImage::new(1, 1).save(&dot).unwrap();
    let (ok, text) = run_cli(
        BIN,
        &[
            "optimize",
            "--config",
            &smoke(),
            "--runs",
            &runs,
            "--content",
            &p(&dot),
        ],
    );
    assert!(!ok && text.contains("too small to stylise"), "{text}");
    assert!(
        !Path::new(&runs).join("style-transfer").exists(),
        "optimize wrote a folder"
    );
    // A 16-bit greyscale + alpha style picture is converted, and the console says so.
    let la = tmp.path().join("la16.png");
    let img = image::ImageBuffer::<image::LumaA<u16>, _>::from_fn(40, 40, |x, y| {
        image::LumaA([(x * 1600) as u16, (y * 1600) as u16])
    });
    img.save(&la).unwrap();
    let out = run_ok(
        BIN,
        &[
            "optimize",
            "--config",
            &smoke(),
            "--runs",
            &runs,
            "--set",
            &format!("data.style={}", p(&la)),
        ],
    );
    assert!(out.contains("converted to 8-bit RGB"), "{out}");
}

#[test]
fn ctrl_c_stops_optimize_and_still_writes_the_picture() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = p(&tmp.path().join("runs"));
    let child = std::process::Command::new(BIN)
        .args([
            "optimize",
            "--config",
            &smoke(),
            "--runs",
            &runs,
            "--name",
            "c",
        ])
        .args([
            "--set",
            "optimize.steps=1000000",
            "--set",
            "optimize.log_every=1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = tmp.path().join("runs/style-transfer/c/metrics.jsonl");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&log).map_or(0, |s| s.lines().count()) < 3 {
        assert!(t0.elapsed().as_secs() < 60, "optimize logged nothing");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("stopped at step"), "{text}");
    let folder = tmp.path().join("runs/style-transfer/c");
    assert!(folder.join("result.png").is_file() && folder.join("scores.json").is_file());
}

#[test]
fn every_config_and_grid_is_valid() {
    let n = kit::testing::validate_every_config::<style_transfer::config::Config>("style-transfer");
    assert_eq!(n, 3, "default, quick, smoke");
    // The grid's runs validate too (the sweep checks every run's config before writing).
    let tmp = tempfile::tempdir().unwrap();
    let grid = kit::testing::repo_root().join("configs/style-transfer/sweeps/style-weight.yaml");
    let out = run_ok(
        BIN,
        &[
            "sweep",
            "--grid",
            &p(&grid),
            "--runs",
            &p(tmp.path()),
            "--slurm",
            "--no-submit",
        ],
    );
    assert!(out.contains("3 grid points × 3 seeds = 9 runs"), "{out}");
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_style-transfer"),
        "style-transfer",
        &kit::testing::repo_root().join("configs/style-transfer/smoke.yaml"),
        &[],
    );
}
