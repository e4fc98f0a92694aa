//! `sweep`: one training run per focusing parameter γ with everything else equal, evaluated
//! on the same validation set, written as a markdown table like Lin et al. (2017), Table 1b.

use kit::app::TrainArgs;
use kit::device::DeviceSpec;
use kit::rundir::{utc_stamp, Checkpoint};
use kit::train::Outcome;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct SweepArgs {
    /// The config every run starts from.
    #[arg(long, default_value = "configs/detect-focal/default.yaml")]
    pub config: PathBuf,
    /// The γ values, e.g. --gammas 0,0.5,1,2,5.
    #[arg(long, value_delimiter = ',', default_value = "0,0.5,1,2,5")]
    pub gammas: Vec<f64>,
    /// One α for every run; by default each γ gets the paper's best α (see `paper_alpha`).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Override config keys for every run, e.g. --set train.epochs=2.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Sweep folder name under runs/detect-focal (default: sweep-<UTC time>).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
}

/// The α that Lin et al. (2017) Table 1b pairs with γ: 0.75 for γ < 0.5, 0.5 for γ in
/// [0.5, 1), 0.25 from γ = 1 on (larger γ down-weights easy negatives already).
pub fn paper_alpha(gamma: f64) -> f64 {
    if gamma < 0.5 {
        0.75
    } else if gamma < 1.0 {
        0.5
    } else {
        0.25
    }
}

/// One row of the table (also saved as `sweep-row.json` in the run's folder).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub gamma: f64,
    pub alpha: f64,
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub minutes: f64,
}

/// The markdown table of a sweep.
pub fn table(rows: &[Row], note: &str) -> String {
    let mut s =
        String::from("| γ | α | AP | AP50 | AP75 | wall min |\n|---|---|---|---|---|---|\n");
    for r in rows {
        s += &format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.1} |\n",
            r.gamma, r.alpha, r.ap, r.ap50, r.ap75, r.minutes
        );
    }
    s += &format!("\n{note}\n");
    s
}

/// Trains and evaluates every γ, rewriting `table.md` in the sweep folder after each run.
/// Run again with the same `--name` to continue a stopped sweep: finished runs (those with a
/// `sweep-row.json`) are kept, a stopped run resumes from its last checkpoint (its wall time
/// then counts from the resume).
pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("sweep-{}", utc_stamp()));
    let folder = args.runs.join("detect-focal").join(&name);
    let mut rows = Vec::new();
    for &gamma in &args.gammas {
        let alpha = args.alpha.unwrap_or_else(|| paper_alpha(gamma));
        let mut set = args.set.clone();
        set.push(format!("loss.gamma={gamma}"));
        set.push(format!("loss.alpha={alpha}"));
        let dir = folder.join(format!("gamma-{gamma}"));
        let row_file = dir.join("sweep-row.json");
        if let Ok(text) = std::fs::read_to_string(&row_file) {
            let row: Row = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", row_file.display()))?;
            println!(
                "γ = {gamma}: finished before, kept ({})",
                row_file.display()
            );
            rows.push(row);
            continue;
        }
        let resume = dir.join("config.yaml").is_file();
        let targs = TrainArgs {
            config: Some(args.config.clone()),
            set: if resume { Vec::new() } else { set },
            resume: resume.then(|| dir.clone()),
            device: args.device,
            name: Some(format!("{name}/gamma-{gamma}")),
            runs: args.runs.clone(),
            stop_after: None,
        };
        let t0 = Instant::now();
        let (outcome, s, mut task) = kit::cli::train::<crate::app::DetectFocal>(&targs)?;
        if matches!(outcome, Outcome::Interrupted { .. }) {
            println!(
                "sweep stopped; rows so far are in {}",
                folder.join("table.md").display()
            );
            break;
        }
        let minutes = t0.elapsed().as_secs_f64() / 60.0;
        Checkpoint::read(&s.run.best())?.load_model(&mut task.vs)?;
        let r = task.validate(None, 0)?;
        let row = Row {
            gamma,
            alpha,
            ap: r.ap,
            ap50: r.ap50,
            ap75: r.ap75,
            minutes,
        };
        let text = serde_json::to_string_pretty(&row)?;
        kit::rundir::write_atomic(&row_file, text.as_bytes())?;
        rows.push(row);
        let c = &s.config;
        let note = format!(
            "Best checkpoint of each run on {} validation images; config {} with {}; {} epochs × {} images, batch {}, device {:?}.",
            r.images,
            args.config.display(),
            if args.set.is_empty() { "no overrides".to_string() } else { args.set.join(" ") },
            c.train.epochs,
            c.data.train_size,
            c.train.batch_size,
            s.device
        );
        let text = table(&rows, &note);
        kit::rundir::write_atomic(&folder.join("table.md"), text.as_bytes())?;
        println!("{text}");
    }
    println!("table: {}", folder.join("table.md").display());
    Ok(())
}
