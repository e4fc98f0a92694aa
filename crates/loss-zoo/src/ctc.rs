//! Connectionist Temporal Classification (Graves et al., 2006): a sequence loss that sums
//! over every frame alignment of the target (blanks between symbols, repeats merged), so a
//! line of handwriting trains without per-frame labels; plus greedy and prefix-beam decoders.

use crate::{check_dims, check_int, LossError, Reduction, Result};
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

/// Options of [`ctc_loss`]; `Default` is PyTorch's (`blank = 0`, mean, no zero_infinity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtcOptions {
    /// Index of the blank class.
    pub blank: i64,
    /// `mean`: each sequence's loss divided by its target length, then averaged (PyTorch).
    pub reduction: Reduction,
    /// Infeasible alignments give 0 (and a zero gradient) instead of +inf.
    pub zero_infinity: bool,
}

impl Default for CtcOptions {
    fn default() -> Self {
        Self {
            blank: 0,
            reduction: Reduction::Mean,
            zero_infinity: false,
        }
    }
}

/// Integer tensor → Vec<i64> on the CPU; a failed conversion is an error naming `arg`, never
/// an empty vector that would pass the range checks.
fn int_vec(t: &Tensor, arg: &'static str) -> Result<Vec<i64>> {
    Vec::try_from(t.to_kind(Kind::Int64).to_device(Device::Cpu)).map_err(|e| LossError::Value {
        arg,
        message: format!("cannot read as integers: {e}"),
    })
}

/// CTC loss: −log Σ_{alignments a ↦ y} Π_t p_t(a_t), per sample.
///
/// - `log_probs` (T, N, C): log-softmax outputs, time first.
/// - `targets`: padded (N, S) or concatenated 1-D (Σ target_lengths); integers, never `blank`.
/// - `input_lengths`, `target_lengths` (N).
/// - `Reduction::Mean` is PyTorch's: mean over the batch of loss / target length (lengths
///   clamped at 1); `Sum` sums; `None` keeps (N).
///
/// Matches `torch.nn.functional.ctc_loss` (it calls the same ATen kernel). An infeasible
/// alignment (input shorter than the target plus its repeats) gives +inf, or 0 with
/// `zero_infinity` (and a zero gradient for that sample).
pub fn ctc_loss(
    log_probs: &Tensor,
    targets: &Tensor,
    input_lengths: &Tensor,
    target_lengths: &Tensor,
    opts: &CtcOptions,
) -> Result<Tensor> {
    let CtcOptions {
        blank,
        reduction,
        zero_infinity,
    } = *opts;
    check_dims(log_probs, "log_probs", 3, "(T, N, C)")?;
    let (t, n, c) = log_probs.size3().map_err(|_| LossError::Shape {
        arg: "log_probs",
        expected: "(T, N, C)".into(),
        got: log_probs.size(),
    })?;
    for (arg, x) in [
        ("targets", targets),
        ("input_lengths", input_lengths),
        ("target_lengths", target_lengths),
    ] {
        check_int(x, arg)?;
    }
    for (arg, x) in [
        ("input_lengths", input_lengths),
        ("target_lengths", target_lengths),
    ] {
        if x.size() != [n] {
            return Err(LossError::Shape {
                arg,
                expected: format!("({n})"),
                got: x.size(),
            });
        }
    }
    if !(0..c).contains(&blank) {
        return Err(LossError::Value {
            arg: "blank",
            message: format!("{blank} is not a class of C = {c}"),
        });
    }
    let il = int_vec(input_lengths, "input_lengths")?;
    if let Some(bad) = il.iter().find(|&&l| l < 0 || l > t) {
        return Err(LossError::Value {
            arg: "input_lengths",
            message: format!("{bad} is outside 0..={t} (T)"),
        });
    }
    let tl = int_vec(target_lengths, "target_lengths")?;
    match targets.dim() {
        2 if targets.size()[0] == n => {
            let s = targets.size()[1];
            if let Some(bad) = tl.iter().find(|&&l| l < 0 || l > s) {
                return Err(LossError::Value {
                    arg: "target_lengths",
                    message: format!("{bad} is longer than the padded targets ({s})"),
                });
            }
        }
        1 => {
            let total: i64 = tl.iter().sum();
            if targets.size()[0] != total {
                return Err(LossError::Shape {
                    arg: "targets",
                    expected: format!("({total}) = sum of target_lengths"),
                    got: targets.size(),
                });
            }
        }
        _ => {
            return Err(LossError::Shape {
                arg: "targets",
                expected: format!("({n}, S) padded or 1-D concatenated"),
                got: targets.size(),
            });
        }
    }
    let red = match reduction {
        Reduction::None => tch::Reduction::None,
        Reduction::Mean => tch::Reduction::Mean,
        Reduction::Sum => tch::Reduction::Sum,
        Reduction::BatchMean => return Err(LossError::Reduction(reduction)),
    };
    let dev = log_probs.device();
    Ok(Tensor::ctc_loss_tensor(
        log_probs,
        &targets.to_kind(Kind::Int64).to_device(dev),
        &input_lengths.to_kind(Kind::Int64).to_device(dev),
        &target_lengths.to_kind(Kind::Int64).to_device(dev),
        blank,
        red,
        zero_infinity,
    ))
}

