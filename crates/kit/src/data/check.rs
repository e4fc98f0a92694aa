//! `<app> data check DIR`: what a dataset folder holds before anything trains on it — counts
//! per split and class, every file that cannot be read or decoded, the picture sizes and
//! modes, and exact duplicates across splits by content (SHA-256 of the file's bytes, or of a
//! JSONL line: a test picture saved twice, a prompt in train and test).
//!
//! Splits are the folder's `train/`, `val/` (`valid/`, `validation/`), `test/` subfolders (and
//! COCO's `train2017/`-style names) or its `train.jsonl`, `val.jsonl`, `test.jsonl` files; a
//! folder without them is one split, `all`. A class is the first folder level under a split
//! (ImageFolder), `-` for files directly in it.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What [`check`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Items per split and class (files; lines of a `.jsonl` split).
    pub counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Files that could not be read or decoded, with why.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Pictures by (width, height, colour mode).
    pub image_sizes: BTreeMap<(u32, u32, String), usize>,
    /// Contents found in more than one split: where each copy is (`file` or `file:line`).
    pub duplicates: Vec<Vec<(String, String)>>,
    /// Files of kinds this check does not decode (counted, hashed, not opened).
    pub other_files: usize,
}

impl Report {
    /// Unreadable files plus cross-split duplicates: what `data check` fails on.
    pub fn problems(&self) -> usize {
        self.unreadable.len() + self.duplicates.len()
    }
}

/// The split a folder or file name stands for.
fn split_name(name: &str) -> Option<&'static str> {
    let stem = name
        .strip_suffix(".jsonl")
        .unwrap_or(name)
        .to_ascii_lowercase();
    let stem = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    match stem {
        "train" | "training" => Some("train"),
        "val" | "valid" | "validation" | "dev" => Some("val"),
        "test" | "testing" => Some("test"),
        _ => None,
    }
}

/// Every file under `dir`, sorted (hidden files and folders skipped).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Where each hashed item is: split, place.
type Seen = BTreeMap<[u8; 32], Vec<(String, String)>>;

/// Checks the dataset folder `dir`.
pub fn check(dir: &Path) -> Result<Report, super::DataError> {
    if !dir.is_dir() {
        return Err(super::DataError::Invalid {
            path: dir.to_path_buf(),
            message: "not a folder".into(),
        });
    }
    let mut splits: Vec<(String, PathBuf)> = Vec::new();
    let mut rd: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| super::DataError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    rd.sort();
    for p in rd {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let is_split = p.is_dir() || name.ends_with(".jsonl");
        if let (true, Some(s)) = (is_split, split_name(name)) {
            splits.push((s.to_string(), p.clone()));
        }
    }
    if splits.is_empty() {
        splits.push(("all".into(), dir.to_path_buf()));
    }
    let mut report = Report::default();
    let mut seen = Seen::new();
    for (split, path) in &splits {
        if path.is_file() {
            check_jsonl(split, path, &mut report, &mut seen);
            continue;
        }
        let mut files = Vec::new();
        files_under(path, &mut files);
        for f in files {
            check_file(split, path, &f, &mut report, &mut seen);
        }
    }
    report.duplicates = seen
        .into_values()
        .filter(|places| {
            let first = &places[0].0;
            places.iter().any(|(s, _)| s != first)
        })
        .collect();
    Ok(report)
}

fn check_jsonl(split: &str, path: &Path, report: &mut Report, seen: &mut Seen) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return report.unreadable.push((path.to_path_buf(), e.to_string())),
    };
    let counts = report.counts.entry(split.to_string()).or_default();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        *counts.entry("-".into()).or_default() += 1;
        if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
            report
                .unreadable
                .push((path.to_path_buf(), format!("line {}: {e}", i + 1)));
        }
        let at = format!("{}:{}", path.display(), i + 1);
        seen.entry(Sha256::digest(line.trim().as_bytes()).into())
            .or_default()
            .push((split.to_string(), at));
    }
}

