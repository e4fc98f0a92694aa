//! The c10d process group behind [`super`]: the C shim's calls (`csrc/dist.cpp`), joining,
//! the collectives on tensors and variable stores, and naming a lost peer.

use super::{DistError, Placement};
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::OnceLock;
use std::time::Duration;
use tch::{nn::VarStore, Tensor};

extern "C" {
    fn kit_dist_new(
        addr: *const c_char,
        port: c_int,
        bind: *const c_char,
        rank: c_int,
        size: c_int,
        timeout_ms: c_int,
        err: *mut c_char,
        errlen: c_int,
    ) -> *mut c_void;
    fn kit_dist_allreduce_sum(
        h: *mut c_void,
        t: *mut c_void,
        err: *mut c_char,
        errlen: c_int,
    ) -> c_int;
    fn kit_dist_broadcast(
        h: *mut c_void,
        t: *mut c_void,
        root: c_int,
        err: *mut c_char,
        errlen: c_int,
    ) -> c_int;
    fn kit_dist_store_set(
        h: *mut c_void,
        key: *const c_char,
        value: *const c_char,
        err: *mut c_char,
        errlen: c_int,
    ) -> c_int;
    fn kit_dist_store_check(h: *mut c_void, key: *const c_char) -> c_int;
    fn kit_dist_store_get(
        h: *mut c_void,
        key: *const c_char,
        out: *mut c_char,
        outlen: c_int,
        err: *mut c_char,
        errlen: c_int,
    ) -> c_int;
}

/// This process's group (one per process).
pub struct Group {
    handle: *mut c_void,
    pub placement: Placement,
    /// `host pid` of every rank, to name the one that is gone when a collective fails.
    peers: Vec<String>,
}

// The handle is only used from the training thread; c10d's backend is thread-safe anyway.
unsafe impl Send for Group {}
unsafe impl Sync for Group {}

static GROUP: OnceLock<Group> = OnceLock::new();

const ERR: usize = 1024;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Joins the group described by `p` (once per process); later calls return the same group.
pub fn init(p: Placement, timeout: Duration) -> Result<&'static Group, DistError> {
    if let Some(g) = GROUP.get() {
        return Ok(g);
    }
    let env = |m: String| DistError::Env(m);
    let addr = CString::new(p.master_addr.clone()).map_err(|e| env(e.to_string()))?;
    // Gloo listens on the address that reaches rank 0: loopback for a local run.
    let local = matches!(p.master_addr.as_str(), "127.0.0.1" | "localhost" | "::1");
    let bind = CString::new(if local {
        "127.0.0.1".to_string()
    } else {
        hostname()
    })
    .map_err(|e| env(e.to_string()))?;
    let mut err = vec![0 as c_char; ERR];
    let ms = timeout.as_millis().min(i32::MAX as u128) as c_int;
    // SAFETY: valid C strings and an error buffer of ERR bytes.
    let handle = unsafe {
        kit_dist_new(
            addr.as_ptr(),
            p.master_port as c_int,
            bind.as_ptr(),
            p.rank as c_int,
            p.world as c_int,
            ms,
            err.as_mut_ptr(),
            ERR as c_int,
        )
    };
    if handle.is_null() {
        return Err(env(format!(
            "rank {} of {} could not join rank 0 at {}:{}: {} (is the port in use, or rank 0 \
             not started? set MASTER_PORT to a free port)",
            p.rank,
            p.world,
            p.master_addr,
            p.master_port,
            text(&err)
        )));
    }
    let mut g = Group {
        handle,
        placement: p,
        peers: Vec::new(),
    };
    let me = format!("{} {}", hostname(), std::process::id());
    g.store_set(&format!("kit/peer/{}", g.placement.rank), &me)?;
    for r in 0..g.placement.world {
        let v = g.store_get(&format!("kit/peer/{r}"))?;
        g.peers.push(v);
    }
    Ok(GROUP.get_or_init(|| g))
}

/// The group, when this process is one rank of several.
pub fn group() -> Option<&'static Group> {
    GROUP.get()
}

/// Whether this process writes the run folder: rank 0, or the only process.
pub fn is_main() -> bool {
    group().is_none_or(|g| g.placement.rank == 0)
}

/// `(rank, world)` for the training sampler's shard.
pub fn shard() -> Option<(usize, usize)> {
    group().map(|g| (g.placement.rank, g.placement.world))
}

