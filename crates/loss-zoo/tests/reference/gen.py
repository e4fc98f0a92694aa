"""Generates the reference fixtures of loss-zoo's tests with the real libraries.

Run on demand (not in CI), from the repo root, in the project's venv plus the reference
libraries:
    .venv/bin/pip install --no-deps torchvision==0.28.0 monai
    .venv/bin/python crates/loss-zoo/tests/reference/gen.py

Writes crates/loss-zoo/tests/fixtures/<loss>.json: for each case its float64 inputs, its
parameters and the reference output. Sources:
  focal       torchvision.ops.sigmoid_focal_loss; softmax focal from F.cross_entropy
  arcface     insightface arcface_torch CombinedMarginLoss (its forward, copied below:
              insightface is not pip-installable with arcface_torch), plus the formula for
              margins CombinedMarginLoss rejects (m1 != 1)
  ctc         torch.nn.functional.ctc_loss
  chamfer     pytorch3d is not pip-installable here: a brute-force NumPy computation of
              pytorch3d.loss.chamfer_distance's documented formula (squared L2 to the nearest
              neighbour, mean over each cloud's valid points, then over the batch, both
              directions summed)
  dice        monai.losses.DiceLoss / DiceCELoss
  kl          torch.nn.functional.kl_div; torch.distributions.kl_divergence(Normal, Normal)
  preference  TRL RewardTrainer.compute_loss and DPOTrainer sigmoid loss (formulas copied,
              TRL's dependency tree is not needed for two lines)
  perceptual  gen_perceptual.py (run from here too): pytorch/examples fast_neural_style's
              gram_matrix, F.mse_loss, the style and TV formulas, with autograd gradients
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
np.random.seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
D = torch.float64


def t(x):
    x = torch.as_tensor(x)
    kind = "i64" if x.dtype in (torch.int64, torch.int32) else "f64"
    return {"shape": list(x.shape), "dtype": kind, "data": x.detach().reshape(-1).tolist()}


def dump(name, cases):
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"source": __doc__.split("Sources:")[1].strip(), "cases": cases}, f)
    print(name, len(cases), "cases")


# ---------------------------------------------------------------- focal
from torchvision.ops import sigmoid_focal_loss

cases = []
logits = torch.randn(4, 5, dtype=D) * 3
targets = (torch.rand(4, 5) > 0.7).to(D)
for alpha in (0.25, None):
    for gamma in (0.0, 0.5, 2.0):
        for red in ("none", "mean", "sum"):
            out = sigmoid_focal_loss(logits, targets, alpha=-1 if alpha is None else alpha, gamma=gamma, reduction=red)
            cases.append({"kind": "sigmoid", "inputs": {"logits": t(logits), "targets": t(targets)},
                          "params": {"alpha": alpha, "gamma": gamma, "reduction": red}, "expected": t(out)})
labels = torch.randint(0, 5, (4,))
cls_alpha = torch.tensor([0.1, 0.2, 0.3, 0.15, 0.25], dtype=D)
for alpha in (cls_alpha, None):
    for gamma in (0.0, 2.0):
        for red in ("none", "mean", "sum"):
            ce = F.cross_entropy(logits, labels, reduction="none")
            pt = torch.exp(-ce)
            loss = (1 - pt) ** gamma * ce
            if alpha is not None:
                loss = loss * alpha[labels]
            out = {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[red]
            cases.append({"kind": "softmax", "inputs": {"logits": t(logits), "labels": t(labels),
                          **({"alpha": t(alpha)} if alpha is not None else {})},
                          "params": {"gamma": gamma, "reduction": red}, "expected": t(out)})
dump("focal", cases)


# ---------------------------------------------------------------- arcface
class CombinedMarginLoss(torch.nn.Module):
    """insightface/recognition/arcface_torch/losses.py (forward as published)."""

    def __init__(self, s, m1, m2, m3):
        super().__init__()
        self.s, self.m1, self.m2, self.m3 = s, m1, m2, m3

    def forward(self, logits, labels):
        index_positive = torch.where(labels != -1)[0]
        target_logit = logits[index_positive, labels[index_positive].view(-1)]
        if self.m1 == 1.0 and self.m3 == 0.0:
            with torch.no_grad():
                target_logit.arccos_()
                logits.arccos_()
                final_target_logit = target_logit + self.m2
                logits[index_positive, labels[index_positive].view(-1)] = final_target_logit
                logits.cos_()
            logits = logits * self.s
        elif self.m3 > 0:
            final_target_logit = target_logit - self.m3
            logits[index_positive, labels[index_positive].view(-1)] = final_target_logit
            logits = logits * self.s
        else:
            raise ValueError("unsupported margin")
        return logits


cases = []
cosine = (torch.rand(5, 7, dtype=D) * 2 - 1) * 0.95
labels = torch.tensor([0, 3, -1, 6, 2])
for name, (s, m1, m2, m3) in {"arcface": (64.0, 1.0, 0.5, 0.0), "cosface": (64.0, 1.0, 0.0, 0.35),
                              "arcface_s30_m0.2": (30.0, 1.0, 0.2, 0.0)}.items():
    out = CombinedMarginLoss(s, m1, m2, m3)(cosine.clone(), labels)
    cases.append({"inputs": {"cosine": t(cosine), "labels": t(labels)},
                  "params": {"name": name, "s": s, "m1": m1, "m2": m2, "m3": m3}, "expected": t(out)})
for name, (s, m1, m2, m3) in {"sphereface": (64.0, 1.35, 0.0, 0.0), "combined": (64.0, 1.0, 0.3, 0.2)}.items():
    out = cosine.clone() * s
    for i, y in enumerate(labels.tolist()):
        if y >= 0:
            out[i, y] = s * (math.cos(m1 * math.acos(cosine[i, y].item()) + m2) - m3)
    cases.append({"inputs": {"cosine": t(cosine), "labels": t(labels)},
                  "params": {"name": name, "s": s, "m1": m1, "m2": m2, "m3": m3}, "expected": t(out)})
dump("arcface", cases)

# ---------------------------------------------------------------- ctc
cases = []
T, N, C = 12, 4, 6
lp = torch.randn(T, N, C, dtype=D).log_softmax(2)
targets = torch.tensor([[1, 2, 2, 3], [4, 0, 0, 0], [5, 5, 1, 0], [2, 3, 4, 1]]) .clamp(min=1)
tl = torch.tensor([4, 1, 3, 0])
il = torch.tensor([12, 9, 12, 5])
for red in ("none", "mean", "sum"):
    out = F.ctc_loss(lp, targets, il, tl, blank=0, reduction=red, zero_infinity=False)
    cases.append({"inputs": {"log_probs": t(lp), "targets": t(targets), "input_lengths": t(il), "target_lengths": t(tl)},
                  "params": {"blank": 0, "reduction": red, "zero_infinity": False}, "expected": t(out)})
# infeasible: sample 2 has 2 frames for the 3-symbol target 5 5 1 (needs 4: a blank between the 5s)
il2 = torch.tensor([12, 9, 2, 5])
tl2 = torch.tensor([4, 1, 3, 4])
for zi in (False, True):
    out = F.ctc_loss(lp, targets, il2, tl2, blank=0, reduction="none", zero_infinity=zi)
    cases.append({"inputs": {"log_probs": t(lp), "targets": t(targets), "input_lengths": t(il2), "target_lengths": t(tl2)},
                  "params": {"blank": 0, "reduction": "none", "zero_infinity": zi},
                  "expected": {"shape": list(out.shape), "dtype": "f64", "data": [x if math.isfinite(x) else "inf" for x in out.tolist()]}})
dump("ctc", cases)

# ---------------------------------------------------------------- chamfer
cases = []
x = np.random.randn(3, 6, 3)
y = np.random.randn(3, 4, 3)
xl = np.array([6, 3, 5])
yl = np.array([4, 4, 2])


def chamfer_ref(x, y, xl, yl, point_red, batch_red, single):
    per = []
    for b in range(x.shape[0]):
        a, c = x[b, :xl[b]], y[b, :yl[b]]
        d = ((a[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        cx = d.min(1)
        cy = d.min(0)
        red = np.mean if point_red == "mean" else np.sum
        v = red(cx) + (0 if single else red(cy))
        per.append(v)
    per = np.array(per)
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[batch_red]


for lengths in (False, True):
    for pr in ("mean", "sum"):
        for br in ("mean", "sum", "none"):
            for single in (False, True):
                if lengths:
                    out = chamfer_ref(x, y, xl, yl, pr, br, single)
                else:
                    out = chamfer_ref(x, y, [6] * 3, [4] * 3, pr, br, single)
                inputs = {"x": t(torch.tensor(x)), "y": t(torch.tensor(y))}
                if lengths:
                    inputs.update({"x_lengths": t(torch.tensor(xl)), "y_lengths": t(torch.tensor(yl))})
                cases.append({"inputs": inputs, "params": {"point_reduction": pr, "batch_reduction": br, "single_directional": single},
                              "expected": t(torch.tensor(out))})
dump("chamfer", cases)

# ---------------------------------------------------------------- dice
from monai.losses import DiceCELoss, DiceLoss

cases = []
logits = torch.randn(2, 3, 6, 5, dtype=D)
labels = torch.randint(0, 3, (2, 1, 6, 5))
labels[1] = 0  # a sample with no foreground
onehot = F.one_hot(labels[:, 0], 3).permute(0, 3, 1, 2).to(D)
combos = [
    dict(softmax=True, to_onehot_y=True),
    dict(softmax=True, to_onehot_y=True, include_background=False),
    dict(softmax=True, to_onehot_y=True, batch=True),
    dict(softmax=True, to_onehot_y=True, squared_pred=True),
    dict(softmax=True, to_onehot_y=True, jaccard=True),
    dict(sigmoid=True),
    dict(softmax=True, to_onehot_y=True, reduction="sum"),
    dict(softmax=True, to_onehot_y=True, reduction="none", include_background=False),
    dict(softmax=True, to_onehot_y=True, smooth_nr=0.0, smooth_dr=1e-6),
]
for opts in combos:
    tgt = labels if opts.get("to_onehot_y") else onehot
    out = DiceLoss(**opts)(logits, tgt)
    cases.append({"kind": "dice", "inputs": {"pred": t(logits), "target": t(tgt)}, "params": opts, "expected": t(out)})
for opts in (dict(softmax=True, to_onehot_y=True), dict(softmax=True, to_onehot_y=True, include_background=False),
             dict(sigmoid=True)):
    tgt = labels if opts.get("to_onehot_y") else onehot
    for ld, lc in ((1.0, 1.0), (0.7, 0.3)):
        out = DiceCELoss(**opts, lambda_dice=ld, lambda_ce=lc)(logits, tgt)
        cases.append({"kind": "dice_ce", "inputs": {"pred": t(logits), "target": t(tgt)},
                      "params": {**opts, "lambda_dice": ld, "lambda_ce": lc}, "expected": t(out)})
dump("dice", cases)

# ---------------------------------------------------------------- kl
cases = []
logq = torch.randn(4, 5, dtype=D).log_softmax(1)
p = torch.rand(4, 5, dtype=D)
p[0, :2] = 0.0
p = p / p.sum(1, keepdim=True)
for red in ("none", "mean", "sum", "batchmean"):
    out = F.kl_div(logq, p, reduction=red, log_target=False)
    cases.append({"kind": "kl_div", "inputs": {"input": t(logq), "target": t(p)}, "params": {"reduction": red, "log_target": False}, "expected": t(out)})
    logp = torch.randn(4, 5, dtype=D).log_softmax(1)
    out = F.kl_div(logq, logp, reduction=red, log_target=True)
    cases.append({"kind": "kl_div", "inputs": {"input": t(logq), "target": t(logp)}, "params": {"reduction": red, "log_target": True}, "expected": t(out)})
from torch.distributions import Normal, kl_divergence

mu1, lv1 = torch.randn(6, 3, dtype=D), torch.randn(6, 3, dtype=D)
mu2, lv2 = torch.randn(6, 3, dtype=D), torch.randn(6, 3, dtype=D)
std = lambda lv: torch.exp(0.5 * lv)
per = kl_divergence(Normal(mu1, std(lv1)), Normal(torch.zeros_like(mu1), torch.ones_like(mu1))).sum(-1)
for red, v in (("none", per), ("mean", per.mean()), ("sum", per.sum())):
    cases.append({"kind": "gaussian", "inputs": {"mu": t(mu1), "logvar": t(lv1)}, "params": {"reduction": red}, "expected": t(v)})
per = kl_divergence(Normal(mu1, std(lv1)), Normal(mu2, std(lv2))).sum(-1)
for red, v in (("none", per), ("mean", per.mean()), ("sum", per.sum())):
    cases.append({"kind": "gaussian_between", "inputs": {"mu1": t(mu1), "logvar1": t(lv1), "mu2": t(mu2), "logvar2": t(lv2)},
                  "params": {"reduction": red}, "expected": t(v)})
dump("kl", cases)

# ---------------------------------------------------------------- preference
cases = []
rc, rr = torch.randn(8, dtype=D), torch.randn(8, dtype=D)
margin = torch.rand(8, dtype=D)
for m in (None, margin):
    for coef in (None, 0.01):
        # TRL RewardTrainer.compute_loss
        if m is not None:
            loss = -F.logsigmoid(rc - rr - m).mean()
        else:
            loss = -F.logsigmoid(rc - rr).mean()
        if coef is not None:
            loss += coef * torch.mean((rc + rr) ** 2)
        inputs = {"r_chosen": t(rc), "r_rejected": t(rr), **({"margin": t(m)} if m is not None else {})}
        cases.append({"kind": "bradley_terry", "inputs": inputs, "params": {"center_coef": coef}, "expected": t(loss)})
pc, pr_, refc, refr = (torch.randn(8, dtype=D) * 5 - 20 for _ in range(4))
for beta in (0.1, 0.5):
    # TRL DPOTrainer.dpo_loss, loss_type="sigmoid", label_smoothing=0
    logits = (pc - pr_) - (refc - refr)
    losses = -F.logsigmoid(beta * logits)
    cases.append({"kind": "dpo", "inputs": {"policy_chosen_logps": t(pc), "policy_rejected_logps": t(pr_),
                  "ref_chosen_logps": t(refc), "ref_rejected_logps": t(refr)}, "params": {"beta": beta},
                  "expected": t(losses), "expected_chosen_rewards": t(beta * (pc - refc)),
                  "expected_rejected_rewards": t(beta * (pr_ - refr))})
dump("preference", cases)


# ---------------------------------------------------------------- perceptual
import runpy  # noqa: E402

runpy.run_path(os.path.join(os.path.dirname(__file__), "gen_perceptual.py"))
