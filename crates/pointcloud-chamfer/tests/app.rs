//! pointcloud-chamfer end to end: shapes are seeded, smoke training lowers the loss, the run
//! is self-contained (predict writes a .ply and a picture, eval prints the table with its
//! baselines), the point clouds reach TensorBoard's mesh dashboard, a mesh folder trains, and
//! bad inputs are named.

use pointcloud_chamfer::config::Config;
use pointcloud_chamfer::data;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn smoke() -> Config {
    kit::testing::load_config("pointcloud-chamfer", "smoke")
}

const BIN: &str = env!("CARGO_BIN_EXE_pointcloud-chamfer");

#[test]
fn shapes_are_seeded_and_cover_every_class() {
    let cfg = smoke().data;
    let a = data::generate(&cfg, 18, 5);
    let b = data::generate(&cfg, 18, 5);
    assert_eq!(a.len(), 18);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (&x.image, &x.points, &x.class),
            (&y.image, &y.points, &y.class)
        );
    }
    assert_ne!(a[0].points, data::generate(&cfg, 1, 6)[0].points);
    let classes: std::collections::BTreeSet<&str> = a.iter().map(|s| &*s.class).collect();
    assert_eq!(classes.len(), 9);
    for s in &a {
        // Unit bounding-box diagonal, and the object is in the picture.
        let d = pointcloud_chamfer::mesh::diagonal(&s.points);
        assert!(d > 0.9 && d <= 1.0001, "{}: diagonal {d}", s.name);
        let lit = s.image.iter().filter(|&&v| v > 0.0).count();
        assert!(lit > 20, "{}: {lit} lit pixels", s.name);
    }
}

#[test]
fn smoke_train_lowers_the_loss_and_the_run_is_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained(
        BIN,
        tmp.path(),
        &repo().join("configs/pointcloud-chamfer/smoke.yaml"),
        144,
        &["train.epochs=4", "train.device=cpu"],
        &["images/box-00000.png"],
    );
    assert!(out.predict.contains("128 points"), "{}", out.predict);
    let pred = tmp
        .path()
        .join("runs/pointcloud-chamfer/self-contained/predictions");
    let ply = pointcloud_chamfer::mesh::read_ply(&pred.join("box-00000.ply")).unwrap();
    assert_eq!(ply.vertices.len(), 128);
    assert!(pred.join("box-00000-views.png").exists());
    for want in [
        "| mean | 36 |",
        "class medoid (true class given)",
        "retrieval (nearest training image code)",
    ] {
        assert!(out.eval.contains(want), "missing `{want}`:\n{}", out.eval);
    }
    let run = tmp.path().join("runs/pointcloud-chamfer/self-contained");
    let jsonl = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let losses: Vec<f64> = jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("train/chamfer").and_then(|x| x.as_f64()))
        .collect();
    assert!(
        losses.len() >= 3 && losses[losses.len() - 1] < losses[0] * 0.5,
        "{losses:?}"
    );
    // TensorBoard's own reader sees both clouds in the mesh dashboard, and the pictures.
    let ev = kit::testing::read_tensorboard(&run);
    for tag in [
        "val/predicted_VERTEX",
        "val/predicted_COLOR",
        "val/truth_VERTEX",
    ] {
        assert!(
            ev["mesh"].get(tag).is_some(),
            "{tag} missing: {}",
            ev["mesh"]
        );
    }
    assert_eq!(
        ev["mesh"]["val/predicted_VERTEX"]["array_shape"],
        serde_json::json!([1, 128, 3])
    );
    assert_eq!(
        ev["mesh"]["val/truth_VERTEX"]["array_shape"],
        serde_json::json!([1, 256, 3])
    );
    assert!(ev["images"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("val/input")));
}

