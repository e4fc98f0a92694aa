"""PyTorch eager replicas of the apps' training steps (`just bench-apps` runs them beside the Rust
apps). Each model is written from the Rust model it replicates (crates/<app>/src/model.rs) with
the default.yaml sizes; `bench_apps.py` checks that its trainable-parameter count equals the Rust
checkpoint's, so the two stay the same model. The batch is a fixed tensor of the app's shapes
(the data pipeline is not replicated: the Rust side includes its loader, this side does not).
Usage: python replicas.py APP --steps N --warmup K --threads T [--channels-last] [--bf16]
       [--chamfer full|chunked] [--compile]   (prints one JSON line)
"""
import argparse, contextlib, json, math, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


# ---- face-verify: 4-stage ResNet -> BN embedding -> ArcFace head (s = 32, m = 0.5) ----------
class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a, self.b = conv_bn(cin, cout, 3, stride), conv_bn(cout, cout, 3, 1)
        self.skip = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.b(F.relu(self.a(x)))
        return F.relu(y + (self.skip(x) if self.skip is not None else x))


class FaceNet(nn.Module):
    def __init__(self, width=16, blocks=1, emb=128, classes=300, s=32.0, m=0.5):
        super().__init__()
        self.stem = conv_bn(3, width, 3, 1)
        layers, cin = [], width
        for stage in range(4):
            cout = width << stage
            for b in range(max(blocks, 1)):
                layers.append(Block(cin, cout, 2 if b == 0 and stage > 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.fc, self.bn = nn.Linear(cin, emb), nn.BatchNorm1d(emb)
        self.weight = nn.Parameter(torch.randn(classes, emb) * 0.01)
        self.s, self.m = s, m

    def loss(self, x, y):
        h = self.blocks(F.relu(self.stem(x)))
        e = self.bn(self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1)))
        cos = F.normalize(e) @ F.normalize(self.weight).t()
        # insightface's straight-through margin: cos(θ + m) on the target, gradient of cos θ.
        theta = torch.acos(cos.gather(1, y[:, None]).clamp(-1 + 1e-7, 1 - 1e-7))
        target = torch.cos(theta + self.m)
        tgt = cos.gather(1, y[:, None])
        logits = cos.scatter(1, y[:, None], tgt + (target - tgt).detach()) * self.s
        return F.cross_entropy(logits, y)


def face_verify():
    model = FaceNet()
    x, y = torch.randn(64, 3, 64, 64), torch.randint(0, 300, (64,))
    return model, (lambda: model.loss(x, y)), 64, 5.0, 5e-4


