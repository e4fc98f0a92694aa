//! Figures of the sequence and set losses: CTC's alignment lattice and collapse rule (Graves et
//! et al. 2006), and Chamfer's nearest-neighbour links between point sets of different sizes.

use crate::Figure;
use loss_zoo::chamfer::{chamfer_distance, ChamferOptions};
use loss_zoo::ctc::{ctc_loss, greedy_decode, CtcOptions};
use loss_zoo::Reduction;
use plot::{heatmap, scatter, Chart, Series};
use tch::{Kind, Tensor};

/// CTC on the label "2025" over 12 frames with uniform outputs: how the probability mass of all
/// valid alignments spreads over frames and symbols (from the loss itself: the derivative of
/// −loss with respect to each frame's log-probability is that frame's alignment occupancy).
/// The caption decodes "2 2 2 2 2 0 0 0 2 2 2 2 5 5 5 5" with the collapse rule.
pub fn ctc_lattice() -> anyhow::Result<Figure> {
    let (t, classes) = (12i64, 11i64); // blank + digits 0-9 (digit d is class d + 1)
    let label = [3i64, 1, 3, 6]; // "2025"
    let lp = Tensor::full(
        [t, 1, classes],
        -(classes as f64).ln(),
        (Kind::Double, tch::Device::Cpu),
    );
    let opts = CtcOptions {
        reduction: Reduction::Sum,
        ..Default::default()
    };
    let nll = |lp: &Tensor| -> anyhow::Result<f64> {
        let l = ctc_loss(
            lp,
            &Tensor::from_slice(&label).view([1, -1]),
            &Tensor::from_slice(&[t]),
            &Tensor::from_slice(&[label.len() as i64]),
            &opts,
        )?;
        Ok(l.double_value(&[]))
    };
    let base = nll(&lp)?;
    let rows = [(0, "blank"), (1, "0"), (3, "2"), (6, "5")];
    let eps = 1e-6;
    let mut occupancy = vec![vec![0.0; t as usize]; rows.len()];
    for (r, &(k, _)) in rows.iter().enumerate() {
        for f in 0..t {
            let bumped = lp.copy();
            let _ = bumped.get(f).get(0).get(k).g_add_scalar_(eps);
            occupancy[r][f as usize] = (base - nll(&bumped)?) / eps;
        }
    }
    let frame_sums: Vec<f64> = (0..t as usize)
        .map(|f| occupancy.iter().map(|row| row[f]).sum())
        .collect();
    // The collapse rule on the lecture's example: merge repeats, then drop blanks.
    let path = [2i64, 2, 2, 2, 2, 0, 0, 0, 2, 2, 2, 2, 5, 5, 5, 5].map(|d| d + 1);
    let one_hot = Tensor::zeros(
        [path.len() as i64, 1, classes],
        (Kind::Double, tch::Device::Cpu),
    );
    for (i, &c) in path.iter().enumerate() {
        let _ = one_hot.get(i as i64).get(0).get(c).fill_(1.0);
    }
    let text = collapse(&path)?;
    // Where the blank is needed: two equal symbols in a row survive only with a blank between
    // them ("2 2 _ 2" -> "22"); without one, repeats merge ("2 2 2" -> "2").
    let with_blank = collapse(&[3, 3, 0, 3])?;
    let without = collapse(&[3, 3, 3])?;
    let img = heatmap(
        "CTC: which symbol each frame emits, over all alignments of \"2025\"",
        "frame",
        &rows.iter().map(|r| r.1.to_string()).collect::<Vec<_>>(),
        &(0..t).map(|f| f.to_string()).collect::<Vec<_>>(),
        &occupancy,
    )?;
    Ok(Figure {
        name: "ctc-lattice",
        image: img,
        caption: format!(
            "probability that frame t emits each symbol, summed over every alignment of \"2025\" \
             to 12 frames (total mass {:.2e} under uniform outputs); the path \"2 2 2 2 2 0 0 0 \
             2 2 2 2 5 5 5 5\" collapses to \"{text}\" (merge repeats, drop blanks: the two 2s of \
             2025 are not adjacent, so no blank is needed between them). A blank is needed only \
             between equal symbols: \"2 2 _ 2\" collapses to \"{with_blank}\", \"2 2 2\" to \
             \"{without}\"",
            (-base).exp()
        ),
        numbers: vec![
            (
                "min_frame_mass".into(),
                frame_sums.iter().copied().fold(f64::INFINITY, f64::min),
            ),
            (
                "max_frame_mass".into(),
                frame_sums.iter().copied().fold(0.0, f64::max),
            ),
            (
                "decoded_is_2025".into(),
                f64::from(u8::from(text == "2025")),
            ),
            (
                "blank_keeps_22".into(),
                f64::from(u8::from(with_blank == "22")),
            ),
            (
                "no_blank_merges_to_2".into(),
                f64::from(u8::from(without == "2")),
            ),
        ],
    })
}

