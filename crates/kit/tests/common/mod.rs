//! Helpers the kit's integration tests share: the spiral example app run as a real binary.
#![allow(dead_code)]

use kit::config;
use kit::spiral::SpiralConfig;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn smoke() -> PathBuf {
    repo().join("configs/spiral/smoke.yaml")
}

pub fn cfg(overrides: &[&str]) -> SpiralConfig {
    let mut o: Vec<String> = vec!["train.device=cpu".into()];
    o.extend(overrides.iter().map(|s| s.to_string()));
    config::load(&smoke(), &o).unwrap()
}

/// Runs the spiral binary with `args` (and `--runs runs_root` for `train`).
pub fn spiral(runs_root: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(kit::testing::example_bin("kit", "spiral"));
    c.args(args).env("RUST_BACKTRACE", "1");
    if args.first() == Some(&"train") {
        c.arg("--runs").arg(runs_root);
    }
    c.output().unwrap()
}

pub fn train_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["train".into(), "--config".into()];
    v.push(smoke().to_string_lossy().to_string());
    for s in [
        "--name",
        name,
        "--set",
        "train.device=cpu",
        "--set",
        "train.epochs=1",
    ] {
        v.push(s.into());
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

pub fn run_spiral(runs_root: &Path, args: &[String]) -> Output {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    spiral(runs_root, &a)
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
