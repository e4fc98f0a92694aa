//! The policy (a byte-level GRU language model) and the reward model (the same trunk with a
//! scalar head on the last token, as TRL's `AutoModelForSequenceClassification`), with
//! sequence log-probabilities, rewards, and sampling.

use crate::config::ModelConfig;
use crate::data::{encode_prompt, pad, sampled_tokens, tokens, Tokens, EOS, PAD, VOCAB};
use crate::text::{TextBytes, START};
use tch::nn::{self, Module, RNN};
use tch::{Device, Kind, Tensor};

/// Embedding + one GRU layer: the shared trunk.
#[derive(Debug)]
struct Trunk {
    emb: nn::Embedding,
    gru: nn::GRU,
}

impl Trunk {
    fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        Self {
            emb: nn::embedding(p / "emb", VOCAB, cfg.embed, Default::default()),
            gru: nn::gru(p / "gru", cfg.embed, cfg.hidden, Default::default()),
        }
    }
    /// Hidden states (B, T, H) of ids (B, T).
    fn forward(&self, ids: &Tensor) -> Tensor {
        self.gru.seq(&self.emb.forward(ids)).0
    }
}

/// The policy: next-byte logits.
#[derive(Debug)]
pub struct Lm {
    trunk: Trunk,
    out: nn::Linear,
    bytes: TextBytes,
}

impl Lm {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        Self {
            trunk: Trunk::new(&(p / "trunk"), cfg),
            out: nn::linear(p / "out", cfg.hidden, VOCAB, Default::default()),
            bytes: cfg.bytes,
        }
    }

    /// Logits (B, T, V) for ids (B, T).
    pub fn logits(&self, ids: &Tensor) -> Tensor {
        self.out.forward(&self.trunk.forward(ids))
    }

    /// Next-token log-probabilities (B, T, V) over what a response can hold: ASCII bytes and
    /// EOS, or with `model.bytes: utf8` what keeps the response valid UTF-8 (see
    /// [`crate::text`]); the rest gets −1e9. Sampling and scoring use this one distribution,
    /// so log-probabilities and KL cover exactly what can be sampled.
    pub fn log_probs(&self, ids: &Tensor) -> Tensor {
        let banned = match self.bytes {
            TextBytes::Ascii => {
                let v = Tensor::arange(VOCAB, (Kind::Int64, ids.device()));
                v.ge(128).logical_and(&v.ne(EOS))
            }
            TextBytes::Utf8 => {
                let rows: Vec<Vec<i64>> =
                    Vec::try_from(ids.to_device(Device::Cpu)).unwrap_or_default();
                let allowed = self.bytes.teacher_mask(&rows);
                let (b, t) = (ids.size()[0], ids.size()[1]);
                Tensor::from_slice(&allowed)
                    .view([b, t, VOCAB])
                    .logical_not()
                    .to_device(ids.device())
            }
        };
        self.logits(ids)
            .masked_fill(&banned, -1e9)
            .log_softmax(-1, Kind::Float)
    }

    /// Per-position log-probability (B, T − 1) of each next token; the GRU is causal, so
    /// padding after a sequence cannot change it.
    pub fn token_logprobs(&self, t: &Tokens) -> Tensor {
        let n = t.ids.size()[1];
        let lp = self.log_probs(&t.ids.narrow(1, 0, n - 1));
        lp.gather(2, &t.ids.narrow(1, 1, n - 1).unsqueeze(-1), false)
            .squeeze_dim(-1)
    }

    /// log π(response | prompt) per sequence (B): summed over response tokens and EOS only.
    pub fn seq_logprobs(&self, t: &Tokens) -> Tensor {
        (self.token_logprobs(t) * &t.response_mask).sum_dim_intlist(
            [1i64].as_slice(),
            false,
            Kind::Float,
        )
    }

    /// Supervised loss: mean negative log-likelihood per response token.
    pub fn sft_loss(&self, t: &Tokens) -> Tensor {
        let nll = -(self.token_logprobs(t) * &t.response_mask).sum(Kind::Float);
        // Per token of the global batch in a data-parallel step (this rank's share of them).
        nll / kit::distributed::count_normaliser(&t.response_mask.sum(Kind::Float))
    }

    /// `n` responses per prompt (prompt-major order), sampled at `temperature` (0 = greedy)
    /// for up to `max_new` bytes or EOS. Only what [`crate::text`] allows can be drawn (ASCII,
    /// or valid UTF-8 with `model.bytes: utf8`; so a response is text that re-tokenises to
    /// exactly the sampled bytes), and EOS is forced after `max_new` bytes (after the
    /// character in progress, for UTF-8).
    pub fn sample(
        &self,
        prompts: &[String],
        n: usize,
        max_len: usize,
        max_new: usize,
        temperature: f64,
        device: Device,
    ) -> Vec<String> {
        if prompts.is_empty() || n == 0 {
            return Vec::new();
        }
        let seqs: Vec<(usize, Vec<i64>)> = prompts
            .iter()
            .map(|p| {
                let e = encode_prompt(p, max_len);
                (e.len(), e)
            })
            .collect();
        let t = pad(&seqs);
        let h = self.trunk.forward(&t.ids.to_device(device)); // (B, P, H)
        let last = (t.lengths.to_device(device) - 1)
            .view([-1, 1, 1])
            .expand([-1, 1, h.size()[2]], false);
        let state = h.gather(1, &last, false).squeeze_dim(1); // (B, H): after SEP
        let rep = Tensor::arange(prompts.len() as i64, (Kind::Int64, device))
            .repeat_interleave_self_int(n as i64, 0, None);
        let mut state = nn::GRUState(state.index_select(0, &rep).unsqueeze(0));
        let b = rep.size()[0];
        let mut done = Tensor::zeros([b], (Kind::Bool, device));
        let mut out: Vec<Tensor> = Vec::new();
        let v = Tensor::arange(VOCAB, (Kind::Int64, device));
        let allowed = v.lt(128).logical_or(&v.eq(EOS));
        let only_eos = v.eq(EOS);
        let utf8 = self.bytes == TextBytes::Utf8;
        let mut states = vec![START; b as usize];
        let mut row = vec![false; VOCAB as usize];
        // A UTF-8 character begun just before `max_new` is finished first (≤ 3 more bytes).
        let last = if utf8 { max_new + 3 } else { max_new };
        for step in 0..=last {
            let ok = if utf8 {
                let mut m = Vec::with_capacity(states.len() * VOCAB as usize);
                for s in &states {
                    self.bytes.allowed(*s, step >= max_new, &mut row);
                    m.extend_from_slice(&row);
                }
                Tensor::from_slice(&m).view([b, VOCAB]).to_device(device)
            } else if step == max_new {
                only_eos.shallow_clone()
            } else {
                allowed.shallow_clone()
            };
            let logits = self
                .out
                .forward(&state.0.get(0))
                .masked_fill(&ok.logical_not(), f64::NEG_INFINITY);
            let tok = if temperature > 0.0 {
                // Drawn over the global batch in a data-parallel step, as one process draws.
                let probs = (logits / temperature).softmax(-1, Kind::Float);
                kit::distributed::on_global_batch(&probs, |p| p.multinomial(1, true)).squeeze_dim(1)
            } else {
                logits.argmax(-1, false)
            };
            let tok = tok.where_self(&done.logical_not(), &Tensor::from(PAD).to_device(device));
            done = done.logical_or(&tok.eq(EOS));
            if utf8 {
                let toks: Vec<i64> = Vec::try_from(tok.to_device(Device::Cpu)).unwrap_or_default();
                for (s, &t) in states.iter_mut().zip(&toks) {
                    if let Ok(byte) = u8::try_from(t) {
                        *s = s.next(byte);
                    }
                }
            }
            out.push(tok.shallow_clone());
            if kit::distributed::on_all_ranks(done.all().int64_value(&[]) == 1) {
                break;
            }
            let x = self.trunk.emb.forward(&tok);
            state = self.trunk.gru.step(&x, &state);
        }
        let toks: Vec<Vec<i64>> =
            Vec::try_from(Tensor::stack(&out, 1).to_device(Device::Cpu)).unwrap_or_default();
        toks.into_iter()
            .map(|row| {
                let bytes: Vec<u8> = row
                    .into_iter()
                    .take_while(|&x| x != EOS && x != PAD)
                    .take(last)
                    .filter_map(|x| u8::try_from(x).ok())
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            })
            .collect()
    }
}

