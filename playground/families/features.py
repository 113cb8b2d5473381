"""The playground's own feature networks: small CNN classifiers standing in for Inception.

Inception-v3 weights cannot be fetched offline, so Frechet distances here are computed on the
128-d penultimate features of a classifier trained on the same data as the generators
(features-fashion on Fashion-MNIST, features-orl on ORL faces at 64x64). Such numbers are called
FD-Fashion and FD-ORL: they rank models within this playground and are NOT comparable with
published FID values.

Inputs are uint8 grey images (N,H,W), (N,1,H,W) or (N,H,W,1) with values 0..255; the model
normalises them itself (x / 127.5 - 1), so callers never guess the preprocessing.
"""
import functools

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn

from .. import datasets, devices
from ..errors import InputError
from . import features_ssl

EVAL_BATCH = 500
QUICK_EVAL = 1000  # Fashion-MNIST test images used by evaluate(quick=True)


def _block(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))



class FeatureNet(nn.Module):
    """conv-BN-ReLU stages (max-pooled down to 8x8 or less), global average pooling,
    a `feature_dim` feature layer (Linear-BN-ReLU: what features() returns) and a linear head.
    Images of 48 pixels or more start with a stride-2 convolution to keep the cost down."""

    def __init__(self, in_channels=1, num_classes=10, width=32, feature_dim=128, image_size=28,
                 dataset=datasets.FASHION.key):
        super().__init__()
        self.in_channels, self.num_classes, self.feature_dim = in_channels, num_classes, feature_dim
        self.image_size, self.dataset = image_size, dataset
        size, stride = image_size, 1
        if size >= 48:
            size, stride = (size + 1) // 2, 2
        layers, c = [_block(in_channels, width, stride)], width
        stage = 0
        while True:
            c_out = width * 2 ** min(stage, 2)
            layers += [_block(c, c_out), _block(c_out, c_out)]
            c = c_out
            if size <= 8:
                break
            layers.append(nn.MaxPool2d(2))
            size, stage = size // 2, stage + 1
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.feature = nn.Sequential(nn.Linear(c, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(feature_dim, num_classes))

    def prepare(self, images):
        return features_ssl.as_batch(images, self.in_channels, self.image_size, self.head[1].weight.device)

    def features(self, images):
        return self.feature(self.body(self.prepare(images)))

    def forward(self, images):
        """Class logits for uint8-valued images."""
        return self.head(self.features(images))


DESIGNS = ("classifier", features_ssl.DESIGN)  # config["design"]; a config without one is a classifier


def build(config):
    """FeatureNet (the classifier) from its config.json, or the design its "design" key names."""
    config = dict(config)
    design = config.get("design", "classifier")
    if design == features_ssl.DESIGN:
        return features_ssl.ContrastiveNet(**config)
    if design != "classifier":
        raise InputError(f"A feature network's design is one of {', '.join(DESIGNS)}, not {design!r}.")
    config.pop("design", None)
    return FeatureNet(**config)


def has_head(model):
    """Whether the network classifies (FeatureNet) or only gives features (features_ssl.ContrastiveNet)."""
    return getattr(model, "has_head", True)


def fit(images, size):
    """uint8 images [N,H,W] (or [N,H,W,1]) -> [N,size,size], resized exactly as data.load(size=...)
    does it: scaled to cover the square (Lanczos), then centre-cropped."""
    images = np.asarray(images)
    images = images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images
    if images.ndim != 3:
        raise InputError(f"Expected a batch of grey images (N,H,W), not shape {images.shape}.")
    if images.shape[1:] == (size, size):
        return images
    images = images.astype(np.uint8) if images.dtype != np.uint8 else images
    fitted = [ImageOps.fit(Image.fromarray(im), (size, size), method=Image.Resampling.LANCZOS) for im in images]
    return np.stack([np.asarray(im) for im in fitted]) if fitted else np.zeros((0, size, size), np.uint8)


def _batched(model, images, fn, width, batch=EVAL_BATCH):
    images = fit(images, model.image_size)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = [fn(images[i:i + batch]).float().cpu() for i in range(0, len(images), batch)]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, width), np.float32)


