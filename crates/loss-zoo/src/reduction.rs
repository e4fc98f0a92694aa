use tch::Tensor;

/// How a per-element (or per-sample) loss is reduced, as in PyTorch's `reduction=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Keep every element.
    None,
    /// Mean over all elements.
    #[default]
    Mean,
    /// Sum over all elements.
    Sum,
    /// Sum divided by the batch size (first dimension): `kl_div`'s `'batchmean'`, the
    /// mathematically correct KL per sample.
    BatchMean,
}

impl Reduction {
    /// Applies the reduction to an unreduced loss tensor.
    pub fn apply(self, loss: Tensor) -> Tensor {
        match self {
            Reduction::None => loss,
            Reduction::Mean => loss.mean(loss.kind()),
            Reduction::Sum => loss.sum(loss.kind()),
            Reduction::BatchMean => {
                let n = if loss.dim() == 0 {
                    1
                } else {
                    loss.size()[0].max(1)
                };
                loss.sum(loss.kind()) / n as f64
            }
        }
    }
}
