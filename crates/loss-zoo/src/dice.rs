//! Dice loss (Milletari et al., 2016) and Dice + cross-entropy: overlap-based losses that are
//! insensitive to how much background there is, for tiny structures such as tumours.

use crate::{check_int, LossError, Reduction, Result};
use tch::{Kind, Tensor};

/// Options of MONAI's `DiceLoss`; `Default` is MONAI's default.
#[derive(Debug, Clone, Copy)]
pub struct DiceOptions {
    /// Apply a sigmoid to the input first (binary / multi-label).
    pub sigmoid: bool,
    /// Apply a softmax over channels to the input first (multi-class).
    pub softmax: bool,
    /// The target holds class indices (N, 1, …): one-hot it to the input's channels.
    pub to_onehot_y: bool,
    /// Keep channel 0 in the loss.
    pub include_background: bool,
    /// Use Σp² and Σy² in the denominator (V-Net).
    pub squared_pred: bool,
    /// Jaccard (IoU) instead of Dice.
    pub jaccard: bool,
    /// Smoothing added to the numerator / denominator: an empty target with an empty
    /// prediction gives loss 0 instead of 0/0.
    pub smooth_nr: f64,
    /// The denominator's smoothing term.
    pub smooth_dr: f64,
    /// Sum over the batch before the ratio (one Dice per channel for the whole batch).
    pub batch: bool,
    /// With `batch`, applied to the batch's sums before the ratio: a data-parallel run passes
    /// the (differentiable) sum over its ranks, so the Dice is the global batch's.
    pub batch_sums: Option<fn(&Tensor) -> Tensor>,
    /// Over the (N, C) Dice values: `Mean`, `Sum`, or `None` (keeps (N, C, 1, …)).
    pub reduction: Reduction,
}

impl Default for DiceOptions {
    fn default() -> Self {
        Self {
            sigmoid: false,
            softmax: false,
            to_onehot_y: false,
            include_background: true,
            squared_pred: false,
            jaccard: false,
            smooth_nr: 1e-5,
            smooth_dr: 1e-5,
            batch: false,
            batch_sums: None,
            reduction: Reduction::Mean,
        }
    }
}

fn one_hot(labels: &Tensor, classes: i64, kind: Kind) -> Result<Tensor> {
    check_int(labels, "target")?;
    if labels.dim() < 2 || labels.size()[1] != 1 {
        return Err(LossError::Shape {
            arg: "target",
            expected: "(N, 1, ...) class indices with to_onehot_y".into(),
            got: labels.size(),
        });
    }
    let l = labels.to_kind(Kind::Int64);
    // One host read for both ends of the range.
    let ends = Tensor::stack(&[l.min(), l.max()], 0).to_device(tch::Device::Cpu);
    let (lo, hi) = (ends.int64_value(&[0]), ends.int64_value(&[1]));
    if lo < 0 || hi >= classes {
        return Err(LossError::Value {
            arg: "target",
            message: format!("class indices must lie in 0..{classes}, got {lo}..={hi}"),
        });
    }
    // (N, 1, ...) -> (N, C, ...)
    let mut size = l.size();
    size[1] = classes;
    Ok(Tensor::zeros(size.as_slice(), (kind, l.device())).scatter_value(1, &l, 1.0))
}

