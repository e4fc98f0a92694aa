//! Every app's `main`: kit's shared command line with the `sweep` subcommand added, wired to
//! the app's own `train` and config validation.

use crate::{command, Hooks, SweepCli};
use kit::app::{App, Purpose};
use kit::args::TrainArgs;
use std::collections::BTreeMap;
use std::path::Path;

/// The subcommand this crate adds to an app's command line.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Tool {
    /// Train a grid of configs × seeds (here, in parallel, or as a Slurm job array) into one
    /// table; `sweep collect DIR` rewrites the table.
    Sweep(SweepCli),
}

/// The whole `main` of an app: kit's shared command line (`train`, `eval`, `predict`, `synth`,
/// `info`, the app's own subcommands) plus `sweep`.
pub fn main<A: App>() -> std::process::ExitCode {
    kit::cli::run_with::<A, Tool>(|Tool::Sweep(cli)| {
        let train = |a: &TrainArgs| kit::app::train_app::<A>(a).map(|(o, _, _)| o);
        let check = |path: &Path, set: &[String]| -> anyhow::Result<(u64, bool)> {
            let c: A::Config = kit::app::resolve(path, set, None)?;
            let t = kit::app::AppConfig::train(&c);
            Ok((t.seed, matches!(t.device, kit::device::DeviceSpec::Cuda(_))))
        };
        let test = |run: &Path| -> anyhow::Result<BTreeMap<String, f64>> {
            let args = kit::args::RunArgs {
                run: run.to_path_buf(),
                checkpoint: "best".into(),
                device: None,
                set: Vec::new(),
            };
            let purpose = Purpose::Eval {
                data: None,
                split: kit::args::Split::Test,
            };
            let mut opened = kit::app::open::<A>(&args, purpose)?;
            numbers(&A::eval(&mut opened)?)
        };
        command(
            A::NAME,
            cli,
            &Hooks {
                test: &test,
                train: &train,
                check: &check,
            },
        )
    })
}

/// The numbers of an app's `eval` report (its top-level numeric fields), by name.
fn numbers(report: &serde_json::Value) -> anyhow::Result<BTreeMap<String, f64>> {
    let obj = report
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("the app's eval report is not a JSON object: {report}"))?;
    Ok(obj
        .iter()
        .filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
        .collect())
}
