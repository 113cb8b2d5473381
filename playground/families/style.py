"""Style transfer: a random-weight loss network, Gatys optimisation, Johnson fast networks, colour baselines.

No pretrained ImageNet network exists offline, so the loss network is a single layer of random
convolutions applied to an image pyramid (Ustyuzhaninov et al. 2017: random filters carry texture
statistics). Its "style" is the Gram matrix of each branch's channels (Gatys et al. 2016); its
"content" is the coarser branches' feature maps. The network is seeded, its per-channel scales are
calibrated on natural images, and it ships as safetensors like any model (model_cards/style-loss-random.md).

Two kinds of model share this family, told apart by config["kind"]:
  "loss"      LossNet: the loss network (used by the optimisation and to train fast networks)
  "transform" TransformNet: a Johnson et al. 2016 feed-forward network trained for one style

Images are uint8 HxWx3 outside and float (N,3,H,W) in [0, 1] inside.
"""
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError

RESOLUTIONS = (128, 192, 256, 384, 512)
INITS = ("content", "noise", "colour-transferred content")
EVAL_SEED_OFFSET = 1000  # the evaluation network: the same design, another seed
HELD_OUT = ("astronaut", "coffee", "chelsea", "rocket")  # evaluation content images, never trained on


# ---------------------------------------------------------------------------------------------------
# the loss network
class LossNet(nn.Module):
    """One layer of random filters (ReLU) per (scale, kernel size) on an average-pooled pyramid.

    Each output channel is divided by its root-mean-square on natural images (buffer `rms`), so
    channels weigh alike in the Gram matrices. Content is read from the branches at `content_scales`.
    """

    def __init__(self, seed=0, scales=(1, 2, 4), kernels=(3, 7), filters=64, content_scales=(2, 4)):
        super().__init__()
        self.scales, self.kernels = tuple(scales), tuple(kernels)
        self.filters, self.seed, self.content_scales = int(filters), int(seed), tuple(content_scales)
        g = torch.Generator().manual_seed(int(seed))
        self.convs = nn.ModuleList()
        for _ in self.scales:
            for k in self.kernels:
                conv = nn.Conv2d(3, filters, k, padding=k // 2, padding_mode="reflect", bias=False)
                bound = 1 / math.sqrt(3 * k * k)
                with torch.no_grad():
                    conv.weight.copy_(torch.rand(conv.weight.shape, generator=g) * 2 * bound - bound)
                self.convs.append(conv)
        self.register_buffer("rms", torch.ones(len(self.convs), filters))

    def names(self):
        return [f"scale 1/{s}, {k}x{k}" for s in self.scales for k in self.kernels]

    def content_branches(self):
        return [i for i, (s, _) in enumerate((s, k) for s in self.scales for k in self.kernels)
                if s in self.content_scales]

    def forward(self, x):
        """[0, 1] images (N,3,H,W) -> a list of normalised feature maps, one per branch."""
        x = x - 0.5
        out, i = [], 0
        for s in self.scales:
            xs = F.avg_pool2d(x, s) if s > 1 else x
            for _ in self.kernels:
                out.append(F.relu(self.convs[i](xs)) / self.rms[i].view(1, -1, 1, 1))
                i += 1
        return out

    @torch.no_grad()
    def calibrate(self, images):
        """Set `rms` from [0, 1] images (N,3,H,W)."""
        self.rms.fill_(1)
        feats = self(images)
        rms = torch.stack([f.pow(2).mean((0, 2, 3)).sqrt() for f in feats])
        self.rms.copy_(rms.clamp_min(0.1 * float(rms.median())))


def gram(features):
    """(N,C,H,W) -> (N,C,C) channel correlations, averaged over positions."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def style_targets(net, style):
    with torch.no_grad():
        return [gram(f) for f in net(style)]


def style_loss(feats, targets):
    return sum(F.mse_loss(gram(f), t.expand(len(f), -1, -1)) for f, t in zip(feats, targets)) / len(feats)


def content_loss(feats, content_feats, branches):
    return sum(F.mse_loss(feats[i], content_feats[i]) for i in branches) / len(branches)


def tv_loss(x):
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


# ---------------------------------------------------------------------------------------------------
# images in and out
def to_float(image):
    """uint8 HxWx3 -> float (1,3,H,W) in [0, 1]."""
    return torch.from_numpy(np.array(image, np.float32)).div(255).permute(2, 0, 1)[None].contiguous()


def to_image(x):
    """float (1,3,H,W) in [0, 1] -> uint8 HxWx3."""
    x = torch.nan_to_num(x.detach()[0], nan=0.5).clamp(0, 1)
    return np.ascontiguousarray((x * 255).round().byte().permute(1, 2, 0).numpy())


def fit(image, size):
    """uint8 HxWx3 scaled so that its longer side is `size` (a multiple of 4 on both sides)."""
    from PIL import Image
    h, w = image.shape[:2]
    scale = size / max(h, w)
    new = (max(4, round(w * scale / 4) * 4), max(4, round(h * scale / 4) * 4))
    return np.asarray(Image.fromarray(image).resize(new, Image.LANCZOS))


# ---------------------------------------------------------------------------------------------------
# colour: Reinhard et al. 2001, histogram matching, luminance (Gatys et al. 2017)
_RGB2LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS2LAB = np.diag([1 / math.sqrt(3), 1 / math.sqrt(6), 1 / math.sqrt(2)]) @ np.array(
    [[1, 1, 1], [1, 1, -2], [1, -1, 0]])


def _to_lab(rgb):
    lms = np.asarray(rgb, np.float64).reshape(-1, 3) / 255 @ _RGB2LMS.T
    return np.log10(np.maximum(lms, 1e-4)) @ _LMS2LAB.T


def _from_lab(lab, shape):
    lms = 10 ** (lab @ np.linalg.inv(_LMS2LAB).T)
    rgb = lms @ np.linalg.inv(_RGB2LMS).T
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8).reshape(shape)


def reinhard(content, style):
    """Reinhard et al. 2001: match the mean and spread of each l-alpha-beta channel to the style's."""
    c, s = _to_lab(content), _to_lab(style)
    out = (c - c.mean(0)) / (c.std(0) + 1e-6) * s.std(0) + s.mean(0)
    return _from_lab(out, content.shape)


def histogram_match(content, style):
    """Each RGB channel of the content remapped so that its histogram is the style's."""
    out = np.empty_like(content)
    for ch in range(3):
        c, s = content[..., ch].ravel(), style[..., ch].ravel()
        c_values, c_index, c_counts = np.unique(c, return_inverse=True, return_counts=True)
        s_values, s_counts = np.unique(s, return_counts=True)
        c_quant = np.cumsum(c_counts) / c.size
        s_quant = np.cumsum(s_counts) / s.size
        out[..., ch] = np.rint(np.interp(c_quant, s_quant, s_values))[c_index].reshape(content.shape[:2])
    return out


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _yiq(rgb):
    return np.asarray(rgb, np.float64) / 255 @ _YIQ.T


def luminance_only(image):
    """The luminance as a grey RGB image (for luminance-only transfer)."""
    y = _yiq(image)[..., 0]
    return np.repeat(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)[..., None], 3, -1)


