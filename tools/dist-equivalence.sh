#!/usr/bin/env bash
# For each app (default: all): its smoke config trained for STEPS steps by one process with
# batch 2B and by 2 data-parallel ranks with batch B each (tools/train-dist.sh), then the two
# last checkpoints compared variable by variable (tools/compare_checkpoints.py). Prints one
# table row per app: the largest difference over parameters, over batch-norm running
# statistics, the variable where it is largest, and the floor: the same comparison between two
# one-process runs that differ only in their thread count (1 vs the default), i.e. what
# floating-point summation order alone moves.
#   tools/dist-equivalence.sh [APP...]        B=8 STEPS=8 by default (env B, STEPS; EXTRA:
#   more train arguments for every run, e.g. EXTRA="--set train.optimizer=sgd")
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-8}
STEPS=${STEPS:-8}
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(face-verify face-or-not handwriting-ctc detect-focal segment-dice vae-kl
    rlhf-reward pointcloud-chamfer style-transfer mix-match)
runs=$(mktemp -d /tmp/dist-equivalence.XXXX)
trap 'rm -rf "$runs"' EXIT
py=.venv/bin/python
echo "| app | steps | parameters: largest difference | running statistics | where | floor: 1 vs 2 threads (parameters / running) |"
echo "|---|---|---|---|---|---|"
for app in "${apps[@]}"; do
    bin=target/debug/$app
    common=(--config "configs/$app/smoke.yaml" --runs "$runs" --set train.device=cpu
        --set "train.max_steps=$STEPS" ${EXTRA:-})
    env -u WORLD_SIZE -u RANK "$bin" train "${common[@]}" --name one \
        --set "train.batch_size=$((2 * B))" >"$runs/$app-one.log" 2>&1 ||
        { echo "| $app | one process failed: $(tail -1 "$runs/$app-one.log") |"; continue; }
    tools/train-dist.sh "$bin" 2 "${common[@]}" --name two --set "train.batch_size=$B" \
        >"$runs/$app-two.log" 2>&1 ||
        { echo "| $app | 2 ranks failed: $(tail -1 "$runs/$app-two.log") |"; continue; }
    env -u WORLD_SIZE -u RANK "$bin" train "${common[@]}" --name one-t1 --set train.threads=1 \
        --set "train.batch_size=$((2 * B))" >"$runs/$app-t1.log" 2>&1 ||
        { echo "| $app | one process, 1 thread, failed: $(tail -1 "$runs/$app-t1.log") |"; continue; }
    row=$("$py" tools/compare_checkpoints.py "$runs/$app/one" "$runs/$app/two")
    floor=$("$py" tools/compare_checkpoints.py "$runs/$app/one" "$runs/$app/one-t1" | cut -d'|' -f1-2)
    echo "| $app | $STEPS | $row | ${floor/ | / \/ } |"
done
