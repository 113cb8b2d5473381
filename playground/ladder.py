"""A ladder of Frechet distances from real images, so that a generator's FD means something.

A Frechet distance on the playground's own features (FD-ORL, FD-Fashion; never FID) is only a
number until it is set beside distances whose meaning is known. This module measures, in the same
run and on the same features, how far from the training images lie:

- "real held-out vs train" (the floor): real images the comparison set does not contain. A
  generator that draws from the data distribution itself scores about this;
- "blurred sigma=1", "blurred sigma=2": those held-out images under a Gaussian blur (sigma in
  pixels of the images as compared: 64x64 faces, 28x28 Fashion-MNIST);
- "noisy sigma=0.1", "noisy sigma=0.2": those held-out images plus Gaussian noise whose sigma is a
  fraction of the 0..255 range (0.1 = 25.5 grey levels, 0.2 = 51), clipped back to 0..255.

A model's FD then reads "between blurred sigma=1 (..) and blurred sigma=2 (..)" and targets are
stated against rungs ("FD-ORL below the blurred sigma=2 rung").

Protocol (what is compared with what)
-------------------------------------
Every FD, the model's and each rung's, is measured AGAINST THE TRAINING IMAGES' FEATURES, with
the same N on both sides and the SAME N training images for every row of one ladder:

    rung  = FD(features(transform(held-out[:N])), features(train[:N]))
    model = FD(features(generated[:N]),           features(train[:N]))

FD is biased by sample size (the covariance estimates of two finite samples differ even when the
distributions agree, so the floor shrinks as N grows): numbers measured with different N, or
against different training samples, must not be compared. `fd_ladder` and `model_fd` draw the N
training images with the same seeded permutation, so a ladder and a model's FD computed with the
same (train, n, seed) line up. The held-out (and generated) side takes its first N images after a
seeded permutation too.

- Fashion-MNIST (gan-fashion): train = the 60,000 training images, held-out = the 10,000 test
  images, N = 5,000 per side (FASHION_N): 5,000 generated (500 per class) vs 5,000 training images.
- ORL faces (gan-faces trains on all 400, so it has no held-out split): the 400 faces, prepared as
  the GAN sees them (64x64), are split per person into two halves of 5 faces each (split_halves,
  seeded): half A plays "train", half B "held-out", N = 200 per side (ORL_N). The model's FD is
  200 generated faces vs half A. data.orl_split (320 / 80) is not used: 80 faces per side is fewer
  than the 128 feature dimensions, so the covariances would be singular and the floor huge.
  real_sets(dataset) returns these two sets.

Memorisation (memorisation_rate): the share of generated images whose nearest training image (pixel
space, pixels scaled to 0..1) is closer than the median train-to-train nearest-neighbour distance,
and the median of that ratio. It is measured against the whole training set the model saw (all 400
ORL faces; for Fashion-MNIST a seeded 10,000-image subset of the training split, MEMO_REFERENCE).
Fresh real images are NOT at 0 on this scale: a held-out image's nearest training image is about
as close as a training image's nearest other one, so real data itself scores a rate near 0.5 and a
median ratio near 1 (measured: ORL half B vs half A 0.42-0.60 over five splits, median ratio
0.95-1.06; 2,000 Fashion-MNIST test images vs a 10,000-image training subset 0.48, 1.01). A model's
rate is read against that, not against 0: well above 0.5 (with a median ratio well below 1) means
samples sit closer to training images than new real images do.
"""
import math
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from . import datasets, memorisation
from .errors import InputError
from .metrics import frechet_distance

BLUR_SIGMAS = (1, 2)          # pixels
NOISE_SIGMAS = (0.1, 0.2)     # fraction of the 0..255 range
TRUNCATE = 4.0                # the blur kernel reaches out to 4 sigma (as scipy.ndimage does)
FLOOR = "real held-out vs train"
ORL_N, FASHION_N = 200, datasets.FASHION.ladder_n  # 200: the halves' size (400 faces)
MEMO_REFERENCE = 10_000       # training images memorisation_rate compares with, at most


def _images(images_uint8, name="images"):
    x = np.asarray(images_uint8)
    if x.ndim < 3:
        raise InputError(f"Expected a batch of images (N,H,W) or (N,H,W,C), not shape {x.shape}.")
    if x.dtype != np.uint8:
        raise InputError(f"The {name} must be uint8 (0..255), not {x.dtype}.")
    return x


def gaussian_kernel(sigma, truncate=TRUNCATE):
    """A normalised 1-d Gaussian kernel of radius ceil(truncate * sigma), float64."""
    radius = max(int(math.ceil(truncate * sigma)), 1)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _convolve_axis(x, kernel, axis):
    radius = len(kernel) // 2
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(x, pad, mode="reflect")  # d c b | a b c d | c b a (edge pixel not repeated)
    out = np.zeros_like(x)
    size = x.shape[axis]
    for i, w in enumerate(kernel):
        out += w * np.take(padded, np.arange(i, i + size), axis=axis)
    return out


