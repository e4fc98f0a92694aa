//! Sweeps end to end on the spiral app: a grid × seeds into one table with mean ± std, a
//! stopped sweep continued to the same weights as an uninterrupted one, a failed run listed
//! with the last line of its log, and the Slurm script of what is left.

use std::path::Path;

fn sweep(args: &[&str]) -> (bool, String) {
    let bin = kit::testing::example_bin("kit", "spiral");
    kit::testing::run_cli(&bin.to_string_lossy(), args)
}

fn write_grid(dir: &Path, axes: &str) -> String {
    let smoke = kit::testing::repo_root().join("configs/spiral/smoke.yaml");
    let g = dir.join("grid.yaml");
    std::fs::write(
        &g,
        format!(
            "config: {}\nset: [train.epochs=2, train.device=cpu, train.workers=1]\naxes:\n{axes}\nmetrics: [accuracy]\n",
            smoke.display()
        ),
    )
    .unwrap();
    g.to_string_lossy().to_string()
}

fn weights(run: &Path) -> Vec<(String, tch::Tensor)> {
    let mut t = tch::Tensor::read_safetensors(run.join("checkpoints/last.safetensors")).unwrap();
    t.retain(|(k, _)| !k.starts_with("optim/"));
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn a_grid_with_seeds_becomes_one_table_and_a_stopped_sweep_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let r = runs.to_string_lossy().to_string();
    let grid = write_grid(tmp.path(), "  - model.hidden: [16, 32]");
    let (ok, text) = sweep(&[
        "sweep", "--grid", &grid, "--seeds", "2", "--name", "whole", "--runs", &r,
    ]);
    assert!(ok, "{text}");
    let dir = runs.join("spiral/sweep-whole");
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap();
    assert!(
        table.contains("| model.hidden | seeds | accuracy |"),
        "{table}"
    );
    for h in ["16", "32"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| {h} |")))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(row.contains("| 2/2 |") && row.contains(" ± "), "{row}");
    }
    let csv = std::fs::read_to_string(dir.join("table.csv")).unwrap();
    assert!(
        csv.starts_with(
            "model.hidden,seeds_finished,seeds_total,accuracy_mean,accuracy_std\n16,2,2,"
        ),
        "{csv}"
    );
    for name in [
        "hidden=16_seed=42",
        "hidden=16_seed=43",
        "hidden=32_seed=42",
        "hidden=32_seed=43",
    ] {
        assert!(dir.join(name).join("result.json").is_file(), "{name}");
    }
    // Seeds differ: the two seeds of a point trained different weights.
    let (a, b) = (
        weights(&dir.join("hidden=16_seed=42")),
        weights(&dir.join("hidden=16_seed=43")),
    );
    assert!(a.iter().zip(&b).any(|((_, x), (_, y))| !x.equal(y)));
    // The metric against a numeric axis, as a picture; an axis the grid lacks is named.
    let d = dir.to_string_lossy().to_string();
    let (ok, text) = sweep(&["sweep", "collect", &d, "--plot", "model.hidden"]);
    assert!(ok, "{text}");
    let png = image::open(dir.join("accuracy-vs-model_hidden.png")).unwrap();
    assert!(png.width() > 300 && png.height() > 200);
    let (ok, text) = sweep(&["sweep", "collect", &d, "--plot", "train.lr"]);
    assert!(!ok && text.contains("axes: model.hidden"), "{text}");
    // Paired by seed against hidden=16: the per-seed differences, from the runs' results.
    let acc = |name: &str| -> f64 {
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(name).join("result.json")).unwrap(),
        )
        .unwrap();
        r["best"]["accuracy"].as_f64().unwrap()
    };
    let d = [
        acc("hidden=32_seed=42") - acc("hidden=16_seed=42"),
        acc("hidden=32_seed=43") - acc("hidden=16_seed=43"),
    ];
    let (m, sd, p) = sweep::paired_t(&d);
    let (ok, text) = sweep(&[
        "sweep",
        "collect",
        &dir.to_string_lossy(),
        "--baseline",
        "hidden=16",
    ]);
    assert!(ok, "{text}");
    let row = format!("| 32 | 2 | {m:+.4} ± {sd:.4} (p {p:.3}) |");
    assert!(text.contains(&row), "{row} not in\n{text}");
    assert!(std::fs::read_to_string(dir.join("table.md"))
        .unwrap()
        .contains(&row));
    // Running it again does nothing; Slurm would get nothing either.
    let (ok, text) = sweep(&[
        "sweep", "--grid", &grid, "--seeds", "2", "--name", "whole", "--runs", &r,
    ]);
    assert!(ok && text.contains("0 to do"), "{text}");
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap();
    assert!(
        table.contains("configs/spiral/smoke.yaml with train.epochs=2"),
        "{table}"
    );
    // Another grid under the same name is refused.
    let (ok, text) = sweep(&[
        "sweep", "--grid", &grid, "--seeds", "3", "--name", "whole", "--runs", &r,
    ]);
    assert!(!ok && text.contains("different sweep"), "{text}");

    // The same sweep, but run 2 is stopped after 3 steps (as Ctrl-C would) and run 3 never
    // started: the next `sweep` resumes 2, starts 3, and ends with the same weights.
    let part = runs.join("spiral/sweep-part");
    // Writes the Slurm script of what is left of the "part" sweep, without submitting it.
    let part_to_slurm = || {
        sweep(&[
            "sweep",
            "--grid",
            &grid,
            "--seeds",
            "2",
            "--name",
            "part",
            "--runs",
            &r,
            "--slurm",
            "--no-submit",
        ])
    };
    let (ok, text) = part_to_slurm();
    assert!(ok, "{text}");
    let sb = std::fs::read_to_string(part.join("sweep.sbatch")).unwrap();
    assert!(
        sb.contains("#SBATCH --array=0-3\n") && sb.contains("sweep task"),
        "{sb}"
    );
    for i in ["0", "1"] {
        let (ok, text) = sweep(&["sweep", "task", &part.to_string_lossy(), i]);
        assert!(ok, "{text}");
    }
    let (ok, text) = sweep(&[
        "sweep",
        "task",
        &part.to_string_lossy(),
        "2",
        "--stop-after",
        "3",
    ]);
    assert!(ok && text.contains("interrupted at step 3"), "{text}");
    // What is left goes to Slurm as a new array over the remaining indices.
    let (ok, text) = part_to_slurm();
    assert!(ok && text.contains("2 to do"), "{text}");
    let sb = std::fs::read_to_string(part.join("sweep.sbatch")).unwrap();
    assert!(sb.contains("#SBATCH --array=2-3\n"), "{sb}");
    let (ok, text) = sweep(&[
        "sweep", "--grid", &grid, "--seeds", "2", "--name", "part", "--runs", &r,
    ]);
    assert!(
        ok && text.contains("resuming hidden=32_seed=42")
            && text.contains("starting hidden=32_seed=43"),
        "{text}"
    );
    for name in ["hidden=32_seed=42", "hidden=32_seed=43"] {
        let (w, p) = (weights(&dir.join(name)), weights(&part.join(name)));
        assert_eq!(w.len(), p.len());
        for ((k, x), (_, y)) in w.iter().zip(&p) {
            assert!(
                x.equal(y),
                "{name}: {k} differs between the whole and the continued sweep"
            );
        }
    }
}

