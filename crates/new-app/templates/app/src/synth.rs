//! The synthetic samples: `problem::sample(seed, index)`, one seeded stream per split.

use crate::problem;
use anyhow::Context;
use std::path::Path;

/// Writes samples `0..n` of stream `seed` to `path` as CSV: one line per sample, the
/// `problem::INPUT` input numbers then the `problem::TARGET` target numbers.
pub fn write_csv(path: &Path, seed: u64, n: usize) -> anyhow::Result<()> {
    let mut text = String::new();
    for i in 0..n as u64 {
        let (x, y) = problem::sample(seed, i);
        let row: Vec<String> = x.iter().chain(&y).map(|v| v.to_string()).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
