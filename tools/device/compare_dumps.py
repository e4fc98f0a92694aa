"""Compares two LOSS_ZOO_DUMP files (the same loss-zoo cases on two devices) value by value:
prints the largest relative difference and fails when it exceeds TOL.
usage: compare_dumps.py A.jsonl B.jsonl TOL"""
import json
import math
import sys
from collections import defaultdict


def read(path):
    by = defaultdict(list)
    for line in open(path):
        row = json.loads(line)
        by[row["what"]].append(row["values"])
    return by


a, b, tol = read(sys.argv[1]), read(sys.argv[2]), float(sys.argv[3])
if set(a) != set(b) or not a:
    sys.exit(f"the runs compared different cases: {sorted(set(a) ^ set(b))[:5]}")
worst, where, n = 0.0, "", 0
for what in a:
    for va, vb in zip(a[what], b[what], strict=True):
        for x, y in zip(va, vb, strict=True):
            n += 1
            if x is None or y is None:  # JSON writes infinities and NaN as null
                if x != y:
                    sys.exit(f"{what}: {x} vs {y}")
                continue
            if math.isinf(x) or math.isinf(y):
                if x != y:
                    sys.exit(f"{what}: {x} vs {y}")
                continue
            d = abs(x - y) / max(abs(x), 1e-3)
            if d > worst:
                worst, where = d, what
msg = f"{n} values, largest relative difference {worst:.2e} ({where})"
print(msg)
sys.exit(0 if worst <= tol else 1)
