//! Meshes that trimesh wrote (`tools/format_fixtures.py`: one stretched, turned capsule as OFF,
//! OBJ with normals, ASCII PLY and binary PLY) read with the faces, surface area, bounds and
//! area-weighted centroid trimesh reads back from the same files.

use pointcloud_chamfer::mesh::read_mesh;
use std::path::Path;

fn area_and_centroid(m: &pointcloud_chamfer::mesh::Mesh) -> (f64, [f64; 3]) {
    let v = |i: u32| m.vertices[i as usize].map(f64::from);
    let (mut area, mut c) = (0.0, [0.0; 3]);
    for f in &m.faces {
        let (a, b, d) = (v(f[0]), v(f[1]), v(f[2]));
        let (u, w) = (
            [0, 1, 2].map(|k| b[k] - a[k]),
            [0, 1, 2].map(|k| d[k] - a[k]),
        );
        let n = [
            u[1] * w[2] - u[2] * w[1],
            u[2] * w[0] - u[0] * w[2],
            u[0] * w[1] - u[1] * w[0],
        ];
        let t = 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        area += t;
        for k in 0..3 {
            c[k] += t * (a[k] + b[k] + d[k]) / 3.0;
        }
    }
    (area, c.map(|x| x / area))
}

#[test]
fn trimesh_files_read_with_trimeshs_faces_area_bounds_and_centroid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meshes");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let files = expected.as_object().unwrap();
    assert_eq!(files.len(), 4);
    for (name, e) in files {
        let m = read_mesh(&dir.join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(m.faces.len() as u64, e["faces"].as_u64().unwrap(), "{name}");
        let (area, centroid) = area_and_centroid(&m);
        let want = e["area"].as_f64().unwrap();
        // Vertices are f32 here (trimesh keeps f64; the OBJ and ASCII PLY have 8 decimals).
        assert!(
            (area / want - 1.0).abs() < 1e-5,
            "{name}: area {area} vs {want}"
        );
        for k in 0..3 {
            let lo = m
                .vertices
                .iter()
                .map(|p| p[k] as f64)
                .fold(f64::INFINITY, f64::min);
            let hi = m
                .vertices
                .iter()
                .map(|p| p[k] as f64)
                .fold(f64::NEG_INFINITY, f64::max);
            let b = &e["bounds"];
            assert!(
                (lo - b[0][k].as_f64().unwrap()).abs() < 1e-6,
                "{name}: min {k}"
            );
            assert!(
                (hi - b[1][k].as_f64().unwrap()).abs() < 1e-6,
                "{name}: max {k}"
            );
            let c = e["centroid"][k].as_f64().unwrap();
            assert!(
                (centroid[k] - c).abs() < 1e-5,
                "{name}: centroid {k} {} vs {c}",
                centroid[k]
            );
        }
    }
}

#[test]
fn shapenet_nesting_reads_trimesh_s_meshes_in_all_csv_s_splits_and_trains() {
    use kit::data::Part;
    use pointcloud_chamfer::shapenet;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shapenet");
    assert!(shapenet::is_shapenet(&root));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap())
            .unwrap();
    let (train, val, test) = (
        shapenet::files(&root, Part::Train).unwrap(),
        shapenet::files(&root, Part::Val).unwrap(),
        shapenet::files(&root, Part::Test).unwrap(),
    );
    assert_eq!((train.len(), val.len(), test.len()), (6, 2, 2));
    assert!(train.iter().any(|(c, _)| c == "airplane") && train.iter().any(|(c, _)| c == "chair"));
    for (_, path) in train.iter().chain(&val).chain(&test) {
        let model = path.parent().unwrap().parent().unwrap();
        let key = format!(
            "{}/{}",
            model
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy(),
            model.file_name().unwrap().to_string_lossy()
        );
        let m = read_mesh(path).unwrap();
        let (area, _) = area_and_centroid(&m);
        assert_eq!(
            m.faces.len() as u64,
            expected[&key]["faces"].as_u64().unwrap(),
            "{key}"
        );
        let want = expected[&key]["area"].as_f64().unwrap();
        assert!((area - want).abs() < 1e-5 * want, "{key}: {area} vs {want}");
    }
    // Smoke train + eval on the layout.
    let tmp = tempfile::tempdir().unwrap();
    let source = format!("data.source={}", root.display());
    kit::testing::smoke_train_eval(
        env!("CARGO_BIN_EXE_pointcloud-chamfer"),
        "pointcloud-chamfer",
        &tmp.path().join("runs"),
        "sn",
        &[&source, "train.batch_size=4"],
    );
}
