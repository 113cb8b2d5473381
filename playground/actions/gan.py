"""What the GAN tab does, as plain functions: validated inputs in, images and numbers out.

Each function takes a model id and the user's raw values, validates them, borrows the model
from the registry, and calls the family's functions in playground.families.gan.
"""
import functools
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .. import datasets, memorisation, registry, results, validate
from ..errors import InputError, ModelUnavailable
from ..families import features, gan
from ..images import make_grid, normalize_image, save_gif
from ..images import zoom as images_zoom
from ..metrics import precision_recall
from .common import family_ids

MAX_SIDE = 8
PR_SAMPLES = 200
MAX_TRAIN = 10_000  # larger training sets are compared through a fixed, seeded subset
WALK_ROW = 8  # frames per row of a latent walk's picture
TILE = 128  # pixels a generated image is enlarged to (at most), so it is visible on a projector
GALLERY_NOTE = ("Compared with the 2,000 shipped Fashion-MNIST test images, not the training images: "
                + datasets.FASHION.training_missing + ". The model never trained on test images, so a close match "
                "means close to real clothes, not a copy of a training image.")
ALL = "all classes, in turn"


def gan_ids():
    return family_ids(gan)


def _model_id(model_id):
    return validate.choice(model_id, gan_ids(), name="Model")


def _truncation(psi):
    return validate.number(psi, name="Truncation psi", minimum=0, maximum=1, step=0.05)


def classes(model_id):
    """A conditional model's class names ([] for an unconditional one), from its config, without
    loading its weights."""
    card = registry.default().card(_model_id(model_id))
    config_path = registry.default().folder(card.id) / "config.json"
    num = json.loads(config_path.read_text()).get("num_classes", 0) if config_path.is_file() else 0
    if not num:
        return []
    named = datasets.get(card.dataset).classes
    return list(named) if named else [f"class {i}" for i in range(num)]


def _gallery_instead(dataset):
    """Whether the comparisons use the shipped gallery (the full Fashion-MNIST is not installed)."""
    record = datasets.get(dataset)
    return bool(record.gallery) and not record.training_installed()


def training_size(model_id):
    """How many training images the comparisons use (without reading them)."""
    record = datasets.get(registry.default().card(_model_id(model_id)).dataset)
    if _gallery_instead(record.key):
        return len(record.gallery()[0])
    return min(record.counts[record.generator_split], MAX_TRAIN)


def training_note(model_id):
    """"" when the comparisons use the model's training images; else the sentence saying what they
    use instead (GALLERY_NOTE), for every view that shows nearest or real images."""
    return GALLERY_NOTE if _gallery_instead(registry.default().card(_model_id(model_id)).dataset) else ""


def _labels(model_id, label, n):
    """The labels for n images: None (unconditional), every class in turn (ALL), or one class."""
    names = classes(model_id)
    label = validate.choice(label if label is not None else ALL, [ALL] + names, name="Class")
    if not names:
        return None
    return [i % len(names) for i in range(n)] if label == ALL else [names.index(label)] * n


def zoom(images):
    """Grey images [..., S, S] or [..., S, S, 1] enlarged (nearest neighbour) to about TILE pixels."""
    return images_zoom(images, TILE)


@results.cached("gan.generate")
def generate(model_id, seed, side, psi, label=ALL):
    """A side x side grid from `seed` at truncation `psi`, and the images with their labels."""
    model_id, seed = _model_id(model_id), validate.seed(seed)
    side = validate.number(side, name="Grid size", minimum=1, maximum=MAX_SIDE, step=1, integer=True)
    labels = _labels(model_id, label, side * side)
    with registry.using(model_id) as model:
        images = gan.generate(model, seed, side * side, _truncation(psi), labels)
    return make_grid(zoom(images), nrow=side), {"images": images, "labels": labels}


def grid_index(x, y, side, tile=TILE, pad=2):
    """Which image of a grid (made by generate) a click at pixel (x, y) landed on, or None."""
    col, row = (x - pad) // (tile + pad), (y - pad) // (tile + pad)
    if 0 <= col < side and 0 <= row < side:
        return int(row * side + col)
    return None


