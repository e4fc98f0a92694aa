//! `new-app` end to end: an app generated into a scratch workspace (a copy of this one's
//! manifest and lock file, its shared crates by path) builds, and its smoke config trains.
//! The seven templates' problems are each built and tested as `try-<loss>` in CI by the
//! `every_template_builds` run below when `NEW_APP_ALL=1` (minutes); one is by default.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A workspace at `dir` with this one's dependencies (shared crates by absolute path),
/// profiles and lock file, and no members yet.
fn scratch_workspace(dir: &Path) {
    let repo = repo();
    let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    let start = manifest.find("members = [").unwrap();
    let end = start + manifest[start..].find("\n]").unwrap();
    let manifest = format!(
        "{}members = [\n{}",
        &manifest[..start],
        &manifest[end + 1..]
    )
    .replace(
        "path = \"crates/",
        &format!("path = \"{}/crates/", repo.display()),
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    // The same libtorch and link flags as this workspace (.cargo/config.toml), so the shared
    // crates' builds are reused and the binary finds libtorch from target/debug.
    let config = std::fs::read_to_string(repo.join(".cargo/config.toml"))
        .unwrap()
        .replace(
            "LIBTORCH = { value = \".venv/libtorch\", relative = true }",
            &format!("LIBTORCH = \"{}/.venv/libtorch\"", repo.display()),
        );
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(dir.join(".cargo/config.toml"), config).unwrap();
}

fn cargo(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        // The repository's build folder: the shared crates are built there already.
        .env("CARGO_TARGET_DIR", repo().join("target"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn generate_build_and_train(loss: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path();
    scratch_workspace(ws);
    let name = format!("scaffold-{loss}");
    let files = new_app::generate(ws, &name, loss).unwrap();
    assert!(files.len() >= 17, "{files:?}");
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("\"crates/{name}\",")),
        "{manifest}"
    );
    // The name is taken now: nothing is overwritten.
    let again = new_app::generate(ws, &name, loss).unwrap_err().to_string();
    assert!(again.contains("exists already"), "{again}");
    let (ok, text) = cargo(ws, &["build", "--offline", "-p", &name]);
    assert!(ok, "{text}");
    let bin = repo().join("target/debug").join(&name);
    let smoke = ws.join(format!("configs/{name}/smoke.yaml"));
    let out = Command::new(&bin)
        .args(["train", "--config"])
        .arg(&smoke)
        .arg("--runs")
        .arg(ws.join("runs"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("finished at step"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_generated_app_builds_and_its_smoke_config_trains() {
    generate_build_and_train("bt");
}

#[test]
fn every_template_builds_and_trains_on_demand() {
    if std::env::var("NEW_APP_ALL").is_err() {
        println!("set NEW_APP_ALL=1 to build and train all seven templates (minutes)");
        return;
    }
    for (loss, _) in new_app::LOSSES {
        generate_build_and_train(loss);
    }
}

#[test]
fn unknown_losses_and_bad_names_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    scratch_workspace(tmp.path());
    let before = std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap();
    let e = new_app::generate(tmp.path(), "my-app", "mse")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown loss") && e.contains("focal"), "{e}");
    let e = new_app::generate(tmp.path(), "My_App", "focal")
        .unwrap_err()
        .to_string();
    assert!(e.contains("lower-case"), "{e}");
    assert!(!tmp.path().join("crates").exists());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap(),
        before
    );
}
