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
//!
//! [`main`] is every app's `main`: kit's command line with `sweep` added. The crate sits above
//! kit (it trains through kit's pipeline), so kit's command line knows nothing of it.

mod chart;
mod collect;
mod entry;
mod grid;
mod local;
mod paired;
mod slurm;

pub use collect::{collect, mean_std, Table};
pub use entry::{main, main_with_args, Tool};
pub use grid::{expand, Grid, Plan, RunSpec, SlurmConfig};
use local::run_local;
pub use local::{run_task, RunResult};
pub use paired::paired_t;
pub use slurm::sbatch;
use slurm::slurm_settings;

use kit::args::TrainArgs;
use kit::config;
use kit::rundir::{utc_stamp, write_atomic};
use kit::train::Outcome;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    Collect {
        dir: PathBuf,
        /// Also draw a metric against this numeric axis (a line per value of the other
        /// axes, mean ± std bars): `DIR/<metric>-vs-<axis>.png`.
        #[arg(long, value_name = "AXIS")]
        plot: Option<String>,
        /// Metrics to draw with --plot (repeatable; default: the grid's first metric).
        #[arg(long, requires = "plot")]
        metric: Vec<String>,
        /// Also compare every grid point with this one, paired by seed (same data and
        /// initialisation), with a paired t-test: e.g. `--baseline head.kind=softmax`.
        /// Appended to table.md.
        #[arg(long, value_name = "AXIS=VALUE")]
        baseline: Option<String>,
        /// Also draw a logged scalar against the step, one line per grid point (mean over
        /// seeds): e.g. `--curves train/detect_loss`; `DIR/<tag>-curves.png` (repeatable).
        #[arg(long, value_name = "TAG")]
        curves: Vec<String>,
    },
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
    /// Sweep name: the folder is `runs/<app>/sweep-<name>`; the same name continues a sweep.
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

/// Evaluates a finished run's best checkpoint on the app's test split: its metrics by name.
pub type TestFn = dyn Fn(&Path) -> anyhow::Result<std::collections::BTreeMap<String, f64>>;

/// What a sweep needs from the app.
pub struct Hooks<'a> {
    /// `<app> eval --run RUN` on the test split (grids with `test: true`).
    pub test: &'a TestFn,
    /// Trains one run: `<app> train` with these arguments.
    pub train: &'a dyn Fn(&TrainArgs) -> anyhow::Result<Outcome>,
    /// Loads and validates the app's config with these overrides (nothing written); returns
    /// its train.seed and whether its device is CUDA.
    pub check: CheckFn<'a>,
}

/// `<app> sweep …`.
pub fn command(app: &str, cli: SweepCli, hooks: &Hooks) -> anyhow::Result<()> {
    match cli.action {
        Some(SweepAction::Collect {
            dir,
            plot,
            metric,
            baseline,
            curves,
        }) => {
            let t = collect(&dir)?;
            println!("{}", t.markdown);
            if let Some(spec) = baseline {
                let section = paired::paired(&dir, &spec)?;
                println!("{section}");
                write_atomic(
                    &dir.join("table.md"),
                    format!("{}{section}", t.markdown).as_bytes(),
                )?;
            }
            println!("written: {} and table.csv", dir.join("table.md").display());
            if let Some(axis) = plot {
                let metrics = if metric.is_empty() {
                    read_plan(&dir)?.metrics.into_iter().take(1).collect()
                } else {
                    metric
                };
                for m in metrics {
                    println!("written: {}", chart::plot(&dir, &axis, &m)?.display());
                }
            }
            for tag in curves {
                println!("written: {}", chart::curves(&dir, &tag)?.display());
            }
            Ok(())
        }
        Some(SweepAction::Task {
            dir,
            index,
            threads,
            stop_after,
        }) => run_task(&dir, index, threads, stop_after, hooks.train, hooks.test).map(|_| ()),
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

pub(crate) fn read_plan(dir: &Path) -> anyhow::Result<Plan> {
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
        "sweep {}: {} grid point{} × {} seed{} = {} runs, {} to do",
        dir.display(),
        points,
        if points == 1 { "" } else { "s" },
        plan.seeds,
        if plan.seeds == 1 { "" } else { "s" },
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

/// `p` made absolute and without `.` / `..` parts (the file need not exist).
fn abs(p: &Path) -> anyhow::Result<PathBuf> {
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    let mut out = PathBuf::new();
    for c in full.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
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
