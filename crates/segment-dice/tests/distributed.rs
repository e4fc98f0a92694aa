//! Data parallel with batch norm and a batch Dice: 2 ranks of batch 8 train to the parameters
//! of one process of batch 16 (synchronised batch statistics and Dice sums); each rank's own
//! statistics (`train.sync_batch_norm: false`, plain DDP) do not. SGD, so that the comparison is
//! of gradients: Adam's first steps turn rounding-level differences of near-zero gradients into
//! ±lr steps (tools/dist-equivalence.sh measures that floor with AdamW).

use kit::testing::ranks::{max_difference, model_weights, run_one, run_ranks, train_args};
use std::path::Path;

fn args(runs: &Path, name: &str, extra: &[&str]) -> Vec<String> {
    let config = kit::testing::repo_root().join("configs/segment-dice/smoke.yaml");
    let sgd = ["--set", "train.optimizer=sgd", "--set", "train.max_steps=8"];
    let all: Vec<&str> = sgd.iter().chain(extra).copied().collect();
    train_args(&config, runs, name, &all)
}

#[test]
fn two_ranks_train_like_one_process_with_the_doubled_batch() {
    let bin = Path::new(env!("CARGO_BIN_EXE_segment-dice"));
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path();
    run_one(bin, &args(runs, "one", &["--set", "train.batch_size=16"]));
    run_ranks(bin, 2, &args(runs, "two", &["--set", "train.batch_size=8"]));
    let per_rank = [
        "--set",
        "train.batch_size=8",
        "--set",
        "train.sync_batch_norm=false",
    ];
    run_ranks(bin, 2, &args(runs, "unsynced", &per_rank));
    let one = model_weights(&runs.join("segment-dice/one"));
    let (synced, at) = max_difference(&one, &model_weights(&runs.join("segment-dice/two")));
    let (unsynced, _) = max_difference(&one, &model_weights(&runs.join("segment-dice/unsynced")));
    eprintln!("8 SGD steps: synchronised {synced:e} (at {at}), per-rank statistics {unsynced:e}");
    assert!(synced < 1e-5, "synchronised: {synced} at {at}");
    assert!(unsynced > 1e-4, "per-rank statistics: {unsynced}");
}
