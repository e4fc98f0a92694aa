//! Sweeps for every app: a grid file (a config, axes of `--set` overrides, the metrics for the
//! table) expanded into runs × seeds, run one at a time, `--parallel N` at once, or as a Slurm
//! job array; re-running a sweep continues it; `collect` writes one table with mean ± std over
//! seeds and lists every failed run with the last line of its log.
//!
//! Layout: `runs/<app>/sweep-<name>/` holds `grid.yaml` (the grid as given), `plan.json` (every
//! run: its overrides and seed), `logs/<index>.log` (each run's output), `failed/<index>.txt`
//! (the error of a run that failed), `table.md` / `table.csv`, `sweep.sbatch` with `--slurm`,
//! and the run folders themselves (`<axis>=<value>_…_seed=<s>/`, each with `result.json` once
//! it finished). Every run, local or on Slurm, is `<app> sweep task DIR INDEX`, which trains
//! (or resumes) that run with the app's own `train`, so a shared file system is all Slurm needs.

use crate::app::TrainArgs;
use crate::config;
use crate::rundir::{utc_stamp, write_atomic};
use crate::train::Outcome;
use serde::{Deserialize, Serialize};
use serde_norway::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A sweep's grid file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// The config every run starts from (relative to the grid file).
    pub config: PathBuf,
    /// `key=value` overrides for every run.
    #[serde(default)]
    pub set: Vec<String>,
    /// Axes: each item maps config keys to value lists; one key is a plain axis, several keys
    /// in one item move together (paired, same length). The grid is the product of the items.
    pub axes: Vec<serde_norway::Mapping>,
    /// Metrics of the table, as the app logs them (`eval/<name>` in metrics.jsonl), read at
    /// the best checkpoint's evaluation.
    pub metrics: Vec<String>,
    /// Seeds per grid point (`--seeds` overrides): train.seed = the config's seed + 0..K.
    #[serde(default = "one")]
    pub seeds: usize,
    #[serde(default)]
    pub slurm: SlurmConfig,
}

fn one() -> usize {
    1
}

/// Slurm resources of each array task (flags of `sweep --slurm` override them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Wall-time limit per run, `HH:MM:SS` or `D-HH:MM:SS`.
    pub time: String,
    /// Memory per run, e.g. `8G`.
    pub mem: String,
    pub cpus_per_task: usize,
    /// Array tasks running at once (0 = no limit).
    pub max_parallel: usize,
}

impl Default for SlurmConfig {
    fn default() -> Self {
        Self {
            partition: None,
            account: None,
            time: "02:00:00".into(),
            mem: "8G".into(),
            cpus_per_task: 2,
            max_parallel: 0,
        }
    }
}

/// One run of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSpec {
    pub index: usize,
    /// Grid point (runs of the same point differ only by seed).
    pub point: usize,
    /// `key=value` of the point's axes, in axis order.
    pub values: Vec<(String, String)>,
    pub seed: u64,
    /// Folder name under the sweep folder.
    pub name: String,
}

impl RunSpec {
    /// The `--set` overrides of this run (after the grid's own `set`).
    pub fn sets(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        s.push(format!("train.seed={}", self.seed));
        s
    }
}

/// The expanded sweep: what `plan.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub app: String,
    pub config: PathBuf,
    pub set: Vec<String>,
    pub metrics: Vec<String>,
    pub axes: Vec<String>,
    pub seeds: usize,
    pub runs: Vec<RunSpec>,
}

