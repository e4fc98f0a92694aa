//! Datasets: the seeded generator, or a folder of CSV files (`train.csv`, `val.csv`,
//! `test.csv`: per line `problem::INPUT` inputs then `problem::TARGET` targets).

use crate::config::Config;
use crate::problem::{self, INPUT, TARGET};
use kit::data::{DataError, Dataset, Either};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// One sample: inputs and targets, as `problem::sample` makes them.
pub type Sample = (Vec<f32>, Vec<f32>);

/// Samples `problem::sample(seed, i)`, `i < len`.
pub struct Synthetic {
    pub seed: u64,
    pub len: usize,
}

impl Dataset for Synthetic {
    type Item = Sample;
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Sample, DataError> {
        Ok(problem::sample(self.seed, index as u64))
    }
}

/// A CSV file of samples, read whole when opened; a bad line names the file and line.
pub struct Csv {
    pub path: PathBuf,
    rows: Vec<Sample>,
}

impl Csv {
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let width = (INPUT + TARGET) as usize;
        let mut rows = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |message: String| DataError::Invalid {
                path: path.to_path_buf(),
                message: format!("line {}: {message}", i + 1),
            };
            let v: Vec<f32> = line
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse::<f32>()
                        .map_err(|e| bad(format!("{s:?}: {e}")))
                })
                .collect::<Result<_, _>>()?;
            if v.len() != width {
                return Err(bad(format!(
                    "{} numbers, expected {INPUT} inputs + {TARGET} targets = {width}",
                    v.len()
                )));
            }
            rows.push((v[..INPUT as usize].to_vec(), v[INPUT as usize..].to_vec()));
        }
        if rows.is_empty() {
            return Err(DataError::Invalid {
                path: path.to_path_buf(),
                message: "holds no sample".into(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            rows,
        })
    }
}

impl Dataset for Csv {
    type Item = Sample;
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn get(&self, index: usize, _epoch: u64) -> Result<Sample, DataError> {
        self.rows
            .get(index)
            .cloned()
            .ok_or_else(|| DataError::Other(format!("sample {index} of {}", self.rows.len())))
    }
}

pub type Source = Either<Synthetic, Csv>;

/// The training and validation samples.
pub fn sources(cfg: &Config) -> Result<(Source, Source), DataError> {
    let (d, seed) = (&cfg.data, cfg.train.seed);
    Ok(match d.folder() {
        None => (
            Either::Builtin(Synthetic {
                seed,
                len: d.train_size,
            }),
            Either::Builtin(Synthetic {
                seed: kit::data::val_seed(seed),
                len: d.val_size,
            }),
        ),
        Some(root) => (
            Either::Folder(Csv::open(&root.join("train.csv"))?),
            Either::Folder(Csv::open(&root.join("val.csv"))?),
        ),
    })
}

/// The test samples, read by `eval` only.
pub fn test_source(cfg: &Config) -> Result<Source, DataError> {
    let d = &cfg.data;
    Ok(match d.folder() {
        None => Either::Builtin(Synthetic {
            seed: kit::data::test_seed(cfg.train.seed),
            len: d.test_size,
        }),
        Some(root) => Either::Folder(Csv::open(&root.join("test.csv"))?),
    })
}

/// Stacks samples into (N, INPUT) inputs and (N, TARGET) targets.
pub fn collate(items: Vec<Sample>) -> Result<(Tensor, Tensor), DataError> {
    let n = items.len() as i64;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (a, b) in items {
        x.extend(a);
        y.extend(b);
    }
    Ok((
        Tensor::from_slice(&x).view([n, INPUT]),
        Tensor::from_slice(&y).view([n, TARGET]),
    ))
}
