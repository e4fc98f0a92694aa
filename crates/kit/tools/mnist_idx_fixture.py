"""Writes kit's MNIST IDX fixture (`just format-fixtures`): the four IDX files in torchvision's
layout (MNIST/raw/; the training files gzipped as LeCun's site serves them, the test files
plain as torchvision unpacks them), 28×28 images of seeded noise, 2 per digit for training and
1 per digit for test; and what torchvision's own MNIST reader reads from them
(mnist_idx_torchvision.json: labels and per-image pixel sums). The tests read the committed
files without torchvision.
usage: python mnist_idx_fixture.py OUT_DIR"""
import gzip
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
from torchvision.datasets.mnist import read_image_file, read_label_file

out = sys.argv[1]
raw = os.path.join(out, "mnist-idx", "MNIST", "raw")
shutil.rmtree(os.path.join(out, "mnist-idx"), ignore_errors=True)
os.makedirs(raw)
rng = np.random.default_rng(3)


def idx(data, dims):
    return struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + data.tobytes()


read = {}
for part, per_digit, gz in [("train", 2, True), ("t10k", 1, False)]:
    labels = np.repeat(np.arange(10, dtype=np.uint8), per_digit)
    rng.shuffle(labels)
    images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
    files = {f"{part}-images-idx3-ubyte": idx(images, images.shape),
             f"{part}-labels-idx1-ubyte": idx(labels, labels.shape)}
    for name, data in files.items():
        path = os.path.join(raw, name + (".gz" if gz else ""))
        with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
            f.write(data)
    with tempfile.TemporaryDirectory() as tmp:  # torchvision reads unpacked files
        for name, data in files.items():
            open(os.path.join(tmp, name), "wb").write(data)
        imgs = read_image_file(os.path.join(tmp, f"{part}-images-idx3-ubyte"))
        labs = read_label_file(os.path.join(tmp, f"{part}-labels-idx1-ubyte"))
    read[part] = {"shape": list(imgs.shape), "labels": labs.tolist(),
                  "pixel_sums": imgs.reshape(len(labs), -1).sum(1).tolist()}
json.dump(read, open(os.path.join(out, "mnist_idx_torchvision.json"), "w"), indent=1)
print(f"wrote {raw} and mnist_idx_torchvision.json")