/// MONAI `DiceLoss`: per sample and channel,
///
/// L = 1 − (2·Σ p·y + smooth_nr) / (Σ p + Σ y + smooth_dr)
///
/// with sums over the spatial axes (and the batch when `batch`), then reduced. `pred` is
/// (N, C, …) (logits when `sigmoid`/`softmax`, else probabilities); `target` is one-hot /
/// binary (N, C, …), or indices (N, 1, …) with `to_onehot_y`.
pub fn dice_loss(pred: &Tensor, target: &Tensor, opts: &DiceOptions) -> Result<Tensor> {
    if pred.dim() < 3 {
        return Err(LossError::Shape {
            arg: "pred",
            expected: "(N, C, spatial...)".into(),
            got: pred.size(),
        });
    }
    if opts.sigmoid && opts.softmax {
        return Err(LossError::Value {
            arg: "opts",
            message: "sigmoid and softmax are mutually exclusive".into(),
        });
    }
    let mut input = if opts.sigmoid {
        pred.sigmoid()
    } else {
        pred.shallow_clone()
    };
    let c = input.size()[1];
    if c == 1 && (opts.softmax || opts.to_onehot_y) {
        let what = if opts.softmax {
            "softmax over one channel is 1 everywhere (zero gradient)"
        } else {
            "one-hot of one class cannot hold a foreground"
        };
        return Err(LossError::Value {
            arg: "opts",
            message: format!(
                "pred has 1 channel: {what}; use sigmoid with a binary (N, 1, ...) target, or \
                 give pred one channel per class (background included)"
            ),
        });
    }
    if opts.softmax {
        input = input.softmax(1, input.kind());
    }
    let mut target = if opts.to_onehot_y {
        one_hot(target, c, input.kind())?
    } else {
        target.to_kind(input.kind())
    };
    if target.size() != input.size() {
        return Err(LossError::Shape {
            arg: "target",
            expected: format!(
                "{:?} like pred (or (N, 1, ...) with to_onehot_y)",
                input.size()
            ),
            got: target.size(),
        });
    }
    if !opts.include_background && c > 1 {
        input = input.narrow(1, 1, c - 1);
        target = target.narrow(1, 1, c - 1);
    }
    let mut axes: Vec<i64> = (2..input.dim() as i64).collect();
    if opts.batch {
        axes.insert(0, 0);
    }
    let k = input.kind();
    let global = |t: Tensor| match (opts.batch, opts.batch_sums) {
        (true, Some(f)) => f(&t),
        _ => t,
    };
    let sum = |t: Tensor| global(t.sum_dim_intlist(axes.as_slice(), true, k));
    let inter = sum(&target * &input);
    let (ground, predo) = if opts.squared_pred {
        (
            sum(target.pow_tensor_scalar(2)),
            sum(input.pow_tensor_scalar(2)),
        )
    } else {
        (sum(target.shallow_clone()), sum(input.shallow_clone()))
    };
    let mut denom = ground + predo;
    if opts.jaccard {
        denom = (denom - &inter) * 2.0;
    }
    let f = 1.0 - (inter * 2.0 + opts.smooth_nr) / (denom + opts.smooth_dr);
    match opts.reduction {
        Reduction::BatchMean => Err(LossError::Reduction(opts.reduction)),
        r => Ok(r.apply(f)),
    }
}

/// MONAI `DiceCELoss` (`lambda_dice`·Dice + `lambda_ce`·CE, CE reduced by mean), with CE
/// chosen as MONAI does: for a single-channel input, `binary_cross_entropy_with_logits`
/// against the float target; otherwise `cross_entropy(logits, indices)` for an (N, 1, …)
/// index target, or soft-label cross-entropy −Σ_c y_c·log softmax(x)_c for a one-hot /
/// probability target (N, C, …). `logits` are raw scores; `opts` configure the Dice part.
pub fn dice_ce_loss(
    logits: &Tensor,
    target: &Tensor,
    opts: &DiceOptions,
    lambda_dice: f64,
    lambda_ce: f64,
) -> Result<Tensor> {
    Ok(dice_ce_parts(logits, target, opts, lambda_dice, lambda_ce)?.total)
}

/// [`dice_ce_loss`] with its two terms, for logging without computing them twice.
#[derive(Debug)]
pub struct DiceCe {
    /// `lambda_dice`·dice + `lambda_ce`·ce (what is back-propagated).
    pub total: Tensor,
    /// The Dice term, unweighted.
    pub dice: Tensor,
    /// The cross-entropy term, unweighted.
    pub ce: Tensor,
}

/// [`dice_ce_loss`] and its parts.
pub fn dice_ce_parts(
    logits: &Tensor,
    target: &Tensor,
    opts: &DiceOptions,
    lambda_dice: f64,
    lambda_ce: f64,
) -> Result<DiceCe> {
    let dice = dice_loss(logits, target, opts)?;
    let c = logits.size()[1];
    let k = logits.kind();
    let ce = if c == 1 {
        logits.binary_cross_entropy_with_logits::<Tensor>(
            &target.to_kind(k),
            None,
            None,
            tch::Reduction::Mean,
        )
    } else if target.size()[1] == 1 {
        check_int(target, "target")?;
        let idx = target.squeeze_dim(1).to_kind(Kind::Int64);
        logits
            .log_softmax(1, k)
            .nll_loss_nd::<Tensor>(&idx, None, tch::Reduction::Mean, -100)
    } else {
        -(target.to_kind(k) * logits.log_softmax(1, k))
            .sum_dim_intlist([1i64].as_slice(), false, k)
            .mean(k)
    };
    Ok(DiceCe {
        total: &dice * lambda_dice + &ce * lambda_ce,
        dice,
        ce,
    })
}
