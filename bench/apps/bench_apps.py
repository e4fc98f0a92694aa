"""`just bench-apps`: each app's real training step (target/debug/<app> train at default.yaml, its
data loader included) against PyTorch replicas of the same model (replicas.py), run back to
back with the same threads, steady-state steps only: the replica as commonly written (NCHW,
float32, Chamfer by one cdist), the replica with the Rust run's own optimisations (its memory
format, precision and loss algorithm, read from the run's config: the headline ratio), and that
replica under torch.compile (inductor, timed after compiling; the compile time apart). Prints
the CPU model and flags, samples/s, the ratios, peak RSS, and the share of the Rust step spent
waiting for data; refuses a replica whose trainable-parameter count differs from the Rust
checkpoint's.
Usage: python bench_apps.py [APP ...] [--steps N] [--warmup K] [--rounds R] [--threads T] [--set K=V]
"""
import argparse, json, math, os, shutil, statistics, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def members():
    """Workspace members named in the root Cargo.toml, as folder names, in order."""
    text = open(os.path.join(ROOT, "Cargo.toml")).read()
    i = text.index("members")
    body = text[text.index("[", i) + 1:text.index("]", i)]
    body = "".join(l.split("#")[0] for l in body.splitlines())
    return [m.rsplit("/", 1)[-1] for m in body.split('"')[1::2]]


def app_info(bin_dir):
    """Each app's own declaration (`<app> info --json`: bench overrides, step scale), by name."""
    found = {}
    for m in members():
        exe = os.path.join(bin_dir, m)
        if not os.path.isfile(exe):
            continue
        p = subprocess.run([exe, "info", "--json"], capture_output=True, text=True)
        if p.returncode == 0:
            v = json.loads(p.stdout)
            found[v["name"]] = v["info"]
    return found


def replicas():
    """The apps bench/apps/replicas.py has a PyTorch replica for."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import replicas as r
    return set(r.APPS)


INFO = {}


def cpu_model():
    """lscpu's `Model name` (speed tables are only comparable on one processor)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name"))
    except (OSError, StopIteration):
        return "unknown"


def cpu_flags():
    """The instruction-set flags that decide fp32 / bf16 speed here (AVX2, AVX-512, AVX-512 BF16, AMX)."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split(":", 1)[1].split()
    except (OSError, StopIteration):
        return "unknown"
    want = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]
    return ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in want)


def run_settings(run):
    """train.channels_last, train.precision and train.fused_adamw of a Rust run, from its resolved
    config.yaml."""
    got = {"channels_last": False, "precision": "fp32", "fused_adamw": False, "optimizer": "adamw"}
    section = None
    for line in open(os.path.join(run, "config.yaml")):
        if line and not line.startswith(" ") and line.rstrip().endswith(":"):
            section = line.strip()[:-1]
        elif section == "train" and ":" in line:
            k, v = (x.strip() for x in line.split(":", 1))
            if k in ("channels_last", "fused_adamw"):
                got[k] = v == "true"
            elif k == "optimizer":
                got[k] = v
            elif k == "precision":
                got[k] = v
    return got


def steps(app, a):
    return a.steps * INFO[app]["bench_steps_scale"]


def prepare(app, a, tmp):
    """Overrides an app needs before its default.yaml trains here (printed once)."""
    if app == "vae-kl" and not os.path.exists(os.path.join(ROOT, "data/mnist/0.u8")):
        print("  vae-kl: data/mnist is not installed (`just data mnist`): timing on the built-in "
              "28×28 sprites, the same model and batch", flush=True)
        return ["data.source=sprites"]
    if app == "rlhf-reward":
        # default.yaml is the reward stage: its pairs are sampled from an SFT run; a 5-step one
        # serves (its responses run to policy.max_new, which the replica's sequence length assumes).
        cmd = [os.path.join(a.bin_dir, app), "train", "-c", "configs/rlhf-reward/sft.yaml", "--runs", tmp,
               "--name", "sft", "--set", "train.max_steps=5", "--set", "data.test_prompts=16",
               "--set", "train.device=cpu"]
        timed(cmd)
        return [f"data.sft_run={os.path.join(tmp, app, 'sft')}"]
    return []


def trainable_params(ckpt):
    """Trainable parameters of a Rust checkpoint: the optimiser keeps one moment per parameter."""
    with open(ckpt, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k.startswith("optim/m/"))


def timed(cmd, env=None):
    """Runs cmd; returns (stdout, peak RSS of the process in MB)."""
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out[-2000:]}")
    return out, usage.ru_maxrss / 1024


def rust(app, a, tmp, extra):
    name = f"bench-{time.time_ns()}"
    sets = [f"train.max_steps={a.warmup + steps(app, a)}", "train.log_every=5", f"train.threads={a.threads}",
            "train.eval_every=100000", "train.checkpoint_every=100000", f"train.device={a.device}"]
    cmd = [os.path.join(a.bin_dir, app), "train", "-c", f"configs/{app}/default.yaml",
           "--runs", tmp, "--name", name]
    for s in sets + list(INFO[app]["bench_set"]) + extra + a.set:
        cmd += ["--set", s]
    _, rss = timed(cmd)
    run = os.path.join(tmp, app, name)
    rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    rows = [r for r in rows if "train/samples_per_sec" in r and r["step"] > a.warmup]
    # Windows of equal sample counts: total samples / total time is their harmonic mean (as the
    # replica's batch × steps / total time).
    sps = statistics.harmonic_mean([r["train/samples_per_sec"] for r in rows])
    wait = statistics.mean(r.get("train/data_wait_share", float("nan")) for r in rows)
    params = trainable_params(os.path.join(run, "checkpoints", "last.safetensors"))
    settings = run_settings(run)
    shutil.rmtree(run)
    return sps, rss, wait, params, settings


def fused(settings):
    """Whether the Rust run's AdamW is libtorch's fused kernel (train.fused_adamw)."""
    return settings["optimizer"] == "adamw" and settings["fused_adamw"]


def replica_flags(app, same):
    """The replica's options: none ("as commonly written": NCHW, float32, one cdist), or the Rust
    run's own (`same`: its memory format, precision and loss algorithm)."""
    if same is None:
        return []
    flags = ["--channels-last"] if same["channels_last"] else []
    flags += ["--bf16"] if same["precision"] == "bf16" else []
    flags += ["--fused-adamw"] if fused(same) else []
    flags += ["--chamfer", "chunked"] if app == "pointcloud-chamfer" else []
    # detect-focal's loader hands over HWC pixels as an NCHW view (channels-last input).
    flags += ["--input-channels-last"] if app == "detect-focal" else []
    return flags