pub(super) fn text(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).to_string()
}

impl Group {
    pub(super) fn handle(&self) -> *mut c_void {
        self.handle
    }

    /// The error of a failed collective `what` (c10d said `said`), naming lost peers.
    pub(crate) fn failure(&self, what: &str, said: &str) -> DistError {
        let me = &self.placement;
        // Peers on this host whose process is gone. A killed peer's sockets close while it is
        // still exiting, so look for up to 3 s before calling no one.
        let host = hostname();
        let mut gone = self.gone_peers(&host);
        for _ in 0..30 {
            if !gone.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            gone = self.gone_peers(&host);
        }
        let lost = if gone.is_empty() {
            "a peer stopped answering".to_string()
        } else {
            let said: Vec<String> = gone
                .iter()
                .filter_map(|(r, _)| {
                    let msg = self.peer_error(*r)?;
                    Some(format!("rank {r} stopped with: {msg}"))
                })
                .collect();
            let names: Vec<&str> = gone.iter().map(|(_, n)| n.as_str()).collect();
            let mut lost = format!("lost {}", names.join(", "));
            if !said.is_empty() {
                lost += &format!(" — {}", said.join("; "));
            }
            lost
        };
        DistError::Collective {
            rank: me.rank,
            world: me.world,
            message: format!(
                "{what} failed: {lost} ({}); every rank stops, the run folder keeps its last \
                 checkpoint",
                said
            ),
        }
    }

    /// Leaves this rank's error in the store, so the ranks that lose it can say why.
    pub fn report_error(&self, message: &str) {
        let _ = self.store_set(&format!("kit/error/{}", self.placement.rank), message);
    }

    /// The error rank `r` left in the store, if it left one (no waiting).
    fn peer_error(&self, r: usize) -> Option<String> {
        let key = CString::new(format!("kit/error/{r}")).ok()?;
        // SAFETY: a live handle and a C string.
        let present = unsafe { kit_dist_store_check(self.handle, key.as_ptr()) } == 1;
        if !present {
            return None;
        }
        let (mut out, mut err) = (vec![0 as c_char; ERR], vec![0 as c_char; ERR]);
        // SAFETY: a live handle, a C string, buffers of the lengths passed (no error path
        // back into `fail`, which calls this).
        let rc = unsafe {
            kit_dist_store_get(
                self.handle,
                key.as_ptr(),
                out.as_mut_ptr(),
                ERR as c_int,
                err.as_mut_ptr(),
                ERR as c_int,
            )
        };
        (rc == 0).then(|| text(&out))
    }

    /// `(rank, "rank R (pid P)")` of each peer on `host` whose process has exited.
    fn gone_peers(&self, host: &str) -> Vec<(usize, String)> {
        let me = &self.placement;
        self.peers
            .iter()
            .enumerate()
            .filter(|(r, _)| *r != me.rank)
            .filter_map(|(r, p)| {
                let (h, pid) = p.split_once(' ')?;
                let pid: i32 = pid.parse().ok()?;
                // SAFETY: signal 0 only checks that the process exists; a zombie (exited,
                // not yet reaped by its parent) counts as gone.
                let exists = unsafe { libc::kill(pid, 0) } == 0;
                let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
                    .unwrap_or(false);
                let alive = exists && !zombie;
                (h == host && !alive).then(|| (r, format!("rank {r} (pid {pid})")))
            })
            .collect()
    }

