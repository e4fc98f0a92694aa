//! pointcloud-chamfer's data paths: the test split eval reads, mesh folders in another up axis,
//! and bad meshes / files / metadata named.

use pointcloud_chamfer::config::Config;
use pointcloud_chamfer::data;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn smoke() -> Config {
    kit::testing::load_config("pointcloud-chamfer", "smoke")
}

const BIN: &str = env!("CARGO_BIN_EXE_pointcloud-chamfer");

#[test]
fn a_z_up_mesh_is_turned_upright_by_data_up_axis() {
    // A column 1 × 1 × 4 standing along z (trimesh's convention).
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("m/column");
    std::fs::create_dir_all(&d).unwrap();
    let mut off = String::from("OFF\n8 6 0\n");
    for i in 0..8 {
        let (x, y, z) = (
            (i & 1) as f32,
            ((i >> 1) & 1) as f32,
            4.0 * ((i >> 2) & 1) as f32,
        );
        off += &format!("{x} {y} {z}\n");
    }
    for f in [
        [0, 1, 3, 2],
        [4, 6, 7, 5],
        [0, 4, 5, 1],
        [2, 3, 7, 6],
        [0, 2, 6, 4],
        [1, 5, 7, 3],
    ] {
        off += &format!("4 {} {} {} {}\n", f[0], f[1], f[2], f[3]);
    }
    std::fs::write(d.join("c.off"), off).unwrap();
    let extent = |up: &str| {
        let mut cfg = smoke().data;
        cfg.up_axis = match up {
            "z" => pointcloud_chamfer::config::UpAxis::Z,
            _ => pointcloud_chamfer::config::UpAxis::Y,
        };
        let s = &data::read_split(&cfg, &tmp.path().join("m"), 0).unwrap()[0];
        let (lo, hi) = pointcloud_chamfer::mesh::bounds(&s.points);
        [0, 1, 2].map(|k| hi[k] - lo[k])
    };
    // Read as y-up, the long side lies along z; with up_axis z it stands along y.
    let (as_y, as_z) = (extent("y"), extent("z"));
    assert!(as_y[2] > 3.0 * as_y[1], "{as_y:?}");
    assert!(
        as_z[1] > 3.0 * as_z[0] && as_z[1] > 3.0 * as_z[2],
        "{as_z:?}"
    );
}

#[test]
fn degenerate_meshes_unknown_files_and_non_finite_angles_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = smoke().data;
    let tet = "OFF\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n";
    // Every vertex at one point: used to train on points at the origin without a word.
    let d = tmp.path().join("point/blob");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("good.off"), tet).unwrap();
    std::fs::write(
        d.join("dot.off"),
        "OFF\n3 1 0\n0.5 0.5 0.5\n0.5 0.5 0.5\n0.5 0.5 0.5\n3 0 1 2\n",
    )
    .unwrap();
    let msg = data::read_split(&cfg, &tmp.path().join("point"), 0)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("dot.off") && msg.contains("degenerate"),
        "{msg}"
    );
    // A mesh in a format we do not read was skipped silently.
    let d = tmp.path().join("stl/tet");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("a.off"), tet).unwrap();
    std::fs::write(d.join("b.stl"), "solid b\nendsolid b\n").unwrap();
    std::fs::write(d.join(".DS_Store"), "").unwrap();
    let msg = data::read_split(&cfg, &tmp.path().join("stl"), 0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("b.stl") && msg.contains(".off"), "{msg}");
    std::fs::remove_file(d.join("b.stl")).unwrap();
    assert_eq!(
        data::read_split(&cfg, &tmp.path().join("stl"), 0)
            .unwrap()
            .len(),
        cfg.views_per_mesh
    );
    // A NaN azimuth in synth's meta.csv reached training as a NaN loss at step 0.
    let ds = tmp.path().join("ds");
    let smoke_path = repo().join("configs/pointcloud-chamfer/smoke.yaml");
    kit::testing::run_ok(
        BIN,
        &[
            "synth",
            "--out",
            &ds.to_string_lossy(),
            "--n",
            "9",
            "--config",
            &smoke_path.to_string_lossy(),
        ],
    );
    let meta = ds.join("val/meta.csv");
    let text = std::fs::read_to_string(&meta).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut f: Vec<String> = lines[1].split(',').map(String::from).collect();
    f[2] = "NaN".into();
    lines[1] = f.join(",");
    std::fs::write(&meta, lines.join("\n")).unwrap();
    let msg = data::read_split(&cfg, &ds.join("val"), 0)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("meta.csv") && msg.contains("line 2") && msg.contains("NaN"),
        "{msg}"
    );
}

#[test]
fn eval_reads_a_test_split_that_training_never_saw() {
    let cfg = smoke().data;
    let (train, val) = data::sources(&cfg, 3).unwrap();
    let test = data::test_set(&cfg, 3).unwrap();
    assert_eq!(test.len(), val.len());
    for t in &test[..3] {
        assert!(train.iter().chain(&val).all(|s| s.points != t.points));
    }
    // A folder: test/ when there is one, else val/ (and the console says so).
    let tmp = tempfile::tempdir().unwrap();
    let smoke_path = repo().join("configs/pointcloud-chamfer/smoke.yaml");
    let p = |x: &Path| x.to_string_lossy().to_string();
    let ds = tmp.path().join("ds");
    let out = kit::testing::run_ok(
        BIN,
        &[
            "synth",
            "--out",
            &p(&ds),
            "--n",
            "12",
            "--config",
            &p(&smoke_path),
        ],
    );
    assert!(out.contains("3 test shapes"), "{out}");
    assert_eq!(
        kit::cli::held_out_split(&ds, kit::cli::Split::Test),
        ds.join("test")
    );
    std::fs::remove_dir_all(ds.join("test")).unwrap();
    assert_eq!(
        kit::cli::held_out_split(&ds, kit::cli::Split::Test),
        ds.join("val")
    );
}
