//! Chamfer distance between point sets: each point's squared distance to its nearest
//! neighbour in the other set, averaged. Order-free, so a network can output a point cloud
//! as an unordered set.

use crate::{check_clouds, check_dims, check_int, LossError, Reduction, Result};
use tch::{Kind, Tensor};

/// How the per-point distances of one cloud are reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PointReduction {
    /// Mean over the cloud's valid points (pytorch3d's default).
    #[default]
    Mean,
    /// Sum over the cloud's valid points.
    Sum,
}

/// Points of `x` handled per block when searching nearest neighbours: memory is
/// O(N · CHUNK · P2), not O(N · P1 · P2).
pub const CHUNK: i64 = 1024;

/// Options of [`chamfer_distance`]; `Default` is pytorch3d's (mean over points, mean over the
/// batch, both directions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChamferOptions {
    /// How each cloud's nearest-neighbour distances are reduced (pytorch3d `point_reduction`).
    pub point_reduction: PointReduction,
    /// How the per-pair distances are reduced over the batch.
    pub batch_reduction: Reduction,
    /// Only the x → y term.
    pub single_directional: bool,
}

impl Default for ChamferOptions {
    fn default() -> Self {
        Self {
            point_reduction: PointReduction::Mean,
            batch_reduction: Reduction::Mean,
            single_directional: false,
        }
    }
}

/// Chamfer distance, as `pytorch3d.loss.chamfer_distance` (its first return value):
///
/// d(x, y) = red_x( min_j ‖x_i − y_j‖² ) + red_y( min_i ‖y_j − x_i‖² )
///
/// for `x` (N, P1, D), `y` (N, P2, D); `x_lengths` / `y_lengths` (N) mark how many leading
/// points of each padded cloud are real. `point_reduction` reduces within a cloud (mean over
/// its own length), `batch_reduction` over the batch (`Mean` divides by N, `None` keeps (N)).
/// `single_directional` keeps only the x → y term.
///
/// Nearest neighbours are found in chunks of [`CHUNK`] points under `no_grad`, then the chosen
/// pairs' distances are recomputed exactly, so memory stays bounded for large clouds and the
/// gradient is that of the min (flowing to the chosen neighbour only).
pub fn chamfer_distance(
    x: &Tensor,
    y: &Tensor,
    x_lengths: Option<&Tensor>,
    y_lengths: Option<&Tensor>,
    opts: &ChamferOptions,
) -> Result<Tensor> {
    let ChamferOptions {
        point_reduction,
        batch_reduction,
        single_directional,
    } = *opts;
    let (n, p1, p2, _) = check_clouds(x, y)?;
    if batch_reduction == Reduction::BatchMean {
        return Err(LossError::Reduction(batch_reduction));
    }
    let dev = x.device();
    let lengths = |l: Option<&Tensor>, arg: &'static str, p: i64| -> Result<Tensor> {
        match l {
            None => Ok(Tensor::full([n], p, (Kind::Int64, dev))),
            Some(l) => {
                check_int(l, arg)?;
                if l.size() != [n] {
                    return Err(LossError::Shape {
                        arg,
                        expected: format!("({n})"),
                        got: l.size(),
                    });
                }
                let l = l.to_kind(Kind::Int64).to_device(dev);
                let (lo, hi) = (l.min().int64_value(&[]), l.max().int64_value(&[]));
                if lo < 0 || hi > p {
                    return Err(LossError::Value {
                        arg,
                        message: format!("values must lie in 0..={p}, got {lo}..={hi}"),
                    });
                }
                Ok(l)
            }
        }
    };
    let xl = lengths(x_lengths, "x_lengths", p1)?;
    let yl = lengths(y_lengths, "y_lengths", p2)?;
    // Whether a cloud is padded: read from the device only when lengths were given (their
    // check above reads them anyway), so the common unpadded call makes no host read.
    let padded = |l: &Tensor, given: bool, p: i64| given && l.lt(p).any().int64_value(&[]) == 1;
    let (x_padded, y_padded) = (
        padded(&xl, x_lengths.is_some(), p1),
        padded(&yl, y_lengths.is_some(), p2),
    );
    let valid = |l: &Tensor, p: i64| {
        Tensor::arange(p, (Kind::Int64, dev))
            .unsqueeze(0)
            .lt_tensor(&l.unsqueeze(1)) // (N, P)
    };
    let (x_valid, y_valid) = (valid(&xl, p1), valid(&yl, p2));
    let (to_y, to_x) = nearest_both(
        x,
        y,
        x_padded.then_some(&x_valid),
        y_padded.then_some(&y_valid),
        !single_directional,
    );
    let cham_x = one_direction(x, y, &to_y, &x_valid, &xl, &yl, point_reduction);
    let total = match to_x {
        Some(to_x) => cham_x + one_direction(y, x, &to_x, &y_valid, &yl, &xl, point_reduction),
        None => cham_x,
    };
    Ok(batch_reduction.apply(total))
}

/// Per-cloud reduced distances (N) from each point of `a` to its nearest neighbour in `b`,
/// `idx` (N, Pa) (found without gradient), recomputed here so the gradient flows through
/// the chosen pairs; `a_valid` (N, Pa) masks `a`'s padding.
fn one_direction(
    a: &Tensor,
    b: &Tensor,
    idx: &Tensor,
    a_valid: &Tensor,
    al: &Tensor,
    bl: &Tensor,
    red: PointReduction,
) -> Tensor {
    let (n, pa, d) = (a.size()[0], a.size()[1], a.size()[2]);
    let nearest = b.gather(1, &idx.unsqueeze(-1).expand([n, pa, d], false), false);
    // (N, Pa)
    let dist =
        (a - nearest)
            .pow_tensor_scalar(2)
            .sum_dim_intlist([-1i64].as_slice(), false, a.kind());
    // Clouds with no valid point in b contribute 0 (pytorch3d's behaviour for empty clouds).
    let has_b = bl.gt(0).unsqueeze(1);
    let dist = dist * a_valid.logical_and(&has_b).to_kind(a.kind());
    let sum = dist.sum_dim_intlist([1i64].as_slice(), false, a.kind());
    match red {
        PointReduction::Sum => sum,
        PointReduction::Mean => sum / al.clamp_min(1).to_kind(a.kind()).to_device(a.device()),
    }
}