/// A scalar (or list) as `--set` writes it: YAML flow text.
fn value_text(v: &Value) -> String {
    match v {
        Value::Sequence(s) => format!(
            "[{}]",
            s.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A key or value as part of a folder name: letters, digits, `.`, `_`, `+`, `-` kept; a list's brackets
/// and spaces dropped and its commas `+`; anything else `-`.
fn name_part(s: &str) -> String {
    s.chars()
        .filter(|c| !"[] ".contains(*c))
        .map(|c| match c {
            ',' => '+',
            c if c.is_ascii_alphanumeric() || "._+-".contains(c) => c,
            _ => '-',
        })
        .collect()
}

/// One axis item: its keys and, per key, its values as `--set` text.
type AxisItem = (Vec<String>, Vec<Vec<String>>);

fn axis_items(grid: &Grid) -> anyhow::Result<Vec<AxisItem>> {
    let mut out = Vec::new();
    for (i, item) in grid.axes.iter().enumerate() {
        let mut keys = Vec::new();
        let mut cols = Vec::new();
        for (k, v) in item {
            let key = k.as_str().ok_or_else(|| {
                anyhow::anyhow!("axes[{i}]: keys must be config keys like loss.gamma")
            })?;
            let Value::Sequence(vals) = v else {
                anyhow::bail!("axes[{i}].{key}: give a list of values, e.g. {key}: [0, 1, 2]");
            };
            anyhow::ensure!(!vals.is_empty(), "axes[{i}].{key}: the list is empty");
            keys.push(key.to_string());
            cols.push(vals.iter().map(value_text).collect::<Vec<_>>());
        }
        anyhow::ensure!(!keys.is_empty(), "axes[{i}] has no key");
        let n = cols[0].len();
        if let Some(j) = cols.iter().position(|c| c.len() != n) {
            anyhow::bail!(
                "axes[{i}]: paired keys need lists of one length: {} has {n} values, {} has {}",
                keys[0],
                keys[j],
                cols[j].len()
            );
        }
        out.push((keys, cols));
    }
    Ok(out)
}

/// Expands a grid into runs: the product of the axis items (the last varies fastest), each
/// point `seeds` times with train.seed = `base_seed` + 0..seeds.
pub fn expand(app: &str, grid: &Grid, seeds: usize, base_seed: u64) -> anyhow::Result<Plan> {
    anyhow::ensure!(seeds >= 1, "--seeds must be ≥ 1");
    anyhow::ensure!(
        !grid.metrics.is_empty(),
        "metrics: name at least one metric for the table"
    );
    let items = axis_items(grid)?;
    let all_keys: Vec<String> = items.iter().flat_map(|(k, _)| k.clone()).collect();
    // A short name per key: its last segment, unless two keys share it.
    let short: Vec<String> = all_keys
        .iter()
        .map(|k| {
            let last = k.rsplit('.').next().unwrap_or(k);
            let clash = all_keys
                .iter()
                .filter(|o| o.rsplit('.').next() == Some(last))
                .count()
                > 1;
            if clash {
                k.clone()
            } else {
                last.to_string()
            }
        })
        .collect();
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (keys, cols) in &items {
        let mut next = Vec::new();
        for p in &points {
            for row in 0..cols[0].len() {
                let mut q = p.clone();
                q.extend(
                    keys.iter()
                        .zip(cols)
                        .map(|(k, c)| (k.clone(), c[row].clone())),
                );
                next.push(q);
            }
        }
        points = next;
    }
    let mut runs = Vec::new();
    for (pi, values) in points.iter().enumerate() {
        let label: Vec<String> = values
            .iter()
            .map(|(k, v)| {
                let s = &short[all_keys.iter().position(|x| x == k).unwrap_or(0)];
                format!("{}={}", name_part(s), name_part(v))
            })
            .collect();
        for s in 0..seeds {
            let seed = base_seed + s as u64;
            let mut name = label.join("_");
            if !name.is_empty() {
                name.push('_');
            }
            name.push_str(&format!("seed={seed}"));
            runs.push(RunSpec {
                index: runs.len(),
                point: pi,
                values: values.clone(),
                seed,
                name,
            });
        }
    }
    Ok(Plan {
        app: app.to_string(),
        config: grid.config.clone(),
        set: grid.set.clone(),
        metrics: grid.metrics.clone(),
        axes: all_keys,
        seeds,
        runs,
    })
}

/// Arguments of `<app> sweep`.
#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepCli {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    #[command(flatten)]
    pub args: SweepArgs,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum SweepAction {
    /// Write table.md and table.csv of a sweep folder (mean ± std over seeds, failed runs listed).
    Collect { dir: PathBuf },
    /// Train (or resume, or skip if finished) run INDEX of a sweep: what each local process
    /// and each Slurm array task runs.
    #[command(hide = true)]
    Task {
        dir: PathBuf,
        index: usize,
        /// libtorch threads for this run (sets train.threads).
        #[arg(long)]
        threads: Option<usize>,
        /// Stop as Ctrl-C would after this many steps (tests).
        #[arg(long, hide = true)]
        stop_after: Option<u64>,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct SweepArgs {
    /// The grid file (see configs/detect-focal/sweeps/gamma.yaml).
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Seeds per grid point (default: the grid's `seeds`, else 1).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Sweep name: the folder is runs/<app>/sweep-<name>; the same name continues a sweep.
    #[arg(long)]
    pub name: Option<String>,
    /// Runs at once on this machine (libtorch threads are split between them).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Submit a Slurm job array instead of running here.
    #[arg(long)]
    pub slurm: bool,
    /// Write sweep.sbatch but do not submit it.
    #[arg(long, requires = "slurm")]
    pub no_submit: bool,
    #[arg(long)]
    pub partition: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    /// Wall time per run, e.g. 01:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per run, e.g. 8G.
    #[arg(long)]
    pub mem: Option<String>,
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// Array tasks at once (Slurm's `%N`).
    #[arg(long)]
    pub max_parallel: Option<usize>,
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
}

/// Loads and validates the app's config with overrides: (train.seed, device is CUDA).
pub type CheckFn<'a> = &'a dyn Fn(&Path, &[String]) -> anyhow::Result<(u64, bool)>;

/// What a sweep needs from the app.
pub struct Hooks<'a> {
    /// Trains one run: `<app> train` with these arguments.
    pub train: &'a dyn Fn(&TrainArgs) -> anyhow::Result<Outcome>,
    /// Loads and validates the app's config with these overrides (nothing written); returns
    /// its train.seed and whether its device is CUDA.
    pub check: CheckFn<'a>,
}

/// `<app> sweep …`.
pub fn command(app: &str, cli: SweepCli, hooks: &Hooks) -> anyhow::Result<()> {
    match cli.action {
        Some(SweepAction::Collect { dir }) => {
            let t = collect(&dir)?;
            println!("{}", t.markdown);
            println!("written: {} and table.csv", dir.join("table.md").display());
            Ok(())
        }
        Some(SweepAction::Task {
            dir,
            index,
            threads,
            stop_after,
        }) => run_task(&dir, index, threads, stop_after, hooks.train).map(|_| ()),
        None => start(app, &cli.args, hooks),
    }
}

/// Where each run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Finished,
    Failed,
    /// Has a checkpoint to resume from.
    Stopped,
    /// Never started (or started and left no checkpoint).
    Pending,
}

/// Status of run `r` in sweep folder `dir`.
pub fn status(dir: &Path, r: &RunSpec) -> Status {
    let run = dir.join(&r.name);
    if run.join("result.json").is_file() {
        Status::Finished
    } else if dir
        .join("failed")
        .join(format!("{}.txt", r.index))
        .is_file()
    {
        Status::Failed
    } else if run.join("checkpoints/last.safetensors").is_file() {
        Status::Stopped
    } else {
        Status::Pending
    }
}

fn read_plan(dir: &Path) -> anyhow::Result<Plan> {
    let p = dir.join("plan.json");
    let text = std::fs::read_to_string(&p)
        .map_err(|e| anyhow::anyhow!("{}: {e} (not a sweep folder?)", p.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}

/// Loads the grid, expands it, validates every run's config (before anything is written), and
/// creates (or checks) the sweep folder. Returns whether any run asks for CUDA.
fn prepare(
    app: &str,
    args: &SweepArgs,
    hooks: &Hooks,
) -> anyhow::Result<(PathBuf, Plan, Grid, bool)> {
    let grid_path = args.grid.as_ref().ok_or_else(|| {
        anyhow::anyhow!("pass --grid GRID.yaml (e.g. configs/detect-focal/sweeps/gamma.yaml)")
    })?;
    let mut grid: Grid = config::load(grid_path, &[])?;
    // `config:` is relative to the grid file, like a config's `base:`; the plan keeps it
    // absolute so every task (here or on a Slurm node) finds it from any working directory.
    let near = grid_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&grid.config);
    grid.config = abs(&near)?;
    let (base_seed, _) = (hooks.check)(&grid.config, &grid.set)
        .map_err(|e| anyhow::anyhow!("{} (the grid's config): {e}", grid_path.display()))?;
    let seeds = args.seeds.unwrap_or(grid.seeds);
    let plan = expand(app, &grid, seeds, base_seed)?;
    let mut cuda = false;
    for r in &plan.runs {
        let mut set = plan.set.clone();
        set.extend(r.sets());
        let (_, c) = (hooks.check)(&plan.config, &set)
            .map_err(|e| anyhow::anyhow!("{}: run {}: {e}", grid_path.display(), r.name))?;
        cuda |= c;
    }
    let name = args.name.clone().unwrap_or_else(|| {
        grid_path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(utc_stamp)
    });
    let dir = args.runs.join(app).join(format!("sweep-{name}"));
    std::fs::create_dir_all(dir.join("logs"))?;
    let plan_file = dir.join("plan.json");
    if plan_file.is_file() {
        let old = read_plan(&dir)?;
        anyhow::ensure!(
            old == plan,
            "{} holds a different sweep (another grid or --seeds): pass another --name",
            dir.display()
        );
    } else {
        write_atomic(&plan_file, serde_json::to_string_pretty(&plan)?.as_bytes())?;
        std::fs::copy(grid_path, dir.join("grid.yaml"))?;
    }
    Ok((dir, plan, grid, cuda))
}

fn start(app: &str, args: &SweepArgs, hooks: &Hooks) -> anyhow::Result<()> {
    let (dir, plan, grid, cuda) = prepare(app, args, hooks)?;
    let todo: Vec<&RunSpec> = plan
        .runs
        .iter()
        .filter(|r| status(&dir, r) != Status::Finished)
        .collect();
    let points = plan.runs.iter().map(|r| r.point).max().map_or(0, |p| p + 1);
    println!(
        "sweep {}: {} grid points × {} seeds = {} runs, {} to do",
        dir.display(),
        points,
        plan.seeds,
        plan.runs.len(),
        todo.len()
    );
    if args.slurm {
        let sl = slurm_settings(&grid.slurm, args);
        let exe = std::env::current_exe()?;
        let idx: Vec<usize> = todo.iter().map(|r| r.index).collect();
        if idx.is_empty() {
            println!(
                "every run has finished; `{app} sweep collect {}` writes the table",
                dir.display()
            );
            return Ok(());
        }
        // A failed run is tried again by a new submission.
        for i in &idx {
            let _ = std::fs::remove_file(dir.join("failed").join(format!("{i}.txt")));
        }
        let script = sbatch(
            app,
            &abs(&dir)?,
            &exe,
            &std::env::current_dir()?,
            &idx,
            &sl,
            cuda,
        );
        let file = dir.join("sweep.sbatch");
        write_atomic(&file, script.as_bytes())?;
        println!("wrote {}", file.display());
        if args.no_submit {
            println!("submit it with: sbatch {}", file.display());
            return Ok(());
        }
        let out = Command::new("sbatch")
            .arg("--parsable")
            .arg(&file)
            .output()
            .map_err(|e| anyhow::anyhow!("cannot run sbatch ({e}): is this a Slurm login node? (`--no-submit` writes the script only)"))?;
        anyhow::ensure!(
            out.status.success(),
            "sbatch failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let job = String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .to_string();
        println!("submitted job array {job} ({} tasks)", idx.len());
        println!(
            "follow it:  squeue -j {job}    sacct -j {job} --format=JobID,State,Elapsed,ExitCode"
        );
        println!("logs:       {}/logs/<index>.log", dir.display());
        println!("table:      {app} sweep collect {}   (when the array is done; re-run the sweep to continue a stopped one)", dir.display());
        return Ok(());
    }
    run_local(&dir, &todo, args.parallel.max(1))?;
    let t = collect(&dir)?;
    println!("{}", t.markdown);
    println!("table: {} (and table.csv)", dir.join("table.md").display());
    Ok(())
}

fn abs(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

fn slurm_settings(base: &SlurmConfig, a: &SweepArgs) -> SlurmConfig {
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

/// Runs the pending / stopped runs here, `parallel` processes at once (each `<exe> sweep task`,
/// output to logs/<index>.log). Ctrl-C stops every run at its next step with a checkpoint.
fn run_local(dir: &Path, todo: &[&RunSpec], parallel: usize) -> anyhow::Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        // The children get the same Ctrl-C (one process group) and save their checkpoints.
        let _ = ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::SeqCst));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / parallel).max(1);
    let exe = std::env::current_exe()?;
    let mut queue: std::collections::VecDeque<&RunSpec> = todo.iter().copied().collect();
    let mut live: Vec<(std::process::Child, &RunSpec, Instant)> = Vec::new();
    let total = todo.len();
    let mut done = 0;
    loop {
        let stopping = stop.load(std::sync::atomic::Ordering::SeqCst);
        while !stopping && live.len() < parallel {
            let Some(r) = queue.pop_front() else { break };
            let log = std::fs::File::create(dir.join("logs").join(format!("{}.log", r.index)))?;
            let child = Command::new(&exe)
                .args(["sweep", "task"])
                .arg(dir)
                .arg(r.index.to_string())
                .args(["--threads", &threads.to_string()])
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            let verb = if status(dir, r) == Status::Stopped {
                "resuming"
            } else {
                "starting"
            };
            println!("[{}/{total}] {verb} {}", done + live.len() + 1, r.name);
            live.push((child, r, Instant::now()));
        }
        if live.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut k = 0;
        while k < live.len() {
            if let Some(code) = live[k].0.try_wait()? {
                let (_, r, t0) = live.remove(k);
                done += 1;
                let st = status(dir, r);
                let what = match st {
                    Status::Finished => "finished".to_string(),
                    Status::Failed => format!(
                        "FAILED: {}",
                        last_line(&dir.join("logs").join(format!("{}.log", r.index)))
                    ),
                    _ if code.success() => {
                        "stopped (checkpoint saved; run the sweep again to continue)".into()
                    }
                    _ => format!("ended with {code} and no result"),
                };
                println!(
                    "  {} {what} ({:.1} min)",
                    r.name,
                    t0.elapsed().as_secs_f64() / 60.0
                );
            } else {
                k += 1;
            }
        }
    }
    if stop.load(std::sync::atomic::Ordering::SeqCst) {
        println!("sweep stopped; run the same command again to continue it");
    }
    Ok(())
}

/// The last non-empty line of a log file ("" when there is none).
pub fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// What a finished run leaves in `result.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub step: u64,
    pub best_step: u64,
    /// `eval/*` values (prefix dropped) at the best checkpoint's evaluation.
    pub best: std::collections::BTreeMap<String, f64>,
    pub minutes: f64,
}

/// The `eval/*` values logged at `step` in a run's metrics.jsonl.
fn eval_at(run: &Path, step: u64) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let p = run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("step").and_then(|s| s.as_u64()) != Some(step) {
            continue;
        }
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                if let (Some(name), Some(x)) = (k.strip_prefix("eval/"), x.as_f64()) {
                    out.insert(name.to_string(), x);
                }
            }
        }
    }
    Ok(out)
}