def blur(images_uint8, sigma):
    """Separable Gaussian blur (sigma in pixels, reflect padding) of uint8 images (N,H,W) or
    (N,H,W,C) -> uint8 of the same shape, rounded to the nearest grey level. sigma=0: a copy."""
    x = _images(images_uint8)
    if not (isinstance(sigma, (int, float, np.integer, np.floating)) and math.isfinite(sigma) and sigma >= 0):
        raise InputError(f"The blur sigma must be a finite number of pixels >= 0, not {sigma!r}.")
    if sigma == 0:
        return x.copy()
    kernel = gaussian_kernel(float(sigma)).astype(np.float32)
    y = x.astype(np.float32)
    y = _convolve_axis(_convolve_axis(y, kernel, 1), kernel, 2)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def add_noise(images_uint8, sigma, seed):
    """uint8 images plus Gaussian noise of standard deviation sigma * 255 (sigma a fraction of the
    0..255 range, 0..1), from np.random.default_rng(seed); rounded and clipped to uint8."""
    x = _images(images_uint8)
    if not (isinstance(sigma, (int, float, np.integer, np.floating)) and 0 <= sigma <= 1):
        raise InputError(f"The noise sigma is a fraction of the 0..255 range (0..1), not {sigma!r}.")
    noise = np.random.default_rng(seed).normal(0.0, sigma * 255.0, size=x.shape).astype(np.float32)
    return np.clip(np.rint(x.astype(np.float32) + noise), 0, 255).astype(np.uint8)


# memorisation -----------------------------------------------------------------------------------
class Memorisation(NamedTuple):
    rate: float          # share of generated images with ratio < 1
    median_ratio: float  # median of (nearest training distance / median train-to-train NN distance)


def memorisation_rate(generated_uint8, train_uint8, max_train=MEMO_REFERENCE, seed=0):
    """The share of generated images closer (pixels scaled to 0..1) to some training image than the
    median train-to-train nearest-neighbour distance, and the median of that ratio.

    Training sets larger than max_train are cut to a seeded subset of max_train images; distances
    are computed in blocks of memorisation.BLOCK rows (never a full N x N matrix)."""
    generated, train = _images(generated_uint8, "generated images"), _images(train_uint8, "training images")
    if len(train) < 2 or len(generated) < 1:
        raise InputError("Memorisation needs at least 2 training images and 1 generated image.")
    if generated.shape[1:] != train.shape[1:]:
        raise InputError(f"Generated images {generated.shape[1:]} and training images {train.shape[1:]} "
                         "differ in shape.")
    if max_train and len(train) > max_train:
        train = train[np.sort(np.random.default_rng(seed).permutation(len(train))[:max_train])]
    train_px = memorisation.pixels(train)
    train_nn = memorisation.reference(train_px)
    queries = memorisation.pixels(generated)
    ratios = np.concatenate([memorisation.nearest(queries[i:i + memorisation.BLOCK], train_px, train_nn, k=1).ratio
                             for i in range(0, len(queries), memorisation.BLOCK)])
    return Memorisation(float((ratios < 1).mean()), float(np.median(ratios)))


# the ladder ---------------------------------------------------------------------------------------
def _pick(total, n, seed):
    """The first n indices of a seeded permutation of range(total), sorted."""
    if n > total:
        raise InputError(f"Asked for {n} images but only {total} are there.")
    return np.sort(np.random.default_rng(seed).permutation(total)[:n])


def _check_n(n, *sets):
    n = min(len(s) for s in sets) if n is None else n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"FD needs N >= 2 images per side, not {n!r}.")
    return int(n)


def reference_features(feature_fn, train_uint8, n=None, seed=0):
    """Features of the N training images every FD of a ladder is measured against."""
    train = _images(train_uint8, "training images")
    n = _check_n(n, train)
    return np.asarray(feature_fn(train[_pick(len(train), n, seed)]), np.float64)


def rungs(heldout_uint8, seed=0):
    """Rung name -> the transformed held-out images, in ladder order (the floor first)."""
    out = OrderedDict([(FLOOR, heldout_uint8)])
    for s in BLUR_SIGMAS:
        out[f"blurred sigma={s:g}"] = blur(heldout_uint8, s)
    for i, s in enumerate(NOISE_SIGMAS):
        out[f"noisy sigma={s:g}"] = add_noise(heldout_uint8, s, seed + 1 + i)
    return out


def _reference(feature_fn, train, n, seed, reference):
    """The N training images' features, computed unless given; checked to hold N rows."""
    ref = reference_features(feature_fn, train, n, seed) if reference is None else reference
    if len(ref) != n:
        raise InputError(f"The reference features hold {len(ref)} rows, not N = {n}.")
    return ref


