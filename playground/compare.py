"""Compare: every bundled generator of one data set draws N images from one seed, and one table
measures them all on the same real images, with reference rows that say what the numbers mean.

    run(dataset, model_ids, n, seed, sampler, steps)   yields (rows so far, grids so far, status)
    export(result, folder)                             the grids (PNG), the table (CSV), record.json

The real images are what the app has at run time, with no root: for Fashion-MNIST the 2,000 test
images shipped in the gallery, split by a seeded permutation into a reference half (what every
distance is measured against) and a held-out half (the reference rows); for the ORL faces the
ladder's two halves (playground.ladder.real_sets). Every row, model or reference, is N images
against the same N reference images, so the rows compare with each other, and not with the cards'
numbers (other N, other reference). Memorisation needs the images a model trained on: all 400 ORL
faces, or Fashion-MNIST's training split when it is installed (else the card's figure is shown).
Bits/dim come from the cards: exact for a PixelCNN, an upper bound for a VAE.
"""
import csv
import hashlib
import importlib
import json
import platform
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from . import data, devices, ladder, registry, validate
from .errors import DataMissing, InputError
from .images import make_grid, zoom
from .metrics import density_coverage, frechet_distance, precision_recall

DATASETS = {"Fashion-MNIST": "fashion-mnist", "ORL faces": "orl-faces"}
FAMILIES = ("gan", "vae", "diffusion", "pixelcnn")
MAIN = ("gan-fashion", "vae-fashion", "ddpm-fashion", "pixelcnn-fashion", "gan-faces", "vae-faces", "ddpm-faces")
FEATURES = {"fashion-mnist": ("features-fashion", "FD-Fashion (our features, not FID)"),
            "orl-faces": ("features-orl", "FD-ORL (our features, not FID)")}
MAX_N = {"fashion-mnist": 1000, "orl-faces": 200}
MIN_N, N_STEP = 20, 10
MODEL_DEFAULT = "each model's default"
REFERENCES = ("real held-out", "blurred sigma=1", "noisy sigma=0.1")
COLUMNS = ("model", "family", "FD", "precision", "recall", "density", "coverage", "memorisation rate",
           "bits/dim (card)", "seconds per image", "parameters")
SHOWN = 36          # images per grid
CARD_MEMORISATION = ("Memorisation rates of the models come from their cards (marked \"card\"): "
                     + data.FASHION_TRAIN_MISSING + ".")
K = 3               # neighbours for precision/recall and density/coverage (Naeem et al. use 5; the ORL faces
                    # have 5 per person, so a 5th neighbour is another person and every ball swallows the rest)


def dataset_key(name):
    return DATASETS[validate.choice(name, list(DATASETS), name="Data set")]


def candidates(dataset):
    """Installed generators of this data set (ids), in family order."""
    reg = registry.default()
    cards = [c for c in reg.cards().values() if c.family in FAMILIES and c.dataset == dataset
             and reg.availability(c.id) == "local"]
    return [c.id for c in sorted(cards, key=lambda c: (FAMILIES.index(c.family), c.id))]


def defaults(dataset):
    """The main model of each family (pixelcnn-masked-small, vae-fashion-2d ... stay unticked)."""
    ids = candidates(dataset)
    return [i for i in ids if i in MAIN] or ids


def real_images(dataset, seed=0):
    """(reference, held-out, what the models trained on or None), uint8 (N,S,S)."""
    if dataset == "orl-faces":
        sets = ladder.real_sets(dataset, seed)
        return sets.train, sets.heldout, sets.seen
    images = np.asarray(data.fashion_gallery()[0])
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    try:
        seen = np.asarray(data.fashion_mnist("train")[0])
    except DataMissing:
        seen = None
    return images[np.sort(order[:half])], images[np.sort(order[half:])], seen


def draw(model, family, n, seed, sampler="DPM-Solver++", steps=20, knob=None):
    """n images (uint8 (n,S,S)) from a model, cycling through its classes if it has any (a diffusion
    model with `sampler` and `steps`). knob: the family's KNOBS setting (default: as trained)."""
    module = importlib.import_module(f"playground.families.{family}")
    classes = int(getattr(model, "num_classes", 0) or 0)
    labels = [i % classes for i in range(n)] if classes else None
    chunks = range(0, n, getattr(module, "MAX_IMAGES", 64))

    def chunked(fn):
        size = chunks.step
        return np.concatenate([fn(seed + i, min(size, n - i), labels[i:i + size] if labels else None) for i in chunks])
    if family == "gan":
        return chunked(lambda s, m, y: module.generate(model, s, m, 1.0 if knob is None else knob, y)[..., 0])
    if family == "vae":
        return chunked(lambda s, m, y: module.sample_prior(model, s, m, 1.0 if knob is None else knob))
    if family == "diffusion":
        return module.generate_balanced(model, n, seed, sampler, steps if knob is None else int(knob))[0]
    if family == "pixelcnn":
        return chunked(lambda s, m, y: module.sample(model, s, m, y, 1.0 if knob is None else knob))
    raise InputError(f"Compare draws from {', '.join(FAMILIES)} models, not {family!r}.")


