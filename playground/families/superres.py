"""Single-image super-resolution: classical resamplers against learned upscalers.

Images are uint8 (H, W, 3) RGB arrays; networks see x / 255 in [0, 1] and are fully convolutional.

- Classical: nearest, bilinear, bicubic and Lanczos through PIL (`classical`).
- FastSR (ESPCN / FSRCNN class, under 100k parameters): four convolutions at low resolution and a
  pixel shuffle (Shi et al. 2016), predicting the residual over a bicubic upscale (as VDSR does).
- EDSR (EDSR-baseline class, about 1M parameters; Lim et al. 2017): a head convolution, residual
  blocks without batch norm, a global skip, pixel-shuffle upsamplers; also over a bicubic upscale.
- ESRGANSlim: the architecture of @upscalerjs/esrgan-slim (a Keras model ported by
  playground/convert_esrgan_slim.py; tests/unit/test_esrgan_slim.py checks it against plain numpy).

Large inputs are upscaled in overlapping tiles (`upscale`), so memory stays bounded. Quality is
measured as super-resolution papers do: PSNR and SSIM on the luminance Y (BT.601) with `scale`
pixels cropped from every border (`y_metrics`), after a bicubic (antialiased) downscale of the
ground truth (`downscale`).
"""
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .. import data, quality
from ..errors import InputError

SCALES = (2, 4)
CLASSICAL = ("nearest", "bilinear", "bicubic", "lanczos")
_PIL = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
TILE, OVERLAP = 128, 8  # low-resolution tile side and overlap on each side for tiled inference
HELD_OUT = ("astronaut", "chelsea", "coffee", "flower")  # never trained on; named in the cards


def check_scale(scale):
    if scale not in SCALES:
        raise InputError(f"The scale must be one of {', '.join(f'x{s}' for s in SCALES)}, not {scale!r}.")
    return int(scale)


def _rgb(image):
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"Expected a uint8 RGB image (H, W, 3), not {image.dtype} {image.shape}.")
    return image


def classical(image, scale, method="bicubic"):
    """Upscale uint8 RGB by `scale` with one of CLASSICAL (PIL)."""
    if method not in _PIL:
        raise InputError(f"The method must be one of {', '.join(CLASSICAL)}, not {method!r}.")
    image = _rgb(image)
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((w * scale, h * scale), _PIL[method]))


def mod_crop(image, scale):
    """Crop the bottom and right so both sides divide by `scale`."""
    h, w = image.shape[:2]
    return image[:h - h % scale, :w - w % scale]


