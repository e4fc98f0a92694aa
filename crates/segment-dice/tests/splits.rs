//! segment-dice's synthetic splits are disjoint by content: no validation or test slice is a
//! training slice (image values byte for byte).

use kit::data::Dataset;

#[test]
fn synthetic_train_validation_and_test_slices_are_disjoint_by_content() {
    let cfg: segment_dice::config::Config = kit::testing::load_config("segment-dice", "smoke");
    let (tr, val) = segment_dice::data::sources(&cfg).unwrap();
    let test = segment_dice::data::test_source(&cfg).unwrap();
    let items = |s: &segment_dice::data::Source| -> Vec<Vec<u8>> {
        (0..s.len())
            .map(|i| kit::testing::f32_bytes(&s.get(i, 0).unwrap().image))
            .collect()
    };
    kit::testing::assert_disjoint_by_content(
        "segment-dice",
        &items(&tr),
        &items(&val),
        &items(&test),
    );
}
