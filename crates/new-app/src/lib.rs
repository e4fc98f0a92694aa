//! Writes a new app crate from `templates/`: the house layout (main, app, config, data, synth,
//! model, train, eval, predict, configs default / quick / smoke, a test, a README) around one
//! synthetic problem per loss (`templates/problems/<loss>.rs` becomes `src/problem.rs`), and
//! adds it to the workspace's `members`, the one place that lists the apps.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// The losses a new app can start from, with the problem each one trains on.
pub const LOSSES: [(&str, &str); 7] = [
    (
        "focal",
        "rare positives among Gaussian samples (sigmoid focal loss; ROC AUC)",
    ),
    ("dice", "bumps of a 1-D signal to mark (soft Dice; Dice)"),
    ("ctc", "digit strings read from unaligned frames (CTC; CER)"),
    (
        "arcface",
        "20 classes told apart by angle (ArcFace margin; accuracy)",
    ),
    (
        "chamfer",
        "a circle drawn as an unordered set of points (Chamfer; Chamfer ×100)",
    ),
    (
        "kl",
        "a 2-D latent space of 8-D data (−ELBO with the Gaussian KL; −ELBO)",
    ),
    (
        "bt",
        "a reward learned from preferences (Bradley–Terry; pair accuracy)",
    ),
];

const PROBLEMS: [(&str, &str); 7] = [
    ("focal", include_str!("../templates/problems/focal.rs")),
    ("dice", include_str!("../templates/problems/dice.rs")),
    ("ctc", include_str!("../templates/problems/ctc.rs")),
    ("arcface", include_str!("../templates/problems/arcface.rs")),
    ("chamfer", include_str!("../templates/problems/chamfer.rs")),
    ("kl", include_str!("../templates/problems/kl.rs")),
    ("bt", include_str!("../templates/problems/bt.rs")),
];

/// The template's files: (path inside the new crate, or under configs/<name>/ for `configs/`).
const FILES: [(&str, &str); 18] = [
    ("Cargo.toml", include_str!("../templates/app/Cargo.toml")),
    ("build.rs", include_str!("../templates/app/build.rs")),
    ("README.md", include_str!("../templates/app/README.md")),
    ("src/main.rs", include_str!("../templates/app/src/main.rs")),
    ("src/lib.rs", include_str!("../templates/app/src/lib.rs")),
    ("src/app.rs", include_str!("../templates/app/src/app.rs")),
    (
        "src/config.rs",
        include_str!("../templates/app/src/config.rs"),
    ),
    ("src/data.rs", include_str!("../templates/app/src/data.rs")),
    (
        "src/synth.rs",
        include_str!("../templates/app/src/synth.rs"),
    ),
    (
        "src/model.rs",
        include_str!("../templates/app/src/model.rs"),
    ),
    (
        "src/train.rs",
        include_str!("../templates/app/src/train.rs"),
    ),
    ("src/eval.rs", include_str!("../templates/app/src/eval.rs")),
    (
        "src/predict.rs",
        include_str!("../templates/app/src/predict.rs"),
    ),
    (
        "tests/app.rs",
        include_str!("../templates/app/tests/app.rs"),
    ),
    (
        "configs/default.yaml",
        include_str!("../templates/app/configs/default.yaml"),
    ),
    (
        "configs/quick.yaml",
        include_str!("../templates/app/configs/quick.yaml"),
    ),
    (
        "configs/smoke.yaml",
        include_str!("../templates/app/configs/smoke.yaml"),
    ),
    ("src/problem.rs", ""),
];

/// `my-app` -> `MyApp`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Checks an app name: lower-case letters, digits and single dashes, starting with a letter.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !ok {
        bail!("app name {name:?}: use lower-case letters, digits and single dashes, starting with a letter (e.g. my-focal-app)");
    }
    Ok(())
}

/// Writes app `name` with loss `loss` into the workspace at `root` and adds it to `members`;
/// returns the files written. Nothing is written when the name is taken or the loss unknown.
pub fn generate(root: &Path, name: &str, loss: &str) -> anyhow::Result<Vec<PathBuf>> {
    check_name(name)?;
    let problem = PROBLEMS
        .iter()
        .find(|(l, _)| *l == loss)
        .map(|(_, p)| *p)
        .with_context(|| {
            let known: Vec<&str> = LOSSES.iter().map(|l| l.0).collect();
            format!("unknown loss {loss:?}: use one of {}", known.join(", "))
        })?;
    let (crate_dir, config_dir) = (
        root.join("crates").join(name),
        root.join("configs").join(name),
    );
    for d in [&crate_dir, &config_dir] {
        if d.exists() {
            bail!("{} exists already: choose another name", d.display());
        }
    }
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "cannot read {} (run from the workspace root)",
            manifest.display()
        )
    })?;
    let members = add_member(&text, name)
        .with_context(|| format!("{}: no `members = [...]` list", manifest.display()))?;
    let fill = |s: &str| {
        s.replace("__NAME__", name)
            .replace("__CRATE__", &name.replace('-', "_"))
            .replace("__TYPE__", &camel(name))
            .replace("__LOSS__", loss)
    };
    let mut written = Vec::new();
    for (path, body) in FILES {
        let (dest, body) = match path.strip_prefix("configs/") {
            Some(file) => (config_dir.join(file), fill(body)),
            None if path == "src/problem.rs" => (crate_dir.join(path), problem.to_string()),
            None => (crate_dir.join(path), fill(body)),
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&dest, body).with_context(|| format!("cannot write {}", dest.display()))?;
        written.push(dest);
    }
    std::fs::write(&manifest, members)
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    Ok(written)
}

/// The manifest with `"crates/<name>"` appended to its `members` list.
fn add_member(manifest: &str, name: &str) -> Option<String> {
    let start = manifest.find("members = [")?;
    let end = start + manifest[start..].find("\n]")?;
    Some(format!(
        "{}\n    \"crates/{name}\",{}",
        manifest[..end].trim_end(),
        &manifest[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_members_and_camel_case() {
        assert_eq!(camel("my-focal-app"), "MyFocalApp");
        assert!(check_name("my-app2").is_ok());
        for bad in ["My", "2app", "a--b", "a-", "a_b", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let m = "[workspace]\nmembers = [\n    \"crates/kit\", \"crates/a\",\n]\n\n[x]\n";
        assert_eq!(
            add_member(m, "b").unwrap(),
            "[workspace]\nmembers = [\n    \"crates/kit\", \"crates/a\",\n    \"crates/b\",\n]\n\n[x]\n"
        );
        assert!(add_member("[workspace]\n", "b").is_none());
    }
}
