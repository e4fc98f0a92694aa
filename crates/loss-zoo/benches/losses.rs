//! Forward + backward time of every loss at a realistic size (float32, CPU unless
//! `LOSS_ZOO_BENCH_DEVICE=cuda`), and the peak memory of Chamfer on two 16,384-point clouds.
//! Run with `just bench` (or `cargo bench -p loss-zoo`); prints a markdown table.

use loss_zoo::{arcface, chamfer, ctc, dice, focal, kl, preference, sinkhorn, Reduction};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

fn device() -> Device {
    match std::env::var("LOSS_ZOO_BENCH_DEVICE").as_deref() {
        Ok("cuda") => Device::cuda_if_available(),
        _ => Device::Cpu,
    }
}

fn leaf(shape: &[i64], dev: Device) -> Tensor {
    Tensor::randn(shape, (Kind::Float, dev)).set_requires_grad(true)
}

/// Median milliseconds of `iters` runs of forward + backward (after one warm-up).
fn time(iters: usize, mut f: impl FnMut() -> Tensor) -> f64 {
    f().backward();
    let mut ms: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            f().backward();
            if let Device::Cuda(_) = device() {
                tch::Cuda::synchronize(0);
            }
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let dev = device();
    tch::manual_seed(0);
    let mut rows: Vec<(String, String, f64)> = Vec::new();

    // Chamfer memory: a dense P1×P2 distance matrix would be 16384² × 4 B = 1 GiB (plus the
    // D-wide difference tensor of a naive broadcast, 3 GiB); the chunked search needs
    // CHUNK × P2 × 4 B = 64 MiB at a time.
    let before = peak_rss_mib();
    let a = leaf(&[1, 16_384, 3], dev);
    let b = Tensor::randn([1, 16_384, 3], (Kind::Float, dev));
    let t = Instant::now();
    chamfer::chamfer_distance(
        &a,
        &b,
        None,
        None,
        &loss_zoo::chamfer::ChamferOptions {
            point_reduction: Default::default(),
            batch_reduction: Reduction::Mean,
            single_directional: false,
        },
    )
    .unwrap()
    .backward();
    let secs = t.elapsed().as_secs_f64();
    let after = peak_rss_mib();
    println!(
        "chamfer_distance 16384 vs 16384 points (D=3), forward + backward: {:.2} s, peak RSS {:.0} MiB (+{:.0} MiB over start-up; dense would need ≥ 1024 MiB)",
        secs,
        after,
        after - before
    );
    println!();

    let x = leaf(&[16, 12_276, 20], dev); // RetinaNet-like: 12k anchors per image, 20 classes
    let y = Tensor::rand([16, 12_276, 20], (Kind::Float, dev))
        .gt(0.999)
        .to_kind(Kind::Float);
    rows.push((
        "sigmoid_focal_loss".into(),
        "16×12276 anchors×20 classes".into(),
        time(10, || {
            focal::sigmoid_focal_loss(&x, &y, Some(0.25), 2.0, Reduction::Sum).unwrap()
        }),
    ));
    let x = leaf(&[64, 5, 128, 128], dev);
    let l = Tensor::randint(5, [64, 128, 128], (Kind::Int64, dev));
    rows.push((
        "softmax_focal_loss".into(),
        "64×5×128×128".into(),
        time(5, || {
            focal::softmax_focal_loss(&x, &l, None, 2.0, Reduction::Mean).unwrap()
        }),
    ));

    let vs = tch::nn::VarStore::new(dev);
    let head = arcface::ArcFaceHead::new(&vs.root(), 512, 10_000, arcface::MarginConfig::arcface());
    let emb = leaf(&[256, 512], dev);
    let labels = Tensor::randint(10_000, [256], (Kind::Int64, dev));
    rows.push((
        "ArcFaceHead + CE".into(),
        "256×512 → 10,000 ids".into(),
        time(10, || {
            head.forward(&emb, &labels)
                .unwrap()
                .cross_entropy_for_logits(&labels)
        }),
    ));

    let logits = leaf(&[100, 32, 37], dev);
    let targets = Tensor::randint_low(1, 37, [32, 25], (Kind::Int64, dev));
    let il = Tensor::full([32], 100, (Kind::Int64, dev));
    let tl = Tensor::randint_low(10, 26, [32], (Kind::Int64, dev));
    rows.push((
        "ctc_loss".into(),
        "T=100, N=32, C=37, S≤25".into(),
        time(10, || {
            ctc::ctc_loss(
                &logits.log_softmax(2, Kind::Float),
                &targets,
                &il,
                &tl,
                &loss_zoo::ctc::CtcOptions {
                    blank: 0,
                    reduction: Reduction::Mean,
                    zero_infinity: false,
                },
            )
            .unwrap()
        }),
    ));

    let a = leaf(&[8, 2048, 3], dev);
    let b = Tensor::randn([8, 2048, 3], (Kind::Float, dev));
    rows.push((
        "chamfer_distance".into(),
        "8×2048 vs 8×2048 points".into(),
        time(5, || {
            chamfer::chamfer_distance(
                &a,
                &b,
                None,
                None,
                &loss_zoo::chamfer::ChamferOptions {
                    point_reduction: Default::default(),
                    batch_reduction: Reduction::Mean,
                    single_directional: false,
                },
            )
            .unwrap()
        }),
    ));

    // pointcloud-chamfer's training step: 32 predicted clouds of 1,024 points against 2,048
    // sampled ones (Chamfer), and against a 512-point subset (Sinkhorn-EMD, its config).
    let a = leaf(&[32, 1024, 3], dev);
    let b = Tensor::randn([32, 2048, 3], (Kind::Float, dev));
    rows.push((
        "chamfer_distance".into(),
        "32×1024 vs 32×2048 points (pointcloud-chamfer's step)".into(),
        time(5, || {
            chamfer::chamfer_distance(&a, &b, None, None, &Default::default()).unwrap()
        }),
    ));
    let b512 = b.narrow(1, 0, 512);
    for tolerance in [1e-3, 1e-5] {
        let opts = sinkhorn::SinkhornOptions {
            epsilon: 0.005,
            tolerance,
            reduction: Reduction::Mean,
            ..Default::default()
        };
        let r = sinkhorn::sinkhorn_emd_report(&a, &b512, &opts).unwrap();
        rows.push((
            "sinkhorn_emd".into(),
            format!(
                "32×1024 vs 32×512 points, ε = 0.005, ε-scaling 0.5, tolerance {tolerance:e} \
                 ({} stages + {} iterations, {})",
                r.stages,
                r.iters,
                if r.converged { "converged" } else { "cap hit" }
            ),
            time(5, || sinkhorn::sinkhorn_emd(&a, &b512, &opts).unwrap()),
        ));
    }

    let x = leaf(&[16, 2, 128, 128], dev);
    let l = Tensor::rand([16, 1, 128, 128], (Kind::Float, dev))
        .gt(0.999)
        .to_kind(Kind::Int64);
    let opts = dice::DiceOptions {
        softmax: true,
        to_onehot_y: true,
        include_background: false,
        ..Default::default()
    };
    rows.push((
        "dice_ce_loss".into(),
        "16×2×128×128".into(),
        time(10, || dice::dice_ce_loss(&x, &l, &opts, 1.0, 1.0).unwrap()),
    ));

    let mu = leaf(&[256, 32], dev);
    let lv = leaf(&[256, 32], dev);
    rows.push((
        "gaussian_kl".into(),
        "256×32 latent".into(),
        time(20, || kl::gaussian_kl(&mu, &lv, Reduction::Mean).unwrap()),
    ));
    let q = leaf(&[256, 1000], dev);
    let p = Tensor::rand([256, 1000], (Kind::Float, dev)).softmax(1, Kind::Float);
    rows.push((
        "kl_div".into(),
        "256×1000".into(),
        time(20, || {
            kl::kl_div(
                &q.log_softmax(1, Kind::Float),
                &p,
                Reduction::BatchMean,
                false,
            )
            .unwrap()
        }),
    ));

    let rc = leaf(&[4096], dev);
    let rr = Tensor::randn([4096], (Kind::Float, dev));
    rows.push((
        "bradley_terry_loss".into(),
        "4096 pairs".into(),
        time(20, || {
            preference::bradley_terry_loss(&rc, &rr, None, Some(0.01)).unwrap()
        }),
    ));
    rows.push((
        "dpo_loss".into(),
        "4096 pairs".into(),
        time(20, || {
            preference::dpo_loss(&rc, &rr, &rr, &rr, 0.1).unwrap().loss
        }),
    ));

    println!(
        "device: {dev:?}, libtorch threads: {}",
        tch::get_num_threads()
    );
    println!("| loss | size | forward + backward (median ms) |");
    println!("|---|---|---|");
    for (name, size, ms) in &rows {
        println!("| `{name}` | {size} | {ms:.2} |");
    }
}
