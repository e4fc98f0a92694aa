//! Loss menus: the losses an app offers for one kind of output as one config value with one
//! `compute`, so that every app offering a menu trains exactly the same losses with the same
//! keys (segment-dice and mix-match both offer [`SegmentationLoss`]).

use crate::dice::{dice_ce_parts, dice_loss, DiceOptions};
use crate::focal::softmax_focal_loss;
use crate::{LossError, Reduction, Result};
use tch::Tensor;

/// Which segmentation loss: `dice | ce | dice_ce | focal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegKind {
    /// Dice alone.
    Dice,
    /// Cross-entropy alone.
    Ce,
    /// `lambda_dice`·Dice + `lambda_ce`·CE.
    DiceCe,
    /// Softmax focal loss.
    Focal,
}

/// A segmentation loss of class logits (N, C, H, W) against class indices (N, 1, H, W):
/// Dice ([`dice_loss`] with the caller's [`DiceOptions`]), cross-entropy (mean over pixels),
/// `lambda_dice`·Dice + `lambda_ce`·CE (MONAI `DiceCELoss`), or softmax focal loss with `gamma`
/// and per-class `alpha` (empty: none).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationLoss<'a> {
    /// Which loss.
    pub kind: SegKind,
    /// Weight of the Dice term of `dice_ce`.
    pub lambda_dice: f64,
    /// Weight of the cross-entropy term of `dice_ce`.
    pub lambda_ce: f64,
    /// Focal γ.
    pub gamma: f64,
    /// Focal per-class α (empty: none).
    pub alpha: &'a [f64],
}

impl SegmentationLoss<'_> {
    /// Checks the keys for `classes` output classes: the failing key and why.
    pub fn check(&self, classes: usize) -> std::result::Result<(), (&'static str, String)> {
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return Err(("gamma", format!("must be ≥ 0, got {}", self.gamma)));
        }
        for (key, v) in [
            ("lambda_dice", self.lambda_dice),
            ("lambda_ce", self.lambda_ce),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err((key, format!("must be ≥ 0, got {v}")));
            }
        }
        if !(self.alpha.is_empty() || self.alpha.len() == classes) {
            let n = self.alpha.len();
            return Err((
                "alpha",
                format!("needs one weight per class ({classes}), got {n}"),
            ));
        }
        Ok(())
    }

    /// The loss to back-propagate and its logged terms (`dice_loss`, `ce_loss`, `focal_loss`).
    pub fn compute(
        &self,
        logits: &Tensor,
        masks: &Tensor,
        dice: &DiceOptions,
    ) -> Result<(Tensor, Vec<(&'static str, Tensor)>)> {
        let idx = || masks.squeeze_dim(1);
        Ok(match self.kind {
            SegKind::Dice => {
                let d = dice_loss(logits, masks, dice)?;
                (d.shallow_clone(), vec![("dice_loss", d.detach())])
            }
            SegKind::Ce => {
                let c = logits.cross_entropy_loss::<Tensor>(
                    &idx(),
                    None,
                    tch::Reduction::Mean,
                    -100,
                    0.0,
                );
                (c.shallow_clone(), vec![("ce_loss", c.detach())])
            }
            SegKind::DiceCe => {
                let p = dice_ce_parts(logits, masks, dice, self.lambda_dice, self.lambda_ce)?;
                (
                    p.total,
                    vec![("dice_loss", p.dice.detach()), ("ce_loss", p.ce.detach())],
                )
            }
            SegKind::Focal => {
                let classes = logits.size().get(1).copied().unwrap_or(0) as usize;
                if !self.alpha.is_empty() && self.alpha.len() != classes {
                    return Err(LossError::Value {
                        arg: "alpha",
                        message: format!("{} weights for {classes} classes", self.alpha.len()),
                    });
                }
                let alpha = (!self.alpha.is_empty()).then(|| {
                    Tensor::from_slice(self.alpha)
                        .to_kind(logits.kind())
                        .to_device(logits.device())
                });
                let f = softmax_focal_loss(
                    logits,
                    &idx(),
                    alpha.as_ref(),
                    self.gamma,
                    Reduction::Mean,
                )?;
                (f.shallow_clone(), vec![("focal_loss", f.detach())])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn menu(kind: SegKind, alpha: &[f64]) -> SegmentationLoss<'_> {
        SegmentationLoss {
            kind,
            lambda_dice: 0.3,
            lambda_ce: 2.0,
            gamma: 2.0,
            alpha,
        }
    }

    /// Each entry is the module's own loss with the menu's keys: λs reach Dice + CE, α and γ
    /// reach the focal loss.
    #[test]
    fn each_kind_is_its_loss_with_the_keys_given() {
        tch::manual_seed(3);
        let logits = Tensor::randn([2, 3, 5, 5], (Kind::Double, Device::Cpu));
        let masks = Tensor::randint(3, [2, 1, 5, 5], (Kind::Int64, Device::Cpu));
        let opts = DiceOptions {
            softmax: true,
            to_onehot_y: true,
            ..Default::default()
        };
        let v = |t: &Tensor| t.double_value(&[]);
        let alpha = [0.2, 0.3, 0.5];
        let (t, terms) = menu(SegKind::DiceCe, &[])
            .compute(&logits, &masks, &opts)
            .unwrap();
        let p = dice_ce_parts(&logits, &masks, &opts, 0.3, 2.0).unwrap();
        assert!((v(&t) - v(&p.total)).abs() < 1e-12);
        assert_eq!(
            terms.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            ["dice_loss", "ce_loss"]
        );
        let (t, _) = menu(SegKind::Focal, &alpha)
            .compute(&logits, &masks, &opts)
            .unwrap();
        let a = Tensor::from_slice(&alpha);
        let f = softmax_focal_loss(
            &logits,
            &masks.squeeze_dim(1),
            Some(&a),
            2.0,
            Reduction::Mean,
        );
        assert!((v(&t) - v(&f.unwrap())).abs() < 1e-12);
        let (t, _) = menu(SegKind::Dice, &[])
            .compute(&logits, &masks, &opts)
            .unwrap();
        assert!((v(&t) - v(&dice_loss(&logits, &masks, &opts).unwrap())).abs() < 1e-12);
        let (t, _) = menu(SegKind::Ce, &[])
            .compute(&logits, &masks, &opts)
            .unwrap();
        let ce = logits.log_softmax(1, Kind::Double).nll_loss_nd::<Tensor>(
            &masks.squeeze_dim(1),
            None,
            tch::Reduction::Mean,
            -100,
        );
        assert!((v(&t) - v(&ce)).abs() < 1e-12);
        assert!(menu(SegKind::Focal, &[0.5])
            .compute(&logits, &masks, &opts)
            .is_err());
    }

    #[test]
    fn check_names_the_key() {
        assert_eq!(
            menu(SegKind::Focal, &[1.0]).check(2).unwrap_err().0,
            "alpha"
        );
        let mut m = menu(SegKind::DiceCe, &[]);
        m.lambda_ce = -1.0;
        assert_eq!(m.check(2).unwrap_err().0, "lambda_ce");
        m.lambda_ce = 1.0;
        m.gamma = f64::NAN;
        assert_eq!(m.check(2).unwrap_err().0, "gamma");
    }
}
