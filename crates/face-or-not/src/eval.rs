//! `eval`: the CNN and the two baselines on the same held-out pictures (the baselines fitted
//! on the run's own training part, λ chosen on its validation part), as one typed report.

use crate::baselines::{self, Features};
use crate::data::Splits;
use crate::train::FaceTask;
use kit::data::Part;
use serde::Serialize;

/// The splits an evaluation was built from, and which part it scores.
pub struct Context {
    pub splits: Splits,
    pub part: Part,
}

/// A baseline's scores on the held-out pictures.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineScore {
    pub accuracy: f64,
    pub auc: f64,
    /// The L2 weight validation chose.
    pub lambda: f64,
    /// Whether Newton's method reached a gradient below 1e-8.
    pub converged: bool,
    /// CNN accuracy − this baseline's accuracy (paired: the same pictures).
    pub cnn_minus: f64,
}

/// One evaluation: accuracy at P(face) ≥ 0.5 and ROC AUC of the CNN and of each baseline
/// (absent when the evaluated folder has no training part to fit them on).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub split: String,
    pub pictures: usize,
    pub data: String,
    /// The CNN.
    pub accuracy: f64,
    pub auc: f64,
    pub loss: f64,
    pub pixel_lr: Option<BaselineScore>,
    pub hog: Option<BaselineScore>,
    /// The larger class's share: what always answering it scores.
    pub majority: f64,
}

/// Scores the CNN, and fits and scores both baselines when there is a training part.
pub fn evaluate(task: &FaceTask) -> anyhow::Result<Report> {
    let ctx = task
        .context
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("this task was not built for eval"))?;
    let s = task.score()?;
    let held = ctx.splits.part(ctx.part);
    let y: Vec<bool> = held.iter().map(|p| p.face).collect();
    anyhow::ensure!(
        y == s.labels,
        "the held-out pictures changed between build and eval"
    );
    let cnn = s.accuracy();
    let baseline = |f| -> anyhow::Result<Option<BaselineScore>> {
        if ctx.splits.train.is_empty() || ctx.splits.val.is_empty() {
            return Ok(None);
        }
        let b = baselines::fit(f, &ctx.splits.train, &ctx.splits.val, held)?;
        let accuracy = metrics::accuracy_at(&b.test_p, &y, 0.5);
        Ok(Some(BaselineScore {
            accuracy,
            auc: metrics::roc_auc(&b.test_p, &y),
            lambda: b.model.lambda,
            converged: b.model.converged,
            cnn_minus: cnn - accuracy,
        }))
    };
    let faces = y.iter().filter(|&&b| b).count() as f64 / y.len() as f64;
    Ok(Report {
        split: format!("{:?}", ctx.part).to_lowercase(),
        pictures: y.len(),
        data: ctx.splits.about.clone(),
        accuracy: cnn,
        auc: s.auc(),
        loss: s.loss,
        pixel_lr: baseline(Features::Pixels)?,
        hog: baseline(Features::Hog)?,
        majority: faces.max(1.0 - faces),
    })
}

impl Report {
    /// The table `eval` prints.
    pub fn markdown(&self) -> String {
        let mut t = format!(
            "{} split, {} pictures: {}\n\n| model | accuracy (P ≥ 0.5) | ROC AUC | note |\n\
             |---|---|---|---|\n| CNN | {:.3} | {:.3} | validation loss picked the checkpoint |\n",
            self.split, self.pictures, self.data, self.accuracy, self.auc
        );
        let mut diffs = Vec::new();
        for (f, b) in [
            (Features::Pixels, &self.pixel_lr),
            (Features::Hog, &self.hog),
        ] {
            match b {
                Some(b) => {
                    let conv = if b.converged {
                        "converged"
                    } else {
                        "NOT converged"
                    };
                    t += &format!(
                        "| {} | {:.3} | {:.3} | λ = {} on validation, Newton {conv} |\n",
                        f.name(),
                        b.accuracy,
                        b.auc,
                        b.lambda
                    );
                    diffs.push(format!("CNN − {}: {:+.3}", f.name(), b.cnn_minus));
                }
                None => t += &format!("| {} | – | – | no training part to fit it on |\n", f.name()),
            }
        }
        t += &format!("| majority class | {:.3} | 0.500 | |\n", self.majority);
        if !diffs.is_empty() {
            t += &format!("\n{} (same pictures)", diffs.join("; "));
        }
        t
    }
}