#[test]
fn a_failed_run_is_listed_with_the_last_line_of_its_log() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let r = runs.to_string_lossy().to_string();
    // lr = 1e30 without clipping blows the weights up: the run stops with an error.
    let grid = write_grid(
        tmp.path(),
        "  - train.lr: [0.01, 1.0e+30]\n    train.grad_clip: [5.0, 0.0]",
    );
    let (ok, text) = sweep(&["sweep", "--grid", &grid, "--name", "f", "--runs", &r]);
    assert!(ok, "{text}");
    let dir = runs.join("spiral/sweep-f");
    let (ok, table) = sweep(&["sweep", "collect", &dir.to_string_lossy()]);
    assert!(ok, "{table}");
    assert!(table.contains("| 0.01 | 5.0 | 1/1 |"), "{table}");
    assert!(table.contains("| 1e30 | 0.0 | 0/1 | – |"), "{table}");
    let line = table
        .lines()
        .find(|l| l.contains("failed:"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains("`lr=1e30_grad_clip=0.0_seed=42` failed: error: loss term"),
        "{line}"
    );
    assert!(line.contains("NaN"), "{line}");
    // A metric the app does not log is named, with the ones it does.
    let plan = std::fs::read_to_string(dir.join("plan.json")).unwrap();
    std::fs::write(
        dir.join("plan.json"),
        plan.replace("\"accuracy\"", "\"acc\""),
    )
    .unwrap();
    let (ok, text) = sweep(&["sweep", "collect", &dir.to_string_lossy()]);
    assert!(
        !ok && text.contains("metric `acc`") && text.contains("accuracy"),
        "{text}"
    );
}

#[test]
fn a_grid_with_test_reports_the_test_split_at_the_checkpoint_validation_chose() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let r = runs.to_string_lossy().to_string();
    let grid = write_grid(tmp.path(), "  - model.hidden: [16]");
    let text = std::fs::read_to_string(&grid).unwrap() + "test: true\n";
    std::fs::write(&grid, text).unwrap();
    let (ok, text) = sweep(&[
        "sweep", "--grid", &grid, "--seeds", "2", "--name", "t", "--runs", &r,
    ]);
    assert!(ok, "{text}");
    let dir = runs.join("spiral/sweep-t");
    let mut tests = Vec::new();
    for seed in [42, 43] {
        let f = dir.join(format!("hidden=16_seed={seed}/result.json"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let (val, test) = (
            v["best"]["accuracy"].as_f64(),
            v["test"]["accuracy"].as_f64(),
        );
        assert!(val.is_some() && test.is_some(), "{v}");
        tests.push(test.unwrap());
    }
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap();
    let (m, s) = sweep::mean_std(&tests);
    assert!(
        table.contains(&format!("| 16 | 2/2 | {m:.4} ± {s:.4} |")),
        "{table}"
    );
    assert!(table.contains("the test split"), "{table}");
    // The training loss against the step, mean over the two seeds; an unknown tag is named.
    let d = dir.to_string_lossy().to_string();
    let (ok, text) = sweep(&["sweep", "collect", &d, "--curves", "train/loss"]);
    assert!(ok && dir.join("train_loss-curves.png").is_file(), "{text}");
    let (ok, text) = sweep(&["sweep", "collect", &d, "--curves", "train/nothing"]);
    assert!(!ok && text.contains("train/nothing"), "{text}");
}
