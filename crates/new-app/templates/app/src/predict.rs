//! One answer per input row: a CSV file of `problem::INPUT` numbers per line.

use crate::problem::{self, INPUT};
use crate::train::AppTask;
use anyhow::Context;
use std::path::Path;
use tch::Tensor;

/// The problem's answer for every row of `input`.
pub fn predict(task: &AppTask, input: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(input)
        .with_context(|| format!("cannot read {}", input.display()))?;
    let mut answers = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Vec<f32> = line
            .split(',')
            .take(INPUT as usize)
            .map(|s| s.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{} line {}: not numbers", input.display(), i + 1))?;
        anyhow::ensure!(
            v.len() == INPUT as usize,
            "{} line {}: {} numbers, the model takes {INPUT}",
            input.display(),
            i + 1,
            v.len()
        );
        let out = tch::no_grad(|| task.outputs(&Tensor::from_slice(&v).view([1, INPUT])));
        let out: Vec<f32> = Vec::try_from(out.flatten(0, -1).to_device(tch::Device::Cpu))?;
        answers.push(problem::answer(&out));
    }
    Ok(answers)
}