def torch_run(app, a, flags, compile_=False):
    cmd = [sys.executable, os.path.join(ROOT, "bench/apps/replicas.py"), app,
           "--steps", str(steps(app, a)), "--warmup", str(a.warmup), "--threads", str(a.threads),
           "--device", a.device] + flags
    env = None
    if compile_:
        cmd.append("--compile")
        # A cold inductor cache of its own, so the compile time is the first-run cost.
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=tempfile.mkdtemp(prefix="inductor-"))
    out, rss = timed(cmd, env)
    if env:
        shutil.rmtree(env["TORCHINDUCTOR_CACHE_DIR"], ignore_errors=True)
    r = json.loads(out.strip().splitlines()[-1])
    return r["samples_per_sec"], rss, r["params"], r.get("compile_seconds")


def flops_per_sample(app, a):
    """FLOPs of one sample's forward + backward in the replica (the same layer shapes as the
    Rust model: its parameter count is checked), counted by torch.utils.flop_counter."""
    cmd = [sys.executable, os.path.join(ROOT, "bench/apps/replicas.py"), app, "--count-flops",
           "--threads", str(a.threads)]
    out, _ = timed(cmd)
    return json.loads(out.strip().splitlines()[-1])["flops_per_sample"]


def fp32_peak(threads, device="cpu"):
    """The median GFLOP/s of a 1024² float32 matmul with `threads` threads: this machine's
    reachable peak (`just bench-peak` prints it at more sizes and in bf16)."""
    import torch
    torch.set_num_threads(threads)
    x, y = torch.randn(1024, 1024, device=device), torch.randn(1024, 1024, device=device)
    times = []
    for i in range(9):
        t0 = time.perf_counter()
        x @ y
        if device != "cpu":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 2 * 1024 ** 3 / statistics.median(times) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("apps", nargs="*", help="default: every app with a replica")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per run (after the warmup)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="A/B pairs per app")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[],
                    help="a config override for the Rust runs (repeatable), e.g. train.channels_last=false")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile column")
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where both sides train")
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "target/debug"),
                    help="where the app binaries are (e.g. an older build, to compare)")
    a = ap.parse_args()
    INFO.update(app_info(a.bin_dir))
    if not INFO:
        sys.exit(f"no app binaries in {a.bin_dir}: cargo build --workspace --bins")
    have = replicas()
    apps = [x for x in INFO if x in have]
    a.apps = a.apps or apps
    missing = [x for x in a.apps if x not in apps]
    if missing:
        sys.exit(f"no app binary with a PyTorch replica for {', '.join(missing)} (have: {', '.join(apps)})")
    scaled = ", ".join(f"{k} ×{v['bench_steps_scale']}" for k, v in INFO.items() if v["bench_steps_scale"] != 1)
    print(f"CPU: {cpu_model()} ({cpu_flags()}); {os.cpu_count()} CPUs, {a.threads} threads each side, "
          f"{a.rounds} × (Rust, PyTorch common, PyTorch same) per app{'' if a.no_compile else ' + one torch.compile run'}, "
          f"{a.steps} timed steps after {a.warmup} ({scaled})", flush=True)
    if a.device != "cpu":
        import torch
        print(f"GPU: {torch.cuda.get_device_name()} (torch {torch.__version__}); the replica's batches are made on "
              "the GPU, the Rust run's are loaded on the CPU and uploaded", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for app in a.apps:
            rs, common, same = [], [], []
            extra = prepare(app, a, tmp)
            for _ in range(a.rounds):
                rs.append(rust(app, a, tmp, extra))
                common.append(torch_run(app, a, replica_flags(app, None)))
                same.append(torch_run(app, a, replica_flags(app, rs[-1][4])))
            if rs[0][3] != common[0][2]:
                sys.exit(f"{app}: the replica has {common[0][2]} trainable parameters, the Rust model {rs[0][3]}: "
                         "they are no longer the same model; update bench/apps/replicas.py")
            compiled = None if a.no_compile else torch_run(app, a, replica_flags(app, rs[0][4]), compile_=True)
            med = lambda xs: statistics.median(x[0] for x in xs)
            rows.append((app, rs[0][3], rs[0][4], med(rs), med(common), med(same), compiled,
                         max(x[1] for x in rs), max(x[1] for x in same), statistics.mean(x[2] for x in rs),
                         flops_per_sample(app, a)))
            print(f"  {app}: Rust {[round(x[0], 1) for x in rs]} samples/s, PyTorch common {[round(x[0], 1) for x in common]}, "
                  f"same {[round(x[0], 1) for x in same]}"
                  + ("" if compiled is None else f", compiled {compiled[0]:.1f} (compile {compiled[3]:.0f} s)"), flush=True)
    peak = fp32_peak(a.threads, a.device)
    print(f"\nfp32 matmul peak here: {peak:.0f} GFLOP/s (1024², {a.threads} threads); Rust GFLOP/s = the replica's "
          "counted matmul + convolution FLOPs per sample (forward + backward) × Rust samples/s")
    print("\n| app | parameters | Rust optimisations | Rust samples/s | PyTorch as commonly written | PyTorch, same optimisations | "
          "torch.compile, same | **Rust / same** | Rust / common | Rust / compiled | compile time | Rust peak RSS | PyTorch (same) peak RSS | Rust data wait | Rust GFLOP/s (share of peak) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for app, n, st, r, c, sm, comp, rr, pr, w, fl in rows:
        opts = ", ".join(x for x in ["channels-last" if st["channels_last"] else "",
                                     "bf16" if st["precision"] == "bf16" else "",
                                     "fused AdamW" if fused(st) else "",
                                     "chunked Chamfer" if app == "pointcloud-chamfer" else "",
                                     "channels-last input" if app == "detect-focal" else ""] if x) or "—"
        comp_cells = ("– | – | –" if comp is None else f"{comp[0]:.1f} | {r / comp[0]:.2f} | {comp[3]:.0f} s")
        cs, ratio_c = comp_cells.split(" | ")[0], comp_cells.split(" | ")[1:]
        print(f"| {app} | {n:,} | {opts} | {r:.1f} | {c:.1f} | {sm:.1f} | {cs} | **{r / sm:.2f}** | {r / c:.2f} | "
              f"{' | '.join(ratio_c)} | {rr:.0f} MB | {pr:.0f} MB | {100 * w:.1f}% | "
              f"{fl * r / 1e9:.1f} ({100 * fl * r / 1e9 / peak:.0f}%) |")


if __name__ == "__main__":
    main()