/// `<app> sweep task DIR INDEX`: finished → nothing; stopped → resume; else a new run (a
/// folder left without any checkpoint is replaced). Writes result.json when the run
/// finishes, failed/<index>.txt when it fails.
pub fn run_task(
    dir: &Path,
    index: usize,
    threads: Option<usize>,
    stop_after: Option<u64>,
    train: &dyn Fn(&TrainArgs) -> anyhow::Result<Outcome>,
) -> anyhow::Result<Option<RunResult>> {
    let plan = read_plan(dir)?;
    let r = plan.runs.get(index).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no run {index} (the plan has {})",
            dir.display(),
            plan.runs.len()
        )
    })?;
    let run = dir.join(&r.name);
    let failed = dir.join("failed").join(format!("{index}.txt"));
    let _ = std::fs::remove_file(&failed);
    match status(dir, r) {
        Status::Finished => {
            println!("{}: finished before, kept", r.name);
            return Ok(None);
        }
        Status::Pending if run.exists() => {
            println!(
                "{}: left without a checkpoint by an earlier attempt; starting it again",
                r.name
            );
            std::fs::remove_dir_all(&run)?;
        }
        _ => {}
    }
    let resume = status(dir, r) == Status::Stopped;
    let mut set = if resume { Vec::new() } else { plan.set.clone() };
    if !resume {
        set.extend(r.sets());
    }
    if let Some(t) = threads {
        set.push(format!("train.threads={t}"));
    }
    let sweep_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let runs_root = dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("runs"));
    let args = TrainArgs {
        config: Some(plan.config.clone()),
        set,
        resume: resume.then(|| run.clone()),
        device: None,
        name: Some(format!("{sweep_name}/{}", r.name)),
        runs: runs_root.to_path_buf(),
        stop_after,
    };
    println!(
        "{} {} ({})",
        if resume { "resuming" } else { "starting" },
        r.name,
        r.sets().join(" ")
    );
    let t0 = Instant::now();
    let outcome = match train(&args) {
        Ok(o) => o,
        Err(e) => {
            std::fs::create_dir_all(dir.join("failed"))?;
            let msg = format!("{e:#}");
            write_atomic(&failed, msg.as_bytes())?;
            return Err(e);
        }
    };
    match outcome {
        Outcome::Finished { state, .. } => {
            let result = RunResult {
                step: state.step,
                best_step: state.best_step,
                best: eval_at(&run, state.best_step)?,
                minutes: t0.elapsed().as_secs_f64() / 60.0,
            };
            write_atomic(
                &run.join("result.json"),
                serde_json::to_string_pretty(&result)?.as_bytes(),
            )?;
            Ok(Some(result))
        }
        Outcome::Interrupted { .. } => Ok(None),
    }
}

