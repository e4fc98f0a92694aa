//! face-verify's splits: a data folder's validation, test and training faces apart (with and
//! without `val_pairs.txt`), and the synthetic train / validation / test faces disjoint by
//! content, closed-set faces included.

use face_verify::config::Config;
use face_verify::data::{self, FaceRef};
use kit::data::Part;
use std::path::PathBuf;

fn smoke() -> Config {
    kit::testing::load_config("face-verify", "smoke")
}

/// The files of a split's pairs and held-out faces.
fn files(
    s: &data::Split,
) -> (
    std::collections::BTreeSet<PathBuf>,
    std::collections::BTreeSet<PathBuf>,
) {
    let f = |r: &FaceRef| match r {
        FaceRef::File(p) => p.clone(),
        FaceRef::Synthetic { .. } => panic!("a folder split made a synthetic face"),
    };
    (
        s.pairs.iter().flat_map(|(a, b, _)| [f(a), f(b)]).collect(),
        s.held_out.iter().map(|(r, _)| f(r)).collect(),
    )
}

#[test]
fn a_folder_s_validation_and_test_share_no_face_and_neither_is_trained_on() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = smoke();
    cfg.data.images_per_identity = 5;
    data::write_synthetic(tmp.path(), &cfg.data, 1).unwrap();
    for carve in [false, true] {
        if carve {
            std::fs::remove_file(tmp.path().join("val_pairs.txt")).unwrap();
        }
        let (val, test) = (
            data::folder_split(tmp.path(), 7, Part::Val).unwrap(),
            data::folder_split(tmp.path(), 7, Part::Test).unwrap(),
        );
        assert_eq!(val.train, test.train, "one training set for both parts");
        assert_eq!(val.classes, test.classes);
        let train: std::collections::BTreeSet<PathBuf> = val
            .train
            .iter()
            .map(|(r, _)| match r {
                FaceRef::File(p) => p.clone(),
                FaceRef::Synthetic { .. } => unreachable!(),
            })
            .collect();
        let ((vp, vh), (tp, th)) = (files(&val), files(&test));
        assert!(!vp.is_empty() && !tp.is_empty() && !vh.is_empty() && !th.is_empty());
        for (name, set) in [
            ("val pairs", &vp),
            ("val faces", &vh),
            ("test pairs", &tp),
            ("test faces", &th),
        ] {
            assert!(set.is_disjoint(&train), "carve {carve}: {name} trained on");
        }
        assert!(vp.is_disjoint(&tp) && vh.is_disjoint(&th), "carve {carve}");
        let genuine = val.pairs.iter().filter(|p| p.2).count();
        assert!(genuine > 0 && genuine < val.pairs.len(), "carve {carve}");
        if carve {
            // Validation people taken out of training: fewer classes.
            assert!((val.classes as usize) < cfg.data.train_identities);
        }
    }
}

#[test]
fn synthetic_training_validation_and_test_faces_are_disjoint_by_content() {
    let cfg = smoke();
    let (d, seed) = (&cfg.data, cfg.train.seed);
    let (val, test) = (
        data::synthetic_split(d, seed),
        data::synthetic_test_split(d, seed),
    );
    let px = |r: &FaceRef| data::load_face(r, d, seed).unwrap().into_raw();
    let train: Vec<Vec<u8>> = val.train.iter().map(|(r, _)| px(r)).collect();
    let pairs = |s: &data::Split| -> Vec<Vec<u8>> {
        s.pairs
            .iter()
            .flat_map(|(a, b, _)| [px(a), px(b)])
            .collect()
    };
    kit::testing::assert_disjoint_by_content("face-verify", &train, &pairs(&val), &pairs(&test));
    // Closed-set faces: validation's and test's are different pictures, neither trained on.
    let held =
        |s: &data::Split| -> Vec<Vec<u8>> { s.held_out.iter().map(|(r, _)| px(r)).collect() };
    kit::testing::assert_disjoint_by_content(
        "face-verify closed set",
        &train,
        &held(&val),
        &held(&test),
    );
}
