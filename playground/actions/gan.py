"""What the GAN tab does, as plain functions: validated inputs in, images and numbers out.

Each function takes a model id and the user's raw values, validates them, borrows the model
from the registry, and calls the family's functions in playground.families.gan.
"""
import functools
import json
import tempfile
from pathlib import Path

import numpy as np

from .. import memorisation, registry, validate
from ..errors import InputError, ModelUnavailable
from ..families import features, gan
from ..images import make_grid, normalize_image, save_gif
from ..metrics import precision_recall

MAX_SIDE = 8
PR_SAMPLES = 200
MAX_TRAIN = 10_000  # larger training sets are compared through a fixed, seeded subset
FEATURES = {"orl-faces": "features-orl", "fashion-mnist": "features-fashion"}


def gan_ids():
    return sorted(i for i, c in registry.default().cards().items() if c.family == "gan")


def _model_id(model_id):
    return validate.choice(model_id, gan_ids(), name="Model")


def _truncation(psi):
    return validate.number(psi, name="Truncation psi", minimum=0, maximum=1, step=0.05)


def zoom(images, factor=2):
    """Grey images [..., H, W] or [..., H, W, 1] -> [..., factor*H, factor*W], nearest neighbour,
    so 64-pixel faces are visible on a projector."""
    images = np.asarray(images)
    if images.shape[-1] == 1:
        images = images[..., 0]
    return images.repeat(factor, -2).repeat(factor, -1)


def _grid(faces, side):
    return make_grid(zoom(faces), nrow=side)


def generate(model_id, seed, side, psi):
    """An side x side grid of faces from `seed` at truncation `psi`, and the faces themselves."""
    model_id, seed = _model_id(model_id), validate.seed(seed)
    side = validate.number(side, name="Grid size", minimum=1, maximum=MAX_SIDE, step=1, integer=True)
    with registry.using(model_id) as model:
        faces = gan.generate(model, seed, side * side, _truncation(psi))
    return _grid(faces, side), faces


def grid_index(x, y, side, tile=128, pad=2):
    """Which face of a grid (made by _grid) a click at pixel (x, y) landed on, or None."""
    col, row = (x - pad) // (tile + pad), (y - pad) // (tile + pad)
    if 0 <= col < side and 0 <= row < side:
        return int(row * side + col)
    return None


@functools.lru_cache(maxsize=4)
def _training_set(model_id):
    """The training images as the GAN saw them, their features and train-to-train NN distances."""
    card = registry.default().card(model_id)
    with registry.using(model_id) as model:
        real = gan.real_faces(card.dataset, model.image_size)
    if len(real) > MAX_TRAIN:
        real = real[np.sort(np.random.default_rng(0).choice(len(real), MAX_TRAIN, replace=False))]
    out = {"images": real, "pixels": memorisation.pixels(real)}
    out["pixel_nn"] = memorisation.reference(out["pixels"])
    feats_id = FEATURES.get(card.dataset)
    try:
        with registry.using(feats_id) as net:
            out["features"] = features.features(net, real)
        out["feature_nn"] = memorisation.reference(out["features"])
        out["feature_id"] = feats_id
    except ModelUnavailable:
        out["features"] = None
    return out


def fidelity_diversity(model_id, seed, psi):
    """Precision (fidelity) and recall (diversity) of PR_SAMPLES faces at truncation psi, on the
    project's feature network (not comparable with Inception-based numbers)."""
    model_id, seed, psi = _model_id(model_id), validate.seed(seed), _truncation(psi)
    train = _training_set(model_id)
    if train["features"] is None:
        raise ModelUnavailable("Precision and recall need the feature network, which is not available here.")
    with registry.using(model_id) as model:
        fake = gan.generate(model, seed, PR_SAMPLES, psi)[..., 0]
    with registry.using(train["feature_id"]) as net:
        fake_feats = features.features(net, fake)
    return precision_recall(train["features"], fake_feats)


def walk(model_id, seed_a, seed_b, steps):
    """A latent walk (slerp) between two seeds: a strip image and the path of an animated GIF."""
    model_id = _model_id(model_id)
    seed_a, seed_b = validate.seed(seed_a, "First seed"), validate.seed(seed_b, "Second seed")
    steps = validate.number(steps, name="Steps", minimum=2, maximum=32, step=1, integer=True)
    with registry.using(model_id) as model:
        frames = gan.interpolate(model, seed_a, seed_b, steps)
    big = zoom(frames, 3)
    path = Path(tempfile.mkdtemp(prefix="walk-")) / f"walk-{seed_a}-{seed_b}.gif"
    save_gif(list(big) + list(big[-2:0:-1]), path, duration_ms=120)  # there and back, no repeats
    return make_grid(zoom(frames), nrow=steps), str(path)


def judge(model_id, faces, real):
    """The discriminator's scores for generated faces and for one real image (any size, grey)."""
    model_id = _model_id(model_id)
    real = real if isinstance(real, np.ndarray) and real.ndim == 2 else normalize_image(real, mode="L")[..., 0]
    with registry.using(model_id) as model:
        fake_scores = gan.discriminate(model, np.asarray(faces)) if faces is not None and len(faces) else []
        real_score = float(gan.discriminate(model, real[None])[0])
    return np.asarray(fake_scores, np.float32), real_score


def real_example(model_id, index):
    """One training image by index (for the discriminator view)."""
    train = _training_set(_model_id(model_id))
    index = validate.number(index, name="Training image", minimum=0, maximum=len(train["images"]) - 1,
                            step=1, integer=True)
    return np.asarray(train["images"][index])


def is_new(model_id, face, k=3):
    """The k nearest training images of one face in pixel and feature space, with distances and
    a verdict against the distances between training images themselves."""
    model_id = _model_id(model_id)
    face = np.asarray(face)
    if face.ndim == 3:
        face = face[..., 0]
    train = _training_set(model_id)
    if face.shape != train["images"].shape[1:]:
        raise InputError("Pick a face from the generated grid first.")
    result = {}
    by_pixels = memorisation.nearest(memorisation.pixels(face[None]), train["pixels"], train["pixel_nn"], k)
    result["pixels"] = by_pixels
    if train["features"] is not None:
        with registry.using(train["feature_id"]) as net:
            feats = features.features(net, face[None])
        result["features"] = memorisation.nearest(feats, train["features"], train["feature_nn"], k)
    strip = {space: make_grid(zoom(train["images"][n.index[0]]), nrow=k) for space, n in result.items()}
    return result, strip


def novelty_summary(model_id, faces):
    """For every face of a grid: its nearest-training-image ratio in pixel (and feature) space."""
    train = _training_set(_model_id(model_id))
    flat = np.asarray(faces)[..., 0] if np.asarray(faces).ndim == 4 else np.asarray(faces)
    out = {"pixels": memorisation.nearest(memorisation.pixels(flat), train["pixels"], train["pixel_nn"], 1)}
    if train["features"] is not None:
        with registry.using(train["feature_id"]) as net:
            feats = features.features(net, flat)
        out["features"] = memorisation.nearest(feats, train["features"], train["feature_nn"], 1)
    return out


def timeline(model_id):
    """Sample grids of fixed latents along training, and the loss log, shipped with the weights."""
    folder = registry.default().folder(_model_id(model_id)) / "timeline"
    if not folder.is_dir():
        return [], []
    grids = [(int(p.stem.split("_")[-1]), p) for p in sorted(folder.glob("step_*.png"))]
    losses_path = folder / "losses.json"
    losses = json.loads(losses_path.read_text()) if losses_path.is_file() else []
    return grids, losses
