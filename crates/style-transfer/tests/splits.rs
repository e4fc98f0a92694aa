//! style-transfer's built-in scenes: no validation or test scene is a training scene (pixel
//! values byte for byte).

use kit::data::Dataset;

#[test]
fn built_in_train_validation_and_test_scenes_are_disjoint_by_content() {
    let cfg: style_transfer::config::Config = kit::testing::load_config("style-transfer", "smoke");
    let (tr, val) = style_transfer::data::sources(&cfg).unwrap();
    let test = style_transfer::data::test_source(&cfg, None, kit::cli::Split::Test).unwrap();
    let items = |s: &style_transfer::data::Source| -> Vec<Vec<u8>> {
        (0..s.len())
            .map(|i| kit::testing::f32_bytes(&s.get(i, 0).unwrap()))
            .collect()
    };
    kit::testing::assert_disjoint_by_content(
        "style-transfer",
        &items(&tr),
        &items(&val),
        &items(&test),
    );
}
