"""Fixtures written by each format's own reference library, with what that library reads back,
for the Rust tests to compare against (run on demand: `just format-fixtures`; the files are
committed, so the tests need none of these libraries).

- Pillow: a 16-bit greyscale PNG, a palette PNG, a greyscale-with-alpha PNG, a CMYK JPEG
  and an RGBA PNG -> crates/kit/tests/fixtures/images/ + expected.json (raw values as Pillow
  decodes them, and Pillow's convert("RGB")).
- trimesh: one mesh as OFF, OBJ (with normals and texture coordinates), ASCII PLY and binary
  PLY -> crates/pointcloud-chamfer/tests/fixtures/meshes/ + expected.json (surface area,
  bounds, area-weighted centroid).
- pycocotools: seeded boxes and scored detections over 3 classes and 12 images, and COCOeval's
  AP@[.5:.95], AP50, AP75 and per-class AP -> crates/metrics/tests/fixtures/coco_eval.json.
"""
import contextlib
import io
import json
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def images():
    from PIL import Image

    out = ROOT / "crates/kit/tests/fixtures/images"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    h, w = 4, 5
    expected = {}

    def record(name, img):
        expected[name] = {
            "mode": img.mode,
            "raw": np.asarray(img).astype(np.int64).tolist(),
            "rgb": np.asarray(img.convert("RGB")).astype(np.int64).tolist(),
        }

    g16 = rng.integers(0, 65536, (h, w)).astype(np.uint16)
    img = Image.fromarray(g16)  # I;16
    img.save(out / "gray16.png")
    record("gray16.png", Image.open(out / "gray16.png"))

    pal = Image.fromarray(rng.integers(0, 6, (h, w)).astype(np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 0, 0, 0])
    pal.save(out / "palette.png")
    record("palette.png", Image.open(out / "palette.png"))

    la = Image.fromarray(rng.integers(0, 256, (h, w, 2)).astype(np.uint8), mode="LA")
    la.save(out / "gray_alpha.png")
    record("gray_alpha.png", Image.open(out / "gray_alpha.png"))

    # Flat 4 × 4 blocks (JPEG's 8 × 8 DCT keeps them nearly exact at quality 100).
    cmyk = np.repeat(np.repeat(rng.integers(0, 256, (2, 2, 4)), 8, 0), 8, 1).astype(np.uint8)
    Image.fromarray(cmyk, mode="CMYK").save(out / "cmyk.jpg", quality=100)
    record("cmyk.jpg", Image.open(out / "cmyk.jpg"))

    rgba = Image.fromarray(rng.integers(0, 256, (h, w, 4)).astype(np.uint8), mode="RGBA")
    rgba.save(out / "rgba.png")
    record("rgba.png", Image.open(out / "rgba.png"))

    (out / "expected.json").write_text(json.dumps(expected))


def meshes():
    import trimesh

    out = ROOT / "crates/pointcloud-chamfer/tests/fixtures/meshes"
    out.mkdir(parents=True, exist_ok=True)
    # An off-centre capsule, stretched and turned: curved, not axis-aligned, 150–250 faces.
    m = trimesh.creation.capsule(height=1.0, radius=0.4, count=[10, 10])
    m.apply_transform(trimesh.transformations.rotation_matrix(0.7, [1, 2, 3]))
    m.apply_scale([1.0, 1.5, 0.8])
    m.apply_translation([0.3, -0.2, 0.1])
    m.export(out / "capsule.off")
    m.export(out / "capsule.obj", include_normals=True, include_texture=False)
    m.export(out / "capsule_ascii.ply", encoding="ascii")
    m.export(out / "capsule_binary.ply", encoding="binary")
    expected = {}
    for name in ["capsule.off", "capsule.obj", "capsule_ascii.ply", "capsule_binary.ply"]:
        r = trimesh.load(out / name, force="mesh", process=False)
        expected[name] = {
            "faces": int(len(r.faces)),
            "area": float(r.area),
            "bounds": r.bounds.tolist(),
            "centroid": r.triangles_center.T.dot(r.area_faces / r.area).tolist(),
        }
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


