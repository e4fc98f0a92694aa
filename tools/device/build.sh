#!/usr/bin/env bash
# `just device-build`: every app in one release binary (`zoo`) and loss-zoo's reference test,
# built here against the libtorch of the GPU machine's torch (2.11.0+cu130, python 3.12 at
# /opt/torch/.venv), packed into target/device/bundle/ to travel with `just gpu-check`.
#
# tch 0.26's generated wrapper targets torch 2.13 and does not compile against 2.11's headers
# (15 operators are missing or changed), and tch 0.24, the release for 2.11, is a different API
# the workspace would have to be ported to. So a copy of torch-sys 0.26 is patched
# (tools/device/patch_torch_sys.py stubs exactly the functions 2.11 fails on; the rest compiles
# against 2.11's headers unchanged) and a copy of the workspace uses it through [patch]: the
# working tree and its Cargo.lock are not touched. Only the wheel itself is installed
# (`--no-deps`, 530 MB): the CUDA libraries libtorch_cuda needs are the device's.
set -euo pipefail
version=2.11.0
venv=.venv-device
fail() { echo "device-build: $*" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" || fail "python3 cannot make a virtual environment"
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
have=$(sed -n "s/^__version__ = '\([^+']*\).*/\1/p" "$site/torch/version.py" 2>/dev/null || true)
if [ "$have" != "$version" ]; then
    echo "installing torch==$version (the GPU machine's libtorch; found: ${have:-none}) into $venv ..."
    "$venv/bin/python" -m pip install --quiet --no-deps "torch==$version" \
        || fail "pip could not install torch==$version (network? about 1.2 GB of disk)"
fi
torch="$site/torch"
dev=$(pwd)/target/device
mkdir -p "$dev"
# torch-sys 0.26 from cargo's registry, patched for this libtorch (once per torch version).
cargo fetch --quiet
registry=$(cargo metadata --format-version 1 2>/dev/null | python3 -c "
import json, sys
print(next(p['manifest_path'] for p in json.load(sys.stdin)['packages'] if p['name'] == 'torch-sys').rsplit('/', 1)[0])")
if [ "$(cat "$dev/torch-sys/PATCHED_FOR" 2>/dev/null)" != "$version" ]; then
    rm -rf "$dev/torch-sys" && cp -r "$registry" "$dev/torch-sys" && chmod -R u+w "$dev/torch-sys"
    python3 tools/device/patch_torch_sys.py "$dev/torch-sys" "$torch" || fail "torch-sys could not be patched"
    echo "$version" > "$dev/torch-sys/PATCHED_FOR"
fi
# The workspace as it is now (tracked and new files), with the patched torch-sys.
mkdir -p "$dev/ws"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$dev/ws"
printf '\n[patch.crates-io]\ntorch-sys = { path = "../torch-sys" }\n' >> "$dev/ws/Cargo.toml"
export LIBTORCH="$torch" LIBTORCH_BYPASS_VERSION_CHECK=1 CARGO_TARGET_DIR="$dev"
# The CUDA libraries libtorch_cuda.so needs are not here: let the linker leave them to the
# device. The rpath is the device's torch; LD_LIBRARY_PATH overrides it elsewhere.
export RUSTFLAGS="-C link-arg=-Wl,--allow-shlib-undefined -C link-arg=-Wl,-rpath,/opt/torch/.venv/lib/python3.12/site-packages/torch/lib"
export CARGO_PROFILE_RELEASE_STRIP=symbols CARGO_PROFILE_RELEASE_DEBUG=0
(cd "$dev/ws" && cargo build --release -p zoo)
test_bin=$(cd "$dev/ws" && cargo test --release -p loss-zoo --test reference --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$test_bin" ] || fail "no loss-zoo reference test binary was built"
out=target/device/bundle
rm -rf "$out" && mkdir -p "$out"
cp target/device/release/zoo "$out/zoo"
cp "$test_bin" "$out/loss-zoo-reference"
strip "$out/loss-zoo-reference"
echo "torch $version (+cu130); tch 0.26, its wrapper patched for it (tools/device/patch_torch_sys.py)" > "$out/BUILT_AGAINST"
du -b "$out"/* | sed 's/^/  /'
total=$(du -cb "$out"/* | tail -1 | cut -f1)
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "bundle $((total / 1048576)) MiB + tracked files $((tracked / 1048576)) MiB travel (limit 64 MiB)"
[ $((total + tracked)) -le $((64 * 1048576)) ] || fail "the bundle and the tracked files exceed 64 MiB"
