"""Compare: every bundled generator of one data set draws N images from one seed, and one table
measures them all on the same real images, with reference rows that say what the numbers mean.

    run(dataset, model_ids, n, seed, sampler, steps)   yields (rows so far, grids so far, status)
    export(result, folder)                             the grids (PNG), the table (CSV), record.json

The real images are what the app has at run time, with no root: for Fashion-MNIST the 2,000 test
images shipped in the gallery, split by a seeded permutation into a reference half (what every
distance is measured against) and a held-out half (the reference rows); for the ORL faces the
ladder's two halves (playground.ladder.real_sets), taken in turns by person (in_turns) so that any N of
them holds every person. Every row, model or reference, is N images
against the same N reference images, so the rows compare with each other, and not with the cards'
numbers (other N, other reference). Memorisation needs the images a model trained on: all 400 ORL
faces, or Fashion-MNIST's training split when it is installed (else the card's figure is shown).
Bits/dim come from the cards: exact for a PixelCNN, an upper bound for a VAE.
"""
import csv
import json
import platform
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from . import datasets, devices, ladder, registry, validate
from .errors import DataMissing, InputError
from .families import scoring
from .families.protocol import generator
from .images import make_grid, zoom

DATASETS = {d.label: d.key for d in datasets.DATASETS.values()}  # the UI's names -> the cards' keys
MAIN = ("gan-fashion", "vae-fashion", "ddpm-fashion", "pixelcnn-fashion", "gan-faces", "vae-faces", "ddpm-faces")
MIN_N, N_STEP = 20, 10
MODEL_DEFAULT = "each model's default"
REFERENCES = ("real held-out", "blurred sigma=1", "blurred sigma=2", "noisy sigma=0.1", "noisy sigma=0.2")  # the
# ladder's rungs (playground.ladder), so that every metric can be read against them and checked to be monotone
COLUMNS = ("model", "family", *scoring.columns(), *scoring.columns(scoring.SECOND), "precision", "recall", "density", "coverage", "memorisation rate",
           "bits/dim (card)", "seconds per image", "parameters")
SHOWN = 36          # images per grid
CARD_MEMORISATION = "Memorisation rates of the models come from their cards (marked \"card\"): {}."


def dataset_key(name):
    return datasets.by_label(name).key


def candidates(dataset):
    """Installed generators of this data set (ids): models whose family declares a GENERATOR, in its rank."""
    reg = registry.default()
    cards = [c for c in reg.cards().values() if c.dataset == dataset and generator(c.family)
             and reg.availability(c.id) == "local"]
    return [c.id for c in sorted(cards, key=lambda c: (generator(c.family).rank, c.family, c.id))]


def defaults(dataset):
    """The main model of each family (pixelcnn-masked-small, vae-fashion-2d ... stay unticked)."""
    ids = candidates(dataset)
    return [i for i in ids if i in MAIN] or ids


def real_images(dataset, seed=0):
    """(reference, held-out, what the models trained on or None), uint8 (N,S,S)."""
    record = datasets.get(dataset)
    if record.gallery is None:
        sets = ladder.real_sets(dataset, seed)
        return sets.train[in_turns(sets.train_labels)], sets.heldout[in_turns(sets.heldout_labels)], sets.seen
    images = np.asarray(record.gallery()[0])
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    try:
        seen = np.asarray(record.training()[0])
    except DataMissing:
        seen = None
    return images[np.sort(order[:half])], images[np.sort(order[half:])], seen


def in_turns(labels):
    """Positions of a set's images taken in turns by label: the first image of every label, then the second of
    every label ... Compare scores the first N images of a set, and a set stored label by label (the ladder's
    halves of the ORL faces, five of each person) would give, at N=100 of 200, 20 of the 40 people."""
    labels = np.asarray(labels)
    turn = np.zeros(len(labels), int)
    for label in np.unique(labels):
        turn[labels == label] = np.arange((labels == label).sum())
    return np.lexsort((np.arange(len(labels)), turn))  # by turn, then in the set's order


def draw(model, family, n, seed, sampler=None, knob=None):
    """n images (uint8 (n,S,S)) from a model through its family's GENERATOR (playground.families.protocol):
    sampler (name, steps) or None for the model's default; knob: the family's Knob setting (None: as trained)."""
    gen = generator(family)
    if gen is None:
        raise InputError(f"Compare draws from generator families, and {family!r} is not one.")
    return gen.draw(model, n, seed, knob=knob, sampler=sampler)


