"""Generated images as training data: the Classification Accuracy Score and data-augmentation curves.

Classification Accuracy Score (CAS; Ravuri and Vinyals 2019, "Classification Accuracy Score for Conditional
Generative Models"): train a classifier only on images a conditional generator drew for each class, and test it on
real test images. A generator whose images carry what makes each class that class, in the variety real images
have, scores close to the same classifier trained on as many real images; wrong classes, or too little variety,
cost accuracy, whatever its FD says. The augmentation curves ask the practical question: with n real images per
class, do k generated ones per class (k = 0, n, 5n) help, and more than classical augmentation does?

The classifier and its recipe are fixed, so that only the training images differ between rows:

    conv 3x3, 16 - ReLU - max-pool 2 - conv 3x3, 32 - ReLU - max-pool 2 - linear 64 - ReLU - dropout 0.3 - linear 10
    (about 106,000 weights); inputs x / 127.5 - 1; cross-entropy; Adam, learning rate 1e-3, betas (0.9, 0.999),
    no weight decay; STEPS = 500 steps of BATCH = 64 images drawn at random (with replacement) from the training
    images, however many there are: a fixed budget, so more images are seen fewer times each.

Classical augmentation, the baseline to beat: each image of a batch is flipped left-right with probability 1/2 and
shifted by up to SHIFT pixels in each direction (uniform, zero padding). A seed fixes the real training images
(n per class, drawn without replacement from the training split), the initial weights, the batches, dropout and the
augmentation, all drawn from one torch.Generator (playground.devices.generator), never the global one. Generated
images are the first k of each class of the generator's pool (playground.cas_pool), the same for every seed.

Real images: Fashion-MNIST's 60,000 training and 10,000 test images when Debian's dataset-fashion-mnist is
installed; otherwise the 2,000 shipped gallery images (test images), split per class into 100 to train on and 100
to test on, which the results then say.
"""
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import datasets, devices
from .errors import DataMissing, InputError

CLASSES = len(datasets.FASHION.classes)
STEPS, BATCH, LR, DROPOUT, SHIFT = 500, 64, 1e-3, 0.3, 2
EVAL_BATCH = 1000
RECIPE = (f"a small CNN (conv 16, conv 32, linear 64, about 106k weights), Adam lr {LR:g}, {STEPS} steps of "
          f"{BATCH} images whatever the training set's size")
AUGMENTATION = f"random left-right flips and shifts of up to {SHIFT} pixels"
ASSET = Path(__file__).resolve().parent / "assets" / "cas.json"  # what `python -m playground.bench --cas` measured
REAL, CLASSICAL = "real only", "real + classical augmentation"  # the curves' methods without generated images