/// A path of classes (0 = blank, digit d = d + 1) through loss-zoo's greedy CTC decoder,
/// as text.
fn collapse(path: &[i64]) -> anyhow::Result<String> {
    let classes = 11i64;
    let one_hot = Tensor::zeros(
        [path.len() as i64, 1, classes],
        (Kind::Double, tch::Device::Cpu),
    );
    for (i, &c) in path.iter().enumerate() {
        let _ = one_hot.get(i as i64).get(0).get(c).fill_(1.0);
    }
    let decoded = greedy_decode(&(one_hot * 10.0).log_softmax(2, Kind::Double), None, 0)?;
    Ok(decoded[0]
        .iter()
        .map(|&c| char::from(b'0' + (c - 1) as u8))
        .collect())
}

/// Two point sets of different sizes (5 and 8 points) with each point's nearest neighbour in
/// the other set: the two directions of the Chamfer distance.
pub fn chamfer_links() -> anyhow::Result<Figure> {
    tch::manual_seed(7);
    let x = Tensor::rand([1, 5, 2], (Kind::Double, tch::Device::Cpu));
    let y = Tensor::rand([1, 8, 2], (Kind::Double, tch::Device::Cpu)) * 1.2 - 0.1;
    let d = chamfer_distance(&x, &y, None, None, &ChamferOptions::default())?.double_value(&[]);
    let reference = loss_zoo::chamfer::chamfer_distance_bruteforce(&x, &y).double_value(&[]);
    let px: Vec<Vec<f64>> = Vec::try_from(x.squeeze_dim(0))?;
    let py: Vec<Vec<f64>> = Vec::try_from(y.squeeze_dim(0))?;
    let nearest = |p: &[f64], set: &[Vec<f64>]| -> (f64, f64) {
        let q = set
            .iter()
            .min_by(|a, b| {
                let da = (a[0] - p[0]).powi(2) + (a[1] - p[1]).powi(2);
                let db = (b[0] - p[0]).powi(2) + (b[1] - p[1]).powi(2);
                da.total_cmp(&db)
            })
            .map_or((p[0], p[1]), |q| (q[0], q[1]));
        q
    };
    let pt = |p: &Vec<f64>| (p[0], p[1]);
    let mut chart = Chart::new(
        &format!("Chamfer distance {d:.4}: 5 predicted points, 8 true points"),
        "x",
        "y",
    )
    .series(Series::new("predicted (5)", px.iter().map(pt).collect()))
    .series(Series::new("ground truth (8)", py.iter().map(pt).collect()));
    for p in &px {
        chart = chart.segment(pt(p), nearest(p, &py), 0);
    }
    for q in &py {
        chart = chart.segment(pt(q), nearest(q, &px), 1);
    }
    Ok(Figure {
        name: "chamfer-links",
        image: scatter(&chart)?,
        caption: format!(
            "each predicted point links to its nearest true point (blue) and each true point to its \
             nearest predicted point (orange); d = mean of squared blue lengths + mean of squared \
             orange lengths = {d:.4}"
        ),
        numbers: vec![("chamfer".into(), d), ("chamfer_bruteforce".into(), reference)],
    })
}