def fd_ladder(feature_fn, train_uint8, heldout_uint8, n=None, seed=0, reference=None):
    """Rung name -> FD against the training images' features, in ladder order:

        "real held-out vs train" (the floor), "blurred sigma=1", "blurred sigma=2",
        "noisy sigma=0.1", "noisy sigma=0.2"

    Each rung compares the features of N held-out images (transformed) with those of N training
    images (the same N for every rung; n=None takes the smaller set's size). feature_fn maps uint8
    images to [N, D] features. reference: reference_features(feature_fn, train, n, seed) when
    already computed."""
    train, heldout = _images(train_uint8, "training images"), _images(heldout_uint8, "held-out images")
    n = _check_n(n, train, heldout)
    ref = _reference(feature_fn, train, n, seed, reference)
    held = heldout[_pick(len(heldout), n, seed + 1)]
    return OrderedDict((name, frechet_distance(np.asarray(feature_fn(images), np.float64), ref))
                       for name, images in rungs(held, seed).items())


def model_fd(feature_fn, generated_uint8, train_uint8, n=None, seed=0, reference=None):
    """A model's FD on the ladder's terms: N generated images vs the same N training images that
    fd_ladder(feature_fn, train, ..., n, seed) compares its rungs with."""
    generated, train = _images(generated_uint8, "generated images"), _images(train_uint8, "training images")
    n = _check_n(n, generated, train)
    ref = _reference(feature_fn, train, n, seed, reference)
    fake = generated[_pick(len(generated), n, seed + 2)]
    return frechet_distance(np.asarray(feature_fn(fake), np.float64), ref)


def _fmt(v):
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def place(fd, ladder):
    """Where an FD sits on a ladder, as a phrase: "between blurred sigma=1 (12.3) and blurred
    sigma=2 (25)", "below the floor (real held-out vs train, 3.1)", "above every rung (highest:
    noisy sigma=0.2, 80)" or "at blurred sigma=1 (12.3)". Rungs are ordered by value."""
    if not ladder:
        raise InputError("The ladder is empty.")
    ordered = sorted(ladder.items(), key=lambda kv: kv[1])
    for name, value in ordered:
        if math.isclose(fd, value, rel_tol=1e-9, abs_tol=1e-12):
            return f"at {name} ({_fmt(value)})"
    low_name, low = ordered[0]
    if fd < low:
        what = "the floor" if low_name == FLOOR else "the lowest rung"
        return f"below {what} ({low_name}, {_fmt(low)})"
    high_name, high = ordered[-1]
    if fd > high:
        return f"above every rung (highest: {high_name}, {_fmt(high)})"
    below = max(((n, v) for n, v in ordered if v < fd), key=lambda kv: kv[1])
    above = min(((n, v) for n, v in ordered if v > fd), key=lambda kv: kv[1])
    return f"between {below[0]} ({_fmt(below[1])}) and {above[0]} ({_fmt(above[1])})"


def ladder_markdown(model_fd, ladder, model="this model", metric="FD"):
    """A markdown table of the rungs and the model, sorted by FD (the model's row in bold), and
    a line placing the model."""
    rows = [(v, name, False) for name, v in ladder.items()] + [(model_fd, model, True)]
    lines = [f"| images compared with the training images | {metric} |", "|---|---|"]
    for v, name, is_model in sorted(rows, key=lambda r: (r[0], r[2])):
        lines.append(f"| **{name}** | **{_fmt(v)}** |" if is_model else f"| {name} | {_fmt(v)} |")
    return "\n".join(lines + ["", f"{model}: {metric} {_fmt(model_fd)}, {place(model_fd, ladder)}."])


# the protocol's real sets ---------------------------------------------------------------------------
def split_halves(labels, seed=0):
    """Indices of two halves stratified by label (each label's items shuffled with `seed` and
    split in two; an odd one goes to the first half): (a, b), each sorted."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    a, b = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        half = (len(idx) + 1) // 2
        a.append(idx[:half])
        b.append(idx[half:])
    return np.sort(np.concatenate(a)), np.sort(np.concatenate(b))


class RealSets(NamedTuple):
    train: np.ndarray     # what every FD is measured against
    heldout: np.ndarray   # the floor and the blurred / noisy rungs are made from these
    n: int                # images per side
    seen: np.ndarray      # every image the model trained on (memorisation compares with these)
    train_labels: np.ndarray = None    # the labels of train and heldout (classes, or people for the faces)
    heldout_labels: np.ndarray = None


def real_sets(dataset, seed=0, size=64):
    """The protocol's real images for a data set (see the module docstring): its train and test splits
    (ladder_n per side), or, where the generators train on all of it (its record's generator_split is
    "all": the ORL faces), seeded halves per label of those images as the generators see them."""
    record = datasets.get(dataset)
    if record.generator_split != "all":
        train, train_labels = record.load("train")
        test, test_labels = record.load("test")
        return RealSets(train, test, record.ladder_n, train, train_labels, test_labels)
    images, labels = record.real_images(size)  # exactly as the GAN trains on them (faces: prepare_faces)
    a, b = split_halves(labels, seed)
    return RealSets(images[a], images[b], min(len(a), len(b)), images, np.asarray(labels)[a], np.asarray(labels)[b])
