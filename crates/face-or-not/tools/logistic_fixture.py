"""Writes tests/fixtures/logistic_sklearn.json: scikit-learn's L2 logistic regression on a small
random problem, for the Newton fit of src/baselines.rs to be checked against without sklearn.

Our objective is mean log loss + λ/2 ‖w‖² on standardised features (bias unpenalised), which is
scikit-learn's C = 1 / (λ N). Run: .venv/bin/python crates/face-or-not/tools/logistic_fixture.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(7)
n, d = 60, 8
x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + rng.normal(size=d)
w = rng.normal(size=d)
y = (x @ w + rng.normal(scale=2.0, size=n) > np.median(x @ w)).astype(int)
cases = []
for lam in (1e-3, 1e-2, 1e-1):
    z = (x - x.mean(0)) / x.std(0)
    m = LogisticRegression(C=1.0 / (lam * n), tol=1e-12, max_iter=100000).fit(z, y)
    cases.append({"lambda": lam, "p": m.predict_proba(z)[:, 1].tolist(),
                  "coef": m.coef_[0].tolist(), "intercept": float(m.intercept_[0])})
out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "logistic_sklearn.json")
with open(out, "w") as f:
    json.dump({"sklearn": sklearn.__version__, "x": x.tolist(), "y": y.tolist(), "cases": cases}, f)
print("wrote", out)