def _sampler(sampler, steps):
    """(sampler, steps) to draw with, or None for each model's own default (MODEL_DEFAULT)."""
    return None if sampler == MODEL_DEFAULT else (sampler, steps)


def sampler_choices():
    """What Compare's sampler may name: each model's default, then every sampler a generator family offers."""
    names = {}
    for family in {c.family for c in registry.default().cards().values()}:
        gen = generator(family)
        names.update(dict.fromkeys(gen.samplers if gen else ()))
    return [MODEL_DEFAULT, *names]


def _max_steps():
    """The most steps a sampler of any generator family takes (0 when no family has samplers)."""
    return max([g.max_steps for g in map(generator, {c.family for c in registry.default().cards().values()}) if g]
               + [0])


def memorisation_note(dataset):
    """The sentence saying that the memorisation rates come from the cards ("" where the training
    images are installed, so the rates are measured)."""
    record = datasets.get(dataset)
    return CARD_MEMORISATION.format(record.training_missing) if record.gallery and not record.training_installed() \
        else ""


def _memorisation(images, seen, card=None):
    if seen is None:
        value = (card.metrics or {}).get("memorisation_rate") if card else None
        return f"{value:.3f} (card)" if value is not None else "needs the training set"
    return round(ladder.memorisation_rate(images[:500], seen).rate, 4)


def check(dataset_name, model_ids, n, seed, sampler, steps):
    """Validated (dataset, ids, n, seed, sampler, steps)."""
    dataset = dataset_key(dataset_name)
    ids = candidates(dataset)
    model_ids = list(dict.fromkeys(validate.choice(m, ids, name="Model") for m in (model_ids or [])))  # once each
    if not model_ids:
        raise InputError("Tick at least one model to compare.")
    n = validate.number(n, name="Images per model", minimum=MIN_N, maximum=datasets.get(dataset).compare_max,
                        step=N_STEP, integer=True)
    seed = validate.seed(seed)
    sampler = validate.choice(sampler, sampler_choices(), name="Sampler")
    steps = validate.number(steps, name="Steps", minimum=1, maximum=_max_steps() or None, step=1, integer=True)
    return dataset, model_ids, n, seed, sampler, steps


def run(dataset_name, model_ids, n=100, seed=0, sampler=MODEL_DEFAULT, steps=20):
    """Yield (rows, grids, status) after the reference rows and after every model. rows are dicts
    keyed by COLUMNS (the first REFERENCES rows are real images); grids map a name to a uint8 grid."""
    dataset, model_ids, n, seed, sampler, steps = check(dataset_name, model_ids, n, seed, sampler, steps)
    reference, heldout, seen = real_images(dataset)
    blank = dict.fromkeys(COLUMNS, "")
    with scoring.Judges(dataset) as judges:
        ref_feats = judges.features(reference[:n])
        held = heldout[:n]
        rows, grids = [], {}
        for name, images in zip(REFERENCES, rungs(held, seed)):
            rows.append({**blank, "model": name, "family": "real", **judges.scores(judges.features(images), ref_feats),
                         "memorisation rate": round(ladder.memorisation_rate(images, reference).rate, 4)})
        grids["real held-out"] = _grid(held)
        note = (" " + memorisation_note(dataset)) if seen is None else ""
        yield rows, grids, f"Reference rows done; drawing {n} images from each of {len(model_ids)} models.{note}"
        reg = registry.default()
        for i, model_id in enumerate(model_ids):
            card = reg.card(model_id)
            with registry.using(model_id) as model:
                start = time.perf_counter()
                images = draw(model, card.family, n, seed, _sampler(sampler, steps))
                seconds = (time.perf_counter() - start) / n
            rows.append({**blank, "model": model_id, "family": card.family,
                         **judges.scores(judges.features(images), ref_feats),
                         "memorisation rate": _memorisation(images, seen, card),
                         "bits/dim (card)": generator(card.family).bits_text(card),
                         "seconds per image": round(seconds, 4), "parameters": card.params})
            grids[model_id] = _grid(images)
            networks = (" " + judges.note(rows[len(REFERENCES):])) if i + 1 == len(model_ids) else ""
            yield rows, grids, f"{i + 1} of {len(model_ids)} models done ({model_id}).{note}{networks}"


def rungs(held, seed):
    """The REFERENCES' images: the held-out images, blurred (sigma 1 and 2 pixels) and noisy (0.1 and 0.2)."""
    return (held, ladder.blur(held, 1), ladder.blur(held, 2), ladder.add_noise(held, 0.1, seed + 1),
            ladder.add_noise(held, 0.2, seed + 1))


