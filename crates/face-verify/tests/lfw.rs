//! LFW as downloaded (person folders + LFW's pairs.txt): pairs resolved as scikit-learn's LFW
//! reader resolves them, LFW's 10-fold protocol equal to an independent numpy computation, the
//! pair people kept out of training, and a smoke train + eval on the layout (fixtures written
//! by tools/lfw_fixture.py with scikit-learn; read here without it).

use face_verify::data::{self, lfw, FaceRef};
use kit::data::Part;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn lfw_pairs_resolve_to_the_faces_scikit_learn_reads() {
    let root = fixtures().join("lfw");
    assert!(lfw::is_lfw(&root));
    let l = lfw::read_lfw_pairs(&root).unwrap();
    let sk = json("lfw_sklearn.json");
    let id = |r: &FaceRef| match r {
        FaceRef::File(p) => sk["faces"][p.file_name().unwrap().to_str().unwrap()]
            .as_i64()
            .unwrap(),
        FaceRef::Synthetic { .. } => panic!("synthetic face from LFW"),
    };
    let target: Vec<i64> = l.pairs.iter().map(|p| i64::from(p.2)).collect();
    assert_eq!(target, ints(&sk["target"]));
    assert_eq!(
        l.pairs.iter().map(|p| id(&p.0)).collect::<Vec<_>>(),
        ints(&sk["face_a"])
    );
    assert_eq!(
        l.pairs.iter().map(|p| id(&p.1)).collect::<Vec<_>>(),
        ints(&sk["face_b"])
    );
    assert_eq!((l.folds, l.pairs.len()), (10, 40));
}

#[test]
fn lfw_ten_fold_accuracy_equals_the_reference_computation() {
    let r = json("lfw_protocol.json");
    let scores: Vec<f64> = r["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let labels: Vec<bool> = r["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect();
    let (mean, std) = face_verify::eval::kfold_accuracy(&scores, &labels, 10);
    let (want_mean, want_std) = (
        r["accuracy_mean"].as_f64().unwrap(),
        r["accuracy_std"].as_f64().unwrap(),
    );
    assert!((mean - want_mean).abs() < 1e-12, "{mean} vs {want_mean}");
    assert!((std - want_std).abs() < 1e-12, "{std} vs {want_std}");
}

#[test]
fn the_people_of_lfw_s_pairs_are_never_trained_on() {
    let root = fixtures().join("lfw");
    let test = data::folder_split(&root, 0, Part::Test).unwrap();
    let val = data::folder_split(&root, 0, Part::Val).unwrap();
    assert_eq!((test.pairs.len(), test.folds), (40, 10));
    let person = |r: &FaceRef| match r {
        FaceRef::File(p) => p
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        FaceRef::Synthetic { .. } => unreachable!(),
    };
    for (r, _) in &test.train {
        assert!(
            person(r).starts_with("Train_Person"),
            "{} trained on",
            person(r)
        );
    }
    let val_people: std::collections::BTreeSet<String> = val
        .pairs
        .iter()
        .flat_map(|p| [person(&p.0), person(&p.1)])
        .collect();
    let train_people: std::collections::BTreeSet<String> =
        val.train.iter().map(|(r, _)| person(r)).collect();
    assert!(val_people.is_disjoint(&train_people) && !val_people.is_empty());
    assert!(val_people.iter().all(|p| p.starts_with("Train_Person")));
}

#[test]
fn a_broken_lfw_line_and_an_unknown_layout_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lfw");
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    let src = fixtures().join("lfw");
    for e in std::fs::read_dir(src.join("lfw")).unwrap() {
        let e = e.unwrap();
        copy(&e.path(), &root.join("lfw").join(e.file_name()));
    }
    let text = std::fs::read_to_string(src.join("pairs.txt")).unwrap();
    let broken = text.replacen("Pair_Person_A\t2\t3", "Pair_Person_A\t2", 1);
    std::fs::write(root.join("pairs.txt"), broken).unwrap();
    let e = lfw::read_lfw_pairs(&root).unwrap_err().to_string();
    assert!(
        e.contains("pairs.txt:2:") && e.contains("same-person line"),
        "{e}"
    );
    let e = match data::folder_split(tmp.path(), 0, Part::Test) {
        Ok(_) => panic!("a folder with neither layout was read"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("LFW as downloaded") && e.contains("train/<identity>"),
        "{e}"
    );
}

#[test]
fn the_smoke_config_trains_on_lfw_and_evaluates_its_folds() {
    let tmp = tempfile::tempdir().unwrap();
    let source = format!("data.source={}", fixtures().join("lfw").display());
    let (_, out) = kit::testing::smoke_train_eval(
        env!("CARGO_BIN_EXE_face-verify"),
        "face-verify",
        &tmp.path().join("runs"),
        "lfw",
        &[&source, "train.batch_size=4"],
    );
    assert!(
        out.contains("10-fold acc") && out.contains("40 pairs"),
        "{out}"
    );
}

#[test]
fn data_check_names_a_test_face_copied_into_training_and_train_warns() {
    use kit::testing::{run_cli, run_ok};
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_face-verify");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let smoke = s(&repo.join("configs/face-verify/smoke.yaml"));
    // The synthetic set through its config: splits disjoint by content.
    let out = run_ok(bin, &["data", "check", "--config", &smoke]);
    assert!(out.contains("0 contents in more than one split"), "{out}");
    let ds = tmp.path().join("ds");
    run_ok(bin, &["synth", "--out", &s(&ds), "--config", &smoke]);
    let test_face = std::fs::read_dir(ds.join("test"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let person = std::fs::read_dir(ds.join("train"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&test_face, person.join("leaked.png")).unwrap();
    let (ok, out) = run_cli(bin, &["data", "check", &s(&ds)]);
    assert!(
        !ok && out.contains("leaked.png") && out.contains("1 problem"),
        "{out}"
    );
    let source = format!("data.source={}", s(&ds));
    let runs = s(&tmp.path().join("runs"));
    let out = run_ok(
        bin,
        &[
            "train",
            "-c",
            &smoke,
            "--runs",
            &runs,
            "--set",
            &source,
            "--set",
            "train.max_steps=1",
        ],
    );
    assert!(
        out.contains("warning: 1 validation / test items") && out.contains("leaked.png"),
        "{out}"
    );
}
