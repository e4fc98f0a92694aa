#!/usr/bin/env bash
# Starts N local ranks of `BIN train ARGS...` with the variables torchrun sets (MASTER_ADDR,
# MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE). Rank 0 prints to this
# terminal; rank r > 0 to a log whose tail is shown if it fails. When one rank fails, the
# others are stopped and its exit status is returned.
#   tools/train-dist.sh target/debug/segment-dice 2 --config configs/segment-dice/smoke.yaml
#   tools/train-dist.sh --slurm BIN N [train arguments...]   prints an sbatch script instead:
#   N tasks started by srun, which kit reads from SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID and
#   the first host of SLURM_NODELIST (no torchrun needed).
set -euo pipefail
if [ "${1:-}" = "--slurm" ]; then
    shift
    [ $# -ge 2 ] || { echo "usage: $0 --slurm BIN N [train arguments...]" >&2; exit 2; }
    bin=$1 n=$2
    shift 2
    cat <<SBATCH
#!/bin/bash
# Data-parallel training: $n ranks (one per task); submit with sbatch.
#SBATCH --job-name=$(basename "$bin")-dist
#SBATCH --ntasks=$n
#SBATCH --nodes=1                 # or spread: --nodes=M --ntasks-per-node=$n/M
#SBATCH --cpus-per-task=2         # each rank uses its task's cores (train.threads: 0)
##SBATCH --gpus-per-task=1        # on GPU nodes: each rank takes its LOCAL_RANK GPU (SLURM_LOCALID)
#SBATCH --time=01:00:00
#SBATCH --output=%x-%j.out
set -euo pipefail
cd $PWD
export MASTER_PORT=\$((20000 + SLURM_JOB_ID % 20000))   # rank 0's TCPStore on the first node
srun $(realpath "$bin") train $*
SBATCH
    exit 0
fi
if [ $# -lt 2 ]; then
    echo "usage: $0 BIN N [train arguments...]" >&2
    exit 2
fi
bin=$1
n=$2
shift 2
case "$n" in ''|*[!0-9]*) echo "N must be a number of processes, got '$n'" >&2; exit 2;; esac
port=${MASTER_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
logs=$(mktemp -d "${TMPDIR:-/tmp}/train-dist.XXXXXX")
declare -A rank_of
pids=()
for r in $(seq 0 $((n - 1))); do
    export MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=$n RANK=$r LOCAL_RANK=$r LOCAL_WORLD_SIZE=$n
    if [ "$r" -eq 0 ]; then
        "$bin" train "$@" &
    else
        "$bin" train "$@" >"$logs/rank$r.log" 2>&1 &
    fi
    pids+=($!)
    rank_of[$!]=$r
done
stop_all() { kill -TERM "${running[@]}" 2>/dev/null || true; }
trap 'stop_all' INT TERM
status=0
running=("${pids[@]}")
while [ "${#running[@]}" -gt 0 ]; do
    done_pid=
    set +e
    wait -n -p done_pid "${running[@]}"
    rc=$?
    set -e
    [ -z "$done_pid" ] && break
    rest=()
    for p in "${running[@]}"; do [ "$p" != "$done_pid" ] && rest+=("$p"); done
    running=("${rest[@]}")
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$rc
        r=${rank_of[$done_pid]}
        echo "train-dist: rank $r exited with status $rc; stopping the other ranks" >&2
        [ "$r" -ne 0 ] && tail -n 20 "$logs/rank$r.log" >&2
        stop_all
    fi
done
[ "$status" -eq 0 ] && rm -rf "$logs"
exit "$status"
