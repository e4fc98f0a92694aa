//! `coco_evaluate` against pycocotools' `COCOeval` (bbox, area "all", 100 detections per
//! image) on seeded boxes and detections that `tools/format_fixtures.py` wrote with it:
//! AP@[.5:.95], AP50, AP75 and per-class AP equal to 1e-12.

use metrics::{coco_evaluate, Detection, GroundTruth};

#[test]
fn coco_ap_equals_pycocotools_cocoeval() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/coco_eval.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let bbox = |b: &serde_json::Value| -> [f64; 4] {
        let b = b.as_array().unwrap();
        [0, 1, 2, 3].map(|i| b[i].as_f64().unwrap())
    };
    let id = |x: &serde_json::Value| x.as_u64().unwrap() as usize;
    let gts: Vec<GroundTruth> = v["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| GroundTruth {
            image: id(&a["image_id"]),
            class: id(&a["category_id"]) - 1,
            bbox: bbox(&a["bbox"]),
        })
        .collect();
    let dets: Vec<Detection> = v["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Detection {
            image: id(&d["image_id"]),
            class: id(&d["category_id"]) - 1,
            score: d["score"].as_f64().unwrap(),
            bbox: bbox(&d["bbox"]),
        })
        .collect();
    assert!(gts.len() > 20 && dets.len() > 20);
    let ours = coco_evaluate(&dets, &gts, 3);
    let theirs = &v["pycocotools"];
    let close = |a: f64, b: &serde_json::Value, what: &str| {
        let b = b.as_f64().unwrap();
        assert!((a - b).abs() < 1e-12, "{what}: ours {a}, pycocotools {b}");
    };
    close(ours.ap, &theirs["ap"], "AP");
    close(ours.ap50, &theirs["ap50"], "AP50");
    close(ours.ap75, &theirs["ap75"], "AP75");
    for (k, (a, b)) in ours
        .per_class
        .iter()
        .zip(theirs["per_class"].as_array().unwrap())
        .enumerate()
    {
        close(a.unwrap(), b, &format!("class {k} AP"));
    }
}
