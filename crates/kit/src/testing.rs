//! Scaffolding the apps' integration tests share (not used by the apps themselves).

pub mod ranks;

use std::path::Path;
use std::process::Command;

/// Runs `bin args`; returns whether it succeeded and its stdout + stderr.
pub fn run_cli(bin: &str, args: &[&str]) -> (bool, String) {
    match Command::new(bin).args(args).output() {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run {bin}: {e}")),
    }
}

/// Like [`run_cli`], panicking with the output when the command fails.
pub fn run_ok(bin: &str, args: &[&str]) -> String {
    let (ok, text) = run_cli(bin, args);
    assert!(ok, "{bin} {args:?} failed:\n{text}");
    text
}

/// Trains `app`'s smoke config on the CPU into `runs/<app>/<name>` with `sets` (`key=value`)
/// added, then evaluates that run on its test split; returns what each printed (both must
/// succeed). What the tests of a data layout do after reading it.
pub fn smoke_train_eval(
    bin: &str,
    app: &str,
    runs: &Path,
    name: &str,
    sets: &[&str],
) -> (String, String) {
    let smoke = repo_root().join(format!("configs/{app}/smoke.yaml"));
    let (smoke, runs_s) = (smoke.to_string_lossy(), runs.to_string_lossy());
    let mut args = vec!["train", "-c", &smoke, "--runs", &runs_s, "--name", name];
    for s in std::iter::once(&"train.device=cpu").chain(sets) {
        args.extend(["--set", s]);
    }
    let trained = run_ok(bin, &args);
    let run = runs.join(app).join(name);
    let evaluated = run_ok(bin, &["eval", "--run", &run.to_string_lossy()]);
    assert!(evaluated.contains("appended to"), "{evaluated}");
    (trained, evaluated)
}

/// What [`self_contained`] printed.
pub struct SelfContained {
    pub predict: String,
    pub eval: String,
}

/// The check every app runs: `synth` a small dataset into `tmp/ds`, train on it with
/// `config` + `sets`, keep only its evaluation split (`val/`, moved to `tmp/kept/val`) and
/// delete the rest, then `predict` on `predict_inputs` (paths relative to `tmp/kept/val`) and
/// `eval --data tmp/kept`. A run folder that still needed its training data fails here.
pub fn self_contained(
    bin: &str,
    tmp: &Path,
    config: &Path,
    n: usize,
    sets: &[&str],
    predict_inputs: &[&str],
) -> SelfContained {
    self_contained_split(bin, tmp, config, n, sets, predict_inputs, "val")
}

/// [`self_contained`] for an app whose evaluation split is named `split` (e.g. `test`).
pub fn self_contained_split(
    bin: &str,
    tmp: &Path,
    config: &Path,
    n: usize,
    sets: &[&str],
    predict_inputs: &[&str],
    split: &str,
) -> SelfContained {
    let p = |x: &Path| x.to_string_lossy().to_string();
    let (ds, runs, kept) = (tmp.join("ds"), tmp.join("runs"), tmp.join("kept"));
    let n = n.to_string();
    run_ok(
        bin,
        &["synth", "--out", &p(&ds), "--n", &n, "--config", &p(config)],
    );
    let mut train: Vec<String> = ["train", "--config", &p(config), "--runs", &p(&runs)]
        .iter()
        .map(|s| s.to_string())
        .collect();
    train.extend(["--name".into(), "self-contained".into()]);
    train.extend(["--set".into(), format!("data.source={}", p(&ds))]);
    for s in sets {
        train.extend(["--set".into(), s.to_string()]);
    }
    let train: Vec<&str> = train.iter().map(String::as_str).collect();
    run_ok(bin, &train);
    std::fs::create_dir_all(&kept).unwrap_or_else(|e| panic!("{}: {e}", kept.display()));
    std::fs::rename(ds.join(split), kept.join(split))
        .unwrap_or_else(|e| panic!("move {split}: {e}"));
    std::fs::remove_dir_all(&ds).unwrap_or_else(|e| panic!("remove ds: {e}"));
    let app = Path::new(bin)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let run = p(&runs.join(app).join("self-contained"));
    let inputs: Vec<String> = predict_inputs
        .iter()
        .map(|i| p(&kept.join(split).join(i)))
        .collect();
    let mut predict = vec!["predict", "--run", &run];
    predict.extend(inputs.iter().map(String::as_str));
    let predict = run_ok(bin, &predict);
    let eval = run_ok(bin, &["eval", "--run", &run, "--data", &p(&kept)]);
    SelfContained { predict, eval }
}