/// A sweep's table in both formats.
pub struct Table {
    pub markdown: String,
    pub csv: String,
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

/// `<app> sweep collect DIR`: one row per grid point, each metric as mean ± std over the
/// seeds that finished, and the count; failed and unfinished runs listed under the table
/// with the last line of their log. Writes table.md and table.csv into DIR.
pub fn collect(dir: &Path) -> anyhow::Result<Table> {
    let plan = read_plan(dir)?;
    let points = plan.runs.iter().map(|r| r.point).max().map_or(0, |p| p + 1);
    let mut md = format!("| {} | seeds |", plan.axes.join(" | "));
    for m in &plan.metrics {
        md += &format!(" {m} |");
    }
    md += &format!(
        "\n|{}---|{}\n",
        "---|".repeat(plan.axes.len()),
        "---|".repeat(plan.metrics.len())
    );
    let mut csv = plan.axes.join(",");
    csv += ",seeds_finished,seeds_total";
    for m in &plan.metrics {
        csv += &format!(",{m}_mean,{m}_std");
    }
    csv += "\n";
    let mut problems = Vec::new();
    for p in 0..points {
        let runs: Vec<&RunSpec> = plan.runs.iter().filter(|r| r.point == p).collect();
        let mut results = Vec::new();
        for r in &runs {
            let log = dir.join("logs").join(format!("{}.log", r.index));
            match status(dir, r) {
                Status::Finished => {
                    let f = dir.join(&r.name).join("result.json");
                    let text = std::fs::read_to_string(&f)?;
                    let res: RunResult = serde_json::from_str(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                    results.push(res);
                }
                Status::Failed => {
                    let why = std::fs::read_to_string(
                        dir.join("failed").join(format!("{}.txt", r.index)),
                    )
                    .unwrap_or_default();
                    let line = last_line(&log);
                    let line = if line.is_empty() {
                        why.lines().last().unwrap_or("").to_string()
                    } else {
                        line
                    };
                    problems.push(format!("- `{}` failed: {line}", r.name));
                }
                Status::Stopped => problems.push(format!(
                    "- `{}` stopped (resumable): {}",
                    r.name,
                    last_line(&log)
                )),
                Status::Pending => {
                    let line = last_line(&log);
                    problems.push(format!(
                        "- `{}` not finished{}",
                        r.name,
                        if line.is_empty() {
                            String::new()
                        } else {
                            format!(": {line}")
                        }
                    ));
                }
            }
        }
        let values: Vec<&String> = runs[0].values.iter().map(|(_, v)| v).collect();
        md += &format!(
            "| {} | {}/{} |",
            values
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            results.len(),
            runs.len()
        );
        csv += &format!(
            "{},{},{}",
            values
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
            results.len(),
            runs.len()
        );
        for m in &plan.metrics {
            let v: Vec<f64> = results
                .iter()
                .filter_map(|r| r.best.get(m).copied())
                .collect();
            if let (Some(r), true) = (results.first(), v.len() < results.len()) {
                anyhow::bail!(
                    "metric `{m}` is not among the run's evaluation metrics ({}): fix `metrics:` in {}",
                    r.best.keys().cloned().collect::<Vec<_>>().join(", "),
                    dir.join("grid.yaml").display()
                );
            }
            let (mean, std) = mean_std(&v);
            md += &match v.len() {
                0 => " – |".to_string(),
                1 => format!(" {mean:.4} |"),
                _ => format!(" {mean:.4} ± {std:.4} |"),
            };
            csv += &format!(",{mean},{std}");
        }
        md += "\n";
        csv += "\n";
    }
    md += &format!(
        "\nmean ± sample std over the seeds that finished (best checkpoint's evaluation of each run); config {}{}.\n",
        plan.config.display(),
        if plan.set.is_empty() { String::new() } else { format!(" with {}", plan.set.join(" ")) }
    );
    if !problems.is_empty() {
        md += "\nNot in the table:\n";
        md += &problems.join("\n");
        md += "\n";
    }
    write_atomic(&dir.join("table.md"), md.as_bytes())?;
    write_atomic(&dir.join("table.csv"), csv.as_bytes())?;
    Ok(Table { markdown: md, csv })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(yaml: &str) -> Grid {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn axes_multiply_paired_keys_move_together_and_seeds_repeat() {
        let g = grid(
            "config: c.yaml\naxes:\n  - {loss.gamma: [0, 2], loss.alpha: [0.75, 0.25]}\n  - {model.width: [8, 16, 32]}\nmetrics: [ap]\n",
        );
        let p = expand("app", &g, 2, 42).unwrap();
        assert_eq!(p.runs.len(), 2 * 3 * 2);
        assert_eq!(p.axes, ["loss.gamma", "loss.alpha", "model.width"]);
        let r = &p.runs[3];
        assert_eq!((r.point, r.seed), (1, 43));
        assert_eq!(r.name, "gamma=0_alpha=0.75_width=16_seed=43");
        assert_eq!(
            r.sets(),
            [
                "loss.gamma=0",
                "loss.alpha=0.75",
                "model.width=16",
                "train.seed=43"
            ]
        );
        let last = p.runs.last().unwrap();
        assert_eq!(last.name, "gamma=2_alpha=0.25_width=32_seed=43");
        // Unequal paired lists, an empty list and no metric are errors that say what to fix.
        let bad = grid("config: c.yaml\naxes:\n  - {a.x: [1, 2], b.y: [1]}\nmetrics: [m]\n");
        let e = expand("app", &bad, 1, 0).unwrap_err().to_string();
        assert!(e.contains("a.x has 2 values, b.y has 1"), "{e}");
        let bad = grid("config: c.yaml\naxes:\n  - {a.x: []}\nmetrics: [m]\n");
        assert!(expand("app", &bad, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let bad = grid("config: c.yaml\naxes: []\nmetrics: []\n");
        assert!(expand("app", &bad, 1, 0).is_err());
    }

    #[test]
    fn run_names_use_short_keys_unless_they_clash_and_are_safe_folder_names() {
        let g = grid(
            "config: c.yaml\naxes:\n  - {model.width: [8]}\n  - {head.width: [4]}\n  - {data.source: [data/x y]}\n  - {data.elevation: [[-10, 40]]}\nmetrics: [m]\n",
        );
        let p = expand("app", &g, 1, 0).unwrap();
        assert_eq!(
            p.runs[0].name,
            "model.width=8_head.width=4_source=data-xy_elevation=-10+40_seed=0"
        );
        assert_eq!(p.runs[0].sets()[3], "data.elevation=[-10, 40]");
    }

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

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
        assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
    }
}
