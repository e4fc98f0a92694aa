//! Starting an app's ranks the way torchrun does, for data-parallel tests, and comparing the
//! checkpoints they end with.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tch::Tensor;

/// The variables a launcher may have left in the test's own environment.
pub const LAUNCH_VARS: [&str; 8] = [
    "WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "SLURM_NTASKS",
    "SLURM_PROCID",
];

/// `bin` as one process: no launch variables inherited.
pub fn clean(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    for v in LAUNCH_VARS {
        c.env_remove(v);
    }
    c
}

/// `train --config CONFIG --runs RUNS --name NAME --set train.device=cpu EXTRA…`.
pub fn train_args(config: &Path, runs: &Path, name: &str, extra: &[&str]) -> Vec<String> {
    let fixed = [
        "train",
        "--config",
        &config.to_string_lossy(),
        "--runs",
        &runs.to_string_lossy(),
        "--name",
        name,
        "--set",
        "train.device=cpu",
    ]
    .map(|s| s.to_string());
    fixed
        .into_iter()
        .chain(extra.iter().map(|s| s.to_string()))
        .collect()
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(29500)
}

/// Rank `rank` of `world` of `bin ARGS` as torchrun would start it (output piped).
pub fn spawn_rank(bin: &Path, rank: usize, world: usize, port: u16, args: &[String]) -> Child {
    clean(bin)
        .args(args)
        .env("MASTER_ADDR", "127.0.0.1")
        .env("MASTER_PORT", port.to_string())
        .env("WORLD_SIZE", world.to_string())
        .env("RANK", rank.to_string())
        .env("LOCAL_RANK", rank.to_string())
        .env("LOCAL_WORLD_SIZE", world.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
}

/// Runs `world` ranks of `bin ARGS` to the end; panics with their output when one fails.
pub fn run_ranks(bin: &Path, world: usize, args: &[String]) {
    let port = free_port();
    let children: Vec<Child> = (0..world)
        .map(|r| spawn_rank(bin, r, world, port, args))
        .collect();
    for (r, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().expect("waiting for a rank");
        assert!(
            out.status.success(),
            "rank {r}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `bin ARGS` as one process; panics with its output when it fails.
pub fn run_one(bin: &Path, args: &[String]) {
    let out = clean(bin).args(args).output().expect("running one process");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every variable of `run`'s last checkpoint, by name.
pub fn last_weights(run: &Path) -> BTreeMap<String, Tensor> {
    Tensor::read_safetensors(run.join("checkpoints/last.safetensors"))
        .unwrap_or_else(|e| panic!("reading {}'s last checkpoint: {e}", run.display()))
        .into_iter()
        .collect()
}

/// The model's variables of `run`'s last checkpoint (not the optimiser's or the loop's state).
pub fn model_weights(run: &Path) -> BTreeMap<String, Tensor> {
    let mut w = last_weights(run);
    w.retain(|k, _| !k.starts_with("optim/") && !k.starts_with("train_state/"));
    w
}

/// The largest element-wise difference over the float variables the two share by name (the
/// names must be the same), and the variable where it is.
pub fn max_difference(a: &BTreeMap<String, Tensor>, b: &BTreeMap<String, Tensor>) -> (f64, String) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    a.iter()
        .filter(|(_, t)| matches!(t.kind(), tch::Kind::Float | tch::Kind::Double))
        .map(|(k, t)| ((t - &b[k]).abs().max().double_value(&[]), k.clone()))
        .fold((0.0, String::new()), |m, d| if d.0 > m.0 { d } else { m })
}
