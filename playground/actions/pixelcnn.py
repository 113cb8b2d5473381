"""What the PixelCNN tab does, as plain functions: validated inputs in, images and numbers out.

Sample (streamed row by row, then a GIF), Complete (the hidden lower rows, k times, with the class the
model reads from the visible rows), Likelihood (bits/dim and a per-pixel heatmap), the shared
out-of-distribution view (playground.ood) and Receptive field (masked against gated). Scores over
the gallery are computed once per model and kept.
"""
import functools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import data, ood, registry, results, validate
from ..errors import InputError
from ..families import pixelcnn as family
from ..families.vae import ood_images
from ..images import heatmap, make_grid, save_gif, zoom
from .common import about, family_ids, fit_upload, pick_model, stopped_by

MAIN_ID, MASKED_ID = "pixelcnn-fashion", "pixelcnn-masked-small"
SOURCES = ("test image", "upload", "drawing")
EVERY_CLASS, NO_CLASS = "every class in turn", "no class"
TILE = 168        # a 28x28 image shown 6x
SMALL = 84        # tiles in grids and strips
BITS_MAX = 12     # bits per pixel at the top of the heatmap's scale
SCORE_N = 1000    # gallery images (and digits) scored for the percentile and out-of-distribution views
MAX_SIDE = 6
MAX_COMPLETIONS = 8
PARTIAL_S = 1.0   # within a row of the whole network (seconds), Sample shows the grid so far this often


def pixelcnn_ids():
    return family_ids(family)


def _model_id(model_id):
    return pick_model(model_id, pixelcnn_ids(), "PixelCNN")


def _fixed(model_id):
    """A view that needs one particular model: a clear message when it is not installed."""
    if model_id not in pixelcnn_ids():
        raise InputError(f"This view needs {model_id}, which is not installed: train it with "
                         f"python -m playground.train.pixelcnn (see its card).")
    return model_id


def settings(model_id):
    """The model's config.json (kind, num_classes ...), read without loading the weights."""
    path = registry.default().folder(_model_id(model_id)) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def class_choices(model_id):
    """The Class dropdown's choices ([] for an unconditional model)."""
    return [EVERY_CLASS, NO_CLASS] + list(data.FASHION_CLASSES) if settings(model_id).get("num_classes") else []


def _label(model_id, label):
    """What the family takes: None (unconditional model), NULL, a class index, or every class in turn."""
    choices = class_choices(model_id)
    if not choices:
        return None
    label = validate.choice(label, choices, name="Class")
    if label == EVERY_CLASS:
        return list(range(len(data.FASHION_CLASSES)))
    return family.NULL if label == NO_CLASS else data.FASHION_CLASSES.index(label)


def _unconditional(model):
    """The label for "the model's own p(x)": NULL for a conditional model, None otherwise."""
    return family.NULL if model.num_classes else None


def model_input(source, index=0, upload=None, drawing=None):
    """A 28x28 grey image from the gallery, an upload or a drawing, and a caption."""
    source = validate.choice(source, SOURCES, name="Source")
    if source == "test image":
        images, labels = data.fashion_gallery()
        index = validate.number(index, name="Test image", minimum=0, maximum=len(images) - 1, step=1, integer=True)
        return np.asarray(images[index]), f"test image {index} ({data.FASHION_CLASSES[int(labels[index])]})"
    src = upload if source == "upload" else drawing
    if src is None:
        raise InputError("The drawing is empty: draw something first." if source == "drawing"
                         else f"Choose an image for the {source} source first.")
    if source == "drawing":  # an array from the sketchpad; an upload is a path or data: URL for the normaliser
        src = np.asarray(src)
        if src.size == 0 or src.ndim < 2 or src.min() == src.max():
            raise InputError("The drawing is empty: draw something first.")
    return fit_upload(src, 28, invert_light=True), f"your {source}"


