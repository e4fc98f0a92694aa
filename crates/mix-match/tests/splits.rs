//! mix-match's synthetic splits: no validation or test scene is a training scene (pixels byte
//! for byte).

use kit::data::Dataset;

#[test]
fn synthetic_train_validation_and_test_scenes_are_disjoint_by_content() {
    let cfg: mix_match::config::Config = kit::testing::load_config("mix-match", "smoke");
    let (tr, val) = mix_match::data::sources(&cfg).unwrap();
    let test = mix_match::data::test_source(&cfg).unwrap();
    let items = |s: &mix_match::data::Source| -> Vec<Vec<u8>> {
        (0..s.len())
            .map(|i| s.get(i, 0).unwrap().image.into_raw())
            .collect()
    };
    kit::testing::assert_disjoint_by_content("mix-match", &items(&tr), &items(&val), &items(&test));
}
