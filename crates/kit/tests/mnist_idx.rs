//! MNIST's IDX files as downloaded (gzipped or plain, torchvision's MNIST/raw/ layout) read
//! as torchvision's own reader reads them (fixture by tools/mnist_idx_fixture.py), and a
//! truncated file named.

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn idx_files_read_as_torchvision_reads_them() {
    let m = kit::mnist::read_idx(&fixtures().join("mnist-idx")).unwrap();
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("mnist_idx_torchvision.json")).unwrap(),
    )
    .unwrap();
    assert_eq!((m.rows, m.cols), (28, 28));
    for (part, got) in [("train", &m.train), ("t10k", &m.test)] {
        let w = &want[part];
        let labels: Vec<u64> = got.iter().map(|(_, l)| u64::from(*l)).collect();
        let sums: Vec<u64> = got
            .iter()
            .map(|(p, _)| p.iter().map(|&b| u64::from(b)).sum())
            .collect();
        let ints = |v: &serde_json::Value| -> Vec<u64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        };
        assert_eq!(labels, ints(&w["labels"]), "{part} labels");
        assert_eq!(sums, ints(&w["pixel_sums"]), "{part} pixels");
        assert_eq!(got.len() as u64, ints(&w["shape"])[0]);
    }
}

#[test]
fn a_truncated_idx_file_or_none_at_all_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = fixtures().join("mnist-idx/MNIST/raw");
    for e in std::fs::read_dir(&raw).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
    }
    let images = tmp.path().join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() - 100]).unwrap();
    let e = kit::mnist::read_idx(tmp.path()).unwrap_err().to_string();
    assert!(
        e.contains("t10k-images-idx3-ubyte") && e.contains("truncated"),
        "{e}"
    );
    let e = kit::mnist::read_idx(&tmp.path().join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no MNIST IDX files"), "{e}");
}