# sample ------------------------------------------------------------------------------------------
@results.cached("pixelcnn.sample")
def sample(model_id, label, temperature, seed, side=4, fast=True, should_stop=None):
    """Yield (grid so far, progress text, None) after every written row, and within a row of the whole network
    (seconds long) at most every PARTIAL_S, then (grid, summary, GIF path). should_stop (the tab's Stop) is
    asked after every pixel: when it says so the run ends there, with what is written, "Stopped at row k of 28"
    and the GIF of the rows so far."""
    model_id = _model_id(model_id)
    y = _label(model_id, label)
    temperature = validate.number(temperature, name="Temperature", minimum=0.1, maximum=2, step=0.05)
    seed = validate.seed(seed)
    side = validate.number(side, name="Grid size", minimum=1, maximum=MAX_SIDE, step=1, integer=True)
    if not isinstance(fast, bool):
        raise InputError(f"Fast sampler is on or off (true or false), not {fast!r}.")
    frames, start, stopped = [], time.perf_counter(), None
    shown = start - PARTIAL_S  # the first pixel is shown at once
    with registry.using(model_id) as model:
        size = model.image_size
        rows = family.sample_pixels(model, seed, side * side, y, float(temperature), fast)
        for row, cols, images in rows:
            written, row_done = row * size + cols, cols == size
            stop = written < size * size and stopped_by(should_stop)
            if not (row_done or stop or time.perf_counter() - shown >= PARTIAL_S):
                continue  # a pixel of the whole network: the grid is shown at most every PARTIAL_S
            grid = make_grid([zoom(im, SMALL) for im in images], nrow=side)
            if row_done or stop:
                frames.append(grid)  # the GIF has a frame a row (and the row so far when stopped)
            if stop:
                stopped = (row + 1, size)
                rows.close()
                break
            shown = time.perf_counter()
            left = (shown - start) / written * (size * size - written)
            done = f"{cols} of {size} pixels of row {row + 1} of {size} written" if not row_done else \
                f"Row {row + 1} of {size} written"
            yield grid, f"{done}, {about(left)} left", None
        sampler = "fast exact sampler" if fast and model.kind == "gated" else "whole network per pixel"
    seconds = time.perf_counter() - start
    path = Path(tempfile.mkdtemp(prefix="pixelcnn-")) / f"samples-{seed}.gif"
    save_gif(frames + [frames[-1]] * 8, path, duration_ms=90)
    if stopped:
        yield grid, (f"Stopped at row {stopped[0]} of {stopped[1]} after {seconds:.1f} s ({sampler}): the rows "
                     "written so far, and their animation."), str(path)
        return
    yield grid, f"{side * side} images, {seconds:.1f} s ({sampler}, temperature {temperature:g})", str(path)


# complete ----------------------------------------------------------------------------------------
def class_posterior(model, image, rows):
    """p(y | the first `rows` rows) for a conditional model (uniform prior): float64 (classes,)."""
    bits = np.stack([family.pixel_bits(model, image[None], c)[0, :rows].sum() for c in range(model.num_classes)])
    logp = -bits * np.log(2)
    return np.exp(logp - np.logaddexp.reduce(logp))


