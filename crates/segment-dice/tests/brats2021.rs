//! BraTS 2021 as downloaded — one folder per case, one 3-D int16 file per modality and a
//! `_seg` label file — written by nibabel (tools/nifti_volumes.py, needs `just setup`'s
//! nibabel): found, stacked as FLAIR, T1, T1ce, T2 with the values nibabel reads, labels
//! 1 / 2 / 4 mapped to the whole tumour, and the smoke config trains and evaluates on it.

use segment_dice::volumes::{list_cases, read_case_image, BRATS_MODALITIES};
use std::path::Path;
use std::process::Command;

fn nibabel(args: &[&str]) -> String {
    let repo = kit::testing::repo_root();
    let out = Command::new(repo.join(".venv/bin/python"))
        .arg(repo.join("crates/segment-dice/tools/nifti_volumes.py"))
        .args(args)
        .output()
        .expect("run `just setup` (nibabel in .venv)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn brats2021_case_folders_read_as_nibabel_reads_them_train_and_evaluate() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("BraTS2021");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    nibabel(&[
        "write",
        &s(&ds),
        "--layout",
        "brats2021",
        "--n",
        "8",
        "--seed",
        "2",
    ]);
    let cases = list_cases(&ds).unwrap();
    assert_eq!(cases.len(), 8);
    let c = &cases[2];
    assert_eq!(c.name, "BraTS2021_00002");
    let img = read_case_image(c, None).unwrap();
    assert_eq!((img.channels, img.dims), (4, [40, 44, 12]));
    let n: usize = img.dims.iter().product();
    for (k, m) in BRATS_MODALITIES.iter().enumerate() {
        assert!(c.modalities[k]
            .to_string_lossy()
            .ends_with(&format!("_{m}.nii.gz")));
        let d: serde_json::Value =
            serde_json::from_str(&nibabel(&["describe", &s(&c.modalities[k])])).unwrap();
        let sum: f64 = img.data[k * n..(k + 1) * n]
            .iter()
            .map(|&v| f64::from(v))
            .sum();
        assert_eq!(sum, d["sum"].as_f64().unwrap(), "{m}");
    }
    let t2 = read_case_image(c, Some(&[3])).unwrap();
    assert_eq!((t2.channels, &t2.data[..]), (1, &img.data[3 * n..]));

    let overlay = tmp.path().join("brats21.yaml");
    std::fs::write(
        &overlay,
        format!(
            "base: {}\ndata:\n  source: {}\n  size: 48\n  volumes:\n    labels: {{1: 1, 2: 1, 4: 1}}\n    val_fraction: 0.25\n    test_fraction: 0.25\nmodel:\n  in_channels: 4\ntrain:\n  epochs: 2\n  device: cpu\n",
            kit::testing::repo_root().join("configs/segment-dice/smoke.yaml").display(),
            ds.display()
        ),
    )
    .unwrap();
    let runs = tmp.path().join("runs");
    let bin = env!("CARGO_BIN_EXE_segment-dice");
    let text = kit::testing::run_ok(
        bin,
        &[
            "train",
            "-c",
            &s(&overlay),
            "--runs",
            &s(&runs),
            "--name",
            "b",
        ],
    );
    assert!(
        text.contains("4 volumes") && text.contains("2 volumes"),
        "{text}"
    );
    let text = kit::testing::run_ok(bin, &["eval", "--run", &s(&runs.join("segment-dice/b"))]);
    assert!(text.contains("| mean of 2 volumes |"), "{text}");
}
