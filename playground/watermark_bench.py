"""How well the invisible watermark (playground.watermark) survives what happens to pictures on the way.

    python -m playground.bench --watermark [--quick] [--readme README.md]

Marks the project's own outputs at their tabs' default settings (GAN, VAE, diffusion and PixelCNN grids from
many seeds, fast style transfer and super-resolution of the bundled photos), changes each copy as a picture
is changed when it is shared (JPEG at three qualities, smaller, cropped, noisy, a screenshot), and counts how
often the mark is still found; then counts how often it is "found" on 1,000 real pictures nobody marked
(grids of Fashion-MNIST, MNIST and ORL faces made as the app makes its grids, single images, the photos and
crops of them). Writes playground/assets/watermark.json, which the Data tab's check shows, and the README's section
between the watermark markers.
"""
import io
import os
import tempfile
import time

import numpy as np
from PIL import Image

from . import data, watermark
from .cards import publish
from .images import make_grid, zoom

START, END = "<!-- watermark:start -->", "<!-- watermark:end -->"
COMMAND = "python -m playground.bench --watermark --readme README.md"
REAL_COUNT = 1000
SEED = 0


def jpeg(a, quality):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def scaled(a, factor):
    h, w = a.shape[:2]
    return np.asarray(Image.fromarray(a).resize((max(1, round(w * factor)), max(1, round(h * factor))),
                                                Image.BICUBIC))


def centre_crop(a, fraction):
    h, w = a.shape[:2]
    ch, cw = max(1, round(h * fraction)), max(1, round(w * fraction))
    return a[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]


def noisy(a, sigma):
    rng = np.random.default_rng(SEED)
    return np.clip(np.rint(a + rng.normal(0, sigma, a.shape)), 0, 255).astype(np.uint8)


def png(a):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


CHANGES = {
    "no change": lambda a: a,
    "JPEG quality 90": lambda a: jpeg(a, 90),
    "JPEG quality 75": lambda a: jpeg(a, 75),
    "JPEG quality 50": lambda a: jpeg(a, 50),
    "resize 0.75x": lambda a: scaled(a, 0.75),
    "resize 0.5x": lambda a: scaled(a, 0.5),
    "centre crop 80%": lambda a: centre_crop(a, 0.8),
    "centre crop 50%": lambda a: centre_crop(a, 0.5),
    "Gaussian noise sigma 5": lambda a: noisy(a, 5),
    "Gaussian noise sigma 10": lambda a: noisy(a, 10),
    "JPEG 75 then resize 0.5x": lambda a: scaled(jpeg(a, 75), 0.5),
    "screenshot-like (1.5x, PNG)": lambda a: png(scaled(a, 1.5)),
}
TARGETS = ("JPEG quality 75", "resize 0.5x", "JPEG 75 then resize 0.5x")  # issue 26: >= 95% each, <= 1% FP
TARGET_RATE, TARGET_FP = 0.95, 0.01


# generated pictures: the tabs' outputs at their default settings, many seeds ------------------------------
def generated(quick=False):
    """[(what, uint8 image)]: what the app's generating views return at their defaults, seed after seed."""
    from .actions import diffusion, gan, pixelcnn, style, superres, vae  # torch and the models: only here
    seeds = range(5 if quick else 50)
    out = [(f"GAN grid {m}", gan.generate(m, s, 4, 1)[0]) for m in gan.gan_ids() for s in seeds]
    out += [(f"VAE grid {m}", vae.sample(m, s, 1.0, 6)) for m in vae.vae_ids() for s in seeds[:20]]
    for m in diffusion.diffusion_ids():
        sampler, steps = diffusion.default_sampler(m)
        label = (diffusion.class_choices(m) or [None])[0]
        for s in seeds[:6]:
            *_, last = diffusion.generate(m, label, 2, sampler, steps, s)
            out.append((f"diffusion grid {m}", last[1]))
    for m in pixelcnn.pixelcnn_ids():
        label = (pixelcnn.class_choices(m) or [None])[0]
        for s in seeds[:3]:
            *_, last = pixelcnn.sample(m, label, 1.0, s)
            out.append((f"PixelCNN grid {m}", last[0]))
    contents = style.content_names()[: 2 if quick else None]
    for m in style.fast_networks():
        out += [(f"style transfer {m}", style.fast(style.picture(None, c, contents, "content", 256), m))
                for c in contents]
    for name in superres.PICKS[: 1 if quick else None]:
        result = superres.upscale_all(superres.pick(name), 4, True, superres.model_ids(4))
        out += [(f"super-resolution {m}", np.asarray(img)) for m, img in result["outputs"].items()]
    return out


# real pictures: what the app shows of its data, and photos, never marked ----------------------------------
def _grids(images, count, rng, tile_zoom, sides=(2, 3, 4, 6)):
    out = []
    for i in range(count):
        side = sides[i % len(sides)]
        pick = rng.choice(len(images), size=side * side, replace=False)
        tiles = [zoom(images[j], images.shape[1] * tile_zoom) if tile_zoom > 1 else images[j] for j in pick]
        out.append(make_grid(tiles, nrow=side))
    return out