def match_luminance(style, content):
    """The style's luminance (grey RGB) shifted and scaled to the content's mean and spread."""
    ys, yc = _yiq(style)[..., 0], _yiq(content)[..., 0]
    y = (ys - ys.mean()) / (ys.std() + 1e-6) * yc.std() + yc.mean()
    return np.repeat(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)[..., None], 3, -1)


def keep_colours(result, content):
    """The result's luminance with the content's colour (I and Q channels of YIQ)."""
    if result.shape != content.shape:
        content = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(content).resize(
            result.shape[1::-1]))
    yiq = _yiq(content)
    yiq[..., 0] = _yiq(result)[..., 0]
    return np.clip(np.rint(yiq @ np.linalg.inv(_YIQ).T * 255), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------
# optimisation (Gatys et al. 2016)
def initial_image(content, style, init, seed):
    if init == "content":
        return to_float(content)
    if init == "colour-transferred content":
        return to_float(reinhard(content, style))
    if init == "noise":
        g = torch.Generator().manual_seed(int(seed))
        return 0.5 + 0.1 * torch.randn((1, 3) + content.shape[:2], generator=g)
    raise InputError(f"Initialisation must be one of {', '.join(INITS)}; got {init!r}.")


def optimise(net, content, style, *, style_weight=1e4, content_weight=1.0, tv_weight=1e-2, iterations=100,
             init="content", preserve_colour=False, seed=0, every=5, deadline=None):
    """Gatys optimisation with L-BFGS. Yields (uint8 image, losses dict) every `every` iterations and
    at the end. content and style are uint8 HxWx3 at the working resolution; `deadline` (a
    time.monotonic() value) stops early. losses: iteration, style, content, tv, total, seconds."""
    original = content
    if preserve_colour:
        content, style = luminance_only(content), match_luminance(style, content)
    targets = style_targets(net, to_float(style))
    c = to_float(content)
    with torch.no_grad():
        c_feats = net(c)
    branches = net.content_branches()
    x = initial_image(content, style, init, seed).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=every, history_size=20, line_search_fn="strong_wolfe")
    state, start = {}, time.perf_counter()

    def closure():
        opt.zero_grad()
        feats = net(x)
        s, cl, tv = style_loss(feats, targets), content_loss(feats, c_feats, branches), tv_loss(x)
        total = style_weight * s + content_weight * cl + tv_weight * tv
        total.backward()
        state.update(style=s.item(), content=cl.item(), tv=tv.item(), total=total.item())
        return total

    done = 0
    while done < iterations:
        opt.param_groups[0]["max_iter"] = min(every, iterations - done)
        opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
        done += opt.param_groups[0]["max_iter"]
        image = to_image(x)
        if preserve_colour:
            image = keep_colours(image, original)
        yield image, dict(state, iteration=done, seconds=time.perf_counter() - start)
        if deadline is not None and time.monotonic() > deadline:
            return