@functools.lru_cache(maxsize=4)
def _training_set(model_id):
    """The training images as the GAN saw them (at most MAX_TRAIN), their labels and features,
    and the train-to-train nearest-neighbour distances. Without the full Fashion-MNIST, the 2,000
    shipped test images stand in, and "note" says so (GALLERY_NOTE; else "")."""
    card = registry.default().card(model_id)
    record, note = datasets.get(card.dataset), training_note(model_id)
    if note:
        real, labels = record.gallery()
    else:
        with registry.using(model_id) as model:
            real, labels = record.real_images(model.image_size)  # faces as the GAN saw them
    if len(real) > MAX_TRAIN:
        keep = np.sort(np.random.default_rng(0).choice(len(real), MAX_TRAIN, replace=False))
        real, labels = real[keep], labels[keep]
    out = {"images": np.array(real), "labels": np.array(labels), "pixels": memorisation.pixels(real),
           "note": note}
    out["pixel_nn"] = memorisation.reference(out["pixels"])
    out["feature_id"] = record.neighbours_id  # the network of the data set's nearest-neighbour metrics
    try:
        with registry.using(out["feature_id"]) as net:
            out["features"] = features.features(net, real)
        out["feature_nn"] = memorisation.reference(out["features"])
    except ModelUnavailable:
        out["features"] = None
    return out


def fidelity_diversity(model_id, seed, psi, label=ALL):
    """Precision (fidelity) and recall (diversity) of PR_SAMPLES images at truncation psi, on the
    project's feature network (not comparable with Inception-based numbers), and "note": what the
    real images are when they are not the training images ("" when they are)."""
    model_id, seed, psi = _model_id(model_id), validate.seed(seed), _truncation(psi)
    train = _training_set(model_id)
    if train["features"] is None:
        raise ModelUnavailable("Precision and recall need the feature network, which is not available here.")
    labels = _labels(model_id, label, PR_SAMPLES)
    real = train["features"]
    if labels is not None and label != ALL:  # one class: compare with that class's real images
        real = real[train["labels"] == labels[0]]
    with registry.using(model_id) as model:
        fake = gan.generate(model, seed, PR_SAMPLES, psi, labels)[..., 0]
    with registry.using(train["feature_id"]) as net:
        fake_feats = features.features(net, fake)
    return {**precision_recall(real[:2000], fake_feats), "note": train["note"]}


def walk(model_id, seed_a, seed_b, steps, label=ALL):
    """A latent walk (slerp) between two seeds (one class for a conditional model: the chosen one,
    else the first): the frames read row by row, WALK_ROW to a row (big enough on a projector), and the
    path of an animated GIF."""
    model_id = _model_id(model_id)
    seed_a, seed_b = validate.seed(seed_a, "First seed"), validate.seed(seed_b, "Second seed")
    steps = validate.number(steps, name="Steps", minimum=2, maximum=32, step=1, integer=True)
    labels = _labels(model_id, label, 1)
    with registry.using(model_id) as model:
        frames = gan.interpolate(model, seed_a, seed_b, steps, None if labels is None else labels[0])
    big = zoom(frames)
    big = big.repeat(2, -2).repeat(2, -1) if big.shape[-1] < 200 else big
    path = Path(tempfile.mkdtemp(prefix="walk-")) / f"walk-{seed_a}-{seed_b}.gif"
    save_gif(list(big) + list(big[-2:0:-1]), path, duration_ms=120)  # there and back, no repeats
    return make_grid(zoom(frames), nrow=min(steps, WALK_ROW)), str(path)


def real_example(model_id, index):
    """One training image by index, and its label (for the discriminator view); a shipped test
    image where the training set is not installed (training_note says so)."""
    train = _training_set(_model_id(model_id))
    index = validate.number(index, name="Training image", minimum=0, maximum=len(train["images"]) - 1,
                            step=1, integer=True)
    return np.asarray(train["images"][index]), int(train["labels"][index])


def judge(model_id, generated, real, real_label=None):
    """The discriminator's scores for generated images (as made by generate) and for one real
    image (any size; made grey). A conditional model scores "real, as this class"."""
    model_id = _model_id(model_id)
    real = real if isinstance(real, np.ndarray) and real.ndim == 2 else normalize_image(real, mode="L")[..., 0]
    conditional = bool(classes(model_id))
    if conditional and real_label is None:
        raise InputError("This GAN is class-conditional: pick a training image (its class is known) "
                         "rather than an upload.")
    with registry.using(model_id) as model:
        fake_scores = []
        if generated is not None and len(generated["images"]):
            fake_scores = gan.discriminate(model, np.asarray(generated["images"]), generated["labels"])
        real_score = float(gan.discriminate(model, real[None], [real_label] if conditional else None)[0])
    return np.asarray(fake_scores, np.float32), real_score


