"""Is a generated image new? Nearest training images in pixel and feature space, judged against
how close training images are to each other.

A generated image whose nearest training image is closer than almost any two training images
are to each other is probably a copy (Webster et al. 2019, "Detecting overfitting of deep
generative networks via latent recovery"; Carlini et al. 2023, "Extracting training data from
diffusion models"). Distances alone cannot prove novelty; they can flag copies.
"""
from dataclasses import dataclass

import numpy as np

from .metrics import pairwise_distances

COPY_QUANTILE = 0.01  # closer than the closest 1% of train-to-train neighbours: a likely copy
BLOCK = 1024  # rows per block, so 10,000 x 10,000 distances never sit in memory at once


@dataclass(frozen=True)
class Neighbours:
    index: np.ndarray      # [n, k] indices into the training set
    distance: np.ndarray   # [n, k]
    ratio: np.ndarray      # [n] nearest distance / median train-to-train nearest distance
    copy: np.ndarray       # [n] bool: nearer than COPY_QUANTILE of train-to-train nearest distances


def reference(train):
    """Train-to-train nearest-neighbour distances [N] (each training item to its nearest other)."""
    out = np.empty(len(train))
    for start in range(0, len(train), BLOCK):
        d = pairwise_distances(train[start:start + BLOCK], train)
        rows = np.arange(len(d))
        d[rows, start + rows] = np.inf
        out[start:start + len(d)] = d.min(1)
    return out


def nearest(queries, train, train_nn, k=3):
    """The k nearest training items of each query, with a verdict against `train_nn` = reference(train)."""
    d = pairwise_distances(queries, train)
    order = np.argsort(d, axis=1)[:, :k]
    dist = np.take_along_axis(d, order, 1)
    return Neighbours(order, dist, dist[:, 0] / np.median(train_nn),
                      dist[:, 0] < np.quantile(train_nn, COPY_QUANTILE))


def pixels(images_uint8):
    """Images as flat vectors scaled to 0..1, for pixel-space distances."""
    x = np.asarray(images_uint8, np.float32)
    return x.reshape(len(x), -1) / 255