/// Asserts that `bin train --config config --set <set>` fails naming `key`, and creates no
/// folder under `runs` (validation happens before anything is written).
pub fn assert_invalid_before_any_write(
    bin: &str,
    config: &Path,
    set: &str,
    key: &str,
    runs: &Path,
) {
    let p = |x: &Path| x.to_string_lossy().to_string();
    let (ok, text) = run_cli(
        bin,
        &[
            "train",
            "--config",
            &p(config),
            "--runs",
            &p(runs),
            "--set",
            set,
        ],
    );
    assert!(!ok, "--set {set} was accepted:\n{text}");
    assert!(
        text.contains(&format!("`{key}`")),
        "--set {set}: key not named:\n{text}"
    );
    let made = std::fs::read_dir(runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        made,
        0,
        "--set {set}: something was written under {}",
        runs.display()
    );
}

/// The workspace root (where `configs/` lives), from any crate's tests.
pub fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `configs/<app>/<name>.yaml` on the CPU, panicking with the config error.
pub fn load_config<C: serde::de::DeserializeOwned>(app: &str, name: &str) -> C {
    let path = repo_root().join(format!("configs/{app}/{name}.yaml"));
    crate::config::load(&path, &["train.device=cpu".into()])
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A TensorBoard log folder as TensorBoard's own `EventAccumulator` reads it (scalars, images,
/// histograms, text, hparams, mesh), via `crates/kit/tests/read_events.py` in the project's
/// `.venv` (made by `just setup`).
pub fn read_tensorboard(dir: &Path) -> serde_json::Value {
    let root = repo_root();
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run `just setup`",
        python.display()
    );
    let out = std::process::Command::new(python)
        .arg(root.join("crates/kit/tests/read_events.py"))
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("read_events.py: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("read_events.py output: {e}"))
}

/// Loads and validates every `configs/<app>/*.yaml` (sweep grids live in `sweeps/` and are not
/// configs), panicking with the file and the error; returns how many there were, so a test can
/// assert that none was missed (a hand-written list of names let new configs go unchecked).
pub fn validate_every_config<C: crate::app::AppConfig>(app: &str) -> usize {
    let dir = repo_root().join("configs").join(app);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("yaml"))
        .collect();
    paths.sort();
    for path in &paths {
        let c: C =
            crate::config::load(path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        c.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    paths.len()
}

/// The smoke-train setup the apps' tests share: a run folder `DIR/<app>/t` holding the config,
/// a logger, and [`crate::train::fit`] with default options; returns the run folder.
pub fn smoke_fit<C: crate::app::AppConfig, T: crate::train::Task>(
    dir: &Path,
    app: &str,
    cfg: &C,
    task: &mut T,
) -> crate::rundir::RunDir {
    let run = crate::rundir::RunDir::create(dir, app, Some("t"), "t").expect("run folder");
    std::fs::write(
        run.config(),
        crate::config::to_yaml(cfg).expect("config as YAML"),
    )
    .expect("config.yaml");
    let mut log = crate::logging::Logger::new(&run.root).expect("logger");
    crate::train::fit(task, cfg.train(), &run, &mut log, Default::default()).expect("fit");
    run
}

/// The path of a cargo example's binary (`target/<profile>/examples/<name>`) from an
/// integration test, which runs from `target/<profile>/deps/`. `cargo test` builds the examples
/// of the packages it tests; a narrower build may not have, and the panic says what to run.
pub fn example_bin(package: &str, name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let bin = profile_dir.join("examples").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p {package} --example {name}` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// Asserts that no validation or test item of a synthetic set equals a training item byte for
/// byte, and no test item a validation one (items as their content bytes: pixels, voxels,
/// points); panics naming the app, the split and how many.
pub fn assert_disjoint_by_content(app: &str, train: &[Vec<u8>], val: &[Vec<u8>], test: &[Vec<u8>]) {
    use std::collections::HashSet;
    assert!(
        !train.is_empty() && !val.is_empty() && !test.is_empty(),
        "{app}: an empty split ({} / {} / {})",
        train.len(),
        val.len(),
        test.len()
    );
    let seen: HashSet<&[u8]> = train.iter().map(Vec::as_slice).collect();
    for (split, items) in [("validation", val), ("test", test)] {
        let leaked = items.iter().filter(|i| seen.contains(i.as_slice())).count();
        assert_eq!(
            leaked,
            0,
            "{app}: {leaked} of {} {split} items are training items",
            items.len()
        );
    }
    let val: HashSet<&[u8]> = val.iter().map(Vec::as_slice).collect();
    let both = test.iter().filter(|i| val.contains(i.as_slice())).count();
    assert_eq!(
        both,
        0,
        "{app}: {both} of {} test items are validation items",
        test.len()
    );
}

/// A float slice's bytes, for [`assert_disjoint_by_content`].
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The kill-at-the-worst-moment check through an app's own binary: trains `config` (+ `sets`)
/// for 6 steps, every step logged, stopping as Ctrl-C would after 3 (checkpoint at step 3);
/// adds what a process killed after logging steps 4–5 but before their checkpoint leaves
/// (`metrics.jsonl` lines, a line torn mid-write, its own event file with those steps of
/// `train/loss`); resumes; and asserts that `metrics.jsonl` and TensorBoard's own reader hold
/// `train/loss` exactly once per step 1–6, with no orphan value.
pub fn assert_resume_records_each_step_once(bin: &str, app: &str, config: &Path, sets: &[&str]) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let runs = tmp.path().to_string_lossy().to_string();
    let mut args: Vec<String> = [
        "train",
        "--config",
        &config.to_string_lossy(),
        "--runs",
        &runs,
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--name", "killed", "--stop-after", "3"].map(String::from));
    for s in [
        "train.log_every=1",
        "train.max_steps=6",
        "train.eval_every=3",
        "train.epochs=1000",
    ]
    .iter()
    .chain(sets)
    {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(bin, &a);
    let run = tmp.path().join(app).join("killed");
    let metrics = run.join("metrics.jsonl");
    let orphan_value = 12345.0;
    let mut lines = std::fs::read_to_string(&metrics).unwrap_or_default();
    let mut orphan = tboard::EventWriter::new(&run).unwrap_or_else(|e| panic!("{e}"));
    for s in 4..=5 {
        orphan
            .scalar("train/loss", s, orphan_value)
            .unwrap_or_else(|e| panic!("{e}"));
        lines += &format!("{{\"step\":{s},\"train/loss\":{orphan_value}}}\n");
    }
    lines += "{\"step\":6,\"train/lo";
    drop(orphan);
    std::fs::write(&metrics, lines).unwrap_or_else(|e| panic!("{e}"));
    run_ok(bin, &["train", "--resume", &run.to_string_lossy()]);
    let logged: Vec<(u64, f64)> = std::fs::read_to_string(&metrics)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("{app}: metrics.jsonl line {l:?}: {e}"))
        })
        .filter_map(|v| Some((v["step"].as_u64()?, v.get("train/loss")?.as_f64()?)))
        .collect();
    let steps: Vec<u64> = logged.iter().map(|p| p.0).collect();
    assert_eq!(
        steps,
        (1..=6).collect::<Vec<_>>(),
        "{app}: metrics.jsonl's train/loss steps"
    );
    assert!(
        logged.iter().all(|p| p.1 != orphan_value),
        "{app}: an orphan line survived"
    );
    let tb = read_tensorboard(&run);
    let loss = tb["scalars"]["train/loss"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tb_steps: Vec<u64> = loss.iter().filter_map(|p| p[0].as_u64()).collect();
    assert_eq!(
        tb_steps,
        (1..=6).collect::<Vec<_>>(),
        "{app}: TensorBoard's train/loss steps"
    );
    assert!(
        loss.iter().all(|p| p[1].as_f64() != Some(orphan_value)),
        "{app}: an orphan event survived"
    );
}
