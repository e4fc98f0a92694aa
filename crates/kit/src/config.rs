//! YAML configs into typed structs.
//!
//! Every app's config is a `#[serde(deny_unknown_fields)]` struct. [`load`] reads a YAML file,
//! applies `--set a.b.c=value` overrides and deserialises it; an unknown key or a wrong type
//! comes back as a [`ConfigError`] that names the file, the line and column, and the key path.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_norway::Value;
use std::path::{Path, PathBuf};

/// What can go wrong while reading a config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("--set {assignment}: {message}")]
    Override { assignment: String, message: String },
    #[error("cannot write config: {0}")]
    Write(String),
}

/// A hyper-parameter outside its valid range, found by a config's `validate()` before anything
/// is written: `loss.gamma must be ≥ 0, got -1`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{key}` {message}")]
pub struct InvalidValue {
    /// Dotted key path, e.g. `loss.gamma`.
    pub key: String,
    /// What is wrong, e.g. `must be ≥ 0, got -1`.
    pub message: String,
}

/// `Err(InvalidValue { key, message })` unless `ok`; the message is only built on failure.
pub fn ensure(ok: bool, key: &str, message: impl FnOnce() -> String) -> Result<(), InvalidValue> {
    if ok {
        Ok(())
    } else {
        Err(InvalidValue {
            key: key.to_string(),
            message: message(),
        })
    }
}

/// Reads `path` as YAML into `T`, then applies `overrides` (`a.b.c=value`, value parsed as YAML).
///
/// A file may start from another: `base: default.yaml` (relative to the file) plus only the
/// keys that differ; sections merge key by key, any other value replaces the base's. Errors
/// still name the file (overlay or base) and line of the offending key.
pub fn load<T: DeserializeOwned>(path: &Path, overrides: &[String]) -> Result<T, ConfigError> {
    let text = read(path)?;
    let tree = syntax(path, serde_norway::from_str::<Value>(&text))?;
    if base_of(&tree).is_none() {
        return parse(&text, path, overrides);
    }
    let mut chain = Vec::new();
    let merged = resolve(path, tree, &mut chain)?;
    let typed: Result<T, _> = serde_path_to_error::deserialize(merged.clone());
    if let Err(e) = typed {
        return Err(locate_in_chain(&chain, e));
    }
    with_overrides(merged, overrides)
}

/// Applies `--set` overrides to a tree and deserialises it; errors name the assignments.
fn with_overrides<T: DeserializeOwned>(
    mut tree: Value,
    overrides: &[String],
) -> Result<T, ConfigError> {
    for assignment in overrides {
        apply_override(&mut tree, assignment)?;
    }
    serde_path_to_error::deserialize(tree).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Override {
            assignment: overrides.join(" --set "),
            message: format!("key `{key}`: {}", e.into_inner()),
        }
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn syntax<V>(path: &Path, r: Result<V, serde_norway::Error>) -> Result<V, ConfigError> {
    r.map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn base_of(tree: &Value) -> Option<&Value> {
    tree.as_mapping().and_then(|m| m.get("base"))
}

/// The tree of `path` with its `base:` chain merged in; `chain` collects (file, text), overlay
/// first, for error locations.
fn resolve(
    path: &Path,
    mut tree: Value,
    chain: &mut Vec<(PathBuf, String)>,
) -> Result<Value, ConfigError> {
    chain.push((path.to_path_buf(), read(path)?));
    let Some(base) = base_of(&tree).cloned() else {
        return Ok(tree);
    };
    let err = |message: String| ConfigError::Syntax {
        path: path.to_path_buf(),
        message,
    };
    let name = base
        .as_str()
        .ok_or_else(|| err("`base` must be a file name, e.g. base: default.yaml".into()))?;
    let base_path = path.parent().unwrap_or(Path::new(".")).join(name);
    if chain.iter().any(|(p, _)| p == &base_path) || chain.len() > 8 {
        return Err(err(format!("`base: {name}` makes a cycle")));
    }
    if !base_path.is_file() {
        let text = chain.last().map(|c| c.1.as_str()).unwrap_or("");
        let (line, column) = key_line(text, &["base"]).unwrap_or((1, 1));
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            key: "base".into(),
            message: format!(
                "there is no {}: `base:` is relative to this config's own folder (copied the \
                 file elsewhere? copy its base too, or write the path to it from here)",
                base_path.display()
            ),
        });
    }
    let base_text = read(&base_path)?;
    let base_tree = syntax(&base_path, serde_norway::from_str::<Value>(&base_text))?;
    let mut merged = resolve(&base_path, base_tree, chain)?;
    if let Some(m) = tree.as_mapping_mut() {
        m.remove("base");
    }
    merge(&mut merged, tree);
    Ok(merged)
}