def coco():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(7)
    images = [{"id": i + 1, "file_name": f"{i}.png", "width": 100, "height": 100} for i in range(12)]
    cats = [{"id": c + 1, "name": f"c{c}"} for c in range(3)]
    anns, dets = [], []
    for img in images:
        for _ in range(rng.integers(0, 5)):
            x, y = rng.uniform(0, 70, 2)
            bw, bh = rng.uniform(5, 30, 2)
            c = int(rng.integers(1, 4))
            anns.append({"id": len(anns) + 1, "image_id": img["id"], "category_id": c,
                         "bbox": [x, y, bw, bh], "area": bw * bh, "iscrowd": 0})
            # A detection near it (its class, sometimes another), and clutter.
            for _ in range(rng.integers(0, 3)):
                jitter = rng.normal(0, 3, 4)
                cls = c if rng.random() < 0.8 else int(rng.integers(1, 4))
                dets.append({"image_id": img["id"], "category_id": cls,
                             "bbox": [x + jitter[0], y + jitter[1], max(bw + jitter[2], 1.0), max(bh + jitter[3], 1.0)],
                             "score": float(rng.uniform(0.05, 1.0))})
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 80, 2)
            dets.append({"image_id": img["id"], "category_id": int(rng.integers(1, 4)),
                         "bbox": [x, y, *rng.uniform(5, 20, 2)], "score": float(rng.uniform(0.0, 0.6))})
    gt = COCO()
    gt.dataset = {"images": images, "categories": cats, "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    prec = ev.eval["precision"][:, :, :, 0, 2]  # T × R × K, area all, maxDets 100
    per_class = []
    for k in range(len(cats)):
        p = prec[:, :, k]
        per_class.append(float(p[p > -1].mean()) if (p > -1).any() else None)
    out = ROOT / "crates/metrics/tests/fixtures"
    out.mkdir(parents=True, exist_ok=True)
    (out / "coco_eval.json").write_text(json.dumps({
        "images": images, "categories": cats, "annotations": anns, "detections": dets,
        "pycocotools": {"ap": ev.stats[0], "ap50": ev.stats[1], "ap75": ev.stats[2], "per_class": per_class},
    }))


def shapenet():
    """ShapeNetCore.v2's nesting: <synset>/<model>/models/model_normalized.obj (+ its .mtl and a
    model_normalized.json, which the app must skip) and ShapeNet's split file all.csv; trimesh's
    face count and area of every mesh in expected.json."""
    import shutil
    import trimesh

    out = ROOT / "crates/pointcloud-chamfer/tests/fixtures/shapenet"
    shutil.rmtree(out, ignore_errors=True)
    makers = {"02691156": lambda k: trimesh.creation.cone(radius=0.3 + 0.1 * k, height=1.0, sections=8),
              "03001627": lambda k: trimesh.creation.box(extents=[0.5 + 0.1 * k, 0.8, 0.4])}
    rows, expected = ["id,synsetId,subSynsetId,modelId,split"], {}
    for synset, make in makers.items():
        for k, split in enumerate(["train", "train", "train", "val", "test"]):
            model = f"{synset[:3]}model{k:02d}"
            d = out / synset / model / "models"
            d.mkdir(parents=True)
            m = make(k)
            m.export(d / "model_normalized.obj", include_normals=False, include_texture=False)
            (d / "model_normalized.mtl").write_text("newmtl material_0\nKd 0.8 0.8 0.8\n")
            (d / "model_normalized.json").write_text(json.dumps({"id": model}))
            rows.append(f"{len(rows)},{synset},{synset},{model},{split}")
            r = trimesh.load(d / "model_normalized.obj", force="mesh", process=False)
            expected[f"{synset}/{model}"] = {"faces": int(len(r.faces)), "area": float(r.area)}
    (out / "all.csv").write_text("\n".join(rows) + "\n")
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


def coco_tree():
    """COCO's own tree: annotations/instances_{train,val}2017.json + train2017/, val2017/ (JPEG
    files named by zero-padded id), with a crowd box and a category id gap as COCO has; what
    pycocotools reads of each image (non-crowd boxes, category ids) in expected.json."""
    import shutil
    from PIL import Image
    from pycocotools.coco import COCO

    out = ROOT / "crates/detect-focal/tests/fixtures/coco-tree"
    shutil.rmtree(out, ignore_errors=True)
    (out / "annotations").mkdir(parents=True)
    rng = np.random.default_rng(11)
    cats = [{"id": 1, "name": "person", "supercategory": "person"},
            {"id": 3, "name": "car", "supercategory": "vehicle"},
            {"id": 18, "name": "dog", "supercategory": "animal"}]
    expected = {}
    for split, n, first in [("train2017", 16, 100), ("val2017", 6, 900)]:
        (out / split).mkdir()
        images, anns = [], []
        for i in range(n):
            iid = first + i
            w, h = int(rng.integers(48, 80)), int(rng.integers(48, 80))
            name = f"{iid:012d}.jpg"
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(out / split / name, quality=85)
            images.append({"id": iid, "file_name": name, "width": w, "height": h})
            for k in range(int(rng.integers(1, 4))):
                bw, bh = rng.uniform(8, w / 2), rng.uniform(8, h / 2)
                x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
                anns.append({"id": len(anns) + 1 + 10000 * (first // 100), "image_id": iid,
                             "category_id": int(rng.choice([1, 3, 18])), "bbox": [x, y, bw, bh],
                             "area": bw * bh, "iscrowd": int(k == 2), "segmentation": []})
        path = out / "annotations" / f"instances_{split}.json"
        path.write_text(json.dumps({"info": {"description": "loss-zoo COCO-tree fixture"}, "licenses": [],
                                    "images": images, "annotations": anns, "categories": cats}))
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(path))
        expected[split] = {str(iid): sorted(a["category_id"] for a in coco.loadAnns(coco.getAnnIds(imgIds=[iid], iscrowd=False)))
                           for iid in coco.getImgIds()}
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


def yolo():
    """The COCO-tree fixture converted to the YOLO layout as ultralytics documents it and its
    JSON2YOLO converter writes it (data.yaml; images/{train,val}; labels/{train,val}/<stem>.txt
    with `class cx cy w h` normalised; crowd boxes dropped; class = index in `names`)."""
    import shutil

    src = ROOT / "crates/detect-focal/tests/fixtures/coco-tree"
    out = ROOT / "crates/detect-focal/tests/fixtures/yolo"
    shutil.rmtree(out, ignore_errors=True)
    names = None
    for split, folder in [("train2017", "train"), ("val2017", "val")]:
        d = json.loads((src / "annotations" / f"instances_{split}.json").read_text())
        cats = sorted(d["categories"], key=lambda c: c["id"])
        names = [c["name"] for c in cats]
        index = {c["id"]: k for k, c in enumerate(cats)}
        (out / "images" / folder).mkdir(parents=True)
        (out / "labels" / folder).mkdir(parents=True)
        for im in d["images"]:
            shutil.copy(src / split / im["file_name"], out / "images" / folder / im["file_name"])
            rows = []
            for a in d["annotations"]:
                if a["image_id"] != im["id"] or a["iscrowd"]:
                    continue
                b = np.array(a["bbox"], dtype=np.float64)
                b[:2] += b[2:] / 2
                b[[0, 2]] /= im["width"]
                b[[1, 3]] /= im["height"]
                rows.append(f"{index[a['category_id']]} " + " ".join(f"{v:.6f}" for v in b))
            if rows:
                (out / "labels" / folder / (pathlib.Path(im["file_name"]).stem + ".txt")).write_text("\n".join(rows) + "\n")
    (out / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames:\n"
                                   + "".join(f"  {k}: {n}\n" for k, n in enumerate(names)))


def voc():
    """The COCO-tree fixture as a Pascal VOC tree (VOCdevkit/VOC2012: Annotations/*.xml,
    JPEGImages/, ImageSets/Main/{train,val}.txt; 1-based inclusive pixel boxes, one box marked
    difficult) and what torchvision's VOCDetection parses of each image (expected.json)."""
    import shutil
    import xml.etree.ElementTree as ET
    from torchvision.datasets import VOCDetection

    src = ROOT / "crates/detect-focal/tests/fixtures/coco-tree"
    out = ROOT / "crates/detect-focal/tests/fixtures/voc"
    shutil.rmtree(out, ignore_errors=True)
    voc = out / "VOCdevkit" / "VOC2012"
    for d in ["Annotations", "JPEGImages", "ImageSets/Main"]:
        (voc / d).mkdir(parents=True)
    names = {1: "person", 3: "car", 18: "dog"}
    first_difficult = True
    for split, folder in [("train2017", "train"), ("val2017", "val")]:
        d = json.loads((src / "annotations" / f"instances_{split}.json").read_text())
        ids = []
        for im in d["images"]:
            stem = pathlib.Path(im["file_name"]).stem
            ids.append(stem)
            shutil.copy(src / split / im["file_name"], voc / "JPEGImages" / im["file_name"])
            root = ET.Element("annotation")
            ET.SubElement(root, "folder").text = "VOC2012"
            ET.SubElement(root, "filename").text = im["file_name"]
            size = ET.SubElement(root, "size")
            for k, v in [("width", im["width"]), ("height", im["height"]), ("depth", 3)]:
                ET.SubElement(size, k).text = str(v)
            for a in d["annotations"]:
                if a["image_id"] != im["id"] or a["iscrowd"]:
                    continue
                o = ET.SubElement(root, "object")
                ET.SubElement(o, "name").text = names[a["category_id"]]
                ET.SubElement(o, "pose").text = "Unspecified"
                ET.SubElement(o, "truncated").text = "0"
                ET.SubElement(o, "difficult").text = "1" if first_difficult else "0"
                first_difficult = False
                x, y, w, h = a["bbox"]
                b = ET.SubElement(o, "bndbox")
                for k, v in [("xmin", x + 1), ("ymin", y + 1), ("xmax", x + w), ("ymax", y + h)]:
                    ET.SubElement(b, k).text = str(int(round(v)))
            ET.ElementTree(root).write(voc / "Annotations" / f"{stem}.xml")
        (voc / "ImageSets" / "Main" / f"{folder}.txt").write_text("\n".join(ids) + "\n")
    expected = {}
    for folder in ["train", "val"]:
        ds = VOCDetection(str(out), year="2012", image_set=folder, download=False)
        for i in range(len(ds)):
            a = ds.parse_voc_xml(ET.parse(ds.annotations[i]).getroot())["annotation"]
            objs = a.get("object", [])
            expected[a["filename"]] = [[o["name"], int(o["difficult"])] + [int(o["bndbox"][k]) for k in ["xmin", "ymin", "xmax", "ymax"]] for o in objs]
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


if __name__ == "__main__":
    images()
    meshes()
    coco()
    shapenet()
    coco_tree()
    yolo()
    voc()
    print("wrote the image, mesh and COCO fixtures")
