"""Reads a run's metrics.jsonl: the training loss's first and last logged values (means of the
first and last quarter of the logged steps) and the loss scale; fails unless the loss fell.
usage: loss_falls.py RUN/metrics.jsonl"""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1])]
loss = [r["train/loss"] for r in rows if "train/loss" in r]
if len(loss) < 4:
    sys.exit(f"only {len(loss)} logged losses")
q = max(1, len(loss) // 4)
first, last = sum(loss[:q]) / q, sum(loss[-q:]) / q
scale = [r for r in rows if "train/loss_scale" in r]
extra = f"; loss scale {scale[-1]['train/loss_scale']:g}, {scale[-1]['train/amp_skipped_steps']:g} steps skipped" if scale else ""
print(f"loss {first:.4f} -> {last:.4f} over {len(loss)} steps{extra}")
sys.exit(0 if last < first else 1)
