"""Fixtures of loss_zoo::perceptual (tests/fixtures/perceptual.json), from PyTorch: the Gram
matrix exactly as pytorch/examples' fast_neural_style `utils.gram_matrix` computes it, the
feature loss as `F.mse_loss`, the style loss as Johnson et al.'s squared Frobenius distance of
Gram matrices (fast_neural_style's `mse_loss(gram_y, gram_s)` is that divided by C²), total
variation as its formula; each with autograd's gradient with respect to the input.
    .venv/bin/python crates/loss-zoo/tests/reference/gen_perceptual.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1)
D = torch.float64
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "perceptual.json")


def t(x):
    return {"shape": list(x.shape), "dtype": "f64", "data": x.detach().reshape(-1).tolist()}


def gram_matrix(y):  # pytorch/examples fast_neural_style/neural_style/utils.py
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def with_grad(f, *xs):
    xs = [x.clone().requires_grad_(True) for x in xs]
    out = f(*xs)
    grads = torch.autograd.grad(out.sum(), xs)
    return out, grads


cases = []
a = torch.randn(2, 3, 5, 4, dtype=D)
b = torch.randn(2, 3, 5, 4, dtype=D)
out, (ga,) = with_grad(gram_matrix, a)
cases.append({"kind": "gram", "inputs": {"f": t(a)}, "expected": t(out), "grad": t(ga)})
out, (ga,) = with_grad(lambda x: F.mse_loss(x, b), a)
cases.append({"kind": "feature", "inputs": {"a": t(a), "b": t(b)}, "expected": t(out), "grad": t(ga)})
for style_batch in (1, 2):
    s = torch.randn(style_batch, 3, 7, 6, dtype=D)
    gs = gram_matrix(s)
    out, (ga,) = with_grad(lambda x: ((gram_matrix(x) - gs) ** 2).sum(dim=(1, 2)).mean(), a)
    cases.append({"kind": "style", "inputs": {"f": t(a), "style_gram": t(gs)}, "expected": t(out), "grad": t(ga)})
# Two layers of different sizes, weighted.
a2 = torch.randn(2, 4, 3, 3, dtype=D)
g1, g2 = gram_matrix(torch.randn(1, 3, 5, 5, dtype=D)), gram_matrix(torch.randn(1, 4, 2, 2, dtype=D))
w = (0.7, 2.5)
out, (ga, ga2) = with_grad(
    lambda x, y: w[0] * ((gram_matrix(x) - g1) ** 2).sum(dim=(1, 2)).mean()
    + w[1] * ((gram_matrix(y) - g2) ** 2).sum(dim=(1, 2)).mean(), a, a2)
cases.append({"kind": "weighted_style", "inputs": {"f1": t(a), "f2": t(a2), "g1": t(g1), "g2": t(g2)},
              "params": {"weights": list(w)}, "expected": t(out), "grad": t(ga), "grad2": t(ga2)})
x = torch.rand(2, 3, 6, 5, dtype=D)


def tv(x):
    return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()


out, (gx,) = with_grad(tv, x)
cases.append({"kind": "tv", "inputs": {"x": t(x)}, "expected": t(out), "grad": t(gx)})
with open(OUT, "w") as f:
    json.dump({"source": __doc__.strip().split("\n    ")[0], "cases": cases}, f)
print("perceptual", len(cases), "cases")
