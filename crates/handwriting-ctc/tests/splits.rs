//! handwriting-ctc's splits: the test split `eval` reads is its own seed, disjoint from training
//! and validation, and a data folder's `test/` (or `val/` with `--split val`) is the one reported.

use handwriting_ctc::config::Config;
use handwriting_ctc::data;
use kit::data::Dataset;

fn smoke() -> Config {
    kit::testing::load_config("handwriting-ctc", "smoke")
}

#[test]
fn eval_reads_a_test_split_that_training_never_saw() {
    let cfg = smoke();
    let (tr, val) = data::sources(&cfg.data, 9).unwrap();
    let test = data::test_source(&cfg.data, 9).unwrap();
    assert_eq!(test.len(), val.len());
    let first = |s: &data::Source| s.get(0, 0).unwrap().line.pixels;
    assert_ne!(first(&test), first(&val));
    assert_ne!(first(&test), first(&tr));
    let tmp = tempfile::tempdir().unwrap();
    data::write_synthetic(tmp.path(), &cfg.data, 1, 3, 2).unwrap();
    assert!(tmp.path().join("test/labels.tsv").is_file());
    assert_eq!(
        kit::cli::held_out_split(tmp.path(), kit::cli::Split::Test),
        tmp.path().join("test")
    );
    assert_eq!(
        kit::cli::held_out_split(tmp.path(), kit::cli::Split::Val),
        tmp.path().join("val")
    );
}

#[test]
fn synthetic_train_validation_and_test_lines_are_disjoint_by_content() {
    let cfg = smoke();
    let (tr, val) = data::sources(&cfg.data, 9).unwrap();
    let test = data::test_source(&cfg.data, 9).unwrap();
    let px = |s: &data::Source| -> Vec<Vec<u8>> {
        (0..s.len())
            .map(|i| s.get(i, 0).unwrap().line.pixels)
            .collect()
    };
    kit::testing::assert_disjoint_by_content("handwriting-ctc", &px(&tr), &px(&val), &px(&test));
}
