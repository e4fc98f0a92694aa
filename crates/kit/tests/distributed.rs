//! Data parallel on c10d (Gloo, CPU), two ranks on this machine, through the kit's example app:
//! two ranks with batch B end with the parameters of one process with batch 2B over the same
//! examples; a stopped and resumed two-rank run ends bit-identical to an uninterrupted one; a
//! rank killed with SIGKILL ends the other with a message naming it and leaves no partial file;
//! launch mistakes are one sentence each; with batch norm and noise, the same holds through
//! synchronised batch statistics and noise drawn for the global batch.

use kit::testing::ranks::{self, clean, free_port, last_weights, run_one, run_ranks, spawn_rank};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use tch::Tensor;

fn repo() -> PathBuf {
    kit::testing::repo_root()
}

fn spiral() -> PathBuf {
    kit::testing::example_bin("kit", "spiral")
}

fn args(runs: &Path, name: &str, extra: &[&str]) -> Vec<String> {
    let config = repo().join("configs/spiral/smoke.yaml");
    ranks::train_args(&config, runs, name, extra)
}

fn rank(rank: usize, world: usize, port: u16, args: &[String]) -> Child {
    spawn_rank(&spiral(), rank, world, port, args)
}

fn two_ranks(args: &[String]) {
    run_ranks(&spiral(), 2, args);
}

fn one_process(args: &[String]) {
    run_one(&spiral(), args);
}

fn weights(run: &Path) -> BTreeMap<String, Tensor> {
    last_weights(run)
}

fn max_difference(a: &BTreeMap<String, Tensor>, b: &BTreeMap<String, Tensor>) -> f64 {
    ranks::max_difference(a, b).0
}

#[test]
fn two_ranks_of_batch_b_equal_one_process_of_batch_2b() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    // 3 × 384 = 1,152 points = 18 global batches of 64: the spiral loader keeps a last partial
    // batch, which a distributed run leaves out, so the set divides evenly here.
    let n = "data.points_per_class=384";
    let e = "train.epochs=4"; // K = 72 steps
    one_process(&args(
        &runs,
        "one",
        &["--set", "train.batch_size=64", "--set", n, "--set", e],
    ));
    two_ranks(&args(
        &runs,
        "two",
        &["--set", "train.batch_size=32", "--set", n, "--set", e],
    ));
    let (one, two) = (
        weights(&runs.join("spiral/one")),
        weights(&runs.join("spiral/two")),
    );
    assert!(one.len() >= 4, "{:?}", one.keys());
    let d = max_difference(&one, &two);
    eprintln!("two ranks vs one process: largest parameter difference {d:e}");
    assert!(d < 1e-5, "largest parameter difference {d}");
    // Rank 1 wrote nothing beside rank 0's run folder.
    let names: Vec<_> = std::fs::read_dir(runs.join("spiral"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let config = std::fs::read_to_string(runs.join("spiral/two/config.yaml")).unwrap();
    assert!(
        config.contains("# data parallel: 2 ranks × train.batch_size 32 = global batch 64"),
        "{config}"
    );
    // A different global batch does not give the same weights (the check can fail).
    one_process(&args(
        &runs,
        "one-b32",
        &["--set", "train.batch_size=32", "--set", n, "--set", e],
    ));
    assert!(max_difference(&one, &weights(&runs.join("spiral/one-b32"))) > 1e-3);
}

/// With batch norm and a noise layer: synchronised batch statistics and noise drawn for the
/// global batch make two ranks of batch B train like one process of batch 2B; each rank's own
/// statistics (`train.sync_batch_norm: false`, plain DDP) do not.
#[test]
fn batch_norm_and_noise_two_ranks_equal_one_process_with_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let common = [
        "--set",
        "data.points_per_class=384",
        "--set",
        "train.epochs=2",
        "--set",
        "model.batch_norm=true",
        "--set",
        "model.noise=0.1",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        common.iter().chain(extra).copied().collect()
    };
    one_process(&args(
        &runs,
        "one",
        &with(&["--set", "train.batch_size=64"]),
    ));
    two_ranks(&args(
        &runs,
        "two",
        &with(&["--set", "train.batch_size=32"]),
    ));
    two_ranks(&args(
        &runs,
        "unsynced",
        &with(&[
            "--set",
            "train.batch_size=32",
            "--set",
            "train.sync_batch_norm=false",
        ]),
    ));
    let one = weights(&runs.join("spiral/one"));
    assert!(
        one.keys().any(|k| k.contains("running_var")),
        "{:?}",
        one.keys()
    );
    let synced = max_difference(&one, &weights(&runs.join("spiral/two")));
    let unsynced = max_difference(&one, &weights(&runs.join("spiral/unsynced")));
    eprintln!("batch norm + noise, 36 steps: synchronised {synced:e}, per-rank {unsynced:e}");
    assert!(synced < 1e-5, "synchronised: largest difference {synced}");
    assert!(
        unsynced > 1e-3,
        "per-rank statistics: largest difference {unsynced}"
    );
}