def _sampler(model, card, sampler, steps):
    """(sampler, steps) to draw with: a diffusion model's own default (the one its playground.json names,
    read by the family when the model loaded) when MODEL_DEFAULT is asked."""
    if card.family == "diffusion" and sampler == MODEL_DEFAULT:
        return model.sampler
    return sampler, steps


def _bits(card):
    m = card.metrics or {}
    if card.family == "pixelcnn" and "test_bpd" in m:
        return f"{m['test_bpd']:.3f} (exact)"
    for key in ("test_iw_bpd", "test_elbo_bpd"):
        if card.family == "vae" and key in m:
            return f"{m[key]:.3f} (bound)"
    return "none"


def memorisation_note(dataset):
    """The sentence saying that the memorisation rates come from the cards ("" where the training
    images are installed, so the rates are measured)."""
    return CARD_MEMORISATION if dataset == "fashion-mnist" and not data.fashion_mnist_installed() else ""


def _memorisation(images, seen, card=None):
    if seen is None:
        value = (card.metrics or {}).get("memorisation_rate") if card else None
        return f"{value:.3f} (card)" if value is not None else "needs the training set"
    return round(ladder.memorisation_rate(images[:500], seen).rate, 4)


def _scores(feats, ref_feats):
    pr, dc = precision_recall(ref_feats, feats, K), density_coverage(ref_feats, feats, K)
    return {"FD": round(frechet_distance(feats, ref_feats), 4), **{k: round(v, 4) for k, v in {**pr, **dc}.items()}}


def check(dataset_name, model_ids, n, seed, sampler, steps):
    """Validated (dataset, ids, n, seed, sampler, steps)."""
    dataset = dataset_key(dataset_name)
    ids = candidates(dataset)
    model_ids = list(dict.fromkeys(validate.choice(m, ids, name="Model") for m in (model_ids or [])))  # once each
    if not model_ids:
        raise InputError("Tick at least one model to compare.")
    n = validate.number(n, name="Images per model", minimum=MIN_N, maximum=MAX_N[dataset], step=N_STEP, integer=True)
    seed = validate.seed(seed)
    # lazy: families import torch, which building the UI must not (tests/test_layout.py)
    from .families.diffusion import MAX_STEPS, SAMPLERS
    sampler = validate.choice(sampler, [MODEL_DEFAULT, *SAMPLERS], name="Sampler")
    steps = validate.number(steps, name="Steps", minimum=1, maximum=MAX_STEPS, step=1, integer=True)
    return dataset, model_ids, n, seed, sampler, steps


def run(dataset_name, model_ids, n=100, seed=0, sampler=MODEL_DEFAULT, steps=20):
    """Yield (rows, grids, status) after the reference rows and after every model. rows are dicts
    keyed by COLUMNS (the first REFERENCES rows are real images); grids map a name to a uint8 grid."""
    dataset, model_ids, n, seed, sampler, steps = check(dataset_name, model_ids, n, seed, sampler, steps)
    from .families import features  # lazy: families import torch, which building the UI must not (tests/test_layout.py)
    net_id, _ = FEATURES[dataset]
    reference, heldout, seen = real_images(dataset)
    with registry.using(net_id) as net:
        ref_feats = features.features(net, reference[:n])
        held = heldout[:n]
        rows, grids = [], {}
        for name, images in zip(REFERENCES, (held, ladder.blur(held, 1), ladder.add_noise(held, 0.1, seed + 1))):
            rows.append({"model": name, "family": "real", **_scores(features.features(net, images), ref_feats),
                         "memorisation rate": round(ladder.memorisation_rate(images, reference).rate, 4),
                         "bits/dim (card)": "", "seconds per image": "", "parameters": ""})
        grids["real held-out"] = _grid(held)
        note = (" " + memorisation_note(dataset)) if seen is None else ""
        yield rows, grids, f"Reference rows done; drawing {n} images from each of {len(model_ids)} models.{note}"
        reg = registry.default()
        for i, model_id in enumerate(model_ids):
            card = reg.card(model_id)
            with registry.using(model_id) as model:
                settings = _sampler(model, card, sampler, steps)
                start = time.perf_counter()
                images = draw(model, card.family, n, seed, *settings)
                seconds = (time.perf_counter() - start) / n
            rows.append({"model": model_id, "family": card.family, **_scores(features.features(net, images), ref_feats),
                         "memorisation rate": _memorisation(images, seen, card), "bits/dim (card)": _bits(card),
                         "seconds per image": round(seconds, 4), "parameters": card.params})
            grids[model_id] = _grid(images)
            yield rows, grids, f"{i + 1} of {len(model_ids)} models done ({model_id}).{note}"


