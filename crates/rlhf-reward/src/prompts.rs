//! What the RL stage reads from a folder: prompts (TRL's prompt-only layout or any pair
//! layout), with the pairs of a held-out file when it has them.

use crate::config::Config;
use crate::data::Example;
use crate::sources::{read_pairs, TestSet};
use std::path::Path;

/// The held-out set of a JSONL file the RL stage reads: its prompts (TRL's prompt-only layout
/// or any pair layout), and its pairs when it has them (for the chosen responses'
/// log-probability).
pub(crate) fn prompt_set(file: &Path, max_len: usize) -> anyhow::Result<TestSet> {
    let prompts = crate::pairs::read_prompts(file)?;
    let first_is_pair = std::fs::read_to_string(file)?
        .lines()
        .next()
        .and_then(|l| {
            serde_json::from_str::<serde_json::Value>(l.trim_start_matches('\u{feff}')).ok()
        })
        .is_some_and(|v| v.get("chosen").is_some());
    let pairs = if first_is_pair {
        read_pairs(file, max_len)?
    } else {
        Vec::new()
    };
    Ok(TestSet { prompts, pairs })
}

/// The RL stage on a folder: prompts from `train.jsonl` (TRL's prompt-only layout or any pair
/// layout), validation from `val.jsonl` or a seeded 10% of them (at least one), taken out.
pub(crate) fn rl_folder(cfg: &Config) -> anyhow::Result<(Vec<Example>, TestSet)> {
    let root = Path::new(&cfg.data.source);
    let mut prompts = crate::pairs::read_prompts(&root.join("train.jsonl"))?;
    let val = root.join("val.jsonl");
    let held = if val.is_file() {
        prompt_set(&val, cfg.data.max_len)?
    } else {
        let held =
            kit::data::hold_out_validation(&mut prompts, cfg.train.seed).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: no val.jsonl, and too few training prompts to hold some out",
                    root.display()
                )
            })?;
        println!(
            "{}: no val.jsonl; {} of the training prompts (a seeded 10%) hold out for validation",
            root.display(),
            held.len()
        );
        TestSet {
            prompts: held,
            pairs: Vec::new(),
        }
    };
    Ok((prompts.into_iter().map(Example::Prompt).collect(), held))
}
