//! Data loading: a dataset trait, seeded per-epoch shuffling, and a loader that prepares
//! batches on worker threads (bounded queues) while the model computes.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

pub mod check;
mod content;
pub use content::{content_part, Part};

/// Bad data: always names the file (or the item) at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decode image {path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Other(String),
}

/// An indexable collection of samples; `get` must be deterministic in (index, epoch) so that
/// random augmentations repeat exactly when a run is resumed.
pub trait Dataset: Send + Sync + 'static {
    type Item: Send + 'static;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn get(&self, index: usize, epoch: u64) -> Result<Self::Item, DataError>;
}

/// A dataset that is either an app's built-in generator or a folder in its field's format,
/// with the same item: the dispatch each app with both would otherwise write.
pub enum Either<B, F> {
    Builtin(B),
    Folder(F),
}

impl<B: Dataset, F: Dataset<Item = B::Item>> Dataset for Either<B, F> {
    type Item = B::Item;
    fn len(&self) -> usize {
        match self {
            Either::Builtin(b) => b.len(),
            Either::Folder(f) => f.len(),
        }
    }
    fn get(&self, index: usize, epoch: u64) -> Result<B::Item, DataError> {
        match self {
            Either::Builtin(b) => b.get(index, epoch),
            Either::Folder(f) => f.get(index, epoch),
        }
    }
}

/// Turns a list of samples into a batch (usually stacked tensors).
pub type Collate<I, B> = Arc<dyn Fn(Vec<I>) -> Result<B, DataError> + Send + Sync>;

/// A reproducible RNG for (seed, stream, index): used for shuffles and augmentations.
pub fn rng_for(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    r.set_stream(index);
    r
}

/// The seed of a synthetic validation stream: disjoint from the training stream of `seed`.
pub fn val_seed(seed: u64) -> u64 {
    seed.wrapping_add(0x00A1_1DA7)
}

/// For a dataset that ships no validation split: moves a seeded 10% (at least one item) of
/// `train` out into validation and returns it; `None` when `train` has fewer than two items
/// (nothing could be left to train on). The caller says on the console that it did; the run's
/// `meta.json` records it ([`held_out_validation_note`]).
pub fn hold_out_validation<T>(train: &mut Vec<T>, seed: u64) -> Option<Vec<T>> {
    use rand::seq::SliceRandom;
    if train.len() < 2 {
        return None;
    }
    let n = train.len();
    let k = (n / 10).max(1);
    train.shuffle(&mut rng_for(seed, 0x0A11_DA7E, 0));
    if let Ok(mut note) = HELD_OUT.lock() {
        *note = Some(format!(
            "no validation split in the data: a seeded 10% of the training items ({k} of {n}, seed {seed}) held out"
        ));
    }
    Some(train.drain(..k).collect())
}

/// What the last [`hold_out_validation`] of this process did, for the run's `meta.json`.
static HELD_OUT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// How validation was made when the data had none (see [`hold_out_validation`]); `None` when
/// the data shipped its own.
pub fn held_out_validation_note() -> Option<String> {
    HELD_OUT.lock().ok().and_then(|n| n.clone())
}

/// The seed of a synthetic test stream: disjoint from the training (`seed`) and validation
/// ([`val_seed`]) streams; only `eval` reads it.
pub fn test_seed(seed: u64) -> u64 {
    seed.wrapping_add(0x7E57_0000)
}