def features(model, images_uint8, batch=EVAL_BATCH):
    """Penultimate features, np.float32 [N, feature_dim]; images of another size are fitted first."""
    return _batched(model, images_uint8, model.features, model.feature_dim, batch)


def classify(model, images, batch=EVAL_BATCH):
    """Class probabilities, np.float32 [N, num_classes] (a network without a class head refuses)."""
    if not has_head(model):
        raise InputError(f"This feature network ({getattr(model, 'dataset', '')}, design "
                         f"{features_ssl.DESIGN!r}) has no classes: it gives features only (features()).")
    return _batched(model, images, lambda x: model(x).softmax(-1), model.num_classes, batch)


def class_names(model):
    """Its classes' names (the data set's, else "person 1", "person 2" ...: its record's class_word)."""
    return datasets.get(model.dataset).names(model.num_classes)


def test_set(dataset, size):
    """The held-out images and labels (the data set's test split at size x size): Fashion-MNIST's
    10,000 test images, ORL's 80 test faces."""
    return datasets.get(dataset).load("test", size=size)


@functools.lru_cache(maxsize=4)
def gallery(dataset, size):
    """The images default_action picks from: the data set's shipped gallery, else all of it at size."""
    record = datasets.get(dataset)
    return record.gallery() if record.gallery else record.load("all", size=size)


def default_action(model, seed):
    """Classify 8 gallery images chosen with `seed` -> {"images": uint8 [8,S,S], "labels",
    "predictions": int64 [8], "probabilities": float32 [8, classes]}; class_names(model) names them.
    A network without a class head shows instead each image's nearest other gallery image in its feature
    space: {"images", "labels", "neighbours": uint8 [8,S,S], "neighbour_labels", "distances": float32 [8]}."""
    images, labels = gallery(model.dataset, model.image_size)
    pick = np.sort(torch.randperm(len(images), generator=devices.generator(seed))[:8].numpy())
    if not has_head(model):
        return nearest_neighbours(model, images, labels, pick)
    probs = classify(model, images[pick])
    return {"images": np.array(images[pick], np.uint8), "labels": np.array(labels[pick], np.int64),
            "predictions": probs.argmax(1).astype(np.int64), "probabilities": probs}


def nearest_neighbours(model, images, labels, pick):
    """For the images at `pick`, the nearest other image of `images` in the model's feature space (Euclidean)."""
    feats = features(model, images).astype(np.float64)
    d = ((feats[pick, None] - feats[None]) ** 2).sum(-1)
    d[np.arange(len(pick)), pick] = np.inf
    nearest = d.argmin(1)
    return {"images": np.array(images[pick], np.uint8), "labels": np.array(labels[pick], np.int64),
            "neighbours": np.array(images[nearest], np.uint8), "neighbour_labels": np.array(labels[nearest], np.int64),
            "distances": np.sqrt(d[np.arange(len(pick)), nearest]).astype(np.float32)}


def evaluate(model, card=None, quick=False):
    """{"test_accuracy": ...} on the held-out split (quick: the first 1,000 Fashion-MNIST test images).
    A network without a class head is measured by the evaluate command on what it is for, the FD ladder on
    every metric (playground.feature_ladder.card_metrics, a layer above the families)."""
    dataset = getattr(card, "dataset", None) or model.dataset
    if not has_head(model):
        raise InputError("A feature network without a class head is measured by `python -m playground.evaluate "
                         "<id>` (its ladder, playground.feature_ladder), not by a test accuracy.")
    images, labels = test_set(dataset, model.image_size)
    if quick:
        images, labels = images[:QUICK_EVAL], labels[:QUICK_EVAL]
    pred = classify(model, images).argmax(1)
    return {"test_accuracy": float((pred == np.asarray(labels)).mean())}


def report(model, card, metrics, folder):
    """None: a classifier's card has no measured section; a network without a class head gets its section from
    the evaluate command (playground.feature_ladder.report)."""
    return None
