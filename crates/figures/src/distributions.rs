//! Figures of the distribution and preference losses: the two directions of the KL divergence
//! fitted to a bimodal target (mass-covering vs mode-seeking), and the Bradley–Terry preference
//! probability with its margin and DPO variants.

use crate::{linspace, t64, Figure};
use loss_zoo::kl::kl_div;
use loss_zoo::preference::{bradley_terry_loss, dpo_loss};
use loss_zoo::Reduction;
use plot::{line_chart, Chart, Corner, Series};
use tch::{Kind, Tensor};

/// Normalised probabilities of N(mu, sigma²) on the grid `z` (rows: one per (mu, sigma)).
fn gaussians(z: &Tensor, mu: &Tensor, sigma: &Tensor) -> Tensor {
    let d = (z.unsqueeze(0) - mu.unsqueeze(1)) / sigma.unsqueeze(1);
    let p = (d.pow_tensor_scalar(2) * -0.5).exp();
    &p / p.sum_dim_intlist([1i64].as_slice(), true, Kind::Double)
}

/// Fits one Gaussian Q to a bimodal P both ways by grid search over (μ, σ):
/// KL(P‖Q) (forward: mass-covering) and KL(Q‖P) (reverse: mode-seeking), with `kl_div`.
pub fn kl_directions() -> anyhow::Result<Figure> {
    let grid = linspace(-6.0, 6.0, 481);
    let z = t64(&grid);
    let p = (gaussians(&z, &t64(&[-2.0]), &t64(&[0.6]))
        + gaussians(&z, &t64(&[2.0]), &t64(&[0.6])))
        * 0.5;
    let (mus, sigmas) = (linspace(-3.0, 3.0, 121), linspace(0.2, 4.0, 77));
    let (mu_all, sigma_all): (Vec<f64>, Vec<f64>) = mus
        .iter()
        .flat_map(|&m| sigmas.iter().map(move |&s| (m, s)))
        .unzip();
    let q = gaussians(&z, &t64(&mu_all), &t64(&sigma_all)).clamp_min(1e-300);
    let p_all = p.expand_as(&q).contiguous();
    // kl_div(log q, p) = Σ p (log p − log q) = KL(P‖Q); swapping the roles gives KL(Q‖P).
    let forward = kl_div(&q.log(), &p_all, Reduction::None, false)?.sum_dim_intlist(
        [1i64].as_slice(),
        false,
        Kind::Double,
    );
    let reverse = kl_div(&p_all.clamp_min(1e-300).log(), &q, Reduction::None, false)?
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
    let best = |kl: &Tensor| -> (f64, f64, f64) {
        let i = kl.argmin(0, false).int64_value(&[]) as usize;
        (mu_all[i], sigma_all[i], kl.double_value(&[i as i64]))
    };
    let (fm, fs, fk) = best(&forward);
    let (rm, rs, rk) = best(&reverse);
    let dz = grid[1] - grid[0];
    let density = |t: &Tensor| -> anyhow::Result<Vec<(f64, f64)>> {
        let v = Vec::<f64>::try_from(t.view([-1]) / dz)?;
        Ok(grid.iter().copied().zip(v).collect())
    };
    let q_f = gaussians(&z, &t64(&[fm]), &t64(&[fs]));
    let q_r = gaussians(&z, &t64(&[rm]), &t64(&[rs]));
    let chart = Chart::new(
        "one Gaussian Q fitted to a bimodal P, each direction of KL",
        "z",
        "density",
    )
    .legend(Corner::UpperLeft)
    .series(Series::new("P (two modes)", density(&p)?))
    .series(Series::new(
        format!("argmin KL(P‖Q): μ={fm:.2}, σ={fs:.2}"),
        density(&q_f)?,
    ))
    .series(Series::new(
        format!("argmin KL(Q‖P): μ={rm:.2}, σ={rs:.2}"),
        density(&q_r)?,
    ));
    Ok(Figure {
        name: "kl-directions",
        image: line_chart(&chart)?,
        caption: format!(
            "forward KL(P‖Q) covers both modes (σ = {fs:.2}, KL {fk:.3}); reverse KL(Q‖P) picks one \
             (μ = {rm:.2}, σ = {rs:.2}, KL {rk:.3}) — why a VAE's KL(q‖p) term and RLHF's KL leash \
             behave as they do"
        ),
        numbers: vec![
            ("forward_mu".into(), fm),
            ("forward_sigma".into(), fs),
            ("reverse_mu".into(), rm),
            ("reverse_sigma".into(), rs),
        ],
    })
}

/// P(chosen ≻ rejected) = exp(−loss) against the reward gap: Bradley–Terry, with a margin,
/// and DPO at two β (its gap is the policy-vs-reference log-ratio difference).
pub fn bradley_terry() -> anyhow::Result<Figure> {
    let gaps = linspace(-6.0, 6.0, 121);
    let zero = t64(&[0.0]);
    let mut bt = Vec::new();
    let mut margin = Vec::new();
    let (mut dpo_small, mut dpo_large) = (Vec::new(), Vec::new());
    for &g in &gaps {
        let c = t64(&[g]);
        bt.push((-bradley_terry_loss(&c, &zero, None, None)?.double_value(&[])).exp());
        let m = t64(&[1.0]);
        margin.push((-bradley_terry_loss(&c, &zero, Some(&m), None)?.double_value(&[])).exp());
        for (beta, out) in [(0.5, &mut dpo_small), (2.0, &mut dpo_large)] {
            let d = dpo_loss(&c, &zero, &zero, &zero, beta)?;
            out.push((-d.loss.double_value(&[])).exp());
        }
    }
    let pts = |v: &[f64]| gaps.iter().copied().zip(v.iter().copied()).collect();
    let chart = Chart::new(
        "preference probability against the reward gap",
        "r(chosen) − r(rejected)   (DPO: policy log-ratio gap)",
        "P(chosen ≻ rejected) = exp(−loss)",
    )
    .series(Series::new("Bradley–Terry: σ(Δr)", pts(&bt)))
    .series(Series::new("with margin 1: σ(Δr − 1)", pts(&margin)))
    .series(Series::new("DPO β = 0.5: σ(0.5·Δ)", pts(&dpo_small)))
    .series(Series::new("DPO β = 2: σ(2·Δ)", pts(&dpo_large)))
    .y_range(0.0, 1.0)
    .legend(Corner::UpperLeft);
    let at = |v: &[f64], g: f64| v[gaps.iter().position(|&x| (x - g).abs() < 1e-9).unwrap_or(0)];
    Ok(Figure {
        name: "bradley-terry",
        image: line_chart(&chart)?,
        caption: format!(
            "a reward gap of 2 means the chosen answer wins with probability {:.3}; a margin \
             shifts the curve, DPO's β sets how sharply a log-ratio gap counts",
            at(&bt, 2.0)
        ),
        numbers: vec![
            ("bt_at_0".into(), at(&bt, 0.0)),
            ("bt_at_2".into(), at(&bt, 2.0)),
            ("margin_at_1".into(), at(&margin, 1.0)),
        ],
    })
}