def complete(model_id, source, index=0, upload=None, drawing=None, hidden=14, k=4, seed=0, temperature=1.0,
             should_stop=None):
    """Hide the lower `hidden` rows and write them k times. Yields (strip, text) after every row; the
    strip is [original | what the model sees | k completions]. A conditional model first reads the
    class from the visible rows (p(y | visible) by Bayes) and draws each completion's class from it.
    should_stop (the tab's Stop) is asked after every row (every pixel of the whole network): the strip keeps
    what is written so far."""
    model_id = _model_id(model_id)
    hidden = validate.number(hidden, name="Hidden rows", minimum=1, maximum=27, step=1, integer=True)
    k = validate.number(k, name="Completions", minimum=1, maximum=MAX_COMPLETIONS, step=1, integer=True)
    seed = validate.seed(seed)
    temperature = validate.number(temperature, name="Temperature", minimum=0.1, maximum=2, step=0.05)
    image, caption = model_input(source, index, upload, drawing)
    keep = 28 - hidden
    seen = image.copy()
    seen[keep:] = 128
    text = f"Completing {caption}: rows {keep + 1}-28 hidden."
    start = time.perf_counter()
    with registry.using(model_id) as model:
        labels = None
        if model.num_classes:
            post = class_posterior(model, image, keep)
            labels = np.random.default_rng(seed).choice(model.num_classes, size=k, p=post).tolist()
            top = np.argsort(-post)[:3]
            text += " From the visible rows it reads: " + ", ".join(
                f"{data.FASHION_CLASSES[i]} {post[i]:.0%}" for i in top) + "."
        rows = family.sample_pixels(model, seed, k, labels, float(temperature), start=image, rows_from=keep)
        begin = time.perf_counter()
        for row, cols, done in rows:
            stop = (row, cols) != (27, 28) and stopped_by(should_stop)
            if cols < 28 and not stop:
                continue  # a pixel of the whole network (the masked model): the strip shows written rows
            strip = make_grid([zoom(im, SMALL) for im in [image, seen, *done]], nrow=k + 2)
            if stop:
                rows.close()
                yield strip, (f"{text} Stopped at row {row + 1} of 28 after {time.perf_counter() - start:.1f} s: "
                              "the rows written so far.")
                return
            left = (time.perf_counter() - begin) / (row + 1 - keep) * (27 - row)
            yield strip, f"{text} Row {row + 1} of 28 written, {about(left)} left."
    yield strip, text + (" Each completion's class was drawn from those odds: "
                         + ", ".join(data.FASHION_CLASSES[c] for c in labels) + "." if labels else "")


# likelihood --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _gallery_scores(model_id):
    """bits/dim (the model's own p(x)) of SCORE_N gallery images and SCORE_N MNIST digits."""
    images = np.asarray(data.fashion_gallery()[0][:SCORE_N])
    digits = ood_images(quick=True)[:SCORE_N]
    with registry.using(model_id) as model:
        y = _unconditional(model)
        return images, family.bits_per_dim(model, images, y), digits, family.bits_per_dim(model, digits, y)


def likelihood(model_id, source, index=0, upload=None, drawing=None):
    """An image's bits/dim under the model's own p(x), its per-pixel code length as a heatmap, the
    complexity-corrected score, and where both fall among the gallery's clothes."""
    model_id = _model_id(model_id)
    image, caption = model_input(source, index, upload, drawing)
    with registry.using(model_id) as model:
        pixel = family.pixel_bits(model, image[None], _unconditional(model))[0]
    bits = float(pixel.mean())
    corrected = float(ood.corrected_scores([bits], image[None])[0])
    images, gallery, _, _ = _gallery_scores(model_id)
    gallery_corrected = ood.corrected_scores(gallery, images)
    return {"input": zoom(image, TILE), "heatmap": zoom(heatmap(pixel, vmax=BITS_MAX), TILE, colour=True), "caption": caption,
            "bits_per_dim": bits, "corrected": corrected,
            "percentile_raw": float((gallery < bits).mean() * 100),
            "percentile_corrected": float((gallery_corrected < corrected).mean() * 100)}


def out_of_distribution(model_id=MAIN_ID):
    """Gallery clothes against MNIST digits under the model's own p(x) (playground.ood.in_out_view)."""
    images, clothes, digits_images, digits = _gallery_scores(_fixed(model_id))
    return ood.in_out_view(clothes, images, digits, digits_images)


