//! pointcloud-chamfer's built-in shapes: no validation or test rendering is a training one
//! (image values byte for byte).

#[test]
fn built_in_train_validation_and_test_shapes_are_disjoint_by_content() {
    let cfg: pointcloud_chamfer::config::Config =
        kit::testing::load_config("pointcloud-chamfer", "smoke");
    let seed = cfg.train.seed;
    let (tr, val) = pointcloud_chamfer::data::sources(&cfg.data, seed).unwrap();
    let test = pointcloud_chamfer::data::test_set(&cfg.data, seed).unwrap();
    let items = |s: &[pointcloud_chamfer::data::Sample]| -> Vec<Vec<u8>> {
        s.iter()
            .map(|x| kit::testing::f32_bytes(&x.image))
            .collect()
    };
    kit::testing::assert_disjoint_by_content(
        "pointcloud-chamfer",
        &items(&tr),
        &items(&val),
        &items(&test),
    );
}
