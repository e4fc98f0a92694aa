//! The problem: read a short digit string from frames without knowing which frame shows which
//! digit. A sample is 16 frames of 6 noisy features (one-hot of blank / digits 1–5); each digit
//! of a 1–4 digit string holds 2–4 frames, with blank frames between some of them (always
//! between repeated digits). The loss is CTC (`torch.nn.functional.ctc_loss`); the metric is
//! the character error rate of greedy decoding.

use crate::model::Mlp;
use kit::data::rng_for;
use loss_zoo::ctc::{ctc_loss, greedy_decode, CtcOptions};
use rand::Rng;
use tch::{nn, Kind, Tensor};

pub const LOSS: &str = "ctc";
pub const METRIC: &str = "cer";
pub const HIGHER_IS_BETTER: bool = false;
pub const FLOOR: kit::app::Floor = kit::app::Floor::AtMost(0.20);
pub const CHANCE: &str = "1.00 (nothing read)";
const FRAMES: i64 = 16;
const SYMBOLS: i64 = 6; // blank + digits 1-5
const MAX_LEN: i64 = 4;
pub const INPUT: i64 = FRAMES * SYMBOLS;
/// The string's length, then its digits padded with 0.
pub const TARGET: i64 = 1 + MAX_LEN;
pub const NET_INPUT: i64 = SYMBOLS;
pub const OUTPUT: i64 = SYMBOLS;
/// Outputs are time-first (T, N, C): samples along dimension 1.
pub const BATCH_DIM: i64 = 1;

/// Sample `index` of stream `seed`: (frames, [length, digits…]).
pub fn sample(seed: u64, index: u64) -> (Vec<f32>, Vec<f32>) {
    let r = &mut rng_for(seed, 0xC7C, index);
    let len = r.random_range(1..=MAX_LEN as usize);
    let digits: Vec<usize> = (0..len)
        .map(|_| r.random_range(1..SYMBOLS as usize))
        .collect();
    let mut frames: Vec<usize> = Vec::new();
    for (i, &d) in digits.iter().enumerate() {
        if i > 0 && (digits[i - 1] == d || r.random_bool(0.3)) {
            frames.push(0);
        }
        for _ in 0..r.random_range(2..=3) {
            frames.push(d);
        }
    }
    frames.resize(FRAMES as usize, 0);
    let mut x = vec![0.0f32; INPUT as usize];
    for (t, &s) in frames.iter().enumerate() {
        for k in 0..SYMBOLS as usize {
            let on = if k == s { 1.0 } else { 0.0 };
            x[t * SYMBOLS as usize + k] = on + r.random_range(-0.4..0.4f32);
        }
    }
    let mut y = vec![len as f32];
    y.extend(digits.iter().map(|&d| d as f32));
    y.resize(TARGET as usize, 0.0);
    (x, y)
}

/// The same per-frame network on every frame: log-probabilities (T, N, C).
pub fn forward(net: &Mlp, x: &Tensor) -> Tensor {
    let n = x.size()[0];
    net.forward(&x.view([n * FRAMES, SYMBOLS]))
        .view([n, FRAMES, SYMBOLS])
        .log_softmax(2, Kind::Float)
        .transpose(0, 1)
}

pub struct Head;

fn targets(y: &Tensor) -> (Tensor, Tensor) {
    let lens = y.select(1, 0).to_kind(Kind::Int64);
    // Padding positions hold 1 (a valid class CTC ignores beyond each length).
    let digits = y.narrow(1, 1, MAX_LEN).to_kind(Kind::Int64).clamp_min(1);
    (digits, lens)
}

impl Head {
    pub fn new(_p: &nn::Path) -> Self {
        Head
    }

    pub fn loss(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<Tensor> {
        let (digits, lens) = targets(y);
        let n = out.size()[1];
        let frames = Tensor::full([n], FRAMES, (Kind::Int64, out.device()));
        Ok(ctc_loss(
            out,
            &digits,
            &frames,
            &lens,
            &CtcOptions::default(),
        )?)
    }

    /// Character error rate: edit distance / true length over the whole set.
    pub fn metric(&self, out: &Tensor, y: &Tensor) -> anyhow::Result<f64> {
        let decoded = greedy_decode(out, None, 0)?;
        let (digits, lens) = targets(y);
        let digits: Vec<Vec<i64>> = Vec::try_from(digits)?;
        let lens: Vec<i64> = Vec::try_from(lens)?;
        let text = |d: &[i64]| {
            d.iter()
                .map(|&c| char::from(b'0' + c as u8))
                .collect::<String>()
        };
        let pairs: Vec<(String, String)> = decoded
            .iter()
            .zip(digits.iter().zip(&lens))
            .map(|(p, (t, &l))| (text(p), text(&t[..l as usize])))
            .collect();
        Ok(metrics::cer(&pairs))
    }
}

pub fn answer(out: &[f32]) -> String {
    let t = Tensor::from_slice(out).view([FRAMES, 1, SYMBOLS]);
    let text: String = greedy_decode(&t, None, 0)
        .map(|d| d[0].iter().map(|&c| char::from(b'0' + c as u8)).collect())
        .unwrap_or_default();
    format!("read {text:?}")
}