def _flat(images):
    images = np.asarray(images)
    return images[..., 0] if images.ndim == 4 else images


def is_new(model_id, image, k=3):
    """The k nearest training images of one image in pixel and feature space, with distances and
    a verdict against the distances between training images themselves."""
    model_id = _model_id(model_id)
    image = np.asarray(image)
    image = image[..., 0] if image.ndim == 3 else image
    train = _training_set(model_id)
    if image.shape != train["images"].shape[1:]:
        raise InputError("Pick an image from the generated grid first.")
    result = novelty(model_id, image[None], k)
    strips = {space: make_grid(zoom(train["images"][n.index[0]]), nrow=k) for space, n in result.items()
              if space != "note"}
    return result, strips


@results.cached("gan.novelty")
def novelty(model_id, images, k=1):
    """For each image: its k nearest training images in pixel (and feature) space, with verdicts,
    and "note": what they are compared with when not the training images ("" when they are)."""
    train = _training_set(_model_id(model_id))
    flat = _flat(images)
    out = {"pixels": memorisation.nearest(memorisation.pixels(flat), train["pixels"], train["pixel_nn"], k),
           "note": train["note"]}
    if train["features"] is not None:
        with registry.using(train["feature_id"]) as net:
            feats = features.features(net, flat)
        out["features"] = memorisation.nearest(feats, train["features"], train["feature_nn"], k)
    return out


def timeline(model_id):
    """Sample grids of fixed latents along training (step, uint8 image), and the loss log, shipped
    with the weights. Pixels, not paths: the weights folder is never served to browsers."""
    folder = registry.default().folder(_model_id(model_id)) / "timeline"
    if not folder.is_dir():
        return [], []
    grids = []
    for path in sorted(folder.glob("step_*.png")):
        with Image.open(path) as im:
            grids.append((int(path.stem.split("_")[-1]), np.asarray(im.convert("L"))))
    losses_path = folder / "losses.json"
    losses = json.loads(losses_path.read_text()) if losses_path.is_file() else []
    return grids, losses


def round_trip(reg):
    """For bench's API round trip: a 4x4 grid of the first local GAN, by the HTTP API and directly."""
    ids = [i for i in family_ids(gan, reg) if reg.availability(i) == "local"]
    if not ids:
        return None
    return "generate", [ids[0], ALL, 0, 4, 1.0], lambda: generate(ids[0], 0, 4, 1.0, ALL)


# What the tab shows: one call per event, the results chained and put into words here (the tab only wires).

def note_text(result):
    """The sentence saying what the comparison uses instead of the training images ("" if nothing)."""
    note = result.get("note") if isinstance(result, dict) else result
    return f"\n\n*{note}*" if note else ""


def pr_text(pr, psi, items="faces", untruncated=None):
    """fidelity_diversity()'s precision and recall at one truncation, in words; untruncated: the same
    measured at psi = 1, so the sentence says what truncation did on this model instead of what it usually does."""
    text = (f"**At psi = {psi:g}:** precision {pr['precision']:.2f} (fidelity: share of generated {items} that "
            f"fall on the real {items}' manifold), recall {pr['recall']:.2f} (diversity: share of real {items} "
            f"the generated ones cover). Measured on {PR_SAMPLES} samples with the project's own feature network, "
            "so not comparable with published numbers.")
    if untruncated is None:
        return text + " Lower psi and measure again to see what truncation does to both on this model."
    moved = [f"{name} went from {untruncated[name]:.2f} to {pr[name]:.2f}" for name in ("precision", "recall")]
    expected = pr["precision"] >= untruncated["precision"] and pr["recall"] <= untruncated["recall"]
    return (text + f" **Here**, from psi = 1 (no truncation) to psi = {psi:g}, " + " and ".join(moved) + ". "
            + ("That is the usual trade: more typical images, less variety." if expected else
               "That is not the textbook trade (truncation should raise precision and lower recall): on this "
               "model the typical images it drives toward are not the most realistic ones."))


