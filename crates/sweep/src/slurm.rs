//! The Slurm executor's batch script: one job array over the runs still to do.

use super::{SlurmConfig, SweepArgs};
use std::path::Path;

pub(super) fn slurm_settings(base: &SlurmConfig, a: &SweepArgs) -> SlurmConfig {
    SlurmConfig {
        partition: a.partition.clone().or_else(|| base.partition.clone()),
        account: a.account.clone().or_else(|| base.account.clone()),
        time: a.time.clone().unwrap_or_else(|| base.time.clone()),
        mem: a.mem.clone().unwrap_or_else(|| base.mem.clone()),
        cpus_per_task: a.cpus_per_task.unwrap_or(base.cpus_per_task).max(1),
        max_parallel: a.max_parallel.unwrap_or(base.max_parallel),
    }
}

/// Slurm's array list: ranges where indices are consecutive (`0-3,7,9-10`).
fn array_list(idx: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && idx[j + 1] == idx[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", idx[i], idx[j])
        } else {
            idx[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

/// The batch script: one array task per run index, each `<exe> sweep task DIR $SLURM_ARRAY_TASK_ID`.
pub fn sbatch(
    app: &str,
    dir: &Path,
    exe: &Path,
    workdir: &Path,
    indices: &[usize],
    s: &SlurmConfig,
    cuda: bool,
) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut array = array_list(indices);
    if s.max_parallel > 0 {
        array.push_str(&format!("%{}", s.max_parallel));
    }
    let mut l = vec![
        "#!/bin/bash".to_string(),
        format!("#SBATCH --job-name={app}-{name}"),
        format!("#SBATCH --array={array}"),
        format!("#SBATCH --cpus-per-task={}", s.cpus_per_task),
        format!("#SBATCH --mem={}", s.mem),
        format!("#SBATCH --time={}", s.time),
        format!("#SBATCH --output={}/logs/%a.log", dir.display()),
    ];
    if let Some(p) = &s.partition {
        l.push(format!("#SBATCH --partition={p}"));
    }
    if let Some(a) = &s.account {
        l.push(format!("#SBATCH --account={a}"));
    }
    if cuda {
        l.push("#SBATCH --gpus-per-task=1".into());
    }
    l.push(format!(
        "# Written by `{app} sweep --slurm`: one task per run of {}/plan.json.",
        dir.display()
    ));
    l.push("set -euo pipefail".into());
    l.push(format!("cd '{}'", workdir.display()));
    l.push(format!(
        "exec '{}' sweep task '{}' \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"",
        exe.display(),
        dir.display(),
        s.cpus_per_task
    ));
    l.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbatch_script_golden() {
        let s = SlurmConfig {
            partition: Some("gpu".into()),
            account: Some("course".into()),
            time: "01:30:00".into(),
            mem: "16G".into(),
            cpus_per_task: 4,
            max_parallel: 3,
        };
        let text = sbatch(
            "detect-focal",
            Path::new("/home/u/lz/runs/detect-focal/sweep-gamma"),
            Path::new("/home/u/lz/target/debug/detect-focal"),
            Path::new("/home/u/lz"),
            &[0, 1, 2, 3, 6, 8, 9],
            &s,
            true,
        );
        let want = "#!/bin/bash
#SBATCH --job-name=detect-focal-sweep-gamma
#SBATCH --array=0-3,6,8-9%3
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=01:30:00
#SBATCH --output=/home/u/lz/runs/detect-focal/sweep-gamma/logs/%a.log
#SBATCH --partition=gpu
#SBATCH --account=course
#SBATCH --gpus-per-task=1
# Written by `detect-focal sweep --slurm`: one task per run of /home/u/lz/runs/detect-focal/sweep-gamma/plan.json.
set -euo pipefail
cd '/home/u/lz'
exec '/home/u/lz/target/debug/detect-focal' sweep task '/home/u/lz/runs/detect-focal/sweep-gamma' \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-4}\"
";
        assert_eq!(text, want);
    }
}