def downscale(image, scale):
    """The degradation: mod-crop, then PIL's antialiased bicubic downscale by `scale`."""
    image = mod_crop(_rgb(image), scale)
    h, w = image.shape[:2]
    if h < scale or w < scale:
        raise InputError(f"The image ({w}x{h}) is too small to downscale by {scale}.")
    return np.asarray(Image.fromarray(image).resize((w // scale, h // scale), Image.Resampling.BICUBIC))


# networks ------------------------------------------------------------------------------------------
class _OverBicubic(nn.Module):
    """Networks that add their output to a bicubic upscale of the input; the last convolution starts
    at zero, so an untrained network is exactly bicubic."""

    def _zero(self, conv):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return base + self.residual(x)


class FastSR(_OverBicubic):
    """ESPCN / FSRCNN class: conv 5x5, two conv 3x3, conv 3x3 to 3 r^2 maps, pixel shuffle."""

    def __init__(self, scale=4, features=64, mid=32):
        super().__init__()
        self.scale = check_scale(scale)
        self.body = nn.Sequential(
            nn.Conv2d(3, features, 5, padding=2), nn.PReLU(features),
            nn.Conv2d(features, mid, 3, padding=1), nn.PReLU(mid),
            nn.Conv2d(mid, mid, 3, padding=1), nn.PReLU(mid),
            nn.Conv2d(mid, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
        self._zero(self.body[-2])

    def residual(self, x):
        return self.body(x)


class ResBlock(nn.Module):
    def __init__(self, c, res_scale=1.0):
        super().__init__()
        self.conv1, self.conv2, self.res_scale = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1), res_scale

    def forward(self, x):
        return x + self.res_scale * self.conv2(F.relu(self.conv1(x)))


class EDSR(_OverBicubic):
    """EDSR-baseline class: head, `blocks` residual blocks, a conv and the global skip, one pixel
    shuffle x2 per factor of two, a conv to RGB."""

    def __init__(self, scale=4, channels=64, blocks=10):
        super().__init__()
        self.scale = check_scale(scale)
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        ups = []
        for _ in range(int(math.log2(scale))):
            ups += [nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2)]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(channels, 3, 3, padding=1)
        self._zero(self.tail)

    def residual(self, x):
        h = self.head(x)
        return self.tail(self.upsample(h + self.body(h)))


class ESRGANSlim(nn.Module):
    """The Keras model of @upscalerjs/esrgan-slim (an RDN, Zhang et al. 2018, "slim" size): conv F_m1,
    conv F_0, `blocks` residual dense blocks (each `layers` 3x3 convs of `growth` maps with ReLU,
    concatenated, fused by a 1x1 conv LFF and added to the block's input), global fusion GFF_1 (1x1
    over every block's output) and GFF_2 (3x3) added to F_m1, then UPN1 5x5 ReLU, UPN2 3x3 ReLU,
    UPN3 3x3 to 3 s^2 maps, nearest-neighbour upsampling by s and a 3x3 conv SR to RGB. Convs pad
    'same' with zeros. The Keras model reads and writes pixel values in 0..255; this module takes
    and returns 0..1 like the others."""

    def __init__(self, scale=4, channels=64, growth=4, blocks=2, layers=1):
        super().__init__()
        self.scale = int(scale)
        c = channels
        self.f_m1, self.f_0 = nn.Conv2d(3, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        self.dense = nn.ModuleList(nn.ModuleList(nn.Conv2d(c + i * growth, growth, 3, padding=1) for i in range(layers))
                                   for _ in range(blocks))
        self.lff = nn.ModuleList(nn.Conv2d(c + layers * growth, c, 1) for _ in range(blocks))
        self.gff1, self.gff2 = nn.Conv2d(blocks * c, c, 1), nn.Conv2d(c, c, 3, padding=1)
        self.upn1, self.upn2 = nn.Conv2d(c, 64, 5, padding=2), nn.Conv2d(64, 32, 3, padding=1)
        self.upn3 = nn.Conv2d(32, 3 * self.scale ** 2, 3, padding=1)
        self.sr = nn.Conv2d(3 * self.scale ** 2, 3, 3, padding=1)

    def forward(self, x):
        f_m1 = self.f_m1(x * 255.0)
        h, outs = self.f_0(f_m1), []
        for convs, lff in zip(self.dense, self.lff):
            feats = h
            for conv in convs:
                feats = torch.cat([feats, F.relu(conv(feats))], 1)
            h = lff(feats) + h
            outs.append(h)
        h = self.gff2(self.gff1(torch.cat(outs, 1))) + f_m1
        h = self.upn3(F.relu(self.upn2(F.relu(self.upn1(h)))))
        return self.sr(F.interpolate(h, scale_factor=self.scale, mode="nearest")) / 255.0


ARCHS = {"fast": FastSR, "edsr": EDSR, "esrgan-slim": ESRGANSlim}


def build(config):
    """A network from its config.json: {"arch": "fast" | "edsr" | "esrgan-slim", "scale": ..., ...}."""
    config = dict(config)
    arch = config.pop("arch", "fast")
    if arch not in ARCHS:
        raise InputError(f"Unknown super-resolution architecture {arch!r}.")
    return ARCHS[arch](**config)


# inference -----------------------------------------------------------------------------------------
def to_tensor(image):
    return torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)[None] / 255.0


def to_image(tensor):
    return (tensor[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def _spans(n, tile, overlap):
    """(start, end, keep_start, keep_end) low-resolution spans covering 0..n."""
    if n <= tile:
        return [(0, n, 0, n)]
    step = tile - 2 * overlap
    out, core = [], 0
    while core < n:
        core_end = min(core + step, n)
        start, end = max(0, core - overlap), min(n, core_end + overlap)
        out.append((start, end, core, core_end))
        core = core_end
    return out


@torch.no_grad()
def upscale(model, image, tile=TILE, overlap=OVERLAP):
    """uint8 RGB -> uint8 RGB upscaled by model.scale, in overlapping tiles of `tile` low-res pixels."""
    image = _rgb(image)
    s = model.scale
    h, w = image.shape[:2]
    x = to_tensor(image).to(next(model.parameters()).device)
    out = torch.empty(1, 3, h * s, w * s)
    for y0, y1, ky0, ky1 in _spans(h, tile, overlap):
        for x0, x1, kx0, kx1 in _spans(w, tile, overlap):
            y = model(x[:, :, y0:y1, x0:x1]).cpu()
            out[:, :, ky0 * s:ky1 * s, kx0 * s:kx1 * s] = y[:, :, (ky0 - y0) * s:(ky1 - y0) * s,
                                                              (kx0 - x0) * s:(kx1 - x0) * s]
    return to_image(out)


# metrics ---------------------------------------------------------------------------------------------
def y_metrics(sr, hr, scale):
    """{"psnr", "ssim"} on the luminance Y with `scale` border pixels cropped (the standard protocol)."""
    sr, hr = _rgb(sr), _rgb(hr)
    if sr.shape != hr.shape:
        raise InputError(f"The upscaled image {sr.shape} and the ground truth {hr.shape} differ in size.")
    b = scale
    ys, yh = quality.luminance(sr)[b:-b, b:-b], quality.luminance(hr)[b:-b, b:-b]
    return {"psnr": float(min(quality.psnr(ys, yh)[0], 100.0)), "ssim": float(quality.ssim(ys, yh)[0])}


def held_out_images():
    """name -> uint8 RGB ground truth: the HELD_OUT images (scikit-image and scikit-learn's)."""
    images = {}
    for name in HELD_OUT:
        if name == "flower":
            from sklearn.datasets import load_sample_image  # lazy: slow to import, and only this needs it
            images[name] = np.asarray(load_sample_image("flower.jpg"))
        else:
            images[name] = np.asarray(data.load_natural(name))
    return images


def compare(image, scale, methods):
    """Ground-truth mode: downscale `image`, upscale it back with every method.

    methods: name -> (function uint8 low-res -> uint8 high-res). Returns (low-res image,
    {name: (upscaled, {"psnr", "ssim", "ms"})}).
    """
    hr = mod_crop(_rgb(image), scale)
    lr = downscale(hr, scale)
    results = {}
    for name, fn in methods.items():
        start = time.perf_counter()
        sr = fn(lr)
        ms = (time.perf_counter() - start) * 1000
        results[name] = (sr, {**y_metrics(sr, hr, scale), "ms": ms})
    return lr, results


def methods_for(model=None):
    """The classical methods at the model's scale, plus the model itself under "model"."""
    def classical_at(method):
        return lambda lr, s: classical(lr, s, method)
    found = {m: classical_at(m) for m in CLASSICAL}
    if model is not None:
        found["model"] = lambda lr, s: upscale(model, lr)
    return found


def evaluate(model, card=None, quick=False):
    """The card's metrics: Y-channel PSNR / SSIM (border `scale` cropped) on every held-out image,
    averaged, for the model and for each classical method at the model's scale; quick: two images."""
    s = model.scale
    names = HELD_OUT[:2] if quick else HELD_OUT
    images = held_out_images()
    sums = {}
    for name in names:
        _, results = compare(images[name], s, {k: (lambda lr, f=f: f(lr, s)) for k, f in methods_for(model).items()})
        for method, (_, m) in results.items():
            for key in ("psnr", "ssim"):
                sums[f"{method}_{key}"] = sums.get(f"{method}_{key}", 0.0) + m[key] / len(names)
    out = {f"x{s}_" + k: round(v, 4) for k, v in sums.items()}
    out[f"x{s}_gain_over_bicubic_db"] = round(sums["model_psnr"] - sums["bicubic_psnr"], 4)
    return out


def default_action(model, seed):
    """Upscale a seeded random 24x24 crop of the first held-out image (the registry's smoke test)."""
    image = np.asarray(data.load_natural(HELD_OUT[0]))
    rng = np.random.default_rng(seed)
    y, x = rng.integers(0, image.shape[0] - 24), rng.integers(0, image.shape[1] - 24)
    return upscale(model, image[y:y + 24, x:x + 24])


def report(model, card, metrics, folder):
    """comparison.png (a held-out crop: bicubic, the model, the ground truth) in the weights folder,
    and the card's Measured section: a table of every method on the held-out images."""
    s = model.scale
    hr = held_out_images()[HELD_OUT[0]][96:352, 128:384]
    lr = downscale(hr, s)
    Image.fromarray(np.concatenate([classical(lr, s), upscale(model, lr), hr], 1)).save(Path(folder) / "comparison.png")
    rows = [f"| {m} | {metrics.get(f'x{s}_{m}_psnr', float('nan')):.2f} | {metrics.get(f'x{s}_{m}_ssim', float('nan')):.4f} |"
            for m in (*CLASSICAL, "model")]
    return "\n".join([
        f"Measured by `python -m playground.evaluate {card.id} --write`: mean Y-channel PSNR (dB) and SSIM at x{s} on "
        f"the held-out images ({', '.join(HELD_OUT)}), `scale` border pixels cropped; \"model\" is this card's model.",
        "", "| method | PSNR | SSIM |", "|---|---|---|", *rows, "",
        f"Gain over bicubic: {metrics.get(f'x{s}_gain_over_bicubic_db', float('nan')):+.2f} dB.", "",
        f"![a held-out crop: bicubic, {card.id}, ground truth](../weights/{card.id}/comparison.png)"])