/// Nearest-neighbour indices both ways from one pass over the distance blocks, without
/// gradient: (N, Pa) into `b` and, when `both`, (N, Pb) into `a`. Each block of [`CHUNK`]
/// points of `a` against all of `b` gives `a`'s minima directly and a running minimum for `b`
/// (the earliest index wins ties, as one argmin over all of `a` would), so every squared
/// distance is computed once. `a_valid` / `b_valid` (N, P) mask padding.
fn nearest_both(
    a: &Tensor,
    b: &Tensor,
    a_valid: Option<&Tensor>,
    b_valid: Option<&Tensor>,
    both: bool,
) -> (Tensor, Option<Tensor>) {
    let (n, pa, pb) = (a.size()[0], a.size()[1], b.size()[1]);
    let dev = a.device();
    tch::no_grad(|| {
        let b_sq = b
            .pow_tensor_scalar(2)
            .sum_dim_intlist([-1i64].as_slice(), false, b.kind()); // (N, Pb)
        let bt = b.transpose(1, 2);
        let mut parts = Vec::new();
        let mut best: Option<(Tensor, Tensor)> = None; // b's running (distance, index) (N, Pb)
        let mut start = 0;
        while start < pa {
            let len = CHUNK.min(pa - start);
            let ac = a.narrow(1, start, len);
            // (N, K, 1)
            let a_sq = ac
                .pow_tensor_scalar(2)
                .sum_dim_intlist([-1i64].as_slice(), true, a.kind());
            // ‖a‖² + ‖b‖² − 2 a·b, in one matmul-and-add and one in-place add.
            let mut dist = b_sq.unsqueeze(1).baddbmm(&ac, &bt, 1.0, -2.0); // (N, K, Pb)
            dist += a_sq;
            if let Some(v) = b_valid {
                dist = dist.masked_fill(&v.logical_not().unsqueeze(1), f64::INFINITY);
            }
            parts.push(dist.argmin(-1, false));
            if both {
                if let Some(v) = a_valid {
                    let rows = v.narrow(1, start, len).logical_not().unsqueeze(-1);
                    dist = dist.masked_fill(&rows, f64::INFINITY);
                }
                let (d, i) = dist.min_dim(1, false); // (N, Pb)
                let i = i + start;
                best = Some(match best {
                    None => (d, i),
                    Some((bd, bi)) => {
                        let closer = d.lt_tensor(&bd);
                        (d.minimum(&bd), i.where_self(&closer, &bi))
                    }
                });
            }
            start += len;
        }
        let to_b = if parts.is_empty() {
            Tensor::zeros([n, 0], (Kind::Int64, dev))
        } else {
            Tensor::cat(&parts, 1)
        };
        let to_a = both.then(|| match best {
            Some((_, i)) => i,
            None => Tensor::zeros([n, pb], (Kind::Int64, dev)),
        });
        (to_b, to_a)
    })
}

/// Index (N, Pa) of each point's nearest neighbour in `b`, in chunks of [`CHUNK`] points,
/// without gradient; `b_valid` (N, Pb) masks padding.
fn nearest_index(a: &Tensor, b: &Tensor, b_valid: Option<&Tensor>) -> Tensor {
    nearest_both(a, b, None, b_valid, false).0
}

/// Squared distance (N, P1) from each point of `x` (N, P1, D) to its nearest neighbour in `y`
/// (N, P2, D), without gradient: what point-cloud metrics (F-score, uniformity) are built on.
pub fn nearest_sq_distances(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    check_dims(x, "x", 3, "(N, P1, D)")?;
    check_dims(y, "y", 3, "(N, P2, D)")?;
    if y.size()[0] != x.size()[0] || y.size()[2] != x.size()[2] || y.size()[1] == 0 {
        return Err(LossError::Shape {
            arg: "y",
            expected: format!("({}, P2 ≥ 1, {}) to match x", x.size()[0], x.size()[2]),
            got: y.size(),
        });
    }
    Ok(tch::no_grad(|| {
        let idx = nearest_index(x, y, None);
        let (n, p, d) = (x.size()[0], x.size()[1], x.size()[2]);
        let nearest = y.gather(1, &idx.unsqueeze(-1).expand([n, p, d], false), false);
        (x - nearest)
            .pow_tensor_scalar(2)
            .sum_dim_intlist([-1i64].as_slice(), false, x.kind())
    }))
}

/// The same distance by brute force over all pairs (O(N·P1·P2) memory): an independent
/// reference for tests and small clouds.
pub fn chamfer_distance_bruteforce(x: &Tensor, y: &Tensor) -> Tensor {
    let diff = x.unsqueeze(2) - y.unsqueeze(1); // (N, P1, P2, D)
    let d = diff
        .pow_tensor_scalar(2)
        .sum_dim_intlist([-1i64].as_slice(), false, x.kind());
    let (dx, _) = d.min_dim(2, false);
    let (dy, _) = d.min_dim(1, false);
    let k = x.kind();
    (dx.mean_dim([1i64].as_slice(), false, k) + dy.mean_dim([1i64].as_slice(), false, k)).mean(k)
}
