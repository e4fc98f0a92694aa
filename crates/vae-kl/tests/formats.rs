//! vae-kl on MNIST's IDX files as downloaded (kit's fixture, written and checked with
//! torchvision): the official test part is test, a seeded 10% of training is validation, and
//! the smoke config trains and evaluates on it.

use kit::data::Dataset;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn mnist_idx_files_train_and_evaluate() {
    let idx = repo().join("crates/kit/tests/fixtures/mnist-idx");
    let mut cfg: vae_kl::config::Config = kit::testing::load_config("vae-kl", "smoke");
    cfg.data.source = idx.to_string_lossy().into_owned();
    let (tr, va, te, _) = vae_kl::data::splits(&cfg.data, 1).unwrap();
    assert_eq!((tr.len(), va.len(), te.len()), (18, 2, 10));
    let tmp = tempfile::tempdir().unwrap();
    let source = format!("data.source={}", idx.display());
    kit::testing::smoke_train_eval(
        env!("CARGO_BIN_EXE_vae-kl"),
        "vae-kl",
        &tmp.path().join("runs"),
        "idx",
        &[&source, "train.batch_size=6", "train.max_steps=2"],
    );
}

#[test]
fn a_folder_of_pictures_without_splits_is_split_by_content() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..60u32 {
        let img = image::GrayImage::from_fn(28, 28, |x, y| {
            image::Luma([((x * 7 + y * 3 + i * 11) % 256) as u8])
        });
        img.save(tmp.path().join(format!("{i:03}.png"))).unwrap();
    }
    // The same picture twice: both copies land in one part.
    std::fs::copy(tmp.path().join("000.png"), tmp.path().join("copy.png")).unwrap();
    let mut cfg: vae_kl::config::Config = kit::testing::load_config("vae-kl", "smoke");
    cfg.data.source = tmp.path().to_string_lossy().into_owned();
    let (tr, va, te, _) = vae_kl::data::splits(&cfg.data, 1).unwrap();
    assert_eq!(tr.len() + va.len() + te.len(), 61);
    assert!(va.len() > 0 && te.len() > 0 && tr.len() > va.len());
    let first = image::open(tmp.path().join("000.png"))
        .unwrap()
        .to_luma8()
        .into_raw();
    let copies: Vec<usize> = [&tr, &va, &te]
        .iter()
        .map(|s| {
            s.all()
                .unwrap()
                .iter()
                .filter(|x| x.pixels == first)
                .count()
        })
        .collect();
    assert_eq!(copies.iter().sum::<usize>(), 2);
    assert!(
        copies.contains(&2),
        "the two copies were split apart: {copies:?}"
    );
}