def score_text(fake, real):
    """The discriminator's scores (the grid's, in grid order, and the real image's), in words."""
    listed = ", ".join(f"{v:+.2f}" for v in fake)
    mean = (f"**Generated, in grid order:** {listed} (mean {np.mean(fake):+.2f}).\n\n" if len(fake)
            else "Generate a grid to score generated images too.\n\n")
    return (f"**Real image:** {real:+.2f}\n\n{mean}"
            "The discriminator was trained to push real images above +1 and generated ones below -1 (the hinge "
            "loss); by the end of training it can barely tell them apart, so these scores say more about what "
            "it learned to look for than about how good an image is.")


def verdict_text(result):
    """is_new()'s nearest distances and verdict for one image, per space, in words."""
    lines = []
    for space, label in (("pixels", "Pixel space"), ("features", "Feature space (features network)")):
        n = result.get(space)
        if n is None:
            continue
        dists = ", ".join(f"{d:.3f}" for d in n.distance[0])
        verdict = ("**likely a copy** of a training face" if n.copy[0] else
                   "closer than usual to a training face" if n.ratio[0] < 0.75 else "no training face is unusually close")
        lines.append(f"**{label}:** nearest distances {dists}; the nearest is {n.ratio[0]:.2f}x the median distance "
                     f"between a training face and its nearest other training face: {verdict}.")
    return "\n\n".join(lines) + note_text(result)


def summary_text(summary):
    """novelty()'s verdicts for a whole grid, in words."""
    parts = [f"in {space} space {int(n.copy.sum())} of {len(n.copy)} are flagged as likely copies, the closest at "
             f"{n.ratio.min():.2f}x the usual distance between neighbouring training images"
             for space, n in (("pixel", summary["pixels"]), ("feature", summary.get("features"))) if n is not None]
    return ("**Is it new? The whole grid:** " + "; ".join(parts) + ". Click an image to see its nearest training images."
            + note_text(summary))


def generate_shown(model_id, label, seed, side, psi):
    """Generate: (the grid, what it was made from, the grid's side, the whole grid's novelty in words)."""
    image, made = generate(model_id, seed, side, psi, label)
    return image, made, int(side), summary_text(novelty(model_id, made["images"]))


def precision_recall_shown(model_id, label, seed, psi):
    """Precision and recall at one truncation and, below psi = 1, at psi = 1 too, in words: what changed here."""
    pr = fidelity_diversity(model_id, seed, psi, label)
    psi = _truncation(psi)
    untruncated = fidelity_diversity(model_id, seed, 1.0, label) if psi != 1 else None
    items = datasets.get(registry.default().card(_model_id(model_id)).dataset).items
    return pr_text(pr, psi, items, untruncated) + note_text(pr)


def selected_shown(model_id, made, side, x, y):
    """The face clicked at (x, y) of the grid: (the face, its nearest training faces in pixel and in feature
    space, the verdict in words)."""
    if made is None:
        raise InputError("Generate a grid first.")
    images = made["images"]
    tile = zoom(images[:1]).shape[-1]
    index = grid_index(x, y, side, tile=tile)
    if index is None or index >= len(images):
        raise InputError("Click on an image, not on the border between images.")
    result, strips = is_new(model_id, images[index])
    return zoom(images[index]), strips.get("pixels"), strips.get("features"), verdict_text(result)


def judge_shown(model_id, made, index, upload):
    """The discriminator view: (the real face shown, the scores in words). The upload when there is one,
    else the training image at index."""
    if upload is not None:  # through the normaliser once; judge takes the grey pixels as they are
        real, real_label = normalize_image(upload, mode="L")[..., 0], None
    else:
        real, real_label = real_example(model_id, index)
    fake, real_score = judge(model_id, made, real, real_label)
    note = note_text(training_note(model_id)) if upload is None else ""
    return (real if max(real.shape) > 200 else zoom(real)), score_text(fake, real_score) + note


def timeline_shown(model_id):
    """The training timeline: ((grid, caption) pairs, loss rows step, loss, network)."""
    grids, log = timeline(model_id)
    if not grids:
        raise InputError("This model has no training timeline shipped with it.")
    rows = [{"step": r["step"], "loss": r[k], "network": name} for r in log
            for k, name in (("d_loss", "discriminator"), ("g_loss", "generator")) if k in r]
    return [(image, f"step {s:,}") for s, image in grids], rows