/// `f(0)`, …, `f(n − 1)` in order, computed on all cores: a dataset that is a fixed seeded set
/// renders once, ahead of training, instead of on the loader threads of every epoch.
pub fn render_ahead<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n.max(1));
    let chunk = n.div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                s.spawn(move || (start..(start + chunk).min(n)).map(f).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Batches a dataset: seeded shuffle per epoch, `workers` threads, order preserved.
pub struct Loader<D: Dataset, B> {
    dataset: Arc<D>,
    collate: Collate<D::Item, B>,
    pub batch_size: usize,
    pub shuffle: bool,
    pub drop_last: bool,
    pub seed: u64,
    pub workers: usize,
    /// `(rank, world)`: this rank's share of a distributed run's training order.
    pub shard: Option<(usize, usize)>,
}

impl<D: Dataset, B: Send + 'static> Loader<D, B> {
    pub fn new(dataset: Arc<D>, batch_size: usize, collate: Collate<D::Item, B>) -> Self {
        Self {
            dataset,
            collate,
            batch_size: batch_size.max(1),
            shuffle: false,
            drop_last: false,
            seed: 0,
            workers: 2,
            shard: None,
        }
    }

    /// The training loader of a run: seeded shuffle per epoch, incomplete last batch dropped,
    /// batch size, seed and workers from the `train:` section.
    pub fn training(
        dataset: Arc<D>,
        cfg: &crate::train_config::TrainConfig,
        collate: Collate<D::Item, B>,
    ) -> Self {
        let mut l = Self::new(dataset, cfg.batch_size, collate);
        l.shuffle = true;
        l.drop_last = true;
        l.seed = cfg.seed;
        l.workers = cfg.workers;
        if cfg.distributed == crate::train_config::DistMode::Auto {
            l.shard = crate::distributed::shard();
        }
        l
    }

    /// An evaluation loader: every sample once, in order.
    pub fn evaluation(
        dataset: Arc<D>,
        cfg: &crate::train_config::TrainConfig,
        collate: Collate<D::Item, B>,
    ) -> Self {
        let mut l = Self::new(dataset, cfg.batch_size, collate);
        l.workers = cfg.workers;
        l
    }

    /// The dataset being loaded.
    pub fn dataset(&self) -> &Arc<D> {
        &self.dataset
    }

    /// Number of batches one epoch yields (on this rank, in a distributed run).
    pub fn batches_per_epoch(&self) -> usize {
        let n = match self.shard {
            Some((_, world)) => self.dataset.len() / (world * self.batch_size) * self.batch_size,
            None => self.dataset.len(),
        };
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// Sample order of `epoch`: a seeded permutation (or 0..n without shuffling); in a
    /// distributed run, this rank's shard of it, the same count on every rank, so at each
    /// step the ranks' batches together are the batch of one process with world × the batch
    /// size (the same examples, hence the same averaged gradient).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.dataset.len()).collect();
        if self.shuffle {
            idx.shuffle(&mut rng_for(self.seed, 1, epoch));
        }
        match self.shard {
            Some((rank, world)) => {
                // Rank r takes, within each global batch of world × batch samples, its
                // batch-sized slice; an incomplete global batch is dropped (as drop_last).
                let batch = self.batch_size;
                let global = batch * world;
                (0..(idx.len() / global) * batch)
                    .map(|k| idx[(k / batch) * global + rank * batch + k % batch])
                    .collect()
            }
            None => idx,
        }
    }

    /// Batches of `epoch`, starting at batch `skip` (to resume mid-epoch).
    pub fn epoch(&self, epoch: u64, skip: usize) -> BatchIter<B> {
        let order = Arc::new(self.order(epoch));
        let total = self.batches_per_epoch();
        let workers = self.workers.max(1);
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(2);
            receivers.push(rx);
            let (order, ds, collate, bs) = (
                order.clone(),
                self.dataset.clone(),
                self.collate.clone(),
                self.batch_size,
            );
            handles.push(std::thread::spawn(move || {
                // A loader thread's libtorch calls (the one copy per batch tensor) run on this
                // thread alone: otherwise OpenMP gives the thread its own team of workers, more
                // threads than cores, and the training threads lose their spin-wait.
                tch::set_num_threads(1);
                let mut b = skip + w;
                while b < total {
                    let end = ((b + 1) * bs).min(order.len());
                    let items: Result<Vec<_>, _> = order[b * bs..end]
                        .iter()
                        .map(|&i| ds.get(i, epoch))
                        .collect();
                    if tx.send(items.and_then(|v| collate(v))).is_err() {
                        return; // the consumer stopped early
                    }
                    b += workers;
                }
            }));
        }
        BatchIter {
            receivers,
            handles,
            next: skip,
            skip,
            total,
            custom: None,
        }
    }
}

