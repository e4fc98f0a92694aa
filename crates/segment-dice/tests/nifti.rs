//! NIfTI volumes end to end, checked against nibabel (installed into .venv by `just setup`):
//! a Decathlon-layout set that nibabel wrote is read with the same values and voxel size,
//! trains, evaluates per volume (3-D Dice, HD95 in mm, the true tumour volume in mL equal to
//! nibabel's count), and `predict` writes a label volume that nibabel reads with the input's
//! affine. Then the paired `_img` / `_seg` layout and the errors a user's files meet.

use ndarray::Array3;
use nifti::writer::WriterOptions;
use segment_dice::volumes::{self, list_cases, read_image, read_labels};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn python() -> PathBuf {
    let py = repo().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run `just setup` (it installs nibabel, which this test compares with)",
        py.display()
    );
    py
}

fn tool(args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(repo().join("crates/segment-dice/tools/nifti_volumes.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nifti_volumes.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn describe(path: &Path) -> serde_json::Value {
    serde_json::from_str(&tool(&["describe", &path.to_string_lossy()])).unwrap()
}

fn cli(args: &[&str]) -> String {
    kit::testing::run_ok(env!("CARGO_BIN_EXE_segment-dice"), args)
}

#[test]
fn nibabel_volumes_train_eval_per_volume_and_predict_a_volume_nibabel_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("brats");
    tool(&["write", &ds.to_string_lossy(), "--n", "8", "--seed", "1"]);

    // The same values and voxel size as nibabel reads.
    let case = &list_cases(&ds).unwrap()[3];
    let img = read_image(&case.image, None).unwrap();
    let d = describe(&case.image);
    assert_eq!((img.dims.to_vec(), img.channels), (vec![40, 44, 12], 2));
    assert_eq!(d["shape"], serde_json::json!([40, 44, 12, 2]));
    assert_eq!(img.spacing, [1.5, 1.5, 3.0]);
    let sum: f64 = img.data.iter().map(|&v| v as f64).sum();
    assert!(
        (sum / d["sum"].as_f64().unwrap() - 1.0).abs() < 1e-6,
        "sum {sum} vs {}",
        d["sum"]
    );
    let n: usize = img.dims.iter().product();
    for (p, v) in d["probes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(d["voxels"].as_array().unwrap())
    {
        let c: Vec<usize> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let at = c[0] * 44 * 12 + c[1] * 12 + c[2];
        for ch in 0..2 {
            // float32 on both sides (serde_json's f64 parse can be off by an ulp).
            assert_eq!(
                img.data[ch * n + at],
                v[ch].as_f64().unwrap() as f32,
                "voxel {c:?} channel {ch}"
            );
        }
    }
    let labels = read_labels(case.label.as_ref().unwrap(), img.dims, None, 5).unwrap();
    let truth = describe(case.label.as_ref().unwrap());
    assert_eq!(truth["values"], serde_json::json!([0, 1, 2, 4]));
    let sum: u64 = labels.iter().map(|&l| l as u64).sum();
    assert_eq!(sum as f64, truth["sum"].as_f64().unwrap());

    // Train on the Decathlon layout: 8 volumes split 4 / 2 / 2, BraTS labels → whole tumour.
    let overlay = tmp.path().join("nifti.yaml");
    std::fs::write(
        &overlay,
        format!(
            "base: {}\ndata:\n  source: {}\n  size: 48\n  volumes:\n    labels: {{1: 1, 2: 1, 4: 1}}\n    val_fraction: 0.25\n    test_fraction: 0.25\nmodel:\n  in_channels: 2\ntrain:\n  epochs: 3\n  device: cpu\n",
            repo().join("configs/segment-dice/smoke.yaml").display(),
            ds.display()
        ),
    )
    .unwrap();
    let runs = tmp.path().join("runs");
    let p = |x: &Path| x.to_string_lossy().to_string();
    let text = cli(&[
        "train",
        "--config",
        &p(&overlay),
        "--runs",
        &p(&runs),
        "--name",
        "v",
    ]);
    assert!(
        text.contains("4 volumes") && text.contains("2 volumes"),
        "{text}"
    );
    let run = runs.join("segment-dice/v");

    // eval: per-volume rows on the 2 test volumes; the true volumes equal nibabel's counts.
    let text = cli(&["eval", "--run", &p(&run)]);
    assert!(text.contains("| mean of 2 volumes |"), "{text}");
    let evals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    let rows = evals[0]["report"]["volumes"]["per_volume"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 2);
    let voxel_ml = 1.5 * 1.5 * 3.0 / 1000.0;
    for r in &rows {
        let name = r["name"].as_str().unwrap();
        let d = describe(&ds.join(format!("labelsTr/{name}.nii.gz")));
        let fg: f64 = d["foreground"].as_f64().unwrap();
        assert!(
            (r["truth_ml"].as_f64().unwrap() - fg * voxel_ml).abs() < 1e-9,
            "{r}"
        );
        let dice = r["dice"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&dice), "{r}");
    }

    // predict: a uint8 label volume with the input's affine and voxel size, values 0 / 1.
    let name = rows[0]["name"].as_str().unwrap();
    let input = ds.join(format!("imagesTr/{name}.nii.gz"));
    let text = cli(&["predict", "--run", &p(&run), &p(&input)]);
    assert!(text.contains("3-D Dice vs labels"), "{text}");
    let written = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("labels "))
        .map(|s| PathBuf::from(s.trim()))
        .unwrap_or_else(|| panic!("{text}"));
    let ours = describe(&written);
    let theirs = describe(&input);
    assert_eq!(ours["shape"], serde_json::json!([40, 44, 12]));
    assert_eq!(ours["affine"], theirs["affine"]);
    assert_eq!(ours["zooms"], theirs["zooms"]);
    assert_eq!(ours["dtype"], "uint8");
    let values = ours["values"].as_array().unwrap();
    assert!(values.iter().all(|v| v == 0 || v == 1), "{ours}");
    // …and our reader gets back what nibabel sees.
    let back = read_labels(&written, [40, 44, 12], None, 2).unwrap();
    assert_eq!(
        back.iter().map(|&v| v as f64).sum::<f64>(),
        ours["sum"].as_f64().unwrap()
    );
}

