"""Writes the photos and textures that ship inside scikit-image's wheel (skimage/data/, read
from the installed package: no download) as PNG files for style-transfer:
    OUT/content/train/  astronaut, coffee, motorcycle_left, motorcycle_right, hubble_deep_field,
                        ihc, coins, moon, page (greyscale ones are converted by the app)
    OUT/content/val/    rocket, retina
    OUT/content/test/   chelsea, camera
    OUT/styles/         brick, grass, gravel (greyscale textures)
The stereo pair motorcycle_left / _right stays within one split. Usage: skimage_images.py OUT
"""
import os
import sys

import skimage.data
import skimage.io

SPLITS = {
    "content/train": ["astronaut.png", "coffee.png", "motorcycle_left.png", "motorcycle_right.png",
                      "hubble_deep_field.jpg", "ihc.png", "coins.png", "moon.png", "page.png"],
    "content/val": ["rocket.jpg", "retina.jpg"],
    "content/test": ["chelsea.png", "camera.png"],
    "styles": ["brick.png", "grass.png", "gravel.png"],
}


def main(out):
    for folder, files in SPLITS.items():
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        for file in files:
            image = skimage.io.imread(os.path.join(skimage.data.data_dir, file))
            path = os.path.join(out, folder, os.path.splitext(file)[0] + ".png")
            skimage.io.imsave(path, image, check_contrast=False)
            print(f"{path}: {image.shape}")


if __name__ == "__main__":
    main(sys.argv[1])
