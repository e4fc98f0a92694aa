//! Mesh readers on small hand-written files (and broken ones), surface sampling, metrics on
//! constructed clouds.

use pointcloud_chamfer::mesh::{read_mesh, read_ply, write_ply_points, Mesh};
use rand::SeedableRng;
use std::path::PathBuf;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A unit square in the z = 0 plane as one quad (readers must fan it into two triangles).
fn square() -> Mesh {
    Mesh {
        vertices: vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ],
        faces: vec![[0, 1, 2], [0, 2, 3]],
    }
}

#[test]
fn off_obj_and_ply_read_the_same_square() {
    let d = tempfile::tempdir().unwrap();
    let off = write(
        &d,
        "a.off",
        b"OFF\n# a comment\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n",
    );
    // ModelNet's glued header.
    let off2 = write(
        &d,
        "b.off",
        b"OFF4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n",
    );
    let obj = write(
        &d,
        "a.obj",
        b"# square\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 -1//1\n",
    );
    let ply = write(
        &d,
        "a.ply",
        b"ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0 9\n1 0 0 9\n1 1 0 9\n0 1 0 9\n4 0 1 2 3\n",
    );
    let mut bin = b"ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty double x\nproperty double y\nproperty double z\nelement face 1\nproperty list uchar uint vertex_indices\nend_header\n".to_vec();
    for v in square().vertices {
        for c in v {
            bin.extend((c as f64).to_le_bytes());
        }
    }
    bin.push(4);
    for i in [0u32, 1, 2, 3] {
        bin.extend(i.to_le_bytes());
    }
    let ply_bin = write(&d, "b.ply", &bin);
    for p in [off, off2, obj, ply, ply_bin] {
        let m = read_mesh(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(m, square(), "{}", p.display());
    }
}

#[test]
fn broken_mesh_files_name_the_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 6] = [
        ("a.stl", b"solid", "unknown mesh format `.stl`"),
        (
            "b.off",
            b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n",
            "line 6: vertex index 7 out of range",
        ),
        ("c.off", b"OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n", "no faces"),
        (
            "d.obj",
            b"v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n",
            "line 2: vertex coordinate `nan` is not finite",
        ),
        (
            "e.obj",
            b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n",
            "line 4: vertex index 3 out of range",
        ),
        (
            "f.ply",
            b"ply\nformat binary_big_endian 1.0\nend_header\n",
            "line 2: PLY format `binary_big_endian` is not supported",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = write(&d, name, bytes);
        let err = read_mesh(&p).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

#[test]
fn point_ply_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("p.ply");
    let pts = vec![[0.5, -0.25, 1.0], [0.0, 0.125, -2.0]];
    write_ply_points(&p, &pts).unwrap();
    let m = read_ply(&p).unwrap();
    assert_eq!(m.vertices, pts);
    assert!(m.faces.is_empty());
}

#[test]
fn surface_samples_are_area_uniform() {
    // Two separate triangles, areas 1/2 and 3/2: a quarter of the points must land on the
    // first. 20,000 draws: std of the share is √(0.25·0.75/20000) ≈ 0.003; allow 4σ.
    let m = Mesh {
        vertices: vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [5.0, 0.0, 0.0],
            [8.0, 0.0, 0.0],
            [5.0, 1.0, 0.0],
        ],
        faces: vec![[0, 1, 2], [3, 4, 5]],
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let pts = m.sample_surface(20_000, &mut rng);
    let first: Vec<_> = pts.iter().filter(|p| p[0] < 2.0).collect();
    let share = first.len() as f64 / pts.len() as f64;
    assert!(
        (share - 0.25).abs() < 0.012,
        "share on the small triangle {share}"
    );
    // Uniform inside a triangle: the mean is the centroid (1/3, 1/3), and a quarter of the
    // points fall in the corner triangle x + y < 1/2 (area ratio 1/4).
    let n = first.len() as f64;
    let (mx, my) = first.iter().fold((0.0, 0.0), |(a, b), p| {
        (a + p[0] as f64 / n, b + p[1] as f64 / n)
    });
    assert!(
        (mx - 1.0 / 3.0).abs() < 0.01 && (my - 1.0 / 3.0).abs() < 0.01,
        "({mx}, {my})"
    );
    let corner = first.iter().filter(|p| p[0] + p[1] < 0.5).count() as f64 / n;
    assert!((corner - 0.25).abs() < 0.025, "corner share {corner}");
    assert!(pts
        .iter()
        .all(|p| p[2] == 0.0 && p[0] >= 0.0 && p[1] >= 0.0));
}

#[test]
fn scores_of_constructed_clouds() {
    use pointcloud_chamfer::eval::score;
    use tch::Tensor;
    // Truth: 4 corners of a unit square (diagonal √2). Prediction: the same corners, one of
    // them moved by 0.1 along x. τ = 5% of √2 ≈ 0.0707 < 0.1 < τ = 10% of √2 ≈ 0.141.
    let truth =
        Tensor::from_slice(&[0.0f32, 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0.]).view([1, 4, 3]);
    let pred =
        Tensor::from_slice(&[0.1f32, 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0.]).view([1, 4, 3]);
    let s = score(&pred, &truth, &[0.05, 0.1]).unwrap();
    // Chamfer: 0.01 / 4 each way, ×10³ → 5.
    assert!((s.chamfer[0] - 5.0).abs() < 1e-4, "{:?}", s.chamfer);
    // τ = 5%: precision 3/4, recall 3/4 → F = 0.75; τ = 10%: all within → 1.
    assert!((s.fscore[0][0] - 0.75).abs() < 1e-9 && (s.fscore[1][0] - 1.0).abs() < 1e-9);
    // Spacing: nearest other point 0.9 for the moved corner's... CV > 0; the square's 1, 1, 1, 1 is 0.
    let even = score(&truth, &truth, &[0.05]).unwrap();
    assert!(even.chamfer[0].abs() < 1e-9 && even.cv[0].abs() < 1e-6 && s.cv[0] > 0.0);
}