/// Iterator over prepared batches, in order: from a [`Loader`]'s worker threads, or from any
/// iterator an app supplies (e.g. batches generated on-policy by the model being trained).
pub struct BatchIter<B> {
    receivers: Vec<Receiver<Result<B, DataError>>>,
    handles: Vec<JoinHandle<()>>,
    next: usize,
    skip: usize,
    total: usize,
    custom: Option<Box<dyn Iterator<Item = Result<B, DataError>>>>,
}

impl<B> BatchIter<B> {
    /// Batches from an app's own iterator (override `Task::train_batches` to return it; keep
    /// `Task::batches_per_epoch` equal to the number it yields).
    pub fn custom(iter: impl Iterator<Item = Result<B, DataError>> + 'static) -> Self {
        Self {
            receivers: Vec::new(),
            handles: Vec::new(),
            next: 0,
            skip: 0,
            total: 0,
            custom: Some(Box::new(iter)),
        }
    }
}

impl<B> Iterator for BatchIter<B> {
    type Item = Result<B, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(it) = self.custom.as_mut() {
            return it.next();
        }
        if self.next >= self.total {
            return None;
        }
        let w = (self.next - self.skip) % self.receivers.len();
        self.next += 1;
        match self.receivers[w].recv() {
            Ok(batch) => Some(batch),
            Err(_) => Some(Err(DataError::Other(
                "a data-loading worker stopped unexpectedly".into(),
            ))),
        }
    }
}

impl<B> Drop for BatchIter<B> {
    fn drop(&mut self) {
        self.receivers.clear(); // unblocks workers waiting to send
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbers(usize);
    impl Dataset for Numbers {
        type Item = usize;
        fn len(&self) -> usize {
            self.0
        }
        fn get(&self, i: usize, _: u64) -> Result<usize, DataError> {
            Ok(i)
        }
    }

    fn loader(shuffle: bool) -> Loader<Numbers, Vec<usize>> {
        let mut l = Loader::new(Arc::new(Numbers(10)), 3, Arc::new(|v: Vec<usize>| Ok(v)));
        l.shuffle = shuffle;
        l.seed = 7;
        l.workers = 3;
        l
    }

    #[test]
    fn batches_in_order_and_resumable() {
        let l = loader(false);
        let all: Vec<Vec<usize>> = l.epoch(0, 0).map(Result::unwrap).collect();
        assert_eq!(
            all,
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
        );
        let rest: Vec<Vec<usize>> = l.epoch(0, 2).map(Result::unwrap).collect();
        assert_eq!(rest, all[2..].to_vec());
    }

    #[test]
    fn shuffle_is_seeded_per_epoch() {
        let l = loader(true);
        let e0 = l.order(0);
        assert_eq!(e0, l.order(0));
        assert_ne!(e0, l.order(1));
        let mut sorted = e0.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        let flat: Vec<usize> = l.epoch(0, 0).flat_map(Result::unwrap).collect();
        assert_eq!(flat, e0);
    }

    #[test]
    fn render_ahead_keeps_the_order() {
        assert_eq!(render_ahead(7, |i| i * i), vec![0, 1, 4, 9, 16, 25, 36]);
        assert_eq!(render_ahead(1, |i| i + 5), vec![5]);
        assert!(render_ahead(0, |i| i).is_empty());
    }

    #[test]
    fn custom_batches_pass_through_in_order() {
        let it: BatchIter<u32> = BatchIter::custom((0..3u32).map(Ok));
        let got: Vec<u32> = it.map(|b| b.unwrap()).collect();
        assert_eq!(got, vec![0, 1, 2]);
    }
}
