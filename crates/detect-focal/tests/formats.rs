//! COCO's own tree as downloaded (`annotations/instances_{train,val}2017.json`, `train2017/`,
//! `val2017/`; fixture by tools/format_fixtures.py): the boxes pycocotools reads per image
//! (crowd boxes left out), a seeded validation part held out of train2017, val2017 as the
//! test, and a smoke train + eval on the tree. The YOLO layout of the same images (converted as
//! ultralytics' JSON2YOLO does) reads back the same boxes and trains.

use detect_focal::data::{CocoFolder, TreeSplit};
use std::collections::BTreeMap;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_detect-focal");

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
    let source = format!("data.source={}", tree().display());
    let sets = [source.as_str(), "train.batch_size=4"];
    let runs = tmp.path().join("runs");
    let (out, _) = kit::testing::smoke_train_eval(BIN, "detect-focal", &runs, "coco", &sets);
    assert!(out.contains("COCO's tree"), "{out}");
}

#[test]
fn yolo_labels_read_back_coco_s_boxes_and_train() {
    let yolo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yolo");
    assert!(detect_focal::yolo::is_yolo(&yolo));
    let y =
        detect_focal::yolo::open(&yolo, detect_focal::yolo::YoloSplit::Val, 64, false, 0).unwrap();
    let c = CocoFolder::open_tree(&tree(), TreeSplit::Test, 64, false, 0).unwrap();
    assert_eq!(y.class_names, c.class_names);
    assert_eq!(y.items.len(), c.items.len());
    for ((yp, yb, yc), (cp, cb, cc)) in y.items.iter().zip(&c.items) {
        assert_eq!(yp.file_name(), cp.file_name());
        assert_eq!(yc, cc, "{}", yp.display());
        for (a, b) in yb.iter().zip(cb) {
            for k in 0..4 {
                assert!(
                    (a[k] - b[k]).abs() < 1e-3,
                    "{}: {a:?} vs {b:?}",
                    yp.display()
                );
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let source = format!("data.source={}", yolo.display());
    let sets = [source.as_str(), "train.batch_size=4"];
    let runs = tmp.path().join("runs");
    let (out, _) = kit::testing::smoke_train_eval(BIN, "detect-focal", &runs, "yolo", &sets);
    assert!(out.contains("no test split"), "{out}");
    // A label outside [0, 1] is named with its file and line.
    let bad = tmp.path().join("bad");
    for d in ["images/train", "images/val", "labels/train"] {
        std::fs::create_dir_all(bad.join(d)).unwrap();
    }
    std::fs::copy(yolo.join("data.yaml"), bad.join("data.yaml")).unwrap();
    let img = std::fs::read_dir(yolo.join("images/train"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&img, bad.join("images/train/a.jpg")).unwrap();
    std::fs::write(
        bad.join("labels/train/a.txt"),
        "0 0.5 0.5 0.2 0.2\n1 1.5 0.5 0.2 0.2\n",
    )
    .unwrap();
    let e = detect_focal::yolo::open(&bad, detect_focal::yolo::YoloSplit::Train, 64, false, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("a.txt") && e.contains("line 2"), "{e}");
}

#[test]
fn voc_xml_reads_as_torchvision_parses_it_and_trains() {
    let voc = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/voc");
    assert!(detect_focal::voc::is_voc(&voc));
    let expected: BTreeMap<String, Vec<serde_json::Value>> =
        serde_json::from_str(&std::fs::read_to_string(voc.join("expected.json")).unwrap()).unwrap();
    let mut seen = 0;
    for split in ["train", "val"] {
        let f = detect_focal::voc::open(&voc, split, 64, false, 0).unwrap();
        assert_eq!(f.class_names.len(), 20);
        for (path, boxes, classes) in &f.items {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            // torchvision's parse: [name, difficult, xmin, ymin, xmax, ymax], 1-based pixels.
            let want: Vec<(String, [f64; 4])> = expected[&file]
                .iter()
                .filter(|o| o[1] == 0)
                .map(|o| {
                    let n = |k: usize| o[k].as_f64().unwrap();
                    (
                        o[0].as_str().unwrap().to_string(),
                        [n(2) - 1.0, n(3) - 1.0, n(4) - n(2) + 1.0, n(5) - n(3) + 1.0],
                    )
                })
                .collect();
            let got: Vec<(String, [f64; 4])> = classes
                .iter()
                .zip(boxes)
                .map(|(&c, b)| (f.class_names[c].clone(), *b))
                .collect();
            assert_eq!(got, want, "{file}");
            seen += 1;
        }
    }
    assert_eq!(seen, 22);

    let tmp = tempfile::tempdir().unwrap();
    let source = format!("data.source={}", voc.display());
    let sets = [source.as_str(), "train.batch_size=4"];
    let runs = tmp.path().join("runs");
    let (out, _) = kit::testing::smoke_train_eval(BIN, "detect-focal", &runs, "voc", &sets);
    assert!(out.contains("no test image set"), "{out}");
}

#[test]
fn a_folder_of_no_known_layout_lists_the_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("pictures")).unwrap();
    let mut cfg: detect_focal::config::Config = kit::testing::load_config("detect-focal", "smoke");
    cfg.data.source = tmp.path().to_string_lossy().into_owned();
    let e = detect_focal::data::sources(&cfg).err().unwrap().to_string();
    for layout in ["annotations.json", "COCO's tree", "YOLO", "Pascal VOC"] {
        assert!(e.contains(layout), "{e}");
    }
}