# ---- segment-dice: U-Net (width 16, depth 3) + Dice + CE (MONAI DiceCELoss, batch Dice) ---------
def unet_block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, width=16, depth=3, classes=2):
        super().__init__()
        w = lambda l: width << l
        self.down = nn.ModuleList([unet_block(1 if l == 0 else w(l - 1), w(l)) for l in range(depth)])
        self.bottom = unet_block(w(depth - 1), w(depth))
        self.upconv = nn.ModuleList([nn.ConvTranspose2d(w(l + 1), w(l), 2, 2) for l in reversed(range(depth))])
        self.up = nn.ModuleList([unet_block(2 * w(l), w(l)) for l in reversed(range(depth))])
        self.head = nn.Conv2d(w(0), classes, 1)

    def forward(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for upconv, block, skip in zip(self.upconv, self.up, reversed(skips)):
            x = block(torch.cat([skip, upconv(x)], 1))
        return self.head(x)


def dice_ce(logits, y):
    p = logits.softmax(1)
    onehot = F.one_hot(y[:, 0], logits.shape[1]).permute(0, 3, 1, 2).float()
    dims = [0, 2, 3]  # batch Dice: one per channel over the whole batch
    inter = (p * onehot).sum(dims)
    dice = 1 - (2 * inter + 1e-5) / (p.sum(dims) + onehot.sum(dims) + 1e-5)
    return dice.mean() + F.cross_entropy(logits, y[:, 0])


def segment_dice():
    model = UNet()
    x = torch.rand(16, 1, 128, 128)
    y = (torch.rand(16, 1, 128, 128) < 0.004).long()
    return model, (lambda: dice_ce(model(x), y)), 16, 5.0, 1e-4


# ---- handwriting-ctc: CRNN (4 conv-BN-ReLU + pools, masked) -> 2-layer BiGRU (packed) -> CTC ----
class Crnn(nn.Module):
    POOLS = [(2, 2), (2, 2), (2, 1), (2, 1)]

    def __init__(self, channels=(32, 64, 96, 96), hidden=128, layers=2, classes=11):
        super().__init__()
        c = channels
        self.blocks = nn.ModuleList([nn.Sequential(conv_bn(cin, cout, 3, 1), nn.ReLU())
                                     for cin, cout in [(1, c[0]), (c[0], c[1]), (c[1], c[2]), (c[2], c[3])]])
        self.gru = nn.GRU(c[3] * 2, hidden, layers, bidirectional=True, batch_first=True)
        self.out = nn.Linear(hidden * 2, classes)

    @staticmethod
    def mask(x, widths):
        keep = (torch.arange(x.shape[3])[None, :] < widths[:, None]).to(x.dtype)
        return x * keep[:, None, None, :]

    def forward(self, x, widths):
        w = widths.clone()
        for block, pool in zip(self.blocks, self.POOLS):
            x = self.mask(block(x), w)
            x = F.max_pool2d(x, pool, pool)
            w = w // pool[1]
            x = self.mask(x, w)
        n, c, h, t = x.shape
        seq = x.permute(0, 3, 1, 2).reshape(n, t, c * h)
        lengths = w.clamp(1, t)
        packed = nn.utils.rnn.pack_padded_sequence(seq, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=t)
        return self.out(out).transpose(0, 1).log_softmax(2), lengths


def handwriting_ctc():
    model = Crnn()
    g = torch.Generator().manual_seed(0)
    widths = torch.randint(48, 161, (32,), generator=g)
    x = torch.rand(32, 1, 32, int(widths.max())) * (torch.arange(int(widths.max()))[None, :] < widths[:, None])[:, None, None, :]
    lens = torch.randint(1, 9, (32,), generator=g)
    targets = torch.randint(1, 11, (int(lens.sum()),), generator=g)

    def step():
        lp, il = model(x, widths)
        return F.ctc_loss(lp, targets, il // 1, lens, blank=0, reduction="mean")
    return model, step, 32, 5.0, 1e-4


# ---- detect-focal: 5-stage backbone -> FPN P3-P5 -> shared GN heads; focal + smooth-L1 ---------
class Stage(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.down, self.a, self.b = conv_bn(cin, cout, 3, 2), conv_bn(cout, cout, 3, 1), conv_bn(cout, cout, 3, 1)

    def forward(self, x):
        x = F.relu(self.down(x))
        return F.relu(self.b(F.relu(self.a(x))) + x)


def head(ch, n, outputs, bias):
    layers = []
    for _ in range(n):
        layers += [nn.Conv2d(ch, ch, 3, 1, 1), nn.GroupNorm(8, ch), nn.ReLU()]
    out = nn.Conv2d(ch, outputs, 3, 1, 1)
    nn.init.normal_(out.weight, std=0.01)
    nn.init.constant_(out.bias, bias)
    return nn.Sequential(*layers, out)


class RetinaNet(nn.Module):
    def __init__(self, width=16, fpn=64, head_convs=2, anchors=9, classes=5, prior=0.01):
        super().__init__()
        widths = [width, 2 * width, 4 * width, 6 * width, 8 * width]
        self.stages = nn.ModuleList([Stage(cin, c) for cin, c in zip([3] + widths[:-1], widths)])
        self.lateral = nn.ModuleList([nn.Conv2d(widths[l + 2], fpn, 1) for l in range(3)])
        self.smooth = nn.ModuleList([nn.Conv2d(fpn, fpn, 3, 1, 1) for _ in range(3)])
        self.cls = head(fpn, head_convs, anchors * classes, -math.log((1 - prior) / prior))
        self.box = head(fpn, head_convs, anchors * 4, 0.0)
        self.a, self.k = anchors, classes

    def forward(self, x):
        c = []
        for s in self.stages:
            x = s(x)
            c.append(x)
        c, p, top = c[2:], [], None
        for l in reversed(range(3)):
            lat = self.lateral[l](c[l])
            merged = lat if top is None else lat + F.interpolate(top, size=lat.shape[2:], mode="nearest")
            p.append(self.smooth[l](merged))
            top = merged
        p.reverse()
        n = x.shape[0]
        flat = lambda t, k: t.view(n, self.a, k, t.shape[2], t.shape[3]).permute(0, 3, 4, 1, 2).reshape(n, -1, k)
        return (torch.cat([flat(self.cls(q), self.k) for q in p], 1),
                torch.cat([flat(self.box(q), 4) for q in p], 1))


def detect_focal():
    model = RetinaNet()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 128, 128)
    if OPTIONS["input_channels_last"]:
        # The app's batch is HWC pixels viewed as NCHW: channels-last strides, NCHW weights.
        x = x.contiguous(memory_format=torch.channels_last)
    anchors = 9 * (16 * 16 + 8 * 8 + 4 * 4)
    positive = torch.rand(16, anchors, generator=g) < 0.01
    valid = torch.rand(16, anchors, generator=g) > 0.02
    cls_t = torch.zeros(16, anchors, 5)
    cls_t[positive, torch.randint(0, 5, (int(positive.sum()),), generator=g)] = 1.0
    box_t = torch.randn(16, anchors, 4, generator=g) * 0.1

    def step():
        logits, deltas = model(x)
        # torchvision.ops.sigmoid_focal_loss (α = 0.25, γ = 2) over valid anchors / positives.
        p = logits.sigmoid()
        ce = F.binary_cross_entropy_with_logits(logits, cls_t, reduction="none")
        p_t = p * cls_t + (1 - p) * (1 - cls_t)
        loss = ce * (1 - p_t) ** 2 * (0.25 * cls_t + 0.75 * (1 - cls_t))
        npos = positive.sum().clamp(min=1)
        focal = (loss * valid[..., None]).sum() / npos
        box = F.smooth_l1_loss(deltas[positive], box_t[positive], beta=0.11, reduction="sum") / npos
        return focal + box
    return model, step, 16, 10.0, 1e-4


# ---- vae-kl: conv encoder -> (mu, log var) -> reparameterised z -> transposed-conv decoder ---
class Vae(nn.Module):
    def __init__(self, latent=16, w=32, hidden=256):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.ReLU(), nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(2 * w * 49, hidden), nn.ReLU())
        self.mu, self.logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 2 * w * 49), nn.ReLU(),
                                 nn.Unflatten(1, (2 * w, 7, 7)), nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU(),
                                 nn.ConvTranspose2d(w, 1, 4, 2, 1))

    def loss(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h).clamp(-12, 8)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").flatten(1).sum(1).mean()
        kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).mean(0).sum()
        return recon + kl  # beta = 1, no annealing, no free bits (default.yaml)


