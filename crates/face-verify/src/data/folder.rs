//! The real format: `train/<identity>/*`, `val_pairs.txt` (validation) and `pairs.txt` (test),
//! or LFW's download ([`super::lfw`]), read into a [`Split`] of the part asked for.

use super::lfw::{is_lfw, read_lfw_pairs};
use super::{FaceRef, Split};
use kit::data::{rng_for, DataError, Part};
use std::path::{Path, PathBuf};

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Images of one identity folder, sorted by name.
type PersonFolder = (PathBuf, Vec<PathBuf>);

/// The identity folders of `train_dir`, sorted, each with its sorted images.
fn identity_folders(train_dir: &Path) -> Result<Vec<PersonFolder>, DataError> {
    let train_dir = train_dir.to_path_buf();
    if !train_dir.is_dir() {
        return Err(DataError::Invalid {
            path: train_dir,
            message: "not a folder. face-verify reads `train/<identity>/*.jpg` with `pairs.txt` \
                      (`path_a path_b 0|1`; `val_pairs.txt` optional), or LFW as downloaded \
                      (person folders, in the folder or its lfw/, lfw-deepfunneled/, with \
                      LFW's pairs.txt, header `10 300`)"
                .into(),
        });
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let mut ids: Vec<PathBuf> = std::fs::read_dir(&train_dir)
        .map_err(io(&train_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    ids.sort();
    ids.into_iter()
        .map(|dir| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(io(&dir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_image(p))
                .collect();
            files.sort();
            Ok((dir, files))
        })
        .collect()
}

/// Moves a seeded 10% (at least two) of the identities with two or more images out of `ids`:
/// the validation people of a folder without `val_pairs.txt`.
fn hold_out_people(ids: &mut Vec<PersonFolder>, seed: u64) -> Vec<PersonFolder> {
    use rand::seq::SliceRandom;
    let mut eligible: Vec<usize> = (0..ids.len()).filter(|&i| ids[i].1.len() >= 2).collect();
    eligible.shuffle(&mut rng_for(seed, 0xFACE, 0));
    let mut take: Vec<usize> = eligible.into_iter().take((ids.len() / 10).max(2)).collect();
    take.sort_unstable();
    take.into_iter().rev().map(|i| ids.remove(i)).collect()
}

/// Verification pairs among held-out people: each one's consecutive images as same-person
/// pairs, and as many different-person pairs across them.
fn people_pairs(people: &[PersonFolder]) -> Vec<(FaceRef, FaceRef, bool)> {
    let file = |p: &PathBuf| FaceRef::File(p.clone());
    let mut pairs: Vec<_> = people
        .iter()
        .flat_map(|(_, f)| f.windows(2).map(|w| (file(&w[0]), file(&w[1]), true)))
        .collect();
    let (m, genuine) = (people.len(), pairs.len());
    for k in 0..genuine {
        let (a, b) = (k % m, (k + 1 + (k / m) % (m - 1).max(1)) % m);
        let (fa, fb) = (&people[a].1, &people[b].1);
        pairs.push((
            file(&fa[k % fa.len()]),
            file(&fb[(k + 1) % fb.len()]),
            false,
        ));
    }
    pairs
}

/// Reads `root/train/<identity>/*` and the verification pairs of `part`: `pairs.txt` for test,
/// `val_pairs.txt` for validation (or, without it, pairs among a seeded 10% of the identities,
/// taken out of training; `seed` picks them, so every run of a config picks the same).
/// Closed-set accuracy holds out each identity's last image for test (three or more images)
/// and its second-last for validation (four or more); neither is trained on.
pub fn folder_split(root: &Path, seed: u64, part: Part) -> Result<Split, DataError> {
    let lfw = is_lfw(root).then(|| read_lfw_pairs(root)).transpose()?;
    let (train_dir, mut ids) = match &lfw {
        // LFW: the people who occur in no pair.
        Some(l) => {
            let named = |d: &PathBuf| d.file_name().and_then(|n| n.to_str()).map(str::to_string);
            let ids = identity_folders(&l.images)?
                .into_iter()
                .filter(|(d, _)| named(d).is_some_and(|n| !l.people.contains(&n)))
                .collect();
            (l.images.clone(), ids)
        }
        None => (root.join("train"), identity_folders(&root.join("train"))?),
    };
    let val_file = root.join("val_pairs.txt");
    let val_people = if lfw.is_none() && val_file.is_file() {
        Vec::new()
    } else {
        hold_out_people(&mut ids, seed)
    };
    if ids.len() < 2 {
        return Err(DataError::Invalid {
            path: train_dir,
            message: format!(
                "{} identity folders with images left for training: a classifier needs at least \
                 two (without val_pairs.txt, a seeded 10% of the identities, at least two, are \
                 held out for validation)",
                ids.len()
            ),
        });
    }
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for (label, (_, mut files)) in ids.into_iter().enumerate() {
        let n = files.len();
        let test = (n >= 3).then(|| files.pop()).flatten();
        let val = (n >= 4).then(|| files.pop()).flatten();
        let held = if part == Part::Test { test } else { val };
        held_out.extend(held.map(|f| (FaceRef::File(f), label as i64)));
        train.extend(files.into_iter().map(|f| (FaceRef::File(f), label as i64)));
    }
    if train.is_empty() {
        return Err(DataError::Invalid {
            path: train_dir,
            message: "no identity folders with images".into(),
        });
    }
    let classes = train.iter().map(|t| t.1).max().unwrap_or(0) + 1;
    let (pairs, folds) = match (part, lfw) {
        (Part::Test | Part::Train, Some(l)) => (l.pairs, l.folds),
        (Part::Test | Part::Train, None) => (read_pairs_file(&root.join("pairs.txt"), root)?, 10),
        (Part::Val, _) if val_people.is_empty() => (read_pairs_file(&val_file, root)?, 10),
        (Part::Val, _) => (people_pairs(&val_people), 10),
    };
    Ok(Split {
        part,
        train,
        held_out,
        pairs,
        classes,
        folds,
    })
}

/// Reads and checks `root/pairs.txt`, the test pairs ([`read_pairs_file`]).
pub fn read_pairs(root: &Path) -> Result<Vec<(FaceRef, FaceRef, bool)>, DataError> {
    read_pairs_file(&root.join("pairs.txt"), root)
}

/// Reads and checks a pairs file (`path_a path_b 0|1`, paths relative to `root`): every image
/// exists, and there are both same-person and different-person pairs.
pub fn read_pairs_file(
    pairs_path: &Path,
    root: &Path,
) -> Result<Vec<(FaceRef, FaceRef, bool)>, DataError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let pairs_path = pairs_path.to_path_buf();
    let text = std::fs::read_to_string(&pairs_path).map_err(io(&pairs_path))?;
    let mut pairs = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = |m: String| DataError::Other(format!("{}:{}: {m}", pairs_path.display(), i + 1));
        if f.len() != 3 || !(f[2] == "0" || f[2] == "1") {
            return Err(bad("expected `path_a path_b 0|1`".into()));
        }
        let (a, b) = (root.join(f[0]), root.join(f[1]));
        for p in [&a, &b] {
            if !p.is_file() {
                return Err(bad(format!("image {} not found", p.display())));
            }
        }
        pairs.push((FaceRef::File(a), FaceRef::File(b), f[2] == "1"));
    }
    let genuine = pairs.iter().filter(|p| p.2).count();
    if genuine == 0 || genuine == pairs.len() {
        return Err(DataError::Invalid {
            path: pairs_path,
            message: format!(
                "{} pairs, {genuine} of them same-person: verification needs both same-person \
                 (1) and different-person (0) pairs",
                pairs.len()
            ),
        });
    }
    Ok(pairs)
}

/// The evaluation split of `eval --data DIR`: the verification pairs of `DIR/pairs.txt` only
/// (no training folder; closed-set accuracy needs the training identities and is skipped).
pub fn eval_split(root: &Path, classes: i64) -> Result<Split, DataError> {
    let (pairs, folds) = if is_lfw(root) {
        let l = read_lfw_pairs(root)?;
        (l.pairs, l.folds)
    } else {
        (read_pairs(root)?, 10)
    };
    Ok(Split {
        part: Part::Test,
        train: Vec::new(),
        held_out: Vec::new(),
        pairs,
        classes,
        folds,
    })
}
