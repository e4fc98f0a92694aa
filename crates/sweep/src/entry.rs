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
    main_with_args::<A>(std::env::args_os())
}

/// [`main`] on the given command line (its first item is the program name): one app of a
/// binary that holds several (the device build's `zoo`).
pub fn main_with_args<A: App>(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> std::process::ExitCode {
    kit::cli::run_with_args::<A, Tool>(args, |Tool::Sweep(cli)| {
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

/// The numbers of an app's `eval` report by name: top-level numbers under their own name,
/// nested ones under their dotted path (`euclidean_unnormalised.auc`) and also under their
/// own name when no other number of the report has it.
fn numbers(report: &serde_json::Value) -> anyhow::Result<BTreeMap<String, f64>> {
    anyhow::ensure!(
        report.is_object(),
        "the app's eval report is not a JSON object: {report}"
    );
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String, f64)>) {
        for (k, x) in v.as_object().into_iter().flatten() {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match x {
                serde_json::Value::Object(_) => walk(x, &p, out),
                _ => {
                    if let Some(f) = x.as_f64() {
                        out.push((p, k.clone(), f));
                    }
                }
            }
        }
    }
    let mut all = Vec::new();
    walk(report, "", &mut all);
    let mut out = BTreeMap::new();
    for (path, leaf, v) in &all {
        out.insert(path.clone(), *v);
        if all.iter().filter(|(_, l, _)| l == leaf).count() == 1 {
            out.insert(leaf.clone(), *v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_by_name_and_path_ambiguous_leaves_only_by_path() {
        let r = serde_json::json!({
            "auc": 0.5,
            "euclidean": {"auc": 0.9, "eer": 0.1, "deep": {"tar": 0.7}},
            "name": "x",
            "per_class": [1.0, 2.0]
        });
        let n = super::numbers(&r).unwrap();
        let got: Vec<(&str, f64)> = n.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            got,
            [
                ("auc", 0.5),
                ("eer", 0.1),
                ("euclidean.auc", 0.9),
                ("euclidean.deep.tar", 0.7),
                ("euclidean.eer", 0.1),
                ("tar", 0.7)
            ]
        );
        assert!(super::numbers(&serde_json::json!(3.0)).is_err());
    }
}