#[test]
fn a_folder_of_meshes_trains_and_evaluates_and_sinkhorn_runs() {
    let tmp = tempfile::tempdir().unwrap();
    // Two classes of hand-written OFF meshes: a tetrahedron and a square pyramid.
    let tet = "OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n";
    let pyr = "OFF\n5 5 0\n0 0 0\n1 0 0\n1 0 1\n0 0 1\n0.5 1 0.5\n4 0 1 2 3\n3 0 4 1\n3 1 4 2\n3 2 4 3\n3 3 4 0\n";
    for split in ["train", "val"] {
        for (class, text) in [("tet", tet), ("pyramid", pyr)] {
            let d = tmp.path().join("meshes").join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("a.off"), text).unwrap();
        }
    }
    let p = |x: &Path| x.to_string_lossy().to_string();
    let runs = tmp.path().join("runs");
    let src = format!("data.source={}", p(&tmp.path().join("meshes")));
    let smoke = p(&repo().join("configs/pointcloud-chamfer/smoke.yaml"));
    let args = [
        "train",
        "--config",
        &smoke,
        "--runs",
        &p(&runs),
        "--name",
        "m",
        "--set",
        &src,
        "--set",
        "data.views_per_mesh=16",
        "--set",
        "loss.kind=sinkhorn",
        "--set",
        "loss.max_iters=5",
        "--set",
        "train.device=cpu",
        // 0 means "no baselines": eval used to panic inside tch on the empty bank.
        "--set",
        "eval.bank_size=0",
    ];
    let text = kit::testing::run_ok(BIN, &args);
    assert!(text.contains("finished"), "{text}");
    let eval = kit::testing::run_ok(
        BIN,
        &["eval", "--run", &p(&runs.join("pointcloud-chamfer/m"))],
    );
    assert!(
        eval.contains("| pyramid | 16 |") && eval.contains("| tet | 16 |"),
        "{eval}"
    );
    assert!(eval.contains("baselines skipped"), "{eval}");
    // The mesh folder has no test/: eval says it reports validation, and eval.json records it.
    assert!(eval.contains("no test/ split"), "{eval}");
    let log: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs.join("pointcloud-chamfer/m/eval.json")).unwrap(),
    )
    .unwrap();
    assert!(
        log[0]["split"].as_str().unwrap().starts_with("validation"),
        "{log}"
    );
    // eval --data writes its picture under the data folder's name, not over the run's own.
    let run = runs.join("pointcloud-chamfer/m");
    let own = std::fs::read(run.join("eval-best-examples.png")).unwrap();
    let other = kit::testing::run_ok(
        BIN,
        &[
            "eval",
            "--run",
            &p(&run),
            "--data",
            &p(&tmp.path().join("meshes")),
        ],
    );
    assert!(other.contains("eval-best-meshes-examples.png"), "{other}");
    assert_eq!(
        std::fs::read(run.join("eval-best-examples.png")).unwrap(),
        own
    );
}

#[test]
fn bad_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke().data;
    // A mesh folder with a broken mesh names the file and line.
    let d = tmp.path().join("bad");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("x.off"),
        "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n",
    )
    .unwrap();
    let msg = data::read_split(&cfg, &d, 0).unwrap_err().to_string();
    assert!(msg.contains("x.off") && msg.contains("line 6"), "{msg}");
    // synth's format: a missing point file is named; a bad meta.csv line too.
    let ds = tmp.path().join("ds");
    let (ok, text) = kit::testing::run_cli(
        BIN,
        &[
            "synth",
            "--out",
            &ds.to_string_lossy(),
            "--n",
            "9",
            "--config",
            &repo()
                .join("configs/pointcloud-chamfer/smoke.yaml")
                .to_string_lossy(),
        ],
    );
    assert!(ok, "{text}");
    let val = ds.join("val");
    std::fs::remove_file(val.join("points/box-00000.ply")).unwrap();
    let msg = data::read_split(&cfg, &val, 0).unwrap_err().to_string();
    assert!(msg.contains("box-00000.ply"), "{msg}");
    let meta = val.join("meta.csv");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replacen(",box,", ",box,north", 1)).unwrap();
    let msg = data::read_split(&cfg, &val, 0).unwrap_err().to_string();
    assert!(
        msg.contains("meta.csv") && msg.contains("line 2") && msg.contains("not a number"),
        "{msg}"
    );
    let msg = data::read_split(&cfg, &tmp.path().join("empty-nothing"), 0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("empty-nothing"), "{msg}");
    let runs = tmp.path().join("runs");
    let smoke = repo().join("configs/pointcloud-chamfer/smoke.yaml");
    kit::testing::assert_invalid_before_any_write(
        BIN,
        &smoke,
        "data.image_size=30",
        "data.image_size",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(
        BIN,
        &smoke,
        "data.classes=[vase]",
        "data.classes",
        &runs,
    );
    kit::testing::assert_invalid_before_any_write(
        BIN,
        &smoke,
        "loss.epsilon=0",
        "loss.epsilon",
        &runs,
    );
}

#[test]
fn every_config_in_the_folder_validates() {
    let n = kit::testing::validate_every_config::<pointcloud_chamfer::config::Config>(
        "pointcloud-chamfer",
    );
    assert!(n >= 7, "only {n} configs in configs/pointcloud-chamfer/");
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_pointcloud-chamfer"),
        "pointcloud-chamfer",
        &kit::testing::repo_root().join("configs/pointcloud-chamfer/smoke.yaml"),
        &[],
    );
}