class Classifier(nn.Module):
    """The fixed CNN. forward(x, gen): dropout draws its masks from `gen` while training."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(32 * 7 * 7, 64), nn.Linear(64, CLASSES)

    def forward(self, x, gen=None):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        h = F.relu(self.fc1(x.flatten(1)))
        if self.training and gen is not None:
            h = h * (torch.rand(h.shape, generator=gen) >= DROPOUT) / (1 - DROPOUT)
        return self.fc2(h)


def classifier(gen):
    """A fresh Classifier, its weights drawn from gen as torch's default initialisation draws them
    (uniform in +-1/sqrt(fan-in))."""
    net = Classifier()
    with torch.no_grad():
        for layer in (net.conv1, net.conv2, net.fc1, net.fc2):
            bound = layer.weight[0].numel() ** -0.5
            layer.weight.uniform_(-bound, bound, generator=gen)
            layer.bias.uniform_(-bound, bound, generator=gen)
    return net


def _check(images, labels):
    images, labels = np.asarray(images), np.asarray(labels)
    side = datasets.FASHION.resolution
    if images.ndim != 3 or images.shape[1:] != (side, side) or images.dtype != np.uint8 or not len(images):
        raise InputError(f"The classifier trains on uint8 {side}x{side} grey images, not {images.dtype} of shape "
                         f"{images.shape}.")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer) or \
            labels.min() < 0 or labels.max() >= CLASSES:
        raise InputError(f"Each image needs a class label from 0 to {CLASSES - 1}.")
    return images, labels.astype(np.int64)


def _tensor(images):
    return torch.from_numpy(np.array(images, np.float32))[:, None] / 127.5 - 1


def augment(x, gen):
    """Classical augmentation of a batch (N,1,S,S) in [-1, 1]: flips and shifts drawn from gen."""
    n, _, s, _ = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    padded = F.pad(x, (SHIFT,) * 4, value=-1.0)  # -1: the black background
    dy, dx = (torch.randint(0, 2 * SHIFT + 1, (n,), generator=gen) for _ in range(2))
    rows = (dy[:, None] + torch.arange(s))[:, :, None]
    cols = (dx[:, None] + torch.arange(s))[:, None, :]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


def train(images, labels, seed, augmented=False, steps=STEPS, should_stop=None):
    """The fixed classifier trained on these images (uint8 (N,S,S), labels 0..9) with this seed; None when
    should_stop() turned true (asked every 50 steps)."""
    images, labels = _check(images, labels)
    gen = devices.generator(int(seed))
    net = classifier(gen)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    x, y = _tensor(images), torch.from_numpy(labels)
    net.train()
    for step in range(int(steps)):
        if should_stop is not None and step % 50 == 0 and should_stop():
            return None
        pick = torch.randint(0, len(x), (BATCH,), generator=gen)
        batch = augment(x[pick], gen) if augmented else x[pick]
        loss = F.cross_entropy(net(batch, gen), y[pick])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def accuracy(net, images, labels):
    """Share of the images the classifier puts in their class."""
    images, labels = _check(images, labels)
    with torch.no_grad():
        hits = sum(int((net(_tensor(images[i:i + EVAL_BATCH])).argmax(1).numpy() == labels[i:i + EVAL_BATCH]).sum())
                   for i in range(0, len(images), EVAL_BATCH))
    return hits / len(images)


# the real images ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Real:
    train: tuple        # (images, labels) the real training images are picked from
    test: tuple         # (images, labels) every classifier is tested on
    train_name: str
    test_name: str
    full: bool          # Fashion-MNIST's own splits (else the gallery's halves)


GALLERY_TRAIN = 100  # per class, when only the shipped gallery is here


@functools.lru_cache(maxsize=2)
def _real(installed):
    record = datasets.FASHION
    if installed:
        train, test = record.load("train"), record.load("test")
        return Real(train, test, f"Fashion-MNIST's {len(train[0]):,} training images",
                    f"Fashion-MNIST's {len(test[0]):,} test images", True)
    images, labels = record.gallery()
    rng = np.random.default_rng(0)
    order = [rng.permutation(np.flatnonzero(labels == c)) for c in range(CLASSES)]
    train = np.sort(np.concatenate([o[:GALLERY_TRAIN] for o in order]))
    test = np.sort(np.concatenate([o[GALLERY_TRAIN:] for o in order]))
    return Real((images[train], labels[train]), (images[test], labels[test]),
                f"{len(train):,} of the {len(images):,} shipped gallery images ({record.training_missing})",
                f"the other {len(test):,} shipped gallery images", False)


def real():
    """The real images: Fashion-MNIST's splits when installed, else the gallery split per class in halves."""
    try:
        return _real(bool(datasets.FASHION.training_installed()))
    except DataMissing:
        return _real(False)