/// The reward model: the trunk's state at EOS (the last real token) → a scalar.
#[derive(Debug)]
pub struct RewardModel {
    trunk: Trunk,
    head: nn::Linear,
}

impl RewardModel {
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        Self {
            trunk: Trunk::new(&(p / "trunk"), cfg),
            head: nn::linear(p / "head", cfg.hidden, 1, Default::default()),
        }
    }

    /// Rewards (B) of padded sequences: read at each sequence's last real token.
    pub fn rewards(&self, t: &Tokens) -> Tensor {
        let h = self.trunk.forward(&t.ids);
        let dev = h.device();
        let last = (t.lengths.to_device(dev) - 1)
            .view([-1, 1, 1])
            .expand([-1, 1, h.size()[2]], false);
        self.head
            .forward(&h.gather(1, &last, false).squeeze_dim(1))
            .squeeze_dim(-1)
    }
}

/// Tokens moved to a device.
pub fn to_device(t: &Tokens, d: Device) -> Tokens {
    Tokens {
        ids: t.ids.to_device(d),
        lengths: t.lengths.to_device(d),
        response_mask: t.response_mask.to_device(d),
    }
}

impl RewardModel {
    /// Rewards of (prompt, response) texts under a reward model, in batches.
    pub fn score_texts(&self, texts: &[(&str, &str)], max_len: usize, device: Device) -> Vec<f64> {
        texts
            .chunks(256)
            .flat_map(|c| {
                let t = to_device(&tokens(c, max_len), device);
                Vec::<f64>::try_from(
                    self.rewards(&t)
                        .to_kind(Kind::Double)
                        .to_device(Device::Cpu),
                )
                .unwrap_or_default()
            })
            .collect()
    }
}

impl Lm {
    /// log π(response | prompt) of sampled texts under a policy, in batches (a forced EOS
    /// after `max_new` bytes is not counted).
    pub fn sampled_logprobs(
        &self,
        texts: &[(&str, &str)],
        max_len: usize,
        max_new: usize,
        device: Device,
    ) -> Vec<f64> {
        texts
            .chunks(256)
            .flat_map(|c| {
                let t = to_device(&sampled_tokens(c, max_len, max_new), device);
                Vec::<f64>::try_from(
                    self.seq_logprobs(&t)
                        .to_kind(Kind::Double)
                        .to_device(Device::Cpu),
                )
                .unwrap_or_default()
            })
            .collect()
    }
}
