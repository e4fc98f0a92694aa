//! Examples (demonstrations, preference pairs, prompts), byte tokens, and batches built in
//! plain memory; the preference files' formats are in [`crate::pairs`].

use kit::data::{DataError, Dataset};
use tch::Tensor;

/// Byte tokens 0–255 plus four specials.
pub const BOS: i64 = 256;
pub const SEP: i64 = 257;
pub const EOS: i64 = 258;
pub const PAD: i64 = 259;
pub const VOCAB: i64 = 260;

/// One preference pair (TRL's explicit-prompt layout), with the gold rewards when known.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    pub prompt: String,
    pub chosen: String,
    pub rejected: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_chosen: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold_rejected: Option<f64>,
}

/// (prompt, response) texts, what [`tokens`] takes.
pub type Texts<'a> = Vec<(&'a str, &'a str)>;

/// (prompt, chosen) and (prompt, rejected) texts of pairs, for tokenising.
pub fn pair_texts<'a>(pairs: &[&'a Pair]) -> (Texts<'a>, Texts<'a>) {
    pairs
        .iter()
        .map(|p| {
            (
                (p.prompt.as_str(), p.chosen.as_str()),
                (p.prompt.as_str(), p.rejected.as_str()),
            )
        })
        .unzip()
}

/// What one training example is, per stage.
#[derive(Debug, Clone)]
pub enum Example {
    /// Supervised fine-tuning: imitate `response`.
    Demo {
        prompt: String,
        response: String,
    },
    Pair(Pair),
    /// On-policy RL: the policy answers it.
    Prompt(String),
}

/// The examples of a stage, in memory.
pub struct Examples(pub Vec<Example>);

impl Dataset for Examples {
    type Item = Example;
    fn len(&self) -> usize {
        self.0.len()
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Example, DataError> {
        Ok(self.0[index].clone())
    }
}

/// `BOS prompt SEP response EOS` as byte token ids (UTF-8 bytes, so any text). A long prompt
/// keeps its last `max_len` bytes (a dialogue's last turns, which the response answers); a
/// long response keeps its first `max_len` bytes.
pub fn encode(prompt: &str, response: &str, max_len: usize) -> Vec<i64> {
    let mut ids = encode_prompt(prompt, max_len);
    ids.extend(response.bytes().take(max_len).map(i64::from));
    ids.push(EOS);
    ids
}

/// `BOS prompt SEP`: what the policy continues (the prompt's last `max_len` bytes).
pub fn encode_prompt(prompt: &str, max_len: usize) -> Vec<i64> {
    let bytes = prompt.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(max_len)..];
    let mut ids = vec![BOS];
    ids.extend(tail.iter().map(|&b| i64::from(b)));
    ids.push(SEP);
    ids
}

/// Sequences right-padded into one batch, for teacher forcing and scoring.
#[derive(Debug)]
pub struct Tokens {
    /// (B, T) token ids, PAD after each sequence's end.
    pub ids: Tensor,
    /// (B) real lengths.
    pub lengths: Tensor,
    /// (B, T − 1) 1 where position t + 1 is a response token or EOS (what log-probabilities
    /// of the response sum over), 0 on the prompt and padding.
    pub response_mask: Tensor,
}

/// Pads `(prompt length incl. BOS and SEP, ids)` sequences into [`Tokens`].
pub fn pad(seqs: &[(usize, Vec<i64>)]) -> Tokens {
    let t = seqs.iter().map(|(_, s)| s.len()).max().unwrap_or(1);
    let b = seqs.len();
    let mut ids = vec![PAD; b * t];
    let mut mask = vec![0f32; b * (t - 1).max(1)];
    let mut lengths = Vec::with_capacity(b);
    for (i, (prefix, s)) in seqs.iter().enumerate() {
        ids[i * t..i * t + s.len()].copy_from_slice(s);
        for p in *prefix..s.len() {
            // Target position p (predicted from p − 1).
            mask[i * (t - 1) + p - 1] = 1.0;
        }
        lengths.push(s.len() as i64);
    }
    Tokens {
        ids: Tensor::from_slice(&ids).view([b as i64, t as i64]),
        lengths: Tensor::from_slice(&lengths),
        response_mask: Tensor::from_slice(&mask).view([b as i64, (t - 1) as i64]),
    }
}

/// Tokens of (prompt, response) texts.
pub fn tokens(pairs: &[(&str, &str)], max_len: usize) -> Tokens {
    let seqs: Vec<(usize, Vec<i64>)> = pairs
        .iter()
        .map(|(p, r)| (p.len().min(max_len) + 2, encode(p, r, max_len)))
        .collect();
    pad(&seqs)
}