def pick_real(labels, per_class, seed):
    """Indices of `per_class` images of each class, drawn without replacement with the seed."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(int(seed))
    out = []
    for c in range(CLASSES):
        where = np.flatnonzero(labels == c)
        if len(where) < per_class:
            raise InputError(f"Only {len(where)} real images of class {c} are here, not {per_class}.")
        out.append(np.sort(rng.choice(where, per_class, replace=False)))
    return np.concatenate(out)


def case(data, per_class, seed, extra=None, augmented=False, steps=STEPS, should_stop=None):
    """Test accuracy of the classifier trained on per_class real images of each class (none when per_class is
    0) plus `extra` = (images, labels) generated ones; None when stopped."""
    parts = [] if not per_class else [tuple(a[pick_real(data.train[1], per_class, seed)] for a in data.train)]
    parts += [extra] if extra is not None else []
    if not parts:
        raise InputError("A classifier needs some training images: real ones, generated ones or both.")
    images, labels = (np.concatenate([p[i] for p in parts]) for i in (0, 1))
    net = train(images, labels, seed, augmented, steps, should_stop)
    return None if net is None else accuracy(net, *data.test)


def summary(accuracies):
    """{"accuracies", "mean", "std"}: the standard deviation over seeds is the sample one (n - 1)."""
    a = np.asarray(accuracies, float)
    return {"accuracies": [round(float(v), 4) for v in a], "mean": round(float(a.mean()), 4),
            "std": round(float(a.std(ddof=1)) if len(a) > 1 else 0.0, 4)}


def with_generated(name, multiple):
    return f"real + {multiple}x {name}"


def _difference(a, b):
    """(a - b in points, two standard errors of that difference) of two rows' means over their seeds."""
    se = np.hypot(a["std"] / np.sqrt(len(a["accuracies"])), b["std"] / np.sqrt(len(b["accuracies"])))
    return 100 * (a["mean"] - b["mean"]), 200 * se


def _effects(rows, against):
    """{"helps": [...], "hurts": [...], "no clear change": [...]} of "n = 10 (+8.1)" texts: each n's best row
    against that n's row of `against`, a change counting when it passes two standard errors."""
    out = {"helps": [], "hurts": [], "no clear change": []}
    for n, row in rows.items():
        gain, noise = _difference(row, against[n])
        kind = "helps" if gain > noise else "hurts" if gain < -noise else "no clear change"
        how = f", {row['method'].split(' ')[2]}" if row["method"].startswith("real + ") and "x " in row["method"] else ""
        out[kind].append(f"{n} ({gain:+.1f}{how})")
    return out


def verdict(result):
    """Plain sentences, one per method (a list): where classical augmentation and each generator's images help, hurt or change nothing (a
    change counts when it passes two standard errors over the seeds), and where a generator beats classical
    augmentation."""
    measured = [r for r in result["curves"] if "skipped" not in r]
    by = {}
    for r in measured:
        by.setdefault(r["method"], {})[r["n"]] = r
    real, classical = by.get(REAL, {}), by.get(CLASSICAL, {})
    out = []
    for name in [CLASSICAL] + list(result["generators"]):
        rows = classical if name == CLASSICAL else {}
        for method, at in by.items():
            if name != CLASSICAL and method.endswith(f"x {name}"):
                for n, r in at.items():
                    rows[n] = max(rows.get(n, r), r, key=lambda x: x["mean"])
        rows = {n: rows[n] for n in sorted(rows) if n in real}
        if not rows:
            continue
        effects = _effects(rows, real)
        said = "; ".join(f"{kind} at n = {', '.join(at)}" for kind, at in effects.items() if at)
        label = "Classical augmentation" if name == CLASSICAL else f"Adding {name}'s images (best of 1x and 5x)"
        text = f"{label} against real images alone, in points: {said}."
        if name != CLASSICAL:
            beats = [str(n) for n, r in rows.items() if n in classical and
                     _difference(r, classical[n])[0] > _difference(r, classical[n])[1]]
            text += (f" It beats classical augmentation at n = {', '.join(beats)}." if beats else
                     " It never clearly beats classical augmentation.")
            if not effects["helps"]:
                text += f" {name} does not help this classifier at any n measured here."
        out.append(text)
    return out
