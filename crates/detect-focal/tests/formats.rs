//! COCO's own tree as downloaded (`annotations/instances_{train,val}2017.json`, `train2017/`,
//! `val2017/`; fixture by tools/format_fixtures.py): the boxes pycocotools reads per image
//! (crowd boxes left out), a seeded validation part held out of train2017, val2017 as the
//! test, and a smoke train + eval on the tree.

use detect_focal::data::{CocoFolder, TreeSplit};
use std::collections::BTreeMap;
use std::path::Path;

fn tree() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coco-tree")
}

/// Image id → sorted COCO category ids of its (non-crowd) boxes.
fn per_image(f: &CocoFolder) -> BTreeMap<String, Vec<u64>> {
    f.items
        .iter()
        .zip(&f.images)
        .map(|((_, _, classes), (id, _, _))| {
            let mut c: Vec<u64> = classes.iter().map(|&k| f.category_ids[k]).collect();
            c.sort_unstable();
            (id.to_string(), c)
        })
        .collect()
}

#[test]
fn coco_s_tree_reads_what_pycocotools_reads_and_trains() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tree().join("expected.json")).unwrap())
            .unwrap();
    let want = |split: &str| -> BTreeMap<String, Vec<u64>> {
        serde_json::from_value(expected[split].clone()).unwrap()
    };
    let mut train = CocoFolder::open_tree(&tree(), TreeSplit::Train, 64, false, 0).unwrap();
    assert_eq!(per_image(&train), want("train2017"));
    assert_eq!(train.class_names, ["person", "car", "dog"]);
    let test = CocoFolder::open_tree(&tree(), TreeSplit::Test, 64, false, 0).unwrap();
    assert_eq!(per_image(&test), want("val2017"));
    let val = train.take_validation(0).unwrap();
    assert_eq!(train.items.len() + val.items.len(), 16);
    assert!(!val.items.is_empty());
    let (a, b) = (per_image(&train), per_image(&val));
    assert!(
        a.keys().all(|k| !b.contains_key(k)),
        "validation images still in training"
    );

    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_detect-focal");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let (smoke, runs) = (
        s(&repo.join("configs/detect-focal/smoke.yaml")),
        s(&tmp.path().join("runs")),
    );
    let source = format!("data.source={}", s(&tree()));
    let out = kit::testing::run_ok(
        bin,
        &[
            "train",
            "-c",
            &smoke,
            "--runs",
            &runs,
            "--name",
            "coco",
            "--set",
            &source,
            "--set",
            "train.device=cpu",
            "--set",
            "train.batch_size=4",
        ],
    );
    assert!(out.contains("COCO's tree"), "{out}");
    let out = kit::testing::run_ok(
        bin,
        &["eval", "--run", &format!("{runs}/detect-focal/coco")],
    );
    assert!(out.contains("appended to"), "{out}");
}