/// Deep merge: mappings key by key, anything else replaced by the overlay's value.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Names the file and line of the key a typed error points at: the first file of the chain
/// (overlay first) that sets it, else the overlay itself.
fn locate_in_chain(
    chain: &[(PathBuf, String)],
    e: serde_path_to_error::Error<serde_norway::Error>,
) -> ConfigError {
    let key = e.path().to_string();
    let message = strip_location(&e.into_inner().to_string());
    let parts: Vec<&str> = key.split('.').filter(|p| !p.is_empty()).collect();
    for n in (1..=parts.len()).rev() {
        for (path, text) in chain {
            if let Some((line, column)) = key_line(text, &parts[..n]) {
                return ConfigError::Invalid {
                    path: path.clone(),
                    line,
                    column,
                    key,
                    message,
                };
            }
        }
    }
    ConfigError::Syntax {
        path: chain.first().map(|c| c.0.clone()).unwrap_or_default(),
        message: format!("key `{key}`: {message}"),
    }
}

/// 1-based line and column of `a:` → `b:` → … in block-style YAML text.
fn key_line(text: &str, parts: &[&str]) -> Option<(usize, usize)> {
    let mut depth = 0; // parts matched so far
    let mut indents: Vec<usize> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        while indents.last().is_some_and(|&d| indent <= d) {
            indents.pop();
            depth -= 1;
        }
        let Some((k, _)) = body.split_once(':') else {
            continue;
        };
        if depth < parts.len() && k.trim().trim_matches(['"', '\'']) == parts[depth] {
            if depth + 1 == parts.len() {
                return Some((i + 1, indent + 1));
            }
            indents.push(indent);
            depth += 1;
        }
    }
    None
}

/// Same as [`load`] on text already read; `path` is only used in messages.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    overrides: &[String],
) -> Result<T, ConfigError> {
    // First pass straight from the text, so that errors carry line and column.
    let de = serde_norway::Deserializer::from_str(text);
    let typed: T = serde_path_to_error::deserialize(de).map_err(|e| located(path, e))?;
    if overrides.is_empty() {
        return Ok(typed);
    }
    let tree: Value = syntax(path, serde_norway::from_str(text))?;
    with_overrides(tree, overrides)
}

fn located(path: &Path, e: serde_path_to_error::Error<serde_norway::Error>) -> ConfigError {
    let key = e.path().to_string();
    let inner = e.into_inner();
    match inner.location() {
        Some(loc) => ConfigError::Invalid {
            path: path.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
            key,
            // serde_norway appends " at line L column C"; the prefix already says it.
            message: strip_location(&inner.to_string()),
        },
        None => ConfigError::Syntax {
            path: path.to_path_buf(),
            message: format!("key `{key}`: {inner}"),
        },
    }
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Sets `a.b.c` in a YAML tree to `value` (parsed as a YAML scalar or flow collection).
/// Sections on the way must exist; a misspelt leaf is caught by the typed deserialisation
/// (`deny_unknown_fields`), like one in the file.
pub fn apply_override(tree: &mut Value, assignment: &str) -> Result<(), ConfigError> {
    let err = |message: String| ConfigError::Override {
        assignment: assignment.to_string(),
        message,
    };
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| err("expected KEY=VALUE, e.g. train.lr=0.001".into()))?;
    let value: Value =
        serde_norway::from_str(raw).map_err(|e| err(format!("value is not YAML: {e}")))?;
    let mut node = tree;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let map = node
            .as_mapping_mut()
            .ok_or_else(|| err(format!("`{}` is not a section", parts[..i].join("."))))?;
        let k = Value::String((*part).to_string());
        if !map.contains_key(&k) && i + 1 == parts.len() {
            // A leaf the file leaves at its default: typed deserialisation checks the name.
            map.insert(k, value);
            return Ok(());
        }
        if !map.contains_key(&k) {
            let known: Vec<String> = map
                .keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect();
            return Err(err(format!(
                "unknown key `{}` (known here: {})",
                parts[..=i].join("."),
                known.join(", ")
            )));
        }
        node = map
            .get_mut(&k)
            .ok_or_else(|| err(format!("unknown key `{key}`")))?;
    }
    *node = value;
    Ok(())
}

