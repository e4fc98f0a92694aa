//! Chamfer with padded clouds across several search blocks: padding placed exactly where it
//! would be the nearest neighbour must be ignored in both directions.

mod common;
use common::*;
use loss_zoo::chamfer::{self, ChamferOptions, PointReduction};
use loss_zoo::Reduction;
use tch::{Device, Kind, Tensor};

const CPU_F64: (Kind, Device) = (Kind::Double, Device::Cpu);

fn opts(point_reduction: PointReduction) -> ChamferOptions {
    ChamferOptions {
        point_reduction,
        batch_reduction: Reduction::None,
        single_directional: false,
    }
}

#[test]
fn padding_on_top_of_the_other_cloud_is_ignored_in_both_directions() {
    tch::manual_seed(11);
    // x spans two search blocks and is cut inside the second; y is short.
    let (nx, ny) = (chamfer::CHUNK + 200, 300);
    let (lx, ly) = (chamfer::CHUNK + 50, 260);
    let x = Tensor::randn([2, nx, 3], CPU_F64);
    let y = Tensor::randn([2, ny, 3], CPU_F64);
    // Padding that copies the other cloud's real points: unmasked, it would be every point's
    // nearest neighbour at distance 0.
    let x_pad = Tensor::cat(&[x.narrow(1, 0, lx), y.narrow(1, 0, nx - lx)], 1);
    let y_pad = Tensor::cat(&[y.narrow(1, 0, ly), x.narrow(1, 0, ny - ly)], 1);
    let lengths = |l: i64| Tensor::from_slice(&[l, l]);
    for red in [PointReduction::Mean, PointReduction::Sum] {
        let got = chamfer::chamfer_distance(
            &x_pad,
            &y_pad,
            Some(&lengths(lx)),
            Some(&lengths(ly)),
            &opts(red),
        )
        .unwrap();
        let want = chamfer::chamfer_distance(
            &x.narrow(1, 0, lx),
            &y.narrow(1, 0, ly),
            None,
            None,
            &opts(red),
        )
        .unwrap();
        assert_close(&got, &want, "padded vs cut clouds");
        assert!(got.min().double_value(&[]) > 1e-3, "padding was matched");
    }
    // And the unpadded pair against the brute-force reference (mean over both clouds).
    let want = chamfer::chamfer_distance_bruteforce(&x.narrow(1, 0, lx), &y.narrow(1, 0, ly));
    let got = chamfer::chamfer_distance(
        &x_pad,
        &y_pad,
        Some(&lengths(lx)),
        Some(&lengths(ly)),
        &opts(PointReduction::Mean),
    )
    .unwrap()
    .mean(Kind::Double);
    assert_close(&got, &want, "padded vs brute force");
}
