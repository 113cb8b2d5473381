"""Pools of generated training images: what a conditional generator draws for each class, kept on disk.

    images, labels = generated("gan-fashion", 50)      # the first 50 images of each class: (500, 28, 28), (500,)

A pool is drawn in chunks of CHUNK images (CHUNK / 10 of each class: the families' GENERATOR.draw cycles through
the classes, image i has class i % 10), chunk c from the seed POOL_SEED + c * SEED_STRIDE, with each family's
default settings (GENERATOR.draw with no knob and no sampler: a GAN at truncation 1, a diffusion model with its
default sampler and guidance, a PixelCNN at temperature 1). Chunks are stored as .npy files under
runs/cas/<model id>/<first 16 hex digits of its weights' SHA-256>/ ($PLAYGROUND_CAS_DIR overrides runs/cas), so a
rerun, or the Compare tab's live run, reads them instead of drawing them again, and new weights get a new pool.
The first k of each class are the same images however large the pool grows, whether read or drawn.
"""
import json
import os
import time
from pathlib import Path

import numpy as np

from . import datasets, registry
from .cards import REPO_ROOT
from .errors import InputError
from .families.protocol import generator

CAS_DIR_ENV = "PLAYGROUND_CAS_DIR"
CLASSES = len(datasets.FASHION.classes)
CHUNK = 100            # images per stored chunk: 10 of each class
POOL_SEED, SEED_STRIDE = 27_000, 1_000  # chunk c from seed 27,000 + 1,000 c (a draw uses seeds seed .. seed + CHUNK)


def root():
    return Path(os.environ.get(CAS_DIR_ENV) or REPO_ROOT / "runs" / "cas")


def declared_classes(model_id, reg=None):
    """The number of classes a model's config (config.json or playground.json beside its weights) declares, read
    without loading the weights: 0 for an unconditional model."""
    folder = (reg or registry.default()).folder(model_id)
    for name in ("config.json", "playground.json"):
        if (folder / name).is_file():
            return int(json.loads((folder / name).read_text()).get("num_classes", 0) or 0)
    return 0


def conditional_ids(reg=None):
    """Installed Fashion-MNIST generators (a family with a GENERATOR) conditional on its 10 classes, in the
    families' rank: what CAS can be measured on (sorted as Compare sorts them)."""
    reg = reg or registry.default()
    cards = [c for c in reg.cards().values() if c.dataset == datasets.FASHION.key and generator(c.family)
             and reg.availability(c.id) == "local" and declared_classes(c.id, reg) == CLASSES]
    return [c.id for c in sorted(cards, key=lambda c: (generator(c.family).rank, c.family, c.id))]


def folder(model_id, reg=None):
    reg = reg or registry.default()
    return root() / model_id / reg.weights_sha256(model_id)[:16]


def chunks_for(per_class):
    """How many chunks hold the first `per_class` images of every class."""
    return -(-int(per_class) * CLASSES // CHUNK)


def stored(model_id, reg=None):
    """How many images of each class the stored chunks hold (consecutive chunks from the first only)."""
    where, count = folder(model_id, reg), 0
    while (where / f"chunk-{count:05d}.npy").is_file():
        count += 1
    return count * CHUNK // CLASSES


def missing_images(model_id, per_class, reg=None):
    """How many images drawing the first `per_class` of each class would still draw (0: all stored)."""
    where = folder(model_id, reg)
    return sum(CHUNK for c in range(chunks_for(per_class)) if not (where / f"chunk-{c:05d}.npy").is_file())


def _draw_chunk(model, family, c):
    images = np.asarray(generator(family).draw(model, CHUNK, POOL_SEED + c * SEED_STRIDE))
    side = datasets.FASHION.resolution
    if images.shape != (CHUNK, side, side) or images.dtype != np.uint8:
        raise InputError(f"A generator drew images of shape {images.shape} ({images.dtype}); CAS needs {side}x{side} "
                         "uint8 Fashion-MNIST images.")
    return images


def _save(path, images):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, images)
    os.replace(tmp, path)  # atomic: two runs drawing the same chunk never leave half a file


def generated_steps(model_id, per_class, reg=None):
    """generated() step by step: yields (chunks done, chunks to draw, seconds so far) before the first chunk it
    draws and after every one; returns (images, labels). Stored chunks are read, not drawn."""
    reg = reg or registry.default()
    if model_id not in conditional_ids(reg):
        raise InputError(f"{model_id!r} is not an installed generator conditional on the {CLASSES} Fashion-MNIST "
                         f"classes; CAS needs one of: {', '.join(conditional_ids(reg)) or 'none installed'}.")
    where = folder(model_id, reg)
    paths = [where / f"chunk-{c:05d}.npy" for c in range(chunks_for(per_class))]
    todo = [c for c, p in enumerate(paths) if not p.is_file()]
    start, drawn = time.perf_counter(), 0
    if todo:
        yield 0, len(todo), 0.0
        family = reg.card(model_id).family
        try:
            with registry.using(model_id) as model:
                for done, c in enumerate(todo, 1):
                    _save(paths[c], _draw_chunk(model, family, c))
                    drawn = done
                    yield done, len(todo), time.perf_counter() - start
        finally:  # a run closed early (Stop, the bench's cap) still records what it drew
            if drawn:
                _note_speed(where, drawn * CHUNK, time.perf_counter() - start)
    images = np.concatenate([np.load(p) for p in paths])[:per_class * CLASSES]
    return images, np.arange(len(images), dtype=np.int64) % CLASSES


def generated(model_id, per_class, reg=None):
    """(uint8 (per_class * 10, 28, 28), int64 labels): the first `per_class` images of each class of the pool,
    drawing (and storing) the chunks not stored yet."""
    steps = generated_steps(model_id, per_class, reg)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def _note_speed(where, images, seconds):
    """Keep the last measured seconds per image beside the chunks (the bench reports how long pools took)."""
    path = where / "speed.json"
    try:
        old = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        old = {}
    total = {"images": old.get("images", 0) + images, "seconds": round(old.get("seconds", 0.0) + seconds, 3)}
    path.write_text(json.dumps(total))


def speed(model_id, reg=None):
    """{"images", "seconds"} drawn into this pool so far on this machine, or None."""
    path = folder(model_id, reg) / "speed.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