def _grid(images):
    shown = np.asarray(images[:SHOWN])
    return make_grid(list(zoom(shown, 56)), nrow=6)


def record(dataset_name, model_ids, n, seed, sampler, steps):
    """What reproduces a comparison: the inputs, versions, device and every model's source and
    revision (a local model's weights by their SHA-256)."""
    dataset, model_ids, n, seed, sampler, steps = check(dataset_name, model_ids, n, seed, sampler, steps)
    reg = registry.default()
    models = {}
    for model_id in model_ids + [FEATURES[dataset][0]]:
        card = reg.card(model_id)
        weights = reg.folder(model_id)
        digest = hashlib.sha256()
        for f in sorted(weights.rglob("*.safetensors")):
            digest.update(f.read_bytes())
        models[model_id] = {"source": card.source, "revision": card.revision, "weights_sha256": digest.hexdigest()}
    return {"data_set": dataset, "images_per_model": n, "seed": seed, "sampler": sampler, "steps": steps,
            "models": models, "versions": devices.versions(), "python": platform.python_version(),
            "device": str(devices.pick_device()), "reference": "seeded halves of the shipped test images"
            if dataset == "fashion-mnist" else "ladder.real_sets('orl-faces') halves"}


def write_export(rows, grids, rec, folder):
    """table.csv, one PNG per grid and record.json into folder, zipped as compare.zip beside them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (folder / "record.json").write_text(json.dumps(rec, indent=2) + "\n")
    names = ["table.csv", "record.json"]
    for name, grid in grids.items():
        Image.fromarray(grid).save(folder / f"{name.replace(' ', '-')}.png")
        names.append(f"{name.replace(' ', '-')}.png")
    path = folder / "compare.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            z.write(folder / name, name)
    return path


# two settings of one model ------------------------------------------------------------------------
KNOBS = {  # family: (name, minimum, maximum, step, default a, default b)
    "gan": ("Truncation", 0.0, 1.5, 0.05, 1.0, 0.6),
    "vae": ("Temperature", 0.1, 2.0, 0.05, 1.0, 0.6),
    "pixelcnn": ("Temperature", 0.1, 2.0, 0.05, 1.0, 0.8),
    "diffusion": ("Steps", 1, 200, 1, 20, 5),
}
TWO_N = 100


def two_settings(model_id, a, b, n=TWO_N, seed=0):
    """The same seed at two settings of the family's knob (KNOBS): (rows for a, b and b - a, grid a,
    grid b). The rows are scored as in run(), against the same real images."""
    ids = [i for dataset in DATASETS.values() for i in candidates(dataset)]
    card = registry.default().card(validate.choice(model_id, sorted(ids), name="Model"))
    name, low, high, step, _, _ = KNOBS[card.family]
    a, b = (validate.number(v, name=name, minimum=low, maximum=high, step=step, integer=card.family == "diffusion")
            for v in (a, b))
    n = validate.number(n, name="Images per setting", minimum=MIN_N, maximum=MAX_N[card.dataset], step=N_STEP,
                        integer=True)
    seed = validate.seed(seed)
    from .families import features  # lazy: families import torch, which building the UI must not (tests/test_layout.py)
    reference, _, seen = real_images(card.dataset)
    rows, shown = [], []
    with registry.using(FEATURES[card.dataset][0]) as net, registry.using(card.id) as model:
        sampler = _sampler(model, card, MODEL_DEFAULT, 20)[0]
        ref_feats = features.features(net, reference[:n])
        for value in (a, b):
            start = time.perf_counter()
            images = draw(model, card.family, n, seed, sampler, 20, knob=value)
            seconds = (time.perf_counter() - start) / n
            rows.append({"setting": f"{name.lower()} {value:g}", **_scores(features.features(net, images), ref_feats),
                         "memorisation rate": _memorisation(images, seen), "seconds per image": round(seconds, 4)})
            shown.append(_grid(images))
    diff = {k: round(rows[1][k] - rows[0][k], 4) for k in rows[0]
            if isinstance(rows[0][k], (int, float)) and isinstance(rows[1][k], (int, float))}
    rows.append({"setting": "difference (second - first)", **diff})
    return rows, shown[0], shown[1]