#[test]
fn a_stopped_and_resumed_two_rank_run_ends_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    two_ranks(&args(&runs, "whole", &["--set", "train.batch_size=32"]));
    two_ranks(&args(
        &runs,
        "parts",
        &["--set", "train.batch_size=32", "--stop-after", "40"],
    ));
    let run = runs.join("spiral/parts");
    let resume: Vec<String> = ["train", "--resume", &run.to_string_lossy()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    two_ranks(&resume);
    let d = max_difference(&weights(&runs.join("spiral/whole")), &weights(&run));
    assert_eq!(d, 0.0, "resumed run differs by {d}");
}

#[test]
fn a_killed_rank_ends_the_other_naming_it_and_nothing_is_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let a = args(
        &runs,
        "killed",
        &[
            "--set",
            "train.epochs=100000",
            "--set",
            "train.dist_timeout_s=30",
        ],
    );
    let port = free_port();
    let r0 = rank(0, 2, port, &a);
    let mut r1 = rank(1, 2, port, &a);
    // Let both train a little (rank 0's first checkpoint is written after an epoch).
    let ck = runs.join("spiral/killed/checkpoints/last.safetensors");
    let start = Instant::now();
    while !ck.is_file() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ck.is_file(), "no checkpoint after 60 s");
    r1.kill().unwrap(); // SIGKILL
    r1.wait().unwrap();
    let killed_at = Instant::now();
    let out = r0.wait_with_output().unwrap();
    let waited = killed_at.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "rank 0 went on: {err}");
    assert!(
        waited < Duration::from_secs(30),
        "rank 0 took {waited:?} to stop"
    );
    assert!(err.contains("lost rank 1 (pid"), "{err}");
    let partial: Vec<String> = walk(&runs.join("spiral/killed"))
        .into_iter()
        .filter(|p| p.contains(".tmp-"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
    assert!(Tensor::read_safetensors(&ck).is_ok());
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().to_string());
        }
    }
    out
}

#[test]
fn a_rank_that_fails_tells_rank_0_why() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let port = free_port();
    let r0 = rank(0, 2, port, &args(&runs, "told", &[]));
    // Rank 1 alone asks for a batch larger than the data: it fails after joining the group.
    let r1 = rank(
        1,
        2,
        port,
        &args(&runs, "told", &["--set", "train.batch_size=5000"]),
    );
    let out1 = r1.wait_with_output().unwrap();
    assert!(!out1.status.success());
    let out0 = r0.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out0.stderr);
    assert!(!out0.status.success(), "rank 0 went on: {err}");
    assert!(
        err.contains("lost rank 1") && err.contains("rank 1 stopped with:") && err.contains("5000"),
        "{err}"
    );
}

#[test]
fn launch_mistakes_are_one_clear_sentence_before_any_write() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let a = args(&runs, "bad", &[]);
    // No MASTER_ADDR.
    let out = clean(&spiral())
        .args(&a)
        .env("WORLD_SIZE", "2")
        .env("RANK", "0")
        .env_remove("MASTER_ADDR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("needs MASTER_ADDR"),
        "{err}"
    );
    // The port is taken by another program: rank 0 cannot start the rendezvous there.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = rank(0, 2, port, &a).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&format!("127.0.0.1:{port}")) && err.contains("port"),
        "{err}"
    );
    assert!(!runs.exists(), "a run folder was written");
}
