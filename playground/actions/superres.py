"""What the Super-resolution tab does, as plain functions: validated inputs in, images and numbers out.

    result = upscale_all(upload, scale=4, ground_truth=True)   # every method side by side
    before, after = slider_pair(result, "sr-edsr-x4")           # for the before/after slider
    crops = zoom_crops(result, 0.5, 0.5)                         # the same spot of every method

The learned models are the installed cards of the superres family whose resolution is the scale
("x2" or "x4"). Every upload goes through images.normalize_image; inputs above MAX_PIXELS (upscale
mode) or MAX_PIXELS * scale^2 (ground-truth mode, where the image is downscaled first) are shrunk to
that size first and the result's "note" says so; the networks run in tiles (families.superres.upscale)
so memory stays bounded.
"""
import time

import numpy as np
from PIL import Image

from .. import data, registry, results, validate
from ..errors import InputError
from ..families import superres as family
from ..images import normalize_image
from .common import family_ids

MAX_PIXELS = 640 * 480  # of the image that is upscaled (an ordinary photo; outputs up to 2560 x 1920 at x4)
MIN_SIDE = 8
CLASSICAL = ("nearest", "bilinear", "bicubic", "lanczos")
SCALES = (2, 4)
ZOOM = 192  # pixels of each zoomed crop
PICKS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "brick")  # scikit-image's, shipped with the app


def model_ids(scale):
    """The installed super-resolution models at this scale, sorted (reads cards only)."""
    cards = registry.default().cards()
    return [i for i in family_ids(family) if cards[i].resolution == f"x{scale}"]


def methods(scale):
    """Every method offered at this scale: the classical ones, then the learned models."""
    return list(CLASSICAL) + model_ids(_scale(scale))


def _scale(scale):
    return validate.choice(scale, SCALES, name="Scale")


def pick(name):
    """One of the picker's images (scikit-image's, CC0 / public domain) as uint8 RGB."""
    name = validate.choice(name, PICKS, name="Example image")
    return np.array(data.load_natural(name))


def default_pick():
    """(name, file path) of the first installed picker image, which the tab opens with so that its first
    click upscales something; (None, None) if none is installed."""
    installed = data.natural_images()
    name = next((n for n in PICKS if n in installed), None)
    return (name, str(installed[name].path)) if name else (None, None)


def _image(src, scale, ground_truth):
    """The upload as uint8 RGB, and a sentence when it was shrunk (aspect kept) to the largest size this tab
    upscales at this scale (None otherwise)."""
    image = normalize_image(src, mode="RGB")
    h, w = image.shape[:2]
    least = MIN_SIDE * (scale if ground_truth else 1)
    if min(h, w) < least:
        raise InputError(f"The image is {w}x{h}; it needs at least {least} pixels on each side here.")
    cap = MAX_PIXELS * (scale * scale if ground_truth else 1)
    if h * w <= cap:
        return image, None
    shrink = (cap / (h * w)) ** 0.5
    size = (max(least, int(w * shrink)), max(least, int(h * shrink)))
    image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    what = "in ground-truth mode" if ground_truth else "to upscale"
    return image, (f"Your {w}x{h} image was shrunk to {size[0]}x{size[1]} first: the largest image {what} at "
                   f"x{scale} here has {cap:,} pixels, so that every method finishes in about a minute.")


def _run(method, low, scale):
    if method in CLASSICAL:
        return family.classical(low, scale, method)
    with registry.using(method) as model:
        return family.upscale(model, low)


