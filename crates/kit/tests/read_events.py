"""Reads a TensorBoard log folder with TensorBoard's own EventAccumulator and prints JSON:
what the kit's event writer wrote, as TensorBoard sees it."""
import io
import json
import sys

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

acc = ea.EventAccumulator(sys.argv[1], size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
acc.Reload()
tags = acc.Tags()
out = {"scalars": {}, "images": {}, "histograms": {}, "text": {}, "hparams": {}, "mesh": {}}
for t in tags["scalars"]:
    out["scalars"][t] = [[e.step, e.value] for e in acc.Scalars(t)]
for t in tags["images"]:
    e = acc.Images(t)[-1]
    from PIL import Image
    img = Image.open(io.BytesIO(e.encoded_image_string))
    out["images"][t] = {"width": e.width, "height": e.height, "png_size": list(img.size),
                        "pixel_0_0": list(img.convert("RGB").getpixel((0, 0))),
                        "pixel_last": list(img.convert("RGB").getpixel((img.size[0] - 1, img.size[1] - 1)))}
for t in tags["histograms"]:
    h = acc.Histograms(t)[-1].histogram_value
    out["histograms"][t] = {"num": h.num, "min": h.min, "max": h.max, "sum": h.sum,
                            "buckets": list(h.bucket)}
from tensorboard.plugins.mesh import plugin_data_pb2 as mesh_pb2
for t in tags["tensors"]:
    meta = acc.SummaryMetadata(t).plugin_data
    if meta.plugin_name == "mesh":
        m = mesh_pb2.MeshPluginData.FromString(meta.content)
        arr = tensor_util.make_ndarray(acc.Tensors(t)[-1].tensor_proto)
        out["mesh"][t] = {"name": m.name, "content_type": m.content_type, "shape": list(m.shape),
                          "components": m.components, "json_config": m.json_config,
                          "dtype": str(arr.dtype), "array_shape": list(arr.shape),
                          "first": arr.reshape(-1, 3)[0].tolist()}
        continue
    for e in acc.Tensors(t):
        arr = tensor_util.make_ndarray(e.tensor_proto)
        out["text"][t] = [x.decode() for x in arr.reshape(-1)]
try:
    content = acc.PluginTagToContent("hparams")
except KeyError:  # a run that logged no hparams
    content = {}
for tag, raw in content.items():
    d = plugin_data_pb2.HParamsPluginData.FromString(raw)
    which = d.WhichOneof("data")
    if which == "session_start_info":
        hp = {}
        for k, v in d.session_start_info.hparams.items():
            hp[k] = getattr(v, v.WhichOneof("kind"))
        out["hparams"]["start"] = hp
    elif which == "experiment":
        out["hparams"]["metrics"] = [m.name.tag for m in d.experiment.metric_infos]
        out["hparams"]["names"] = sorted(h.name for h in d.experiment.hparam_infos)
    else:
        out["hparams"]["end_status"] = d.session_end_info.status
print(json.dumps(out))