def _crops(photo, count, rng):
    h, w = photo.shape[:2]
    out = []
    for _ in range(count):
        side = int(rng.integers(64, min(h, w) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = photo[y:y + side, x:x + side]
        out.append(crop if side <= 512 else scaled(crop, 512 / side))
    return out


def real(count=REAL_COUNT):
    """[(what, uint8 image)]: `count` real pictures, seeded, in the sizes the app shows pictures at."""
    rng = np.random.default_rng(SEED)
    fashion, _ = data.fashion_gallery()
    faces, _ = data.orl_faces()
    digits, _ = data.mnist_subset()
    photos = [np.asarray(data.load_natural(n, "RGB")) for n in sorted(data.natural_images())]
    parts = [("Fashion-MNIST grid", _grids(fashion, 200, rng, 4)),
             ("Fashion-MNIST image", [fashion[i] for i in rng.choice(len(fashion), 100, replace=False)]),
             ("Fashion-MNIST image, enlarged", [zoom(fashion[i], 112) for i in rng.choice(len(fashion), 50)]),
             ("ORL faces grid", _grids(faces, 100, rng, 1)),
             ("ORL face", [faces[i] for i in rng.choice(len(faces), 100, replace=False)]),
             ("MNIST grid", _grids(digits, 100, rng, 4)),
             ("photo", photos)]
    per_photo = -(-(count - sum(len(p) for _, p in parts)) // max(1, len(photos)))
    parts.append(("photo crop", [c for p in photos for c in _crops(p, per_photo, rng)]))
    return [(what, im) for what, images in parts for im in images][:count]


# the measurement -----------------------------------------------------------------------------------------
def _summary(values):
    return {"min": round(float(np.min(values)), 1), "median": round(float(np.median(values)), 1)}


def measure(quick=False):
    """Mark the generated pictures, change them, detect; detect on real ones. The result watermark.TABLE holds."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:  # the tabs' actions store results: not in the shared cache
        before, os.environ["PLAYGROUND_RESULTS_DIR"] = os.environ.get("PLAYGROUND_RESULTS_DIR"), cache
        try:
            made = generated(quick)
        finally:
            if before is None:
                os.environ.pop("PLAYGROUND_RESULTS_DIR")
            else:
                os.environ["PLAYGROUND_RESULTS_DIR"] = before
    marked = [watermark.mark(im) for _, im in made]
    rows = []
    for change, fn in CHANGES.items():
        scores = np.array([watermark.detect(fn(m)).score for m in marked])
        missed = sorted({what for (what, _), s in zip(made, scores) if s <= watermark.THRESHOLD})
        rows.append({"change": change, "detected": round(float(np.mean(scores > watermark.THRESHOLD)), 4),
                     "of": len(scores), "lowest_score": round(float(scores.min()), 1), "missed_in": missed})
    unmarked = real(200 if quick else REAL_COUNT)
    scores = np.array([watermark.detect(im).score for _, im in unmarked])
    found = sorted({what for (what, _), s in zip(unmarked, scores) if s > watermark.THRESHOLD})
    psnr = [(im.ndim == 3, min(im.shape[:2]), watermark.psnr(im, m)) for (_, im), m in zip(made, marked)]
    singles = [watermark.psnr(im, watermark.mark(im)) for what, im in unmarked[:400] if im.shape == (28, 28)]
    rates = {r["change"]: r["detected"] for r in rows}
    fp_rate = float(np.mean(scores > watermark.THRESHOLD))
    return {
        "command": COMMAND, "quick": quick, "threshold": watermark.THRESHOLD, "canonical_size": watermark.SIZE,
        "generated": len(made), "generated_kinds": sorted({what for what, _ in made}), "rows": rows,
        "false_positives": {"found": int(np.sum(scores > watermark.THRESHOLD)), "of": len(scores),
                            "rate": round(fp_rate, 4), "highest_score": round(float(scores.max()), 1),
                            "mean_score": round(float(scores.mean()), 2), "sd_score": round(float(scores.std()), 2),
                            "found_in": found, "kinds": sorted({what for what, _ in unmarked})},
        "psnr_db": {"colour outputs": _summary([p for c, _, p in psnr if c]),
                    "grey outputs": _summary([p for c, _, p in psnr if not c]),
                    "single 28x28 images": _summary(singles)},
        "targets": {"detected_at_least": TARGET_RATE, "false_positives_at_most": TARGET_FP,
                    "met": all(rates[c] >= TARGET_RATE for c in TARGETS) and fp_rate <= TARGET_FP},
        "seconds": round(time.perf_counter() - start, 1),
    }


def markdown(result):
    """The README's watermark section (and what the command prints)."""
    fp = result["false_positives"]
    lines = [f"Written by `{result['command']}`{' (--quick)' if result['quick'] else ''} in "
             f"{result['seconds']:.0f} s: {result['generated']} generated pictures (the tabs' outputs at their "
             f"defaults, many seeds) marked with `playground.watermark.mark`, changed, then checked; a mark is found "
             f"when the score passes {result['threshold']:g} (about a standard normal on unmarked pictures).", "",
             "| change | detected | lowest score |", "|---|---|---|"]
    lines += [f"| {r['change']} | {r['detected']:.1%} of {r['of']} | {r['lowest_score']:.1f} |" for r in result["rows"]]
    lines += [f"| **false positives** on {fp['of']:,} real pictures | {fp['rate']:.1%} ({fp['found']}) | highest "
              f"{fp['highest_score']:.1f} |", "",
              "PSNR of marked against unmarked: " + "; ".join(
                  f"{k} {v['median']:.1f} dB (lowest {v['min']:.1f})" for k, v in result["psnr_db"].items()) + ".",
              f"Targets (issue 26: at least {TARGET_RATE:.0%} after JPEG 75, after 0.5x and after both, at most "
              f"{TARGET_FP:.0%} false positives): {'met' if result['targets']['met'] else 'NOT met'}."]
    return "\n".join(lines)


def run(quick=False, readme=None, out=watermark.TABLE):
    """Measure, write the JSON (the Data tab reads it), print the markdown and write it into the README."""
    result = measure(quick)
    return publish(result, out, markdown(result), readme, START, END)