/// Per-sample log-probabilities on the CPU: rows (N, T·C), T, C, and the input lengths.
type Frames = (Vec<Vec<f64>>, i64, i64, Vec<i64>);

fn per_sample(log_probs: &Tensor, input_lengths: Option<&Tensor>) -> Result<Frames> {
    check_dims(log_probs, "log_probs", 3, "(T, N, C)")?;
    let size = log_probs.size();
    let (t, n, c) = (size[0], size[1], size[2]);
    let lens: Vec<i64> = match input_lengths {
        Some(l) => int_vec(l, "input_lengths")?,
        None => vec![t; n as usize],
    };
    if lens.len() != n as usize {
        return Err(LossError::Shape {
            arg: "input_lengths",
            expected: format!("({n})"),
            got: vec![lens.len() as i64],
        });
    }
    // (N, T*C) rows on the CPU.
    let flat = log_probs
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .transpose(0, 1)
        .contiguous()
        .view([n, t * c]);
    let rows: Vec<Vec<f64>> = Vec::try_from(flat).map_err(|e| LossError::Value {
        arg: "log_probs",
        message: format!("cannot read as numbers: {e}"),
    })?;
    Ok((rows, t, c, lens))
}

/// Best-path decoding: the most likely class per frame, repeats merged, blanks removed.
pub fn greedy_decode(
    log_probs: &Tensor,
    input_lengths: Option<&Tensor>,
    blank: i64,
) -> Result<Vec<Vec<i64>>> {
    let (rows, t, c, lens) = per_sample(log_probs, input_lengths)?;
    Ok(rows
        .iter()
        .zip(&lens)
        .map(|(row, &len)| {
            let mut out = Vec::new();
            let mut prev = blank;
            for f in 0..len.min(t) as usize {
                let frame = &row[f * c as usize..(f + 1) * c as usize];
                let best = frame
                    .iter()
                    .enumerate()
                    .fold(0, |b, (i, v)| if *v > frame[b] { i } else { b })
                    as i64;
                if best != blank && best != prev {
                    out.push(best);
                }
                prev = best;
            }
            out
        })
        .collect())
}

fn logsumexp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Prefix beam search (Hannun et al., 2014) without a language model: keeps the
/// `beam_width` most likely label prefixes, each with its probability of ending in a blank
/// and in a non-blank, and merges alignments that collapse to the same prefix. Returns the
/// best prefix per sample. With `beam_width = 1` it is close to, but not always equal to,
/// greedy decoding (it scores prefixes, not paths).
pub fn beam_search_decode(
    log_probs: &Tensor,
    input_lengths: Option<&Tensor>,
    beam_width: usize,
    blank: i64,
) -> Result<Vec<Vec<i64>>> {
    if beam_width == 0 {
        return Err(LossError::Value {
            arg: "beam_width",
            message: "must be ≥ 1".into(),
        });
    }
    let (rows, t, c, lens) = per_sample(log_probs, input_lengths)?;
    let ninf = f64::NEG_INFINITY;
    Ok(rows
        .iter()
        .zip(&lens)
        .map(|(row, &len)| {
            // prefix -> (log p ending in blank, log p ending in non-blank)
            let mut beams: Vec<(Vec<i64>, (f64, f64))> = vec![(Vec::new(), (0.0, ninf))];
            for f in 0..len.min(t) as usize {
                let frame = &row[f * c as usize..(f + 1) * c as usize];
                let mut next: HashMap<Vec<i64>, (f64, f64)> = HashMap::new();
                for (prefix, (pb, pnb)) in &beams {
                    let total = logsumexp(*pb, *pnb);
                    for k in 0..c {
                        let p = frame[k as usize];
                        if k == blank {
                            let e = next.entry(prefix.clone()).or_insert((ninf, ninf));
                            e.0 = logsumexp(e.0, total + p);
                            continue;
                        }
                        let last = prefix.last().copied();
                        let mut extended = prefix.clone();
                        extended.push(k);
                        let e = next.entry(extended).or_insert((ninf, ninf));
                        if last == Some(k) {
                            // A repeat needs a blank in between to count as a new symbol.
                            e.1 = logsumexp(e.1, pb + p);
                            let same = next.entry(prefix.clone()).or_insert((ninf, ninf));
                            same.1 = logsumexp(same.1, pnb + p);
                        } else {
                            e.1 = logsumexp(e.1, total + p);
                        }
                    }
                }
                let mut all: Vec<(Vec<i64>, (f64, f64))> = next.into_iter().collect();
                all.sort_by(|a, b| {
                    logsumexp(b.1 .0, b.1 .1)
                        .total_cmp(&logsumexp(a.1 .0, a.1 .1))
                        .then_with(|| a.0.cmp(&b.0))
                });
                all.truncate(beam_width);
                beams = all;
            }
            beams.into_iter().next().map(|(p, _)| p).unwrap_or_default()
        })
        .collect())
}
