"""An invisible watermark: a zero-bit mark in the low frequencies of a picture's brightness.

`mark(image)` hides the project's mark in a picture; `detect(image)` says whether a picture carries it. The
mark lives in 458 DCT coefficients of the luminance seen at a canonical 128x128 size (2 to 12 cycles across
the picture: below what JPEG and halving the size remove, above the broad shading the eye follows). The key
gives each coefficient a lattice of its own, steps of STEP offset by a secret fraction, and marking moves
every coefficient onto its lattice (quantisation index modulation, Chen and Wornell 2001; the change is at
most half a step whatever the picture holds, so busy, high-contrast grids cost no more than photos). The
detector shrinks or enlarges a suspect to 128x128 and asks how close each coefficient sits to its lattice:
z = sum(cos(2 pi offset)) / sqrt(count / 2). On a picture nobody marked the offsets are spread evenly, so z is
close to a standard normal; on a marked one it is near sqrt(2 * 458) = 30, and JPEG, resizing and noise only
lower it so far. Cropping moves the whole picture under the canonical grid and erases it.

The key is a fixed number in this open-source file: anyone who reads it can find the mark, strip it, or stamp
it on any picture. A found mark says a copy of this code marked the picture; a missing one proves nothing.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.fft import dctn, idctn

from .errors import InputError

SIZE = 128  # the canonical side the mark is written and read at
BAND = (4, 24)  # DCT radii (in half-cycles across the picture) that carry the mark
KEY = int.from_bytes(hashlib.sha256(b"generative-playground watermark v1").digest()[:8], "big")  # public!
THRESHOLD = 6.0  # z above this: marked (a standard normal passes 6 once in a billion draws)
STEP = 30.0  # the lattice's step (canonical DCT units): the mark moves each coefficient at most half of it
LARGEST = 1000.0  # coefficients larger than this are left alone and not read: their share of any change is too big
ROUNDS = 3  # mark, round and clip to 8 bits, measure again: clipping at black and white undoes some of it
MIN_SIDE = 8
# the robustness table `python -m playground.bench --watermark` writes and the Data tab shows (in assets: it ships)
TABLE = Path(__file__).resolve().parent / "assets" / "watermark.json"
LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class Detection:
    found: bool
    score: float  # z: about N(0, 1) on unmarked pictures
    threshold: float = THRESHOLD


def _band():
    u, v = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    r = np.hypot(u, v)
    return (r >= BAND[0]) & (r <= BAND[1])


def _dither():
    """The key's offset of each coefficient's lattice, in steps: random, and in pairs half a step apart, so
    that a flat or faint picture (coefficients near zero) scores near zero instead of the key's own value."""
    rng = np.random.default_rng(KEY)
    count = int(_MASK.sum())
    order = rng.permutation(count)
    d = np.empty(count)
    d[order[0::2]] = rng.random(len(order[0::2]))
    d[order[1::2]] = (d[order[0::2]][: len(order[1::2])] + 0.5) % 1.0
    return d


_MASK = _band()
_DITHER = _dither()


def _pixels(image):
    a = np.asarray(image)
    if not isinstance(image, np.ndarray) or a.dtype != np.uint8:
        what = a.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"The watermark works on 8-bit pixels (a uint8 array), not {what}.")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise InputError(f"The watermark takes a grey (H, W) or RGB (H, W, 3) image, not shape {a.shape}.")
    if min(a.shape[:2]) < MIN_SIDE:
        raise InputError(f"This image is {a.shape[1]}x{a.shape[0]} pixels: the watermark needs at least "
                         f"{MIN_SIDE}x{MIN_SIDE}.")
    return a


def _luma(a):
    return a.astype(np.float64) if a.ndim == 2 else a.astype(np.float64) @ LUMA


def _resize(plane, width, height):
    return np.asarray(Image.fromarray(plane.astype(np.float32), "F").resize((width, height), Image.BICUBIC),
                      np.float64)


def _coefficients(a):
    """The band's DCT coefficients of the luminance at the canonical size, in the key's order."""
    return dctn(_resize(_luma(a), SIZE, SIZE), norm="ortho")[_MASK]


def _offsets(c):
    """Each coefficient's distance to its keyed lattice, as a fraction of a step in [-0.5, 0.5)."""
    return (c / STEP - _DITHER + 0.5) % 1.0 - 0.5


def _score(c):
    used = np.abs(c) < LARGEST
    n = int(used.sum())
    return float(np.sum(np.cos(2 * np.pi * _offsets(c)[used])) / np.sqrt(max(n, 1) / 2))


def detect(image):
    """Whether a uint8 grey (H, W) or RGB (H, W, 3) picture carries this project's mark (a Detection)."""
    z = _score(_coefficients(_pixels(image)))
    return Detection(found=z > THRESHOLD, score=z)


def mark(image):
    """The picture with this project's invisible mark: uint8, same shape; grey stays grey, colour changes
    the same in R, G and B (a change of brightness only). Raises InputError for anything but uint8 grey or
    RGB pixels at least 8x8."""
    a = _pixels(image)
    original = np.asarray(image)
    h, w = a.shape[:2]
    base = a.astype(np.float64)
    change = np.zeros((h, w))
    out = a
    for _ in range(ROUNDS):
        c = _coefficients(out)
        delta = np.zeros((SIZE, SIZE))
        delta[_MASK] = np.where(np.abs(c) < LARGEST, -_offsets(c) * STEP, 0.0)
        change += _resize(idctn(delta, norm="ortho"), w, h)
        out = np.clip(np.rint(base + (change if a.ndim == 2 else change[..., None])), 0, 255).astype(np.uint8)
    return out.reshape(original.shape)


def psnr(before, after):
    """Peak signal-to-noise ratio of two uint8 pictures in dB (inf when equal)."""
    mse = float(np.mean((np.asarray(before, np.float64) - np.asarray(after, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
