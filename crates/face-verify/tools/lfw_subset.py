"""Writes scikit-image's bundled `lfw_subset` (100 real LFW face crops, then 100 non-faces,
25×25 grey; no download) as a face / no-face test folder:

    OUT/face/NNN.png, OUT/non-face/NNN.png

`face-verify face-or-not --real OUT` reads it. Used by `just data faces`.
"""
import os
import sys

import numpy as np
from skimage import data
from skimage.io import imsave


def main(out):
    x = data.lfw_subset()  # (200, 25, 25) float in [0, 1]; the first 100 are faces
    assert x.shape == (200, 25, 25), x.shape
    for sub, part in (("face", x[:100]), ("non-face", x[100:])):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for i, img in enumerate(part):
            imsave(os.path.join(d, f"{i:03d}.png"), (np.clip(img, 0, 1) * 255).round().astype(np.uint8),
                   check_contrast=False)
    print(f"wrote 100 faces and 100 non-faces (25×25, scikit-image {data.__name__} lfw_subset) to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/faces")
