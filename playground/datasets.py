"""The data sets the generators learn from, one record each: what shared code needs to know about them.

    from playground.datasets import DATASETS, get
    get("orl-faces").features_id      # the feature network its FD is measured on

A card's `dataset` names its record. Compare, evaluate and bench read FD names, feature networks and
sample sizes from here, so a new data set is one record (plus its loader in playground.data).
"""
from dataclasses import dataclass
from typing import Callable, Optional

from . import data, validate
from .errors import InputError


@dataclass(frozen=True)
class DataSet:
    key: str             # what cards and playground.data call it
    label: str           # what the UI shows
    resolution: int      # side of the images the project's models see
    channels: int
    features_id: str     # the feature network (model card id) its FD, precision and recall are measured on
    fd_metric: str       # the card metric of FD on those features
    fd_short: str        # its short name in sentences and card tables
    fd_label: str        # how tables name that FD: our features, never FID
    compare_max: int     # images per model at most in Compare (the held-out set's size)
    sampler_n: int       # images per sampler in a diffusion model's sampler table
    light_on_dark: bool  # uploads and drawings are inverted when they are dark on light
    credit: str
    classes: tuple = ()  # class names, where the data set has named classes
    # Compare's real images: the test images the app ships (split in halves; any machine), or None for the
    # ladder's halves (playground.ladder.real_sets). With a gallery, the training split may be missing.
    gallery: Optional[Callable] = None
    training: Optional[Callable] = None            # () -> (images, labels); DataMissing when not installed
    training_installed: Callable = lambda: True
    training_missing: str = ""                    # the sentence for a machine without it


DATASETS = {d.key: d for d in (
    DataSet("fashion-mnist", "Fashion-MNIST", 28, 1, "features-fashion", "fd_fashion",
            "FD-Fashion", "FD-Fashion (our features, not FID)", 1000, 100, True, "Zalando Research (MIT)",
            classes=data.FASHION_CLASSES, gallery=lambda: data.fashion_gallery(),
            training=lambda: data.fashion_mnist("train"),
            training_installed=lambda: data.fashion_mnist_installed(), training_missing=data.FASHION_TRAIN_MISSING),
    DataSet("orl-faces", "ORL faces", 64, 1, "features-orl", "fd_orl", "FD-ORL",
            "FD-ORL (our features, not FID)",
            200, 100, False, "AT&T Laboratories Cambridge (research use, with credit)"),
)}


def get(key):
    """The record of a data set by its key; a clear error for one the playground does not know."""
    if key not in DATASETS:
        raise InputError(f"The playground knows the data sets {', '.join(DATASETS)}, not {key!r}.")
    return DATASETS[key]


def by_label(label):
    """The record whose UI label this is (validated: a clear error for anything else)."""
    label = validate.choice(label, [d.label for d in DATASETS.values()], name="Data set")
    return next(d for d in DATASETS.values() if d.label == label)
