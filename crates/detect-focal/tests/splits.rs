//! detect-focal's synthetic splits are disjoint by content: no validation or test scene is
//! pixel-for-pixel a training scene.

use kit::data::Dataset;

#[test]
fn synthetic_train_validation_and_test_scenes_are_disjoint_by_content() {
    let cfg: detect_focal::config::Config = kit::testing::load_config("detect-focal", "smoke");
    let (tr, val) = detect_focal::data::sources(&cfg).unwrap();
    let test = detect_focal::data::test_source(&cfg).unwrap();
    let px = |s: &detect_focal::data::Source| -> Vec<Vec<u8>> {
        (0..s.len())
            .map(|i| s.get(i, 0).unwrap().image.into_raw())
            .collect()
    };
    kit::testing::assert_disjoint_by_content("detect-focal", &px(&tr), &px(&val), &px(&test));
}
