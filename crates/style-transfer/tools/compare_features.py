"""Which offline feature network makes the better style transfer? Runs `style-transfer optimize`
(Gatys: 300 Adam steps on the pixels, 128×128) with each candidate network and seed on each
content picture, then reads each result's scores in the two independent networks of
`eval.networks` (a random VGG-19 and random multi-scale filters of other sizes, seed 7 — each
candidate shares a family with one of them, so a candidate that wins in both is not winning by
kinship). Prints mean ± std over the candidate's seeds and writes content | style | results
pictures. Style weights: each candidate's style term starts at the same multiple of the
content picture's style loss (random VGG-19's Gram distances are ~100× larger).

    .venv/bin/python crates/style-transfer/tools/compare_features.py OUT_DIR [CONTENT.png ...]
"""
import json
import os
import statistics
import subprocess
import sys

from PIL import Image

BIN = "./target/debug/style-transfer"
CONFIG = "configs/style-transfer/default.yaml"
CANDIDATES = {
    "random_multiscale": ["--set", "loss.style_weight=10"],
    "random_vgg19": ["--set", "features.kind=random_vgg19", "--set", "features.content_layers=[relu4_2]",
                     "--set", "features.style_layers=[relu1_1,relu2_1,relu3_1,relu4_1,relu5_1]",
                     "--set", "features.style_layer_weights=[1.0,1.0,1.0,1.0,1.0]",
                     "--set", "loss.style_weight=0.1"],
}
SEEDS = [0, 1, 2]


def main(out, contents):
    runs = os.path.join(out, "runs")
    rows = {}
    for content in contents:
        name = os.path.splitext(os.path.basename(content))[0] if content else "scene"
        for kind, sets in CANDIDATES.items():
            for seed in SEEDS:
                folder = f"{name}-{kind}-seed{seed}"
                if not os.path.exists(os.path.join(runs, "style-transfer", folder, "scores.json")):
                    cmd = [BIN, "optimize", "--config", CONFIG, "--runs", runs, "--name", folder,
                           "--set", f"features.seed={seed}", *sets]
                    if content:
                        cmd += ["--content", content]
                    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                scores = json.load(open(os.path.join(runs, "style-transfer", folder, "scores.json")))
                rows.setdefault((name, kind), []).append(scores)
    print("| content | optimised in | measured in | content loss | style ratio (result / unchanged content) |")
    print("|---|---|---|---|---|")
    for (name, kind), results in rows.items():
        for i, net in enumerate(results[0]["scores"][:-1]):
            c = [r["scores"][i]["scores"]["content"] for r in results]
            s = [r["scores"][i]["scores"]["style_ratio"] for r in results]
            print(f"| {name} | {kind} | {net['network']} | {statistics.mean(c):.3f} ± {statistics.stdev(c):.3f} "
                  f"| {statistics.mean(s):.3f} ± {statistics.stdev(s):.3f} |")
    for content in contents:
        name = os.path.splitext(os.path.basename(content))[0] if content else "scene"
        pics = [Image.open(os.path.join(runs, "style-transfer", f"{name}-{k}-seed0", "content-style-result.png"))
                for k in CANDIDATES]
        w, h = pics[0].size
        third = w // 3
        row = Image.new("RGB", (third * 4, h))
        row.paste(pics[0].crop((0, 0, 2 * third, h)), (0, 0))
        for i, p in enumerate(pics):
            row.paste(p.crop((2 * third, 0, w, h)), (third * (2 + i), 0))
        row.save(os.path.join(out, f"{name}-content-style-multiscale-vgg19.png"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or [""])
