"""Writes scikit-image's bundled `lfw_subset` (100 real LFW face crops, then 100 non-faces,
25×25 grey; no download) as an ImageFolder pool of two classes, and the package's photos that
hold no human face as a folder of hard-negative sources:

    OUT/face/NNN.png, OUT/not_face/NNN.png      (configs/face-or-not/lfw.yaml: data.source)
    OUT-photos/<name>.png                       (data.negatives: random crops are non-faces)

The astronaut photo (one face) is left out of both: `face-or-not predict` scans it. Used by
`just data faces`.
"""
import os
import sys

import numpy as np
from skimage import color, data
from skimage.io import imsave

# Photos and textures without a human face (camera, astronaut: faces; cat and chelsea: a cat).
NO_FACE = ["brick", "chelsea", "clock", "coffee", "coins", "grass", "gravel", "hubble_deep_field",
           "immunohistochemistry", "moon", "page", "rocket", "text"]


def grey8(img):
    img = np.asarray(img)
    if img.ndim == 3:
        img = color.rgb2gray(img[..., :3])
    img = img.astype(np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def main(out):
    x = data.lfw_subset()  # (200, 25, 25) float in [0, 1]; the first 100 are faces
    assert x.shape == (200, 25, 25), x.shape
    for sub, part in (("face", x[:100]), ("not_face", x[100:])):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for i, img in enumerate(part):
            imsave(os.path.join(d, f"{i:03d}.png"), grey8(img), check_contrast=False)
    photos = out.rstrip("/") + "-photos"
    os.makedirs(photos, exist_ok=True)
    for name in NO_FACE:
        imsave(os.path.join(photos, f"{name}.png"), grey8(getattr(data, name)()), check_contrast=False)
    print(f"wrote 100 faces and 100 non-faces (25×25, scikit-image lfw_subset) to {out}, "
          f"and {len(NO_FACE)} photos without a human face to {photos}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/faces")
