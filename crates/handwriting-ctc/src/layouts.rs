//! Handwriting data on disk: the app's own `labels.tsv` split folders ([`read_folder`]), and as
//! it is downloaded:
//! - **IAM lines**: `ascii/lines.txt` (`#` comments; `a01-000u-00 ok 154 19 408 746 1661 89
//!   A|MOVE|to|stop` — id, segmentation, grey level, components, box, words joined by `|`) and
//!   `lines/a01/a01-000u/a01-000u-00.png`. Splits from the Large Writer Independent Text Line
//!   task's files (`trainset.txt`, `validationset1.txt`, `testset.txt`, in the folder or its
//!   `largeWriterIndependentTextLineRecognitionTask/`) when present, else by the content of the
//!   form id ([`kit::data::content_part`]: every line of a form in one part).
//! - **CSV**: a header naming an image column (`image`, `file`, `file_name`, `filename`,
//!   `path`) and a transcript column (`transcript`, `text`, `label`), paths relative to the
//!   file (the layout of TrOCR-style fine-tuning sets).

use crate::config::Ink;
use crate::data::{encode, Source};
use kit::data::{content_part, DataError, Part};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Line images with their encoded transcripts.
pub type Items = Vec<(PathBuf, Vec<i64>)>;

/// IAM's `lines.txt`: in `ascii/` or the folder itself.
fn lines_txt(root: &Path) -> Option<PathBuf> {
    [root.join("ascii/lines.txt"), root.join("lines.txt")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Whether `root` is IAM's lines database (`lines.txt` and a `lines/` image folder).
pub fn is_iam(root: &Path) -> bool {
    lines_txt(root).is_some() && root.join("lines").is_dir()
}

/// The official split files' line ids per part, when the folder has them.
fn split_files(root: &Path) -> Option<HashMap<String, Part>> {
    let dir = [
        root.join("largeWriterIndependentTextLineRecognitionTask"),
        root.to_path_buf(),
    ]
    .into_iter()
    .find(|d| d.join("trainset.txt").is_file())?;
    let mut parts = HashMap::new();
    for (file, part) in [
        ("trainset.txt", Part::Train),
        ("validationset1.txt", Part::Val),
        ("testset.txt", Part::Test),
    ] {
        for id in std::fs::read_to_string(dir.join(file)).ok()?.lines() {
            parts.insert(id.trim().to_string(), part);
        }
    }
    Some(parts)
}

/// The lines of IAM in `part`: every data line of `lines.txt` checked (its image must exist),
/// transcripts with `|` read as spaces.
pub fn iam(root: &Path, part: Part, alphabet: &[char]) -> Result<Items, DataError> {
    let path = lines_txt(root).ok_or_else(|| DataError::Invalid {
        path: root.to_path_buf(),
        message: "no ascii/lines.txt (IAM's lines database)".into(),
    })?;
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    let splits = split_files(root);
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 9 {
            return Err(DataError::Other(format!(
                "{at}: expected `id ok|err grey components x y w h word|word…` (IAM's lines.txt)"
            )));
        }
        let id = f[0];
        let dash: Vec<&str> = id.split('-').collect();
        if dash.len() != 3 {
            return Err(DataError::Other(format!(
                "{at}: line id `{id}` is not `a01-000u-00`"
            )));
        }
        let form = format!("{}-{}", dash[0], dash[1]);
        let its = match &splits {
            // Lines in none of the task's sets are not used, as the task defines.
            Some(s) => match s.get(id) {
                Some(p) => *p,
                None => continue,
            },
            None => content_part(form.as_bytes()),
        };
        if its != part {
            continue;
        }
        let image = root
            .join("lines")
            .join(dash[0])
            .join(&form)
            .join(format!("{id}.png"));
        if !image.is_file() {
            return Err(DataError::Other(format!(
                "{at}: image {} not found",
                image.display()
            )));
        }
        let transcript = f[8..].join(" ").replace('|', " ");
        items.push((image, encode(&transcript, alphabet, &at)?));
    }
    Ok(items)
}

/// The CSV of a split folder: `labels.csv`, or its one `*.csv`.
pub fn csv_file(dir: &Path) -> Option<PathBuf> {
    let named = dir.join("labels.csv");
    if named.is_file() {
        return Some(named);
    }
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
        .collect();
    (found.len() == 1).then(|| found[0].clone())
}

/// Reads a CSV of image paths and transcripts (quoted fields, commas in transcripts).
pub fn read_csv(path: &Path, alphabet: &[char]) -> Result<Items, DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let bad = |m: String| DataError::Other(format!("{}: {m}", path.display()));
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let header = r.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let (img, txt) = match (
        col(&["image", "file", "file_name", "filename", "path"]),
        col(&["transcript", "text", "label"]),
    ) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            return Err(bad(format!(
                "header {:?}: name an image column (image, file, file_name, filename, path) and a \
                 transcript column (transcript, text, label)",
                header.iter().collect::<Vec<_>>()
            )))
        }
    };
    let mut items = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let at = format!("{}:{}", path.display(), k + 2);
        let rec = rec.map_err(|e| DataError::Other(format!("{at}: {e}")))?;
        let (Some(file), Some(text)) = (rec.get(img), rec.get(txt)) else {
            return Err(DataError::Other(format!("{at}: too few fields")));
        };
        let image = dir.join(file);
        if !image.is_file() {
            return Err(DataError::Other(format!(
                "{at}: image {} not found",
                image.display()
            )));
        }
        items.push((image, encode(text, alphabet, &at)?));
    }
    Ok(items)
}

/// Items read from a layout of [`crate::layouts`] as a folder source.
pub(crate) fn folder_source(items: Items, at: &Path) -> Result<Source, DataError> {
    if items.is_empty() {
        return Err(DataError::Invalid {
            path: at.to_path_buf(),
            message: "no samples in this part".into(),
        });
    }
    Ok(Source::Folder {
        items,
        ink: Ink::Auto,
    })
}

/// Reads `dir/labels.tsv`, or a CSV of image paths and transcripts ([`crate::layouts`]);
/// errors name the file and line.
pub fn read_folder(dir: &Path, alphabet: &[char]) -> Result<Source, DataError> {
    let tsv = dir.join("labels.tsv");
    if !tsv.is_file() {
        if let Some(csv) = csv_file(dir) {
            return folder_source(read_csv(&csv, alphabet)?, &csv);
        }
        return Err(DataError::Invalid {
            path: dir.to_path_buf(),
            message: "no labels.tsv (`path<TAB>transcript`) or CSV (`image,transcript`) here; \
                      handwriting-ctc also reads IAM as downloaded (ascii/lines.txt + lines/) \
                      at the dataset's top"
                .into(),
        });
    }
    let text = std::fs::read_to_string(&tsv).map_err(|source| DataError::Io {
        path: tsv.clone(),
        source,
    })?;
    let mut items = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("{}:{}", tsv.display(), i + 1);
        let (path, transcript) = line
            .split_once('\t')
            .ok_or_else(|| DataError::Other(format!("{at}: expected `path<TAB>transcript`")))?;
        let path = dir.join(path);
        if !path.is_file() {
            return Err(DataError::Other(format!(
                "{at}: image {} not found",
                path.display()
            )));
        }
        items.push((path, encode(transcript, alphabet, &at)?));
    }
    if items.is_empty() {
        return Err(DataError::Invalid {
            path: tsv,
            message: "no samples".into(),
        });
    }
    Ok(Source::Folder {
        items,
        ink: Ink::Auto,
    })
}