def run(net, content, style, **kwargs):
    """The last image and losses of optimise()."""
    image = losses = None
    for image, losses in optimise(net, content, style, **kwargs):
        pass
    return image, losses


# ---------------------------------------------------------------------------------------------------
# fast networks (Johnson et al. 2016)
class _Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"), nn.InstanceNorm2d(c, affine=True),
                                  nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"),
                                  nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


def _conv(c_in, c_out, k, stride=1):
    return [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, padding_mode="reflect"),
            nn.InstanceNorm2d(c_out, affine=True), nn.ReLU()]


class TransformNet(nn.Module):
    """conv k x k, two stride-2 convs, residual blocks, two (nearest upsample + conv), conv k x k.

    The output is sigmoid(logit(content) + network output): it starts as the content (the last
    conv is zero) and learns the change, so content survives early in training.
    """

    def __init__(self, channels=(16, 32, 64), res_blocks=3, edge_kernel=9, style="", size=256):
        super().__init__()
        a, b, c = channels
        self.style, self.size = style, int(size)
        layers = _conv(3, a, edge_kernel) + _conv(a, b, 3, 2) + _conv(b, c, 3, 2)
        layers += [_Res(c) for _ in range(res_blocks)]
        layers += [nn.Upsample(scale_factor=2)] + _conv(c, b, 3) + [nn.Upsample(scale_factor=2)] + _conv(b, a, 3)
        last = nn.Conv2d(a, 3, edge_kernel, padding=edge_kernel // 2, padding_mode="reflect")
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, last)

    def forward(self, x):
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        y = self.body(F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x)[..., :h, :w]
        return torch.sigmoid(torch.logit(x.clamp(0.01, 0.99)) + y)