/// Serialises a resolved config back to YAML (what gets written into the run directory).
pub fn to_yaml<T: Serialize>(config: &T) -> Result<String, ConfigError> {
    serde_norway::to_string(config).map_err(|e| ConfigError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        lr: f64,
        steps: u32,
    }
    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        name: String,
        train: Inner,
    }

    const TEXT: &str = "name: x\ntrain:\n  lr: 0.1\n  steps: 3\n";

    #[test]
    fn parses_and_overrides() {
        let c: Cfg = parse(TEXT, Path::new("a.yaml"), &["train.lr=0.5".into()]).unwrap();
        assert_eq!(c.train.lr, 0.5);
        assert_eq!(c.train.steps, 3);
        let again: Cfg = parse(&to_yaml(&c).unwrap(), Path::new("b"), &[]).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let bad = "name: x\ntrain:\n  lr: 0.1\n  stepz: 3\n";
        let e = parse::<Cfg>(bad, Path::new("configs/a.yaml"), &[]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("configs/a.yaml:4:"), "{msg}");
        assert!(msg.contains("stepz"), "{msg}");
    }

    #[test]
    fn wrong_type_names_key() {
        let bad = "name: x\ntrain:\n  lr: fast\n  steps: 3\n";
        let msg = parse::<Cfg>(bad, Path::new("a.yaml"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("a.yaml:3:") && msg.contains("train.lr"),
            "{msg}"
        );
    }

    #[test]
    fn overlay_merges_and_names_the_overlay_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.yaml"), TEXT).unwrap();
        let overlay = dir.path().join("o.yaml");
        std::fs::write(&overlay, "base: base.yaml\ntrain:\n  lr: 0.5\n").unwrap();
        let c: Cfg = load(&overlay, &[]).unwrap();
        assert_eq!((c.name.as_str(), c.train.lr, c.train.steps), ("x", 0.5, 3));
        let c: Cfg = load(&overlay, &["train.steps=4".into()]).unwrap();
        assert_eq!(c.train.steps, 4);
        std::fs::write(&overlay, "base: base.yaml\n# note\ntrain:\n  lrr: 0.5\n").unwrap();
        let msg = load::<Cfg>(&overlay, &[]).unwrap_err().to_string();
        assert!(msg.contains("o.yaml:4:3") && msg.contains("lrr"), "{msg}");
        // A wrong type inherited from the base names the base file.
        std::fs::write(
            dir.path().join("base.yaml"),
            TEXT.replace("steps: 3", "steps: many"),
        )
        .unwrap();
        std::fs::write(&overlay, "base: base.yaml\ntrain:\n  lr: 0.5\n").unwrap();
        let msg = load::<Cfg>(&overlay, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("base.yaml:4:") && msg.contains("train.steps"),
            "{msg}"
        );
        std::fs::write(&overlay, "base: o.yaml\n").unwrap();
        let msg = load::<Cfg>(&overlay, &[]).unwrap_err().to_string();
        assert!(msg.contains("cycle"), "{msg}");
        // A base that does not resolve names the overlay, its line, and the rule.
        std::fs::write(&overlay, "# copied\nbase: default.yaml\n").unwrap();
        let msg = load::<Cfg>(&overlay, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("o.yaml:2:1")
                && msg.contains("default.yaml")
                && msg.contains("relative to this config's own folder"),
            "{msg}"
        );
    }

    #[test]
    fn override_is_type_checked_and_key_checked() {
        let msg = parse::<Cfg>(TEXT, Path::new("a"), &["train.steps=many".into()])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("train.steps"), "{msg}");
        let msg = parse::<Cfg>(TEXT, Path::new("a"), &["train.lrr=1".into()])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("lrr"), "{msg}");
        let msg = parse::<Cfg>(TEXT, Path::new("a"), &["trian.lr=1".into()])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown key `trian`"), "{msg}");
    }
}