/// Tokens of sampled responses: a response of `max_new` bytes had its EOS forced by the
/// sampler (probability 1, not drawn from the policy), so that EOS is left out of the response
/// mask — log-probabilities and KL then cover exactly what was sampled.
pub fn sampled_tokens(pairs: &[(&str, &str)], max_len: usize, max_new: usize) -> Tokens {
    let t = tokens(pairs, max_len);
    let forced: Vec<i64> = pairs
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| r.len() >= max_new)
        .map(|(i, (p, r))| {
            // EOS is target position p.len() + 2 + r.len(), mask column one less.
            let col = p.len().min(max_len) + 1 + r.len().min(max_len);
            (i * t.response_mask.size()[1] as usize + col) as i64
        })
        .collect();
    if !forced.is_empty() {
        let mut flat = t.response_mask.view([-1]);
        let _ = flat.index_fill_(0, &Tensor::from_slice(&forced), 0.0);
    }
    t
}

/// A batch of one stage.
#[derive(Debug)]
pub enum Batch {
    Demos(Tokens),
    /// Preference pairs padded together: chosen responses in rows 0..B, rejected in B..2B, so
    /// one forward pass scores both (as TRL's `concatenated_forward`).
    Pairs(Tokens),
    Prompts(Vec<String>),
}

/// Builds a batch from examples of one kind (tokenised in plain memory, one tensor per field).
pub fn collate(items: Vec<Example>, max_len: usize) -> Result<Batch, DataError> {
    match items.first() {
        Some(Example::Demo { .. }) => {
            let v: Vec<(&str, &str)> = items
                .iter()
                .filter_map(|e| match e {
                    Example::Demo { prompt, response } => {
                        Some((prompt.as_str(), response.as_str()))
                    }
                    _ => None,
                })
                .collect();
            Ok(Batch::Demos(tokens(&v, max_len)))
        }
        Some(Example::Pair(_)) => {
            let pairs: Vec<&Pair> = items
                .iter()
                .filter_map(|e| match e {
                    Example::Pair(p) => Some(p),
                    _ => None,
                })
                .collect();
            let (c, r) = pair_texts(&pairs);
            Ok(Batch::Pairs(tokens(&[c, r].concat(), max_len)))
        }
        Some(Example::Prompt(_)) => Ok(Batch::Prompts(
            items
                .into_iter()
                .filter_map(|e| match e {
                    Example::Prompt(p) => Some(p),
                    _ => None,
                })
                .collect(),
        )),
        None => Err(DataError::Other("empty batch".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_response_mask() {
        let t = tokens(&[("ab", "c"), ("a", "cde")], 16);
        // BOS a b SEP c EOS / BOS a SEP c d e EOS
        assert_eq!(t.ids.size(), [2, 7]);
        let m: Vec<Vec<f32>> = Vec::try_from(&t.response_mask).unwrap();
        assert_eq!(m[0], [0., 0., 0., 1., 1., 0.]);
        assert_eq!(m[1], [0., 0., 1., 1., 1., 1.]);
        let ids: Vec<Vec<i64>> = Vec::try_from(&t.ids).unwrap();
        assert_eq!(ids[0], [BOS, 97, 98, SEP, 99, EOS, PAD]);
        // A 3-byte sample with max_new = 3 had its EOS forced: left out of the mask.
        let s = sampled_tokens(&[("ab", "c"), ("a", "cde")], 16, 3);
        let m: Vec<Vec<f32>> = Vec::try_from(&s.response_mask).unwrap();
        assert_eq!(m[0], [0., 0., 0., 1., 1., 0.]);
        assert_eq!(m[1], [0., 0., 1., 1., 1., 0.]);
    }

    #[test]
    fn pairs_are_padded_together_chosen_first() {
        let pair = |c: &str, r: &str| {
            Example::Pair(Pair {
                prompt: "s:1".into(),
                chosen: c.into(),
                rejected: r.into(),
                gold_chosen: None,
                gold_rejected: None,
            })
        };
        let Ok(Batch::Pairs(t)) = collate(vec![pair("1", "2345"), pair("67", "8")], 16) else {
            panic!("not a pair batch");
        };
        // BOS s : 1 SEP <response> EOS: 7 tokens for a 1-byte response, 10 for the longest.
        assert_eq!(t.ids.size(), [4, 10]);
        assert_eq!(Vec::<i64>::try_from(&t.lengths).unwrap(), [7, 8, 10, 7]);
        let ids: Vec<Vec<i64>> = Vec::try_from(&t.ids).unwrap();
        assert_eq!(ids[1][5..9], [54, 55, EOS, PAD]); // "67": the second chosen
        assert_eq!(ids[2][5..10], [50, 51, 52, 53, EOS]); // "2345": the first rejected
    }
}