fn check_file(split: &str, root: &Path, f: &Path, report: &mut Report, seen: &mut Seen) {
    let class = f
        .strip_prefix(root)
        .ok()
        .and_then(|r| {
            let mut c = r.components();
            let first = c.next()?;
            c.next()
                .map(|_| first.as_os_str().to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "-".into());
    *report
        .counts
        .entry(split.to_string())
        .or_default()
        .entry(class)
        .or_default() += 1;
    let bytes = match std::fs::read(f) {
        Ok(b) => b,
        Err(e) => return report.unreadable.push((f.to_path_buf(), e.to_string())),
    };
    let ext = f
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "bmp" | "gif" | "tif" | "tiff" | "webp" => {
            match image::load_from_memory(&bytes) {
                Ok(img) => {
                    let mode = format!("{:?}", img.color());
                    *report
                        .image_sizes
                        .entry((img.width(), img.height(), mode))
                        .or_default() += 1;
                }
                Err(e) => report.unreadable.push((f.to_path_buf(), e.to_string())),
            }
        }
        "json" => {
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                report.unreadable.push((f.to_path_buf(), e.to_string()));
            }
        }
        _ => report.other_files += 1,
    }
    seen.entry(Sha256::digest(&bytes).into())
        .or_default()
        .push((split.to_string(), f.display().to_string()));
}

/// The report as the console shows it.
pub fn render(dir: &Path, r: &Report) -> String {
    let mut s = format!(
        "{}\n\n| split | class | items |\n|---|---|---|\n",
        dir.display()
    );
    for (split, classes) in &r.counts {
        let total: usize = classes.values().sum();
        if classes.len() > 12 {
            s += &format!("| {split} | {} classes | {total} |\n", classes.len());
        } else {
            for (c, n) in classes {
                s += &format!("| {split} | {c} | {n} |\n");
            }
        }
    }
    if !r.image_sizes.is_empty() {
        s += "\n| picture size | mode | pictures |\n|---|---|---|\n";
        for ((w, h, m), n) in &r.image_sizes {
            s += &format!("| {w}×{h} | {m} | {n} |\n");
        }
    }
    if r.other_files > 0 {
        s += &format!(
            "\n{} files of other kinds counted and hashed, not decoded\n",
            r.other_files
        );
    }
    s += &format!("\n{} unreadable or corrupt\n", r.unreadable.len());
    for (p, why) in &r.unreadable {
        s += &format!("  {}: {why}\n", p.display());
    }
    s += &format!(
        "{} contents in more than one split (exact duplicates)\n",
        r.duplicates.len()
    );
    for d in &r.duplicates {
        let places: Vec<String> = d.iter().map(|(sp, at)| format!("{sp}: {at}")).collect();
        s += &format!("  {}\n", places.join("  =  "));
    }
    s
}

/// Folders with more files than this are not scanned at every `train` (say so instead).
const TRAIN_SCAN_LIMIT: usize = 20_000;

/// What `train` says about a dataset folder before it trains: validation or test items that
/// are exact copies of training items (the first five, and how many), or that the folder was
/// too large to scan here. Never fails: the run goes on.
pub fn warn_leaks(dir: &Path, app: &str) {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    if files.len() > TRAIN_SCAN_LIMIT {
        println!(
            "{}: {} files, not scanned for duplicates at train (more than {TRAIN_SCAN_LIMIT}): \
             run `{app} data check {}`",
            dir.display(),
            files.len(),
            dir.display()
        );
        return;
    }
    let Ok(r) = check(dir) else { return };
    let leaks: Vec<&Vec<(String, String)>> = r
        .duplicates
        .iter()
        .filter(|d| d.iter().any(|(s, _)| s == "train") && d.iter().any(|(s, _)| s != "train"))
        .collect();
    if leaks.is_empty() {
        return;
    }
    println!(
        "warning: {} validation / test items of {} are exact copies of training items (their \
         numbers are not held out); `{app} data check {}` lists all:",
        leaks.len(),
        dir.display(),
        dir.display()
    );
    for d in leaks.iter().take(5) {
        let places: Vec<String> = d.iter().map(|(sp, at)| format!("{sp}: {at}")).collect();
        println!("  {}", places.join("  =  "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        assert_eq!(split_name("train2017"), Some("train"));
        assert_eq!(split_name("val.jsonl"), Some("val"));
        assert_eq!(split_name("Validation"), Some("val"));
        assert_eq!(split_name("images"), None);
    }
}
