//! How a folder becomes splits: a pool by a seeded, stratified k-fold (identical pictures in
//! one fold, validation carved from each fold's training part), or a folder's own
//! `train/ val/ test/` with training copies of held-out pictures dropped.

use crate::data::{read_classes, Picture, Splits, CLASSES};
use kit::data::{DataError, Part};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Groups of identical pictures (by pixels) in first-seen order; a group whose pictures carry
/// both labels is an error.
fn groups(pool: &[Picture]) -> Result<Vec<Vec<usize>>, DataError> {
    let mut at: HashMap<&[u8], usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, p) in pool.iter().enumerate() {
        let g = *at.entry(p.pixels.as_raw()).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        if let Some(&first) = out[g].first() {
            if pool[first].face != p.face {
                return Err(DataError::Invalid {
                    path: PathBuf::from(&p.name),
                    message: format!(
                        "the same pixels as {} under the other class",
                        pool[first].name
                    ),
                });
            }
        }
        out[g].push(i);
    }
    Ok(out)
}

/// Stratified k-fold: each class's groups of identical pictures shuffled by `seed` and dealt
/// to folds in turn; fold `fold` is test, and the first `val_share` of each class's remaining
/// groups (in the same shuffled order) is validation.
pub fn kfold(
    pool: Vec<Picture>,
    folds: usize,
    fold: usize,
    seed: u64,
    val_share: f64,
) -> Result<Splits, DataError> {
    let gs = groups(&pool)?;
    let mut part = vec![Part::Train; pool.len()];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for (_, label) in CLASSES {
        let mut class: Vec<&Vec<usize>> = gs.iter().filter(|g| pool[g[0]].face == label).collect();
        if class.len() < folds {
            return Err(DataError::Other(format!(
                "{} distinct {} pictures cannot fill {folds} folds",
                class.len(),
                if label { "face" } else { "not_face" }
            )));
        }
        class.shuffle(&mut rng);
        let rest: Vec<&Vec<usize>> = class
            .iter()
            .enumerate()
            .filter(|(k, _)| k % folds != fold)
            .map(|(_, g)| *g)
            .collect();
        let n_val = ((rest.len() as f64 * val_share).round() as usize).max(1);
        for (k, g) in class.iter().enumerate() {
            let p = if k % folds == fold {
                Part::Test
            } else if rest[..n_val].contains(g) {
                Part::Val
            } else {
                Part::Train
            };
            g.iter().for_each(|&i| part[i] = p);
        }
    }
    let mut s = Splits {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
        about: format!(
            "fold {fold} of a stratified {folds}-fold split of {} pictures (split seed {seed}; \
             validation: {val_share} of the other folds)",
            pool.len()
        ),
    };
    for (p, pic) in part.into_iter().zip(pool) {
        match p {
            Part::Train => s.train.push(pic),
            Part::Val => s.val.push(pic),
            Part::Test => s.test.push(pic),
        }
    }
    Ok(s)
}

/// A folder's own `train/ val/ test/`; a training (or validation) picture identical to a
/// held-out one is dropped, and counted in `about`.
pub fn fixed_splits(root: &Path) -> anyhow::Result<Splits> {
    let read = |s: &str| read_classes(&root.join(s)).map_err(anyhow::Error::from);
    let (mut train, mut val, test) = (read("train")?, read("val")?, read("test")?);
    let held: std::collections::HashSet<Vec<u8>> =
        test.iter().map(|p| p.pixels.as_raw().clone()).collect();
    let before = (train.len(), val.len());
    val.retain(|p| !held.contains(p.pixels.as_raw()));
    let held: std::collections::HashSet<Vec<u8>> = held
        .into_iter()
        .chain(val.iter().map(|p| p.pixels.as_raw().clone()))
        .collect();
    train.retain(|p| !held.contains(p.pixels.as_raw()));
    let about = format!(
        "{}'s train/ val/ test/ ({} training and {} validation pictures dropped: identical to \
         a held-out one)",
        root.display(),
        before.0 - train.len(),
        before.1 - val.len()
    );
    Ok(Splits {
        train,
        val,
        test,
        about,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SIDE;
    use image::GrayImage;

    fn pic(seed: u64, face: bool) -> Picture {
        let pixels = GrayImage::from_fn(SIDE, SIDE, |x, y| {
            image::Luma([((seed * 31 + x as u64 * 7 + y as u64 * 13) % 251) as u8])
        });
        Picture {
            pixels,
            face,
            name: format!("{seed}"),
        }
    }

    /// 30 faces and 20 non-faces, three of them twice.
    fn pool() -> Vec<Picture> {
        let mut p: Vec<Picture> = (0..50).map(|i| pic(i, i < 30)).collect();
        p.extend([pic(3, true), pic(40, false), pic(41, false)]);
        p
    }

    #[test]
    fn folds_partition_the_pool_stratified_with_copies_together() {
        let raw = |v: &[Picture]| -> Vec<Vec<u8>> {
            v.iter().map(|p| p.pixels.as_raw().clone()).collect()
        };
        let mut tested = Vec::new();
        for fold in 0..5 {
            let s = kfold(pool(), 5, fold, 9, 0.125).unwrap();
            assert_eq!(s.train.len() + s.val.len() + s.test.len(), 53);
            kit::testing::assert_disjoint_by_content(
                "face-or-not",
                &raw(&s.train),
                &raw(&s.val),
                &raw(&s.test),
            );
            let faces = s.test.iter().filter(|p| p.face).count();
            assert!(
                (6..=7).contains(&faces),
                "fold {fold}: {faces} faces in test"
            );
            assert!(
                !s.val.is_empty() && s.val.iter().any(|p| p.face) && s.val.iter().any(|p| !p.face)
            );
            tested.extend(raw(&s.test));
        }
        tested.sort();
        tested.dedup();
        assert_eq!(
            tested.len(),
            50,
            "every distinct picture is tested by exactly one fold"
        );
    }

    #[test]
    fn the_same_pixels_under_both_classes_is_refused() {
        let mut p = pool();
        p.push(pic(5, false));
        let e = kfold(p, 5, 0, 0, 0.125).err().unwrap().to_string();
        assert!(e.contains("other class"), "{e}");
    }
}