# receptive field ---------------------------------------------------------------------------------
def _field_picture(image, grad, causal, row, col):
    """RGB: the image dimmed; pixels that influence (row, col) green (brighter = stronger), earlier
    pixels that do not although they lie within the box of those that do (the blind spot) red, the
    pixel itself blue."""
    seen = grad > 0
    picture = np.repeat((np.asarray(image, np.float64) * 0.35)[..., None], 3, axis=2)
    strength = np.log1p(grad / max(grad.max(), 1e-30) * 1e3) / np.log1p(1e3)
    picture[seen] = np.stack([0 * strength[seen], 90 + 165 * strength[seen], 0 * strength[seen]], 1)
    reach = np.zeros_like(causal)  # the smallest box around the pixels it uses
    if seen.any():
        rows, cols = np.nonzero(seen)
        reach[rows.min():, cols.min():cols.max() + 1] = True
    blind = causal & ~seen & reach
    picture[blind] = (200, 30, 30)
    picture[row, col] = (60, 120, 255)
    return zoom(np.clip(picture, 0, 255).astype(np.uint8), TILE, colour=True), int(seen.sum()), int(blind.sum())


def receptive_field(row, col, index=0):
    """For pixel (row, col) of a gallery image: which earlier pixels the masked and the gated PixelCNN
    use (by gradient), as two pictures and a sentence each."""
    row = validate.number(row, name="Row", minimum=0, maximum=27, step=1, integer=True)
    col = validate.number(col, name="Column", minimum=0, maximum=27, step=1, integer=True)
    image, _ = model_input("test image", index)
    out = []
    for model_id in (_fixed(MASKED_ID), _fixed(MAIN_ID)):
        with registry.using(model_id) as model:
            grad, causal = family.receptive_field(model, image, row, col, _unconditional(model))
        picture, seen, blind = _field_picture(image, grad, causal, row, col)
        out.append((picture, f"**{model_id}** ({model.kind}): uses {seen} of the {int(causal.sum())} pixels before "
                             f"({row}, {col}); " + (f"**{blind} earlier pixels within its reach are never seen** "
                                                    "(the blind spot, red)." if blind else "no blind spot.")))
    return out


def bench_cases():
    """What `python -m playground.bench` times for this tab: 16 samples of pixelcnn-fashion with the
    whole network per pixel and with the fast exact sampler (the issue asks for both in one run)."""
    if MAIN_ID not in pixelcnn_ids():
        return {}

    def run(fast):
        def case(i):
            with registry.using(MAIN_ID) as model:
                return family.sample(model, i, 16, list(range(10)), 1.0, fast=fast)
        case.max_runs = 20 if fast else 1  # 784 whole-network passes per run: 95 s on 2 idle threads
        case.warm_up = fast  # the fast case's warm-up loads the model; a naive run takes long enough alone
        return case
    def first_partial(i):  # what the tab shows first with the fast sampler off (a 6x6 grid); never cached, closed
        states = sample(MAIN_ID, EVERY_CLASS, 1.0, i, MAX_SIDE, False, should_stop=lambda: False)
        next(states)
        states.close()
    first_partial.max_runs = 5
    return {f"PixelCNN: 16 samples, whole network per pixel ({MAIN_ID})": run(False),
            f"PixelCNN: 16 samples, fast exact sampler ({MAIN_ID})": run(True),
            f"PixelCNN: first partial grid of 36 samples, whole network per pixel ({MAIN_ID})": first_partial}



# What the tab shows: one call per event, the results put into words here (the tab only wires).

def likelihood_shown(model_id, source, index, upload, drawing):
    """One image scored under the model: (image, bits heatmap, sentence)."""
    r = likelihood(model_id, source, index, upload, drawing)
    text = (f"**{r['caption']}**: {r['bits_per_dim']:.3f} bits/dim under the model's own p(x), higher "
            f"than {r['percentile_raw']:.0f}% of 1,000 test images; complexity-corrected "
            f"{r['corrected']:+.3f}, higher than {r['percentile_corrected']:.0f}% of them. Bright pixels "
            "surprised the model: edges and texture cost the most, flat background almost nothing.")
    return r["input"], r["heatmap"], text


def receptive_field_shown(row, col):
    """Both models' receptive fields of one pixel: (masked model's picture, gated model's picture, both texts)."""
    (m_img, m_text), (g_img, g_text) = receptive_field(row, col)
    return m_img, g_img, m_text + "\n\n" + g_text