    fn store_set(&self, key: &str, value: &str) -> Result<(), DistError> {
        let (k, v) = (
            CString::new(key).map_err(|e| DistError::Env(e.to_string()))?,
            CString::new(value).map_err(|e| DistError::Env(e.to_string()))?,
        );
        let mut err = vec![0 as c_char; ERR];
        // SAFETY: a live handle, C strings, an error buffer of ERR bytes.
        let rc = unsafe {
            kit_dist_store_set(
                self.handle,
                k.as_ptr(),
                v.as_ptr(),
                err.as_mut_ptr(),
                ERR as c_int,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(self.failure("the rendezvous", &text(&err)))
        }
    }

    fn store_get(&self, key: &str) -> Result<String, DistError> {
        let k = CString::new(key).map_err(|e| DistError::Env(e.to_string()))?;
        let (mut out, mut err) = (vec![0 as c_char; 256], vec![0 as c_char; ERR]);
        // SAFETY: a live handle, a C string, buffers of the lengths passed.
        let rc = unsafe {
            kit_dist_store_get(
                self.handle,
                k.as_ptr(),
                out.as_mut_ptr(),
                256,
                err.as_mut_ptr(),
                ERR as c_int,
            )
        };
        if rc == 0 {
            Ok(text(&out))
        } else {
            Err(self.failure("the rendezvous", &text(&err)))
        }
    }

    /// Sums `t` over the ranks, in place (a contiguous tensor).
    pub fn all_reduce_sum(&self, t: &mut Tensor) -> Result<(), DistError> {
        let mut err = vec![0 as c_char; ERR];
        // SAFETY: a live handle and tensor; the call writes only into `t` and `err`.
        let rc = unsafe {
            kit_dist_allreduce_sum(
                self.handle,
                t.as_mut_ptr().cast(),
                err.as_mut_ptr(),
                ERR as c_int,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(self.failure("all-reduce", &text(&err)))
        }
    }

    /// Copies rank `root`'s `t` into every rank's `t`.
    pub fn broadcast(&self, t: &mut Tensor, root: usize) -> Result<(), DistError> {
        let mut err = vec![0 as c_char; ERR];
        // SAFETY: as above.
        let rc = unsafe {
            kit_dist_broadcast(
                self.handle,
                t.as_mut_ptr().cast(),
                root as c_int,
                err.as_mut_ptr(),
                ERR as c_int,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(self.failure("broadcast", &text(&err)))
        }
    }

    /// Whether `flag` is true on any rank (every rank gets the same answer).
    pub fn any(&self, flag: bool) -> Result<bool, DistError> {
        let mut t = Tensor::from_slice(&[f32::from(u8::from(flag))]);
        self.all_reduce_sum(&mut t)?;
        Ok(t.double_value(&[0]) > 0.0)
    }

    /// Every variable (parameters and buffers, in name order) set to rank 0's values.
    pub fn broadcast_variables(&self, vs: &VarStore) -> Result<(), DistError> {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let tensors: Vec<Tensor> = vars.into_iter().map(|(_, t)| t).collect();
        self.bucketed(&tensors, |g, flat| g.broadcast(flat, 0), false)
    }

    /// Gradients of the trainable variables averaged over the ranks, in flat buckets of at
    /// most 25 MB (DistributedDataParallel's default bucket size).
    pub fn average_gradients(&self, vs: &VarStore) -> Result<(), DistError> {
        let vars = crate::optim::trainable_by_name(vs);
        let grads: Vec<Tensor> = vars
            .iter()
            .map(|(_, t)| t.grad())
            .filter(Tensor::defined)
            .collect();
        self.bucketed(&grads, |g, flat| g.all_reduce_sum(flat), true)
    }

    /// Runs `op` on flat copies of `tensors` (grouped by dtype and device into buckets of
    /// ≤ 25 MB) and writes the results back; `mean` divides by the world size first.
    fn bucketed(
        &self,
        tensors: &[Tensor],
        op: impl Fn(&Self, &mut Tensor) -> Result<(), DistError>,
        mean: bool,
    ) -> Result<(), DistError> {
        const BUCKET: i64 = 25 << 20;
        let mut i = 0;
        while i < tensors.len() {
            let (kind, device) = (tensors[i].kind(), tensors[i].device());
            let mut j = i;
            let mut bytes = 0;
            while j < tensors.len()
                && tensors[j].kind() == kind
                && tensors[j].device() == device
                && (j == i || bytes + tensors[j].numel() as i64 * 4 <= BUCKET)
            {
                bytes += tensors[j].numel() as i64 * 4;
                j += 1;
            }
            let group = &tensors[i..j];
            tch::no_grad(|| -> Result<(), DistError> {
                let flats: Vec<Tensor> = group.iter().map(|t| t.reshape([-1])).collect();
                let mut flat = Tensor::cat(&flats, 0);
                op(self, &mut flat)?;
                if mean {
                    let _ = flat.g_div_scalar_(self.placement.world as f64);
                }
                let mut offset = 0;
                for t in group {
                    let n = t.numel() as i64;
                    let mut dst = t.shallow_clone();
                    dst.copy_(&flat.narrow(0, offset, n).view_as(t));
                    offset += n;
                }
                Ok(())
            })?;
            i = j;
        }
        Ok(())
    }
}