fn write_f32(path: &Path, arr: &Array3<f32>) {
    WriterOptions::new(path).write_nifti(arr).unwrap();
}

#[test]
fn paired_layout_and_the_errors_a_users_files_meet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let img = Array3::from_shape_fn((6, 5, 4), |(x, y, z)| (x + 10 * y + 100 * z) as f32);
    let seg = Array3::from_shape_fn((6, 5, 4), |(x, y, _)| ((x == 2 && y == 3) as u8) * 3);
    write_f32(&dir.join("a_img.nii"), &img);
    WriterOptions::new(dir.join("a_seg.nii"))
        .write_nifti(&seg)
        .unwrap();
    write_f32(&dir.join("b_img.nii.gz"), &img);
    assert!(volumes::is_volume_folder(dir));

    // b has no _seg: named.
    let err = list_cases(dir).unwrap_err().to_string();
    assert!(
        err.contains("b_seg.nii.gz") && err.contains("missing"),
        "{err}"
    );
    std::fs::remove_file(dir.join("b_img.nii.gz")).unwrap();

    let cases = list_cases(dir).unwrap();
    assert_eq!(cases.len(), 1);
    let v = read_image(&cases[0].image, None).unwrap();
    assert_eq!((v.dims, v.channels), ([6, 5, 4], 1));
    assert_eq!(v.data[2 * 20 + 3 * 4 + 1], 2.0 + 30.0 + 100.0); // C order: x, y, z

    // Label 3 with 2 classes and no map: the error says how to map it.
    let label = cases[0].label.as_ref().unwrap();
    let err = read_labels(label, v.dims, None, 2).unwrap_err().to_string();
    assert!(
        err.contains("a_seg.nii") && err.contains("data.volumes.labels"),
        "{err}"
    );
    let map = [(3u32, 1u8)].into_iter().collect();
    let l = read_labels(label, v.dims, Some(&map), 2).unwrap();
    assert_eq!(l.iter().filter(|&&c| c == 1).count(), 4);
    // A label volume of another size than its image.
    let err = read_labels(label, [6, 5, 3], None, 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[6, 5, 4]") && err.contains("[6, 5, 3]"),
        "{err}"
    );
    // Not a NIfTI file at all.
    std::fs::write(dir.join("c_img.nii"), b"not a volume").unwrap();
    let err = read_image(&dir.join("c_img.nii"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("c_img.nii") && err.contains("NIfTI"), "{err}");
    // A modality the image does not have.
    let err = read_image(&cases[0].image, Some(&[1]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("data.volumes.channels"), "{err}");
}

#[test]
fn a_collection_splits_the_same_way_for_every_seed_and_keeps_every_case_once() {
    let cases: Vec<volumes::Case> = (0..20)
        .map(|i| volumes::Case {
            name: format!("case{i:02}"),
            image: PathBuf::from(format!("i{i}")),
            label: None,
            modalities: Vec::new(),
        })
        .collect();
    let [tr, va, te] = volumes::split(cases.clone(), 0.2, 0.1);
    assert_eq!((tr.len(), va.len(), te.len()), (14, 4, 2));
    let mut all: Vec<String> = tr
        .iter()
        .chain(&va)
        .chain(&te)
        .map(|c| c.name.clone())
        .collect();
    all.sort();
    assert_eq!(
        all,
        cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
    );
    // The order of the input does not matter (it is by name), so no seed can move a case.
    let mut rev = cases;
    rev.reverse();
    assert_eq!(volumes::split(rev, 0.2, 0.1)[2], te);
}
