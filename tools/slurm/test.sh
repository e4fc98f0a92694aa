#!/usr/bin/env bash
# `just test-slurm`: a real Slurm (tools/slurm/up.sh), a 2-point × 2-seed spiral sweep
# submitted as a job array, waited for, collected, checked; then a 2-task data-parallel training
# job (srun); the daemons stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "test-slurm: FAILED: $*" >&2; exit 1; }
tools/slurm/up.sh
trap 'tools/slurm/down.sh' EXIT
export SLURM_CONF=$PWD/.slurm/slurm.conf
tmp=$(mktemp -d)
cat > "$tmp/grid.yaml" <<GRID
config: $PWD/configs/spiral/smoke.yaml
set: [train.epochs=2, train.device=cpu, train.workers=1]
axes:
  - model.hidden: [16, 32]
metrics: [accuracy]
slurm: {time: "00:10:00", mem: 1G, cpus_per_task: 1}
GRID
out=$(./target/debug/examples/spiral sweep --grid "$tmp/grid.yaml" --seeds 2 --name slurm --runs "$tmp/runs" --slurm)
echo "$out"
job=$(echo "$out" | sed -n 's/^submitted job array \([0-9]*\).*/\1/p')
[ -n "$job" ] || fail "no job id in the output"
for _ in $(seq 1 120); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    sleep 1
done
[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] || fail "job $job still queued after 120 s"
dir=$tmp/runs/spiral/sweep-slurm
./target/debug/examples/spiral sweep collect "$dir"
for h in 16 32; do
    grep -q "^| $h | 2/2 | .* ± " "$dir/table.md" || fail "row $h does not have 2 finished seeds with mean ± std (logs: $dir/logs)"
done
ls "$dir"/logs/0.log "$dir"/logs/3.log >/dev/null || fail "array task logs missing"
echo "test-slurm: ok (job $job: 4 array tasks, table $dir/table.md)"

# A 2-task data-parallel job: srun starts both ranks, which find each other through
# SLURM_PROCID / SLURM_NTASKS / SLURM_NODELIST (the script `just train-dist-slurm` prints).
tools/train-dist.sh --slurm ./target/debug/examples/spiral 2 --config "$PWD/configs/spiral/smoke.yaml" \
    --runs "$tmp/druns" --name dist --set train.epochs=2 --set train.device=cpu --set train.workers=1 \
    | sed 's/--cpus-per-task=2/--cpus-per-task=1/' > "$tmp/dist.sbatch"
djob=$(sbatch --parsable --output="$tmp/dist-%j.out" "$tmp/dist.sbatch") || fail "sbatch of the distributed job failed"
for _ in $(seq 1 120); do
    [ -z "$(squeue -h -j "$djob" 2>/dev/null)" ] && break
    sleep 1
done
[ -z "$(squeue -h -j "$djob" 2>/dev/null)" ] || fail "distributed job $djob still queued after 120 s"
out=$tmp/dist-$djob.out
grep -q "data parallel: rank 1 of 2" "$out" || fail "rank 1 did not join (see $out)"
grep -q "finished at step" "$out" || fail "the distributed run did not finish (see $out)"
[ -f "$tmp/druns/spiral/dist/checkpoints/last.safetensors" ] || fail "no checkpoint from rank 0"
[ "$(ls "$tmp/druns/spiral")" = "dist" ] || fail "a rank other than 0 wrote a run folder"
echo "test-slurm: ok (job $djob: 2 srun tasks trained one model)"
rm -rf "$tmp"
