//! No validation or test picture of the synthetic splits is a training picture (by pixels),
//! in every config that trains on synthetic pictures.

use face_or_not::config::{Config, Source};
use face_or_not::data::splits;

#[test]
fn synthetic_splits_are_disjoint_by_content() {
    for name in ["smoke", "quick"] {
        let cfg: Config = kit::testing::load_config("face-or-not", name);
        assert_eq!(cfg.data.source, Source::Synthetic);
        let s = splits(&cfg).unwrap();
        let raw = |v: &[face_or_not::data::Picture]| -> Vec<Vec<u8>> {
            v.iter().map(|p| p.pixels.as_raw().clone()).collect()
        };
        kit::testing::assert_disjoint_by_content(
            &format!("face-or-not {name}"),
            &raw(&s.train),
            &raw(&s.val),
            &raw(&s.test),
        );
        let faces = s.train.iter().filter(|p| p.face).count();
        assert_eq!(
            faces * 2,
            s.train.len(),
            "{name}: training pictures are half faces"
        );
    }
}
