//! The event writer read back by TensorBoard's own `EventAccumulator` (in .venv, installed by
//! `just setup`): every kind of summary arrives with its tag and values.

use image::{Rgb, RgbImage};
use std::path::Path;
use tboard::{EventWriter, HParam};

fn read_back(dir: &Path) -> serde_json::Value {
    kit::testing::read_tensorboard(dir)
}

#[test]
fn tensorboard_reads_every_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EventWriter::new(tmp.path()).unwrap();
    w.scalar("train/loss", 1, 0.5).unwrap();
    w.scalar("train/loss", 2, 0.25).unwrap();
    // Non-square: 40 wide, 10 high, red at (0,0), blue at the bottom-right corner.
    let img = RgbImage::from_fn(40, 10, |x, y| {
        if (x, y) == (39, 9) {
            Rgb([0, 0, 255])
        } else if (x, y) == (0, 0) {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 128, 0])
        }
    });
    w.image("eval/picture", 3, &img).unwrap();
    w.histogram("eval/scores", 3, &[0.0, 1.0, 1.0, 2.0, f64::NAN], 4)
        .unwrap();
    w.text("notes", 4, "**hello** tensorboard").unwrap();
    w.hparams(
        &[
            ("lr".into(), HParam::Number(0.01)),
            ("head".into(), HParam::Text("arcface".into())),
            ("aug".into(), HParam::Bool(true)),
        ],
        &["eval/auc"],
    )
    .unwrap();
    w.point_cloud(
        "eval/cloud",
        5,
        &[[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
        &[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
        0.02,
    )
    .unwrap();
    assert!(w.point_cloud("bad", 5, &[[0.0; 3]], &[], 0.02).is_err());
    // A second writer in the same second gets its own file.
    let w2 = EventWriter::new(tmp.path()).unwrap();
    assert_ne!(w.path(), w2.path());
    drop((w, w2));

    let got = read_back(tmp.path());
    assert_eq!(
        got["scalars"]["train/loss"],
        serde_json::json!([[1, 0.5], [2, 0.25]])
    );
    let im = &got["images"]["eval/picture"];
    assert_eq!(
        (im["width"].as_i64(), im["height"].as_i64()),
        (Some(40), Some(10))
    );
    assert_eq!(im["png_size"], serde_json::json!([40, 10]));
    assert_eq!(im["pixel_0_0"], serde_json::json!([255, 0, 0]));
    assert_eq!(im["pixel_last"], serde_json::json!([0, 0, 255]));
    let h = &got["histograms"]["eval/scores"];
    assert_eq!(h["num"].as_f64(), Some(4.0));
    assert_eq!(
        (h["min"].as_f64(), h["max"].as_f64(), h["sum"].as_f64()),
        (Some(0.0), Some(2.0), Some(4.0))
    );
    assert_eq!(h["buckets"], serde_json::json!([1.0, 0.0, 2.0, 1.0]));
    assert_eq!(
        got["text"]["notes"],
        serde_json::json!(["**hello** tensorboard"])
    );
    let v = &got["mesh"]["eval/cloud_VERTEX"];
    assert_eq!(v["name"], "eval/cloud");
    assert_eq!(v["content_type"].as_i64(), Some(1));
    assert_eq!(v["components"].as_i64(), Some(10));
    assert_eq!(v["shape"], serde_json::json!([1, 3, 3]));
    assert_eq!(v["dtype"], "float32");
    assert_eq!(v["array_shape"], serde_json::json!([1, 3, 3]));
    assert_eq!(v["first"], serde_json::json!([0.5, -1.0, 2.0]));
    assert!(v["json_config"]
        .as_str()
        .unwrap()
        .contains("PointsMaterial"));
    let c = &got["mesh"]["eval/cloud_COLOR"];
    assert_eq!(c["content_type"].as_i64(), Some(3));
    assert_eq!(c["dtype"], "uint8");
    assert_eq!(c["first"], serde_json::json!([255, 0, 0]));
    let hp = &got["hparams"];
    assert_eq!(hp["start"]["lr"].as_f64(), Some(0.01));
    assert_eq!(hp["start"]["head"].as_str(), Some("arcface"));
    assert_eq!(hp["start"]["aug"].as_bool(), Some(true));
    assert_eq!(hp["metrics"], serde_json::json!(["eval/auc"]));
    assert_eq!(hp["names"], serde_json::json!(["aug", "head", "lr"]));
    assert_eq!(hp["end_status"].as_i64(), Some(1));
}

#[test]
fn a_run_logs_its_hparams_against_the_selection_metric_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(kit::testing::example_bin("kit", "spiral"))
        .args([
            "train",
            "--name",
            "hp",
            "--set",
            "train.epochs=1",
            "--set",
            "train.device=cpu",
        ])
        .arg("--config")
        .arg(root.join("configs/spiral/smoke.yaml"))
        .arg("--runs")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = read_back(&tmp.path().join("spiral/hp"));
    let hp = &got["hparams"];
    assert_eq!(hp["metrics"], serde_json::json!(["eval/accuracy"]), "{hp}");
    assert_eq!(hp["start"]["train.epochs"].as_f64(), Some(1.0), "{hp}");
    assert!(got["scalars"].get("eval/accuracy").is_some());
    assert!(got["scalars"].get("eval/selection").is_none());
}
