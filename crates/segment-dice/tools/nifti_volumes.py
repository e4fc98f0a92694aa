"""NIfTI fixtures and checks written with nibabel, the field's reference reader/writer.

  write DIR [--n N] [--seed S]   a small BraTS-like set in the Medical Segmentation Decathlon
                                 layout (dataset.json, imagesTr/, labelsTr/): 4-D images
                                 (x, y, z, 2 modalities: FLAIR-like, T1-like), float32,
                                 anisotropic voxels (1.5 × 1.5 × 3 mm) with an oblique-free
                                 affine and an origin; labels 0 / 1 (core) / 2 (oedema) /
                                 4 (enhancing rim), uint8, as BraTS numbers them.
  write DIR --layout brats2021   the same cases as BraTS 2021 ships them: one folder per case,
                                 BraTS2021_NNNNN/BraTS2021_NNNNN_{flair,t1,t1ce,t2}.nii.gz
                                 (3-D int16, one modality each) and _seg.nii.gz (uint8).
  describe FILE                  prints what nibabel reads: shape, zooms, affine, dtype, the
                                 sum of the data and a few voxels (x, y, z[, c]) as JSON.

Used by crates/segment-dice/tests/nifti.rs (on demand: needs nibabel in .venv).
"""
import argparse
import json
import pathlib
import sys

import nibabel as nib
import numpy as np

SHAPE = (40, 44, 12)
ZOOMS = (1.5, 1.5, 3.0)


def case(rng):
    x, y, z = np.meshgrid(*[np.arange(n) * s for n, s in zip(SHAPE, ZOOMS)], indexing="ij")
    c = [n * s / 2 for n, s in zip(SHAPE, ZOOMS)]
    brain = ((x - c[0]) / 26) ** 2 + ((y - c[1]) / 29) ** 2 + ((z - c[2]) / 16) ** 2 < 1
    t = [c[0] + rng.uniform(-9, 9), c[1] + rng.uniform(-9, 9), c[2] + rng.uniform(-4, 4)]
    r = np.sqrt((x - t[0]) ** 2 + (y - t[1]) ** 2 + (z - t[2]) ** 2)
    radius = rng.uniform(6, 10)
    labels = np.zeros(SHAPE, np.uint8)
    labels[(r < radius * 1.6) & brain] = 2  # oedema around the tumour
    labels[(r < radius) & brain] = 4  # enhancing rim
    labels[(r < radius * 0.6) & brain] = 1  # necrotic core
    noise = lambda: rng.normal(0, 0.05, SHAPE)
    flair = brain * (0.5 + noise()) + (labels == 2) * 0.25 + (labels > 0) * 0.15
    t1 = brain * (0.6 + noise()) + (labels == 4) * 0.35 - (labels == 1) * 0.2
    image = np.stack([flair * 800, t1 * 1200], axis=-1).astype(np.float32)
    image[~brain] = 0
    return image, labels


def write(out, n, seed):
    rng = np.random.default_rng(seed)
    affine = np.diag([*ZOOMS, 1.0])
    affine[:3, 3] = [-30.0, -33.0, -18.0]
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    training = []
    for i in range(n):
        image, labels = case(rng)
        name = f"BRATS_{i:03d}.nii.gz"
        for arr, sub in ((image, "imagesTr"), (labels, "labelsTr")):
            img = nib.Nifti1Image(arr, affine)
            img.header.set_xyzt_units("mm")
            nib.save(img, out / sub / name)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    meta = {
        "name": "loss-zoo BraTS-like fixture",
        "modality": {"0": "FLAIR", "1": "T1w"},
        "labels": {"0": "background", "1": "necrotic core", "2": "oedema", "4": "enhancing"},
        "numTraining": n,
        "training": training,
        "test": [],
    }
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))


def write_brats2021(out, n, seed):
    rng = np.random.default_rng(seed)
    affine = np.diag([*ZOOMS, 1.0])
    affine[:3, 3] = [-30.0, -33.0, -18.0]
    for i in range(n):
        image, labels = case(rng)
        flair, t1 = image[..., 0], image[..., 1]
        t1ce = t1 + (labels == 4) * 400.0
        t2 = flair * 0.7 + (labels == 2) * 300.0
        name = f"BraTS2021_{i:05d}"
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        for m, arr in (("flair", flair), ("t1", t1), ("t1ce", t1ce), ("t2", t2)):
            img = nib.Nifti1Image(np.round(arr).astype(np.int16), affine)
            img.header.set_xyzt_units("mm")
            nib.save(img, d / f"{name}_{m}.nii.gz")
        seg = nib.Nifti1Image(labels, affine)
        seg.header.set_xyzt_units("mm")
        nib.save(seg, d / f"{name}_seg.nii.gz")


def describe(path):
    img = nib.load(path)
    data = np.asarray(img.dataobj)
    probes = [(0, 0, 0), tuple(s // 2 for s in data.shape[:3]), tuple(s - 1 for s in data.shape[:3])]
    voxels = [data[p].tolist() for p in probes]
    json.dump(
        {
            "shape": list(data.shape),
            "zooms": [float(z) for z in img.header.get_zooms()[:3]],
            "affine": img.affine.tolist(),
            "dtype": str(data.dtype),
            "sum": float(data.astype(np.float64).sum()),
            "foreground": int(np.count_nonzero(data)),
            "probes": [list(p) for p in probes],
            "voxels": voxels,
            "values": sorted(int(v) for v in np.unique(data)) if data.dtype.kind in "ui" else None,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out", type=pathlib.Path)
    w.add_argument("--n", type=int, default=8)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--layout", choices=["decathlon", "brats2021"], default="decathlon")
    d = sub.add_parser("describe")
    d.add_argument("file")
    a = p.parse_args()
    if a.cmd == "write" and a.layout == "brats2021":
        write_brats2021(a.out, a.n, a.seed)
    elif a.cmd == "write":
        write(a.out, a.n, a.seed)
    else:
        describe(a.file)