@torch.no_grad()
def stylise(model, content, strength=1.0, preserve_colour=False):
    """One pass of a fast network over uint8 HxWx3; strength blends content (0) and result (1)."""
    x = to_float(content)
    out = to_image(model(x))
    if preserve_colour:
        out = keep_colours(out, content)
    if strength < 1:
        out = np.clip(np.rint(content * (1 - strength) + out * strength), 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------------------------------------------
# registry hooks
def build(config):
    config = dict(config)
    kind = config.pop("kind", "loss")
    if kind == "loss":
        return LossNet(**config)
    if kind == "transform":
        return TransformNet(**config)
    raise ValueError(f"unknown style model kind {kind!r}")


def loss_config(net):
    return {"kind": "loss", "seed": net.seed, "scales": list(net.scales), "kernels": list(net.kernels),
            "filters": net.filters, "content_scales": list(net.content_scales)}


def eval_net(net):
    """The evaluation network: the same design as `net`, another seed, calibrated on the same images."""
    config = loss_config(net)
    config["seed"] = net.seed + EVAL_SEED_OFFSET
    other = build(config)
    other.calibrate(calibration_images())
    return other.eval().requires_grad_(False)


def calibration_images(size=128):
    """[0, 1] crops of the natural photos (not the held-out ones) for calibrating channel scales."""
    from .. import data
    crops = []
    for name, image in sorted(data.natural_images().items()):
        if image.kind != "photo" or name in HELD_OUT:
            continue
        crops.append(to_float(_centre(fit(np.asarray(data.load_natural(name)), size * 2), size)))
    return torch.cat(crops)


def _centre(image, size):
    h, w = image.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return image[y:y + size, x:x + size]


def default_action(model, seed):
    """Stylise a 128x128 seeded noise picture (fast network) or compute its Gram matrices (loss network)."""
    g = torch.Generator().manual_seed(int(seed))
    x = torch.rand((1, 3, 128, 128), generator=g)
    with torch.no_grad():
        if isinstance(model, TransformNet):
            return model(x)
        return [gram(f) for f in model(x)]


# ---------------------------------------------------------------------------------------------------
# the bundled images
ASSETS = __import__("pathlib").Path(__file__).resolve().parent.parent / "assets" / "styles"
STYLES = {  # name -> (where, licence, credit)
    "starry_night": ("asset", "Public domain", "Vincent van Gogh, The Starry Night (1889); file from OpenCV's samples "
                     "(Debian opencv-doc), resized to 512 px"),
    "brick": ("skimage", "CC0-1.0", "CC0Textures (Bricks25), from scikit-image"),
    "grass": ("skimage", "CC0-1.0", "linolafett on DeviantArt (Grass 01), from scikit-image"),
    "gravel": ("skimage", "CC0-1.0", "CC0Textures (Gravel04), from scikit-image"),
}


def style_image(name):
    """A bundled style image, uint8 HxWx3."""
    from .. import data
    if name not in STYLES:
        raise InputError(f"No bundled style called {name!r}; known: {', '.join(STYLES)}.")
    if STYLES[name][0] == "asset":
        from PIL import Image
        with Image.open(ASSETS / f"{name}.jpg") as im:
            return np.asarray(im.convert("RGB"))
    return np.asarray(data.load_natural(name, mode="RGB"))


def content_images():
    """Bundled content photos (CC0 / public domain), name -> uint8 HxWx3; the held-out ones first."""
    from .. import data
    found = data.natural_images()
    names = [n for n in HELD_OUT if n in found] + sorted(
        n for n, im in found.items() if im.kind == "photo" and n not in HELD_OUT)
    return {n: np.asarray(data.load_natural(n, mode="RGB")) for n in names}
