//! face-or-not end to end through its binary: the configs validate; a smoke run on a synthetic
//! folder trains, and eval (CNN + baselines) and predict (a picture, a photo by sliding
//! window) work from the run folder; a resumed run records each step once; a bad key or a
//! chain of runs across folds fails before anything is written.

use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_face-or-not");

fn p(x: &Path) -> String {
    x.to_string_lossy().to_string()
}

fn smoke() -> std::path::PathBuf {
    kit::testing::repo_root().join("configs/face-or-not/smoke.yaml")
}

/// `n` synthetic pictures written to `out` as `train/ val/ test/` folders.
fn synth(out: &Path, n: usize) {
    let n = n.to_string();
    kit::testing::run_ok(
        BIN,
        &[
            "synth",
            "--out",
            &p(out),
            "--n",
            &n,
            "--config",
            &p(&smoke()),
        ],
    );
}

#[test]
fn every_config_validates() {
    assert!(kit::testing::validate_every_config::<face_or_not::config::Config>("face-or-not") >= 4);
}

#[test]
fn trains_on_a_folder_then_eval_and_predict_read_only_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    synth(&tmp.path().join("ds"), 320);
    let source = format!("data.source={}", p(&tmp.path().join("ds")));
    kit::testing::run_ok(
        BIN,
        &[
            "train",
            "--config",
            &p(&smoke()),
            "--runs",
            &p(&runs),
            "--name",
            "t",
            "--set",
            &source,
        ],
    );
    let run = p(&runs.join("face-or-not/t"));
    let eval = kit::testing::run_ok(BIN, &["eval", "--run", &run]);
    for row in [
        "| CNN |",
        "| logistic regression on pixels |",
        "| HOG + logistic regression |",
        "converged",
    ] {
        assert!(eval.contains(row), "{row} missing:\n{eval}");
    }
    // A photo: a 90×60 picture with a rendered face pasted in.
    let photo = tmp.path().join("photo.png");
    let mut img = image::RgbImage::from_pixel(90, 60, image::Rgb([120, 140, 160]));
    let face = image::DynamicImage::ImageLuma8(face_or_not::pictures::face(3, 0)).to_rgb8();
    image::imageops::overlay(&mut img, &face, 40, 20);
    img.save(&photo).unwrap();
    let small = tmp.path().join("small.png");
    face_or_not::pictures::face(3, 1).save(&small).unwrap();
    std::fs::remove_dir_all(tmp.path().join("ds")).unwrap();
    let out = kit::testing::run_ok(
        BIN,
        &[
            "predict",
            "--run",
            &run,
            &p(&small),
            &p(&photo),
            "--out",
            &p(&tmp.path().join("out")),
        ],
    );
    assert!(out.contains("P(face) ="), "{out}");
    assert!(
        out.contains("windows at") && out.contains("after NMS"),
        "{out}"
    );
    assert!(tmp.path().join("out/photo.faces.png").is_file(), "{out}");
}

#[test]
fn eval_on_a_folder_with_only_its_test_part_scores_the_cnn_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kit::testing::self_contained_split(
        BIN,
        tmp.path(),
        &smoke(),
        256,
        &[],
        &["face/00000.png"],
        "test",
    );
    assert!(out.predict.contains("P(face) ="), "{}", out.predict);
    assert!(
        out.eval.contains("| CNN |") && out.eval.contains("no training part"),
        "{}",
        out.eval
    );
}

#[test]
fn a_resumed_run_records_each_step_once() {
    kit::testing::assert_resume_records_each_step_once(BIN, "face-or-not", &smoke(), &[]);
}

#[test]
fn a_bad_fold_fails_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    kit::testing::assert_invalid_before_any_write(
        BIN,
        &smoke(),
        "data.fold=5",
        "data.fold",
        tmp.path(),
    );
}

#[test]
fn a_missing_class_folder_names_the_layout_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("pool/face")).unwrap();
    face_or_not::pictures::face(1, 0)
        .save(tmp.path().join("pool/face/0.png"))
        .unwrap();
    let source = format!("data.source={}", p(&tmp.path().join("pool")));
    let runs = tmp.path().join("runs");
    let (ok, text) = kit::testing::run_cli(
        BIN,
        &[
            "train",
            "--config",
            &p(&smoke()),
            "--runs",
            &p(&runs),
            "--set",
            &source,
        ],
    );
    assert!(
        !ok && text.contains("not_face") && text.contains("just data faces"),
        "{text}"
    );
    assert!(!runs.exists(), "a run folder was made");
}

/// A run tested on fold 1 must not start from a run that trained on fold 1's pictures.
#[test]
fn init_from_a_run_of_another_fold_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    synth(&tmp.path().join("ds"), 80);
    let pool = format!("data.source={}", p(&tmp.path().join("ds/train")));
    let runs = tmp.path().join("runs");
    let (config, r) = (p(&smoke()), p(&runs));
    let train = |name: &str, sets: &[&str]| {
        let mut a = vec![
            "train", "--config", &config, "--runs", &r, "--name", name, "--set", &pool,
        ];
        for s in sets {
            a.extend(["--set", s]);
        }
        kit::testing::run_cli(BIN, &a)
    };
    let (ok, text) = train("fold0", &["data.fold=0", "train.max_steps=2"]);
    assert!(ok, "{text}");
    let init = format!(
        "train.init_from={{run: {}}}",
        p(&runs.join("face-or-not/fold0"))
    );
    let (ok, text) = train("fold1", &["data.fold=1", &init]);
    assert!(
        !ok && text.contains("init_from") && text.contains("fold 1"),
        "{text}"
    );
    assert!(!runs.join("face-or-not/fold1").exists());
    let (ok, text) = train("fold0-again", &["data.fold=0", "train.max_steps=2", &init]);
    assert!(ok, "the same fold may continue:\n{text}");
}