def _grid(images):
    shown = np.asarray(images[:SHOWN])
    return make_grid(list(zoom(shown, 56)), nrow=6)


def record(dataset_name, model_ids, n, seed, sampler, steps):
    """What reproduces a comparison: the inputs, versions, device and every model's source and
    revision (a local model's weights by their SHA-256)."""
    dataset, model_ids, n, seed, sampler, steps = check(dataset_name, model_ids, n, seed, sampler, steps)
    reg = registry.default()
    models = {}
    for model_id in model_ids + list(datasets.get(dataset).features_ids):
        card = reg.card(model_id)
        models[model_id] = {"source": card.source, "revision": card.revision,
                            "weights_sha256": reg.weights_sha256(model_id)}
    return {"data_set": dataset, "images_per_model": n, "seed": seed, "sampler": sampler, "steps": steps,
            "models": models, "versions": devices.versions(), "python": platform.python_version(),
            "device": str(devices.pick_device()), "reference": "seeded halves of the shipped test images"
            if datasets.get(dataset).gallery else f"ladder.real_sets('{dataset}') halves, in turns by label"}


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
TWO_N = 100


def model_dataset(model_id):
    """The data set a model's card names."""
    return registry.default().card(model_id).dataset


def knob(family):
    """The setting the two-settings panel varies for a family (protocol.Knob), or None."""
    gen = generator(family)
    return gen.knob if gen else None


def two_settings(model_id, a, b, n=TWO_N, seed=0):
    """The same seed at two settings of the family's knob (its GENERATOR's Knob): (rows for a, b and
    b - a, grid a, grid b). The rows are scored as in run(), against the same real images."""
    *_, (rows, shown, _) = two_settings_steps(model_id, a, b, n, seed)
    return rows, shown[0], shown[1]


def two_settings_steps(model_id, a, b, n=TWO_N, seed=0):
    """two_settings() step by step: yields the knob's name once the inputs are checked, then (rows, grids,
    seconds so far) after the first setting and after the second (with the difference row)."""
    ids = [i for dataset in DATASETS.values() for i in candidates(dataset)]
    card = registry.default().card(validate.choice(model_id, sorted(ids), name="Model"))
    k = knob(card.family)
    a, b = (validate.number(v, name=k.name, minimum=k.minimum, maximum=k.maximum, step=k.step, integer=k.integer)
            for v in (a, b))
    n = validate.number(n, name="Images per setting", minimum=MIN_N, maximum=datasets.get(card.dataset).compare_max,
                        step=N_STEP, integer=True)
    seed = validate.seed(seed)
    yield k.name.lower()
    begin = time.perf_counter()
    reference, _, seen = real_images(card.dataset)
    # the generators learn every ORL face (generator_split "all"): no held-out set exists, and the reference half is
    # sorted by person, so its first n held 20 of the 40 people, whose k-NN balls no generated face fell into (every
    # score 0). All the faces, as the GAN tab's precision and recall use them, score what the model draws.
    reference = seen if datasets.get(card.dataset).generator_split == "all" else reference[:n]
    rows, shown = [], []
    with scoring.Judges(card.dataset) as judges, registry.using(card.id) as model:
        ref_feats = judges.features(reference)
        for value in (a, b):
            start = time.perf_counter()
            images = draw(model, card.family, n, seed, knob=value)
            seconds = (time.perf_counter() - start) / n
            rows.append({"setting": f"{k.name.lower()} {value:g}", **judges.scores(judges.features(images), ref_feats),
                         "memorisation rate": _memorisation(images, seen), "seconds per image": round(seconds, 4)})
            shown.append(_grid(images))
            if len(rows) == 1:
                yield list(rows), list(shown), time.perf_counter() - begin
    errors = {k for k in rows[0] if k.startswith("KD s.e.")}
    diff = {k: round(rows[1][k] - rows[0][k], 5 if k.startswith("KD") else 4) for k in rows[0] if k not in errors
            and isinstance(rows[0][k], (int, float)) and isinstance(rows[1][k], (int, float))}
    for k in errors:  # the difference of two independent estimates: their errors add in quadrature
        diff[k] = round(float(np.hypot(rows[0][k], rows[1][k])), 5)
    rows.append({"setting": "difference (second - first)", **diff})
    yield rows, shown, time.perf_counter() - begin