def vae_kl():
    model = Vae()
    x = torch.rand(128, 1, 28, 28)
    return model, (lambda: model.loss(x)), 128, 50.0, 0.0


# ---- pointcloud-chamfer: conv-BN encoder -> 256-d code -> PSGN fully connected decoder -------
class PointNet(nn.Module):
    def __init__(self, w=32, latent=256, hidden=512, points=1024, side=64):
        super().__init__()
        cbr = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
        self.enc = nn.Sequential(cbr(1, w), cbr(w, 2 * w), cbr(2 * w, 4 * w), cbr(4 * w, 8 * w), nn.Flatten(),
                                 nn.Linear(8 * w * (side // 16) ** 2, latent), nn.ReLU())
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, points * 3))
        self.points = points

    def forward(self, x):
        return self.dec(self.enc(x)).view(x.shape[0], self.points, 3)


def pointcloud_chamfer():
    model = PointNet()
    x, truth = torch.rand(32, 1, 64, 64), torch.randn(32, 2048, 3) * 0.3

    def step():
        # Chamfer as an eager user writes it without pytorch3d: squared cdist, nearest both ways.
        d = torch.cdist(model(x), truth) ** 2
        return (d.min(2).values.mean(1) + d.min(1).values.mean(1)).mean()

    def step_chunked():
        # loss-zoo's algorithm: nearest neighbours in blocks of 1,024 points without gradient,
        # then the chosen pairs' distances recomputed with gradient, each direction.
        p = model(x)
        return (one_direction(p, truth) + one_direction(truth, p)).mean()
    return model, (step_chunked if OPTIONS["chamfer"] == "chunked" else step), 32, 5.0, 1e-4


def one_direction(a, b, chunk=1024):
    """Mean over a's points of the squared distance to the nearest point of b (N,)."""
    with torch.no_grad():
        b_sq = (b ** 2).sum(-1)
        idx = torch.cat([((ac ** 2).sum(-1, keepdim=True) + b_sq[:, None, :] - 2 * ac @ b.transpose(1, 2)).argmin(-1)
                         for ac in a.split(chunk, 1)], 1)
    nearest = b.gather(1, idx[..., None].expand(-1, -1, a.shape[2]))
    return ((a - nearest) ** 2).sum(-1).mean(1)


# ---- rlhf-reward: byte GRU trunk -> scalar head at the last real token, Bradley-Terry -------
class RewardModel(nn.Module):
    def __init__(self, vocab=260, embed=32, hidden=128):
        super().__init__()
        self.emb, self.gru = nn.Embedding(vocab, embed), nn.GRU(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, ids, lengths):
        h, _ = self.gru(self.emb(ids))
        return self.head(h[torch.arange(ids.shape[0]), lengths - 1]).squeeze(-1)


def rlhf_reward():
    model = RewardModel()
    # Pairs sampled from a barely trained SFT policy run to max_new = 12 bytes: BOS, `s:` or
    # `r:` and up to 6 digits, SEP, 12 bytes, EOS = 23 tokens in a padded batch of 64 pairs.
    g = torch.Generator().manual_seed(0)
    ids = [torch.randint(0, 128, (64, 23), generator=g) for _ in range(2)]
    lengths = [torch.randint(20, 24, (64,), generator=g) for _ in range(2)]

    def step():
        c, r = model(ids[0], lengths[0]), model(ids[1], lengths[1])
        # TRL's RewardTrainer loss with center_rewards_coefficient = 0.01.
        return -F.logsigmoid(c - r).mean() + 0.01 * ((c + r) ** 2).mean()
    return model, step, 64, 1.0, 0.0


# ---- style-transfer: Johnson's transformer scored in random multi-scale features ---------------
class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride=1, upsample=False):
        super().__init__()
        self.pad, self.upsample = nn.ReflectionPad2d(k // 2), upsample
        self.conv = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(self.pad(x))


def conv_in_relu(cin, cout, k, stride=1, upsample=False):
    return nn.Sequential(ConvLayer(cin, cout, k, stride, upsample), nn.InstanceNorm2d(cout, affine=True), nn.ReLU())


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(ConvLayer(c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU(),
                                  ConvLayer(c, c, 3), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


class Transformer(nn.Module):
    def __init__(self, c=16, blocks=3):
        super().__init__()
        self.net = nn.Sequential(conv_in_relu(3, c, 9), conv_in_relu(c, 2 * c, 3, 2), conv_in_relu(2 * c, 4 * c, 3, 2),
                                 *[Residual(4 * c) for _ in range(blocks)],
                                 conv_in_relu(4 * c, 2 * c, 3, 1, True), conv_in_relu(2 * c, c, 3, 1, True),
                                 ConvLayer(c, 3, 9), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


def style_transfer():
    model = Transformer()
    x, style = torch.rand(4, 3, 128, 128), torch.rand(1, 3, 128, 128)
    filters = [torch.randn(64, 3, k, k) / math.sqrt(3 * k * k) for k in (3, 5, 7, 11)]
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def feats(img):
        h = (img - mean) / std
        return [F.relu(F.conv2d(F.pad(h, [w.shape[-1] // 2] * 4, mode="reflect"), w)) for w in filters]

    def gram(f):
        b, c, hh, ww = f.shape
        f = f.view(b, c, hh * ww)
        return f.bmm(f.transpose(1, 2)) / (c * hh * ww)

    with torch.no_grad():
        style_grams = [gram(f) for f in feats(style)]

    def step():
        # The content target is the batch's own features: computed every step, as a training
        # loop whose batches change must (the Rust task does the same).
        with torch.no_grad():
            content = feats(x)[0]
        y = model(x)
        fy = feats(y)
        content_loss = F.mse_loss(fy[0], content)
        style_loss = sum(((gram(f) - g) ** 2).sum(dim=(1, 2)).mean() for f, g in zip(fy, style_grams))
        tv = (y[:, :, 1:] - y[:, :, :-1]).abs().mean() + (y[:, :, :, 1:] - y[:, :, :, :-1]).abs().mean()
        return content_loss + 10.0 * style_loss + 0.1 * tv  # default.yaml's weights
    return model, step, 4, 10.0, 0.0


# Set by main(): `chamfer` "full" (one cdist, as commonly written) or "chunked" (loss-zoo's);
# `input_channels_last`: the batch in channels-last memory (detect-focal's loader makes it so).
OPTIONS = {"chamfer": "full", "input_channels_last": False}

APPS = {"face-verify": face_verify, "segment-dice": segment_dice, "handwriting-ctc": handwriting_ctc,
        "detect-focal": detect_focal, "vae-kl": vae_kl, "pointcloud-chamfer": pointcloud_chamfer,
        "rlhf-reward": rlhf_reward, "style-transfer": style_transfer}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("app", choices=sorted(APPS))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (model and batches made there)")
    ap.add_argument("--channels-last", action="store_true", help="model in channels-last memory (as train.channels_last)")
    ap.add_argument("--bf16", action="store_true", help="forward under CPU bf16 autocast (as train.precision: bf16)")
    ap.add_argument("--fused-adamw", action="store_true", help="AdamW(fused=True) (as train.fused_adamw)")
    ap.add_argument("--chamfer", choices=["full", "chunked"], default="full")
    ap.add_argument("--input-channels-last", action="store_true", help="the batch in channels-last memory")
    ap.add_argument("--compile", action="store_true", help="torch.compile (inductor, default mode) the loss step")
    ap.add_argument("--count-flops", action="store_true",
                    help="print the FLOPs of one forward + backward (torch.utils.flop_counter) and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.device != "cpu":
        torch.set_default_device(a.device)
    OPTIONS["chamfer"] = a.chamfer
    OPTIONS["input_channels_last"] = a.input_channels_last
    model, loss_fn, batch, clip, wd = APPS[a.app]()
    model.train()
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if a.compile:
        loss_fn = torch.compile(loss_fn)
    autocast = (lambda: torch.autocast(a.device, dtype=torch.bfloat16)) if a.bf16 else contextlib.nullcontext
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}], lr=1e-3,
                            fused=True if a.fused_adamw else None)
    params = sum(p.numel() for p in model.parameters())
    if a.count_flops:
        # Matmuls and convolutions, forward and backward, as counted from the layer shapes.
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            loss_fn().backward()
        print(json.dumps({"app": a.app, "params": params, "batch": batch,
                          "flops_per_sample": counter.get_total_flops() / batch}))
        return
    times = []
    compile_seconds = None
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        with autocast():
            loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        loss.item()  # the Rust loop reads the loss every step too
        if i == 0 and a.compile:
            compile_seconds = time.perf_counter() - t0  # the first step compiles forward and backward
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"app": a.app, "params": params, "samples_per_sec": batch * len(times) / sum(times),
                      "compile_seconds": compile_seconds,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
