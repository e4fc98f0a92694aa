"""Writes face-verify's LFW fixture (`just format-fixtures`): a folder in LFW's download layout
(person folders under lfw/, LFW's tab-separated pairs.txt with header `10\t2`), the labels and
faces scikit-learn's own LFW pairs reader finds in it (lfw_sklearn.json), and LFW's 10-fold
protocol computed independently with numpy on fixed scores (lfw_protocol.json).

Every image is one uniform grey level, 10 + 3·k for face k, so the face a reader resolved is
read back from its pixels. The tests read the committed files without scikit-learn.
usage: python lfw_fixture.py OUT_DIR"""
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image
from sklearn.datasets._lfw import _fetch_lfw_pairs

out = sys.argv[1]
root = os.path.join(out, "lfw")
shutil.rmtree(root, ignore_errors=True)
rng = np.random.default_rng(7)
# 12 people in the pairs (3 faces each), 6 outside them (4 faces each): the training people.
pair_people = [f"Pair_Person_{c}" for c in "ABCDEFGHIJKL"]
train_people = [f"Train_Person_{c}" for c in "MNOPQR"]
faces = {}
for name, n in [(p, 3) for p in pair_people] + [(p, 4) for p in train_people]:
    os.makedirs(os.path.join(root, "lfw", name))
    for j in range(1, n + 1):
        k = len(faces)
        faces[(name, j)] = k
        img = Image.new("RGB", (250, 250), (10 + 3 * k,) * 3)  # LFW size: sklearn assumes it
        img.save(os.path.join(root, "lfw", name, f"{name}_{j:04d}.jpg"), quality=100)
folds, m = 10, 2
lines = [f"{folds}\t{m}"]
for f in range(folds):
    for i in range(m):
        p = pair_people[(2 * f + i) % 12]
        a, b = rng.choice([1, 2, 3], size=2, replace=False)
        lines.append(f"{p}\t{a}\t{b}")
    for i in range(m):
        p, q = rng.choice(pair_people, size=2, replace=False)
        lines.append(f"{p}\t{rng.integers(1, 4)}\t{q}\t{rng.integers(1, 4)}")
open(os.path.join(root, "pairs.txt"), "w").write("\n".join(lines) + "\n")

pairs, target, _ = _fetch_lfw_pairs(os.path.join(root, "pairs.txt"), os.path.join(root, "lfw"))
face_id = lambda img: int(round((float(img.mean()) * 255 - 10) / 3)) if img.max() <= 1 else int(round((float(img.mean()) - 10) / 3))
json.dump({"target": [int(t) for t in target],
           "face_a": [face_id(p[0]) for p in pairs],
           "face_b": [face_id(p[1]) for p in pairs],
           "faces": {f"{n}_{j:04d}.jpg": k for (n, j), k in faces.items()}},
          open(os.path.join(out, "lfw_sklearn.json"), "w"), indent=1)

# LFW's protocol on fixed scores: folds are contiguous blocks of 2m pairs; per fold, the
# threshold with the best accuracy on the other nine (accept score >= t, t midway between
# consecutive distinct scores, the highest such t on ties), accuracy on the fold itself.
labels = np.array([t == 1 for t in target])
scores = np.round(rng.normal(labels * 0.8, 0.6), 3)
accs = []
for f in range(folds):
    test = np.zeros(len(labels), bool)
    test[f * 2 * m:(f + 1) * 2 * m] = True
    s, l = scores[~test], labels[~test]
    distinct = np.unique(s)[::-1]
    cands = [np.inf] + [(distinct[i] + distinct[i + 1]) / 2 if i + 1 < len(distinct) else distinct[i]
                        for i in range(len(distinct))]
    acc = [np.mean((s >= t) == l) for t in cands]
    t = cands[int(np.argmax(acc))]
    accs.append(np.mean((scores[test] >= t) == labels[test]))
json.dump({"scores": scores.tolist(), "labels": labels.tolist(), "folds": folds,
           "accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
           "fold_accuracies": [float(a) for a in accs]},
          open(os.path.join(out, "lfw_protocol.json"), "w"), indent=1)
print(f"wrote {root} ({len(faces)} faces, {len(target)} pairs) and the sklearn / protocol fixtures; "
      f"10-fold accuracy {np.mean(accs):.4f} ± {np.std(accs):.4f}")
