"""Largest element-wise difference between two runs' last checkpoints (safetensors), read
with numpy alone: the model's float variables (not the optimiser's or the loop's state), split into parameters and
batch-norm running statistics. Prints `param | running | where` for tools/dist-equivalence.sh.

    python tools/compare_checkpoints.py RUN_A RUN_B
"""

import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64}


def load(run):
    """The float variables of RUN/checkpoints/last.safetensors, by name."""
    raw = open(f"{run}/checkpoints/last.safetensors", "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__" or v["dtype"] not in DTYPES or name.startswith(("optim/", "train_state/")):
            continue
        start, end = v["data_offsets"]
        data = raw[8 + n + start : 8 + n + end]
        out[name] = np.frombuffer(data, dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    if sorted(a) != sorted(b):
        sys.exit(f"the checkpoints hold different variables: {sorted(set(a) ^ set(b))}")
    diffs = {k: float(np.abs(a[k].astype(np.float64) - b[k]).max(initial=0.0)) for k in a}
    running = [d for k, d in diffs.items() if k.endswith(("running_mean", "running_var"))]
    params = {k: d for k, d in diffs.items() if not k.endswith(("running_mean", "running_var"))}
    worst = max(diffs, key=diffs.get)
    print(
        f"{max(params.values(), default=0.0):.1e} | "
        f"{max(running, default=0.0):.1e} | `{worst}` ({diffs[worst]:.1e})"
    )


if __name__ == "__main__":
    main()
