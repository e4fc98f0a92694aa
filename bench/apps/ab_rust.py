"""One change measured on its own: an app's Rust training step under two settings (config
overrides and/or two builds), interleaved A, B, A, B … with the same threads and steps as
`bench_apps.py`, so that machine drift hits both sides alike. Prints each round and the medians.
Usage: python ab_rust.py APP [--a K=V ...] [--b K=V ...] [--a-bin DIR] [--b-bin DIR] [--rounds R]
e.g.   python ab_rust.py vae-kl --a train.fused_adamw=false --b train.fused_adamw=true
       python ab_rust.py pointcloud-chamfer --a-bin target/benchbin-oldchamfer
"""
import argparse, os, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_apps as B  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("app")
    ap.add_argument("--a", action="append", default=[], help="override for side A (repeatable)")
    ap.add_argument("--b", action="append", default=[], help="override for side B (repeatable)")
    ap.add_argument("--a-bin", default=os.path.join(B.ROOT, "target/debug"))
    ap.add_argument("--b-bin", default=os.path.join(B.ROOT, "target/debug"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    B.INFO.update(B.app_info(a.b_bin))
    if a.app not in B.INFO:
        sys.exit(f"no {a.app} binary in {a.b_bin}: cargo build --workspace --bins")
    print(f"CPU: {B.cpu_model()} ({B.cpu_flags()}); {a.app}, {a.threads} threads, "
          f"{a.rounds} × (A, B), {a.steps * B.INFO[a.app]['bench_steps_scale']} timed steps after {a.warmup}")
    print(f"A: {a.a_bin} {' '.join(a.a) or '(config as is)'}\nB: {a.b_bin} {' '.join(a.b) or '(config as is)'}")
    rates = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        a.bin_dir, a.set = a.b_bin, []
        extra = B.prepare(a.app, a, tmp)
        for r in range(a.rounds):
            for side, sets, bin_dir in (("A", a.a, a.a_bin), ("B", a.b, a.b_bin)):
                a.set, a.bin_dir = sets, bin_dir
                sps, rss, _, _, _ = B.rust(a.app, a, tmp, extra)
                rates[side].append(sps)
                print(f"  round {r + 1} {side}: {sps:.1f} samples/s, peak RSS {rss:.0f} MB", flush=True)
    ma, mb = statistics.median(rates["A"]), statistics.median(rates["B"])
    print(f"median A {ma:.1f}, B {mb:.1f} samples/s: B / A = {mb / ma:.3f} "
          f"(per round: {', '.join(f'{y / x:.3f}' for x, y in zip(rates['A'], rates['B']))})")


if __name__ == "__main__":
    main()