@results.cached("superres.upscale_all")
def upscale_all(src, scale=4, ground_truth=False, chosen=None):
    """Upscale an image by `scale` with every method (or the `chosen` ones).

    ground_truth=True first downscales the image (bicubic, antialiased) and measures each method
    against the original: Y-channel PSNR and SSIM with `scale` border pixels cropped. Returns
    {"scale", "input" (what was upscaled), "truth" (or None), "outputs": {method: image},
    "rows": [[method, psnr or None, ssim or None, ms]]}.
    """
    scale, ground_truth = _scale(scale), validate.choice(ground_truth, (True, False), name="Ground-truth mode")
    offered = methods(scale)
    chosen = offered if chosen is None else [validate.choice(m, offered, name="Method") for m in chosen]
    image, note = _image(src, scale, ground_truth)
    truth = family.mod_crop(image, scale) if ground_truth else None
    low = family.downscale(truth, scale) if ground_truth else image
    outputs, rows = {}, []
    for method in chosen:
        start = time.perf_counter()
        out = _run(method, low, scale)
        ms = (time.perf_counter() - start) * 1000
        outputs[method] = out
        m = family.y_metrics(out, truth, scale) if ground_truth else {"psnr": None, "ssim": None}
        rows.append([method, m["psnr"], m["ssim"], round(ms, 1)])
    return {"scale": scale, "input": low, "truth": truth, "outputs": outputs, "rows": rows, "note": note}


def table(result):
    """The result's rows as display rows: method, PSNR (dB), gain over bicubic (dB), SSIM, ms."""
    if not result:
        return []
    bicubic = next((r[1] for r in result["rows"] if r[0] == "bicubic"), None)
    out = []
    for method, psnr, ssim, ms in result["rows"]:
        gain = None if psnr is None or bicubic is None else round(psnr - bicubic, 2)
        out.append([method, None if psnr is None else round(psnr, 2), gain,
                    None if ssim is None else round(ssim, 4), ms])
    return out


def slider_default(result):
    """The method the slider shows first: the residual (EDSR-class) model if installed, else the last
    learned one, else bicubic."""
    names = list(_result(result)["outputs"])
    learned = [n for n in names if n not in CLASSICAL]
    strong = [n for n in learned if n.startswith("sr-edsr")]
    return (strong or learned or ["bicubic" if "bicubic" in names else names[-1]])[-1]


def _result(result):
    if not isinstance(result, dict) or not result.get("outputs"):
        raise InputError("Upscale an image first.")
    return result


def slider_pair(result, method):
    """(before, after) at the same size: the input enlarged by nearest neighbour, and `method`'s output
    (or the ground truth, "ground truth", in ground-truth mode)."""
    result = _result(result)
    options = list(result["outputs"]) + (["ground truth"] if result["truth"] is not None else [])
    method = validate.choice(method, options, name="Method")
    after = result["truth"] if method == "ground truth" else result["outputs"][method]
    return family.classical(result["input"], result["scale"], "nearest"), after


def zoom_crops(result, x, y, size=None):
    """The same spot of every output (and the ground truth), centred at fractions (x, y) of the
    width and height, each enlarged by nearest neighbour to ZOOM pixels: [(image, caption)]."""
    result = _result(result)
    x = validate.number(x, name="Crop centre x", minimum=0, maximum=1)
    y = validate.number(y, name="Crop centre y", minimum=0, maximum=1)
    first = next(iter(result["outputs"].values()))
    h, w = first.shape[:2]
    size = size or max(16, min(h, w) // 8)
    size = min(size, h, w)
    top = int(round(min(max(y * h - size / 2, 0), h - size)))
    left = int(round(min(max(x * w - size / 2, 0), w - size)))
    shown = dict(result["outputs"])
    if result["truth"] is not None:
        shown["ground truth"] = result["truth"]
    crops = []
    for name, image in shown.items():
        crop = np.ascontiguousarray(image[top:top + size, left:left + size])
        factor = max(1, ZOOM // size)
        crops.append((family.classical(crop, factor, "nearest") if factor > 1 else crop, name))
    return crops


def bench_cases():
    """What `python -m playground.bench` times: a 512x512 output at x4 from a 128x128 input, per
    learned x4 model (the issue's targets: 1 s for the strong one, 100 ms for the fast one)."""
    image = np.ascontiguousarray(np.array(data.load_natural("astronaut"))[::4, ::4][:128, :128])
    cases = {}
    for model_id in model_ids(4):
        def run(i, model_id=model_id):
            return upscale_all(image, 4, False, [model_id])["outputs"][model_id]
        cases[f"Super-resolution: 128x128 -> 512x512 at x4 ({model_id})"] = run
    return cases
