//! Data-parallel training on PyTorch's own c10d (`csrc/dist.cpp`: a TCPStore rendezvous and a
//! Gloo process group), as `DistributedDataParallel` does it: parameters and buffers broadcast
//! from rank 0 before the first step, gradients averaged in flat buckets after backward, each
//! rank a disjoint shard of every epoch's seeded order, rank 0 alone writing the run folder.
//! The ranks find each other through torchrun's variables or Slurm srun's.

mod group;
mod ranks;
mod sync;

pub use group::{group, init, is_main, shard, Group};
pub(crate) use ranks::{
    describe, device_and_threads, join_group, report_failure, train_other_rank,
};
pub use sync::{
    batch_norm_group, count_normaliser, max_over_ranks, mean_over_ranks, on_all_ranks,
    on_global_batch, randn_batch, step_world, sum_over_ranks,
};
pub(crate) use sync::{set_in_step, set_sync_batch_norm, take_error};

/// Why a distributed run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    #[error("distributed launch: {0}")]
    Env(String),
    #[error("rank {rank} of {world}: {message}")]
    Collective {
        rank: usize,
        world: usize,
        message: String,
    },
}

/// Where this process sits in a distributed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub rank: usize,
    pub world: usize,
    pub local_rank: usize,
    /// Ranks on this node (they share its cores and GPUs).
    pub local_world: usize,
    pub master_addr: String,
    pub master_port: u16,
}

/// The first host of a Slurm node list: `node[03-05,9]` → `node03`, `a,b` → `a`.
pub fn first_host(list: &str) -> String {
    let first_item = {
        let mut depth = 0;
        let end = list
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    _ => {}
                }
                c == ',' && depth == 0
            })
            .map_or(list.len(), |(i, _)| i);
        &list[..end]
    };
    match first_item.split_once('[') {
        Some((prefix, rest)) => {
            let first = rest.split([',', '-', ']']).next().unwrap_or_default();
            format!("{prefix}{first}")
        }
        None => first_item.to_string(),
    }
}

impl Placement {
    /// torchrun's variables (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`,
    /// `MASTER_ADDR`, `MASTER_PORT`), else Slurm srun's (`SLURM_PROCID`, `SLURM_NTASKS`,
    /// `SLURM_LOCALID`, `SLURM_NTASKS_PER_NODE`, the first host of `SLURM_NODELIST`; port
    /// `MASTER_PORT` or 29500). `None` for a world of one.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, DistError> {
        let num = |key: &str| -> Result<Option<usize>, DistError> {
            get(key)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| DistError::Env(format!("{key}={v} is not a whole number")))
                })
                .transpose()
        };
        let (rank, world, local_rank, local_world, addr) = if let Some(world) = num("WORLD_SIZE")? {
            let rank = num("RANK")?.ok_or_else(|| {
                DistError::Env("WORLD_SIZE is set but RANK is not (torchrun sets both)".into())
            })?;
            let local_rank = num("LOCAL_RANK")?.unwrap_or(rank);
            let local_world = num("LOCAL_WORLD_SIZE")?.unwrap_or(world);
            (rank, world, local_rank, local_world, get("MASTER_ADDR"))
        } else if let Some(world) = num("SLURM_NTASKS")? {
            let rank = num("SLURM_PROCID")?.unwrap_or(0);
            let local_rank = num("SLURM_LOCALID")?.unwrap_or(0);
            // SLURM_NTASKS_PER_NODE may read "2(x3)": the count before the parenthesis.
            let local_world = get("SLURM_NTASKS_PER_NODE")
                .and_then(|v| v.split('(').next().and_then(|n| n.trim().parse().ok()))
                .unwrap_or(world);
            let addr = get("MASTER_ADDR").or_else(|| {
                get("SLURM_NODELIST")
                    .or_else(|| get("SLURM_JOB_NODELIST"))
                    .map(|l| first_host(&l))
            });
            (rank, world, local_rank, local_world, addr)
        } else {
            return Ok(None);
        };
        if world <= 1 {
            return Ok(None);
        }
        if rank >= world {
            return Err(DistError::Env(format!(
                "rank {rank} is outside a world of {world}"
            )));
        }
        let master_addr = addr.ok_or_else(|| {
            DistError::Env(format!(
                "a world of {world} needs MASTER_ADDR (the host of rank 0; torchrun and \
                 `just train-dist` set it)"
            ))
        })?;
        let master_port = match get("MASTER_PORT") {
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| DistError::Env(format!("MASTER_PORT={p} is not a port number")))?,
            None => 29500,
        };
        Ok(Some(Self {
            rank,
            world,
            local_rank,
            local_world: local_world.max(1),
            master_addr,
            master_port,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn placement_from_torchrun_and_slurm_variables() {
        assert_eq!(Placement::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            Placement::from_env(env(&[("WORLD_SIZE", "1"), ("RANK", "0")])).unwrap(),
            None
        );
        let p = Placement::from_env(env(&[
            ("WORLD_SIZE", "4"),
            ("RANK", "3"),
            ("LOCAL_RANK", "1"),
            ("LOCAL_WORLD_SIZE", "2"),
            ("MASTER_ADDR", "10.0.0.1"),
            ("MASTER_PORT", "29600"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((p.rank, p.world, p.local_rank, p.local_world), (3, 4, 1, 2));
        assert_eq!((p.master_addr.as_str(), p.master_port), ("10.0.0.1", 29600));
        let s = Placement::from_env(env(&[
            ("SLURM_NTASKS", "6"),
            ("SLURM_PROCID", "4"),
            ("SLURM_LOCALID", "1"),
            ("SLURM_NTASKS_PER_NODE", "3(x2)"),
            ("SLURM_NODELIST", "gpu[07-08]"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((s.rank, s.world, s.local_rank, s.local_world), (4, 6, 1, 3));
        assert_eq!((s.master_addr.as_str(), s.master_port), ("gpu07", 29500));
    }

    #[test]
    fn launch_mistakes_are_one_clear_sentence() {
        let e = Placement::from_env(env(&[("WORLD_SIZE", "2"), ("RANK", "0")])).unwrap_err();
        assert!(e.to_string().contains("needs MASTER_ADDR"), "{e}");
        let e = Placement::from_env(env(&[("WORLD_SIZE", "2")])).unwrap_err();
        assert!(e.to_string().contains("RANK is not"), "{e}");
        let e = Placement::from_env(env(&[
            ("WORLD_SIZE", "2"),
            ("RANK", "0"),
            ("MASTER_ADDR", "x"),
            ("MASTER_PORT", "http"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("MASTER_PORT=http"), "{e}");
    }

    #[test]
    fn first_host_of_slurm_node_lists() {
        assert_eq!(first_host("node[03-05,9]"), "node03");
        assert_eq!(first_host("a,b[1-2]"), "a");
        assert_eq!(first_host("gpu12"), "gpu12");
    }
}
