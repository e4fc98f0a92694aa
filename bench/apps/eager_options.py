"""What the speed options of issue 16 are worth on this machine, measured on the PyTorch eager
replicas (replicas.py) before building any of them in Rust: AdamW as a per-parameter loop (the
CPU default), multi-tensor (`foreach`) or fused; bf16 autocast; channels-last memory.
Each variant: steady-state samples/s of the same training step, 2 threads, A/B interleaved.
Usage: python eager_options.py [APP ...] [--steps N] [--rounds R]
"""
import argparse, contextlib, statistics, time
import torch
import replicas


def run(app, variant, steps, warmup):
    torch.manual_seed(0)
    model, loss_fn, batch, clip, wd = replicas.APPS[app]()
    model.train()
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    kw = {"foreach": variant == "foreach", "fused": True if variant == "fused" else None}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=wd, **kw)
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if variant == "bf16" else contextlib.nullcontext
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        with ctx():
            loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return batch * len(times) / sum(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("apps", nargs="*", default=list(replicas.APPS))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default="base,foreach,fused,bf16,channels_last")
    a = ap.parse_args()
    torch.set_num_threads(2)
    variants = a.variants.split(",")
    print("| app | " + " | ".join(variants) + " |")
    print("|---|" + "---|" * len(variants))
    for app in a.apps:
        got = {v: [] for v in variants}
        for _ in range(a.rounds):
            for v in variants:
                got[v].append(run(app, v, a.steps, a.warmup))
        base = statistics.median(got[variants[0]])
        cells = [f"{statistics.median(got[v]):.1f} ({statistics.median(got[v]) / base:.2f}×)" for v in variants]
        print(f"| {app} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
