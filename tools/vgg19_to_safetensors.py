"""Writes VGG-19's `features` weights, named as torchvision names them (features.0.weight, ...),
into a safetensors file that style-transfer's `features.kind: vgg19` reads.

    python tools/vgg19_to_safetensors.py --out data/vgg19.safetensors            # ImageNet weights
    python tools/vgg19_to_safetensors.py --out w.safetensors --random --seed 0 \
        --probe probe.safetensors                                                 # tests

The ImageNet weights come from torchvision (`pip install torchvision`; the first call
downloads them, so it needs a network). `--random` writes a randomly initialised VGG-19
instead (torchvision's own initialisation when torchvision is installed, else the same layout
built here), and `--probe FILE` also writes a random input in [0, 1] and the network's activations
at every ReLU and pool (of the ImageNet-normalised input), which the Rust test compares with its own forward pass.

The safetensors file is written here directly (an 8-byte header length, a JSON header, the
raw little-endian float32 data), so only torch is needed.
"""
import argparse
import ctypes
import json
import struct

import torch

# torchvision's cfgs["E"]: channels per conv, "M" a 2x2 max-pool.
VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def features_random(seed):
    torch.manual_seed(seed)
    try:
        import torchvision
        return torchvision.models.vgg19(weights=None).features
    except ImportError:
        layers, c = [], 3
        for v in VGG19:
            if v == "M":
                layers.append(torch.nn.MaxPool2d(2, 2))
            else:
                conv = torch.nn.Conv2d(c, v, 3, padding=1)
                torch.nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                torch.nn.init.zeros_(conv.bias)
                layers += [conv, torch.nn.ReLU(inplace=True)]
                c = v
        return torch.nn.Sequential(*layers)


def features_imagenet():
    import torchvision
    return torchvision.models.vgg19(weights=torchvision.models.VGG19_Weights.IMAGENET1K_V1).features


def save(tensors, path):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().clone()
        data = ctypes.string_at(t.data_ptr(), t.numel() * 4)  # little-endian on x86 and ARM
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--random", action="store_true", help="random initialisation (tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--probe", help="also write an input and its activations (tests)")
    a = ap.parse_args()
    feats = features_random(a.seed) if a.random else features_imagenet()
    feats.eval()
    save({"features." + k: v for k, v in feats.state_dict().items()}, a.out)
    print(f"wrote {a.out}: {sum(v.numel() for v in feats.state_dict().values())} parameters")
    if a.probe:
        torch.manual_seed(a.seed + 1)
        x = torch.rand(1, 3, 48, 40)
        out = {"input": x}
        # The network sees ImageNet-normalised RGB, as torchvision's models (and the Rust side) do.
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        h = (x - mean) / std
        with torch.no_grad():
            for i, layer in enumerate(feats):
                h = layer(h.clone())
                if not isinstance(layer, torch.nn.Conv2d):
                    out[f"features.{i}"] = h
        save(out, a.probe)


if __name__ == "__main__":
    main()
