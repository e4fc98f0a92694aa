#!/usr/bin/env bash
# `just gpu-check`: every app proven on CUDA in one script, run as it is on a GPU machine that has
# PyTorch but no Rust: the binaries come from `just device-build` (target/device/bundle, carried).
# Writes $OUT/gpu-check.md (a summary) and $OUT/logs/. Without a GPU it says what it would run
# and exits 0. GPU_CHECK_DEVICE=cpu runs the whole check on the CPU (to try the script here).
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONWARNINGS=ignore
device=${GPU_CHECK_DEVICE:-cuda}
out=${OUT:-target/gpu-check}
budget_s=${GPU_CHECK_BUDGET_S:-450}
apps=(face-verify face-or-not handwriting-ctc detect-focal segment-dice vae-kl rlhf-reward
      pointcloud-chamfer style-transfer mix-match)
amp_apps=(face-verify segment-dice)

plan() {
    cat <<PLAN
  1. nvidia-smi, the torch version, what the device build reaches (zoo devices)
  2. loss-zoo's reference cases on CUDA in float64 against the reference libraries' values, and
     in float32 on CUDA against the same binary on the CPU (max relative difference ≤ 1e-5)
  3. every app's smoke config trained on --device cuda, then eval (${#apps[@]} apps)
  4. fp16 (loss scaling) and bf16 autocast on ${amp_apps[*]}: finite, loss falling
  5. face-verify's training step on the GPU against its PyTorch replica (bench/apps)
  It writes \$OUT/gpu-check.md; budget ${budget_s} s.
PLAN
}

if [ "$device" = cuda ] && ! (command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'); then
    echo "gpu-check: no GPU here (nvidia-smi finds none), so nothing ran. On a GPU machine it runs:"
    plan
    exit 0
fi

py=""
for c in "${PYTHON:-}" /opt/torch/.venv/bin/python .venv-device/bin/python python3; do
    if [ -n "$c" ] && "$c" -c "import torch" >/dev/null 2>&1; then py=$c; break; fi
done
[ -n "$py" ] || { echo "gpu-check: no python with torch found (set PYTHON)" >&2; exit 1; }
lib=$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bundle=$(pwd)/target/device/bundle
zoo=$bundle/zoo
[ -x "$zoo" ] || { echo "gpu-check: no $zoo: run just device-build and carry target/device/bundle" >&2; exit 1; }

mkdir -p "$out/logs" "$out/runs"
summary=$out/gpu-check.md
start=$(date +%s)
failures=0
say() { echo "$*" | tee -a "$summary"; }
left() { echo $((budget_s - ($(date +%s) - start))); }
# check NAME TIMEOUT CMD...: runs CMD with its log under logs/, one table row.
check() {
    local name=$1 limit=$2; shift 2
    if [ "$(left)" -lt 10 ]; then say "| $name | skipped: out of time | – |"; return 1; fi
    [ "$limit" -gt "$(left)" ] && limit=$(left)
    local t0=$(date +%s.%N) rc
    timeout "$limit" "$@" > "$out/logs/$name.log" 2>&1
    rc=$?
    local secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN { printf \"%.1f\", b - a }")
    if [ $rc -eq 0 ]; then say "| $name | ok | $secs |"; else
        failures=$((failures + 1))
        say "| $name | **FAILED** (exit $rc$([ $rc -eq 124 ] && echo ', timed out')): $(tail -1 "$out/logs/$name.log" | tr '|' '/' | cut -c1-160) | $secs |"
    fi
    return $rc
}

: > "$summary"
say "# gpu-check ($(date -u +%Y-%m-%dT%H:%MZ), device $device)"
say ""
say '```'
if [ "$device" = cuda ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$summary"; fi
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' | tee -a "$summary"
"$zoo" devices | tee -a "$summary"
cat "$bundle/BUILT_AGAINST" | tee -a "$summary"
say '```'
say ""
say "| check | result | seconds |"
say "|---|---|---|"

# 2. loss-zoo on the device: float64 against the references, float32 against the CPU.
fixtures=$(pwd)/crates/loss-zoo/tests/fixtures
ref=("$bundle/loss-zoo-reference" --test-threads 1)
check "loss-zoo reference, f64 on $device" 120 env LOSS_ZOO_FIXTURES="$fixtures" LOSS_ZOO_DEVICE="$device" "${ref[@]}"
rm -f "$out/losses-cpu.jsonl" "$out/losses-dev.jsonl"
check "loss-zoo f32 on cpu" 60 env LOSS_ZOO_FIXTURES="$fixtures" LOSS_ZOO_KIND=f32 \
    LOSS_ZOO_DUMP="$out/losses-cpu.jsonl" "${ref[@]}"
check "loss-zoo f32 on $device" 60 env LOSS_ZOO_FIXTURES="$fixtures" LOSS_ZOO_KIND=f32 \
    LOSS_ZOO_DEVICE="$device" LOSS_ZOO_DUMP="$out/losses-dev.jsonl" "${ref[@]}"
check "loss-zoo f32 $device = cpu (≤ 1e-5)" 30 "$py" tools/device/compare_dumps.py "$out/losses-cpu.jsonl" "$out/losses-dev.jsonl" 1e-5
say "| (largest difference) | $(tail -1 "$out/logs/loss-zoo f32 $device = cpu (≤ 1e-5).log" | cut -c1-200) | |"

# 3. Every app: smoke config trained on the device, then evaluated.
for app in "${apps[@]}"; do
    if check "$app train" 120 "$zoo" "$app" train -c "configs/$app/smoke.yaml" --device "$device" \
        --runs "$out/runs" --name smoke; then
        check "$app eval" 90 "$zoo" "$app" eval --run "$out/runs/$app/smoke" --device "$device"
    fi
done

# 4. Mixed precision: fp16 with loss scaling and bf16, loss falling, no NaN (a NaN stops a run).
for app in "${amp_apps[@]}"; do
    for p in fp16 bf16; do
        if check "$app $p train" 120 "$zoo" "$app" train -c "configs/$app/smoke.yaml" --device "$device" \
            --runs "$out/runs" --name "$p" --set train.precision=$p --set train.log_every=1; then
            check "$app $p loss falls" 10 "$py" tools/device/loss_falls.py "$out/runs/$app/$p/metrics.jsonl"
            say "| ($app $p) | $(tail -1 "$out/logs/$app $p loss falls.log" | cut -c1-200) | |"
        fi
    done
done

# 5. One app's step against its PyTorch replica on the same device (needs the replica's torch).
links=$out/bin && mkdir -p "$links"
for app in "${apps[@]}"; do ln -sf "$zoo" "$links/$app"; done
if check "bench face-verify ($device)" 240 "$py" bench/apps/bench_apps.py face-verify --device "$device" \
    --bin-dir "$links" --rounds 1 --no-compile --threads 8; then
    say ""
    grep -E '^(\||CPU|GPU)' "$out/logs/bench face-verify ($device).log" | tee -a "$summary"
fi

say ""
say "$failures failed; $(( $(date +%s) - start )) s in all."
[ "$failures" -eq 0 ]
