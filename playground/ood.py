"""Anomaly scores from likelihoods, and why a likelihood alone is not an anomaly detector.

Likelihood models trained on Fashion-MNIST give MNIST digits a higher likelihood than their own
test images (Nalisnick et al. 2019): a digit is a few strokes on a black background, so it is
simply easier to code, whatever it depicts. Serra et al. 2020 correct for this with the image's
complexity L(x), its length in bits under a general-purpose lossless compressor (here PNG at
zlib level 9): the score

    S(x) = -log2 p(x) - L(x)

is a likelihood ratio against a "universal" model of images, so the simplicity that both models
see cancels and what is left is how much better (or worse) the model codes x than a generic
compressor does. Higher scores are more anomalous. Used by the VAE and PixelCNN tabs.
"""
import io

import numpy as np
from PIL import Image

from .errors import InputError

CODECS = ("png",)


def _uint8(images):
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3 or images.dtype != np.uint8:
        raise InputError(f"Expected uint8 grey images (N,H,W), not {images.dtype} {images.shape}.")
    return images


def compressed_bits(images, codec="png"):
    """Lossless compressed length of each image in bits, float64 (N,): PNG, zlib level 9, headers
    included (a constant that does not change any ranking)."""
    if codec not in CODECS:
        raise InputError(f"Unknown codec {codec!r}; one of {', '.join(CODECS)}.")
    out = []
    for im in _uint8(images):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="PNG", optimize=True, compress_level=9)
        out.append(8.0 * buf.tell())
    return np.array(out, np.float64)


def corrected_scores(nll_bits_per_dim, images, codec="png"):
    """S(x) = -log2 p(x) - L(x) in bits per dimension: the model's code length minus the compressor's."""
    images = _uint8(images)
    nll = np.asarray(nll_bits_per_dim, np.float64)
    if nll.shape != (len(images),):
        raise InputError("One likelihood per image is needed.")
    dims = images.shape[1] * images.shape[2]
    return nll - compressed_bits(images, codec) / dims


def auroc(normal_scores, anomal_scores):
    """Area under the ROC curve with anomalies as positives and higher scores more anomalous:
    the chance that a random anomaly scores above a random normal image (ties count half)."""
    a, b = np.asarray(normal_scores, np.float64), np.asarray(anomal_scores, np.float64)
    if len(a) == 0 or len(b) == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("AUROC needs finite scores for both normal and anomalous images.")
    both = np.concatenate([a, b])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    sorted_ = both[order]
    # average ranks over ties
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_)) + 1]
    ends = np.r_[starts[1:], len(both)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2
    u = ranks[len(a):].sum() - len(b) * (len(b) + 1) / 2
    return float(u / (len(a) * len(b)))


def roc_curve(normal_scores, anomal_scores, points=101):
    """(false positive rate, true positive rate) at `points` thresholds spanning the scores."""
    a, b = np.asarray(normal_scores, np.float64), np.asarray(anomal_scores, np.float64)
    thresholds = np.quantile(np.concatenate([a, b]), np.linspace(1, 0, points))
    fpr = np.array([(a >= t).mean() for t in thresholds])
    tpr = np.array([(b >= t).mean() for t in thresholds])
    return np.r_[0.0, fpr, 1.0], np.r_[0.0, tpr, 1.0]


def confusion(normal_scores, anomal_scores, threshold):
    """Counts at a threshold (score >= threshold flags an anomaly)."""
    a, b = np.asarray(normal_scores), np.asarray(anomal_scores)
    return {"true_positives": int((b >= threshold).sum()), "false_negatives": int((b < threshold).sum()),
            "false_positives": int((a >= threshold).sum()), "true_negatives": int((a < threshold).sum())}


def histogram(normal_scores, anomal_scores, bins=40):
    """Shared bin edges and the two histograms as fractions of each set: (edges, normal, anomal)."""
    a, b = np.asarray(normal_scores, np.float64), np.asarray(anomal_scores, np.float64)
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
    return edges, np.histogram(a, edges)[0] / len(a), np.histogram(b, edges)[0] / len(b)


def ood_summary(nll_in, images_in, nll_out, images_out, codec="png"):
    """Raw and complexity-corrected AUROCs (out-of-distribution images as positives) and the scores."""
    raw_in, raw_out = np.asarray(nll_in, np.float64), np.asarray(nll_out, np.float64)
    cor_in, cor_out = corrected_scores(raw_in, images_in, codec), corrected_scores(raw_out, images_out, codec)
    return {"auroc_raw": auroc(raw_in, raw_out), "auroc_corrected": auroc(cor_in, cor_out),
            "raw": (raw_in, raw_out), "corrected": (cor_in, cor_out)}


WHY = ("The raw likelihood calls the digits more likely because a digit is a few strokes on black, "
       "which any model codes in few bits; subtracting what a PNG compressor needs for the same image "
       "cancels that simplicity and leaves how much better the model codes the image than a generic "
       "compressor, which is high only for the kind of image it was trained on.")


def histogram_bits(train, test, alpha=1.0):
    """Per-image code length in bits/dim of `test` under a per-position pixel histogram fitted to
    `train` (each position's 256-bin histogram with `alpha` added to every bin): the simplest
    likelihood model, a floor every generative model should beat."""
    train, test = _uint8(train), _uint8(test)
    if train.shape[1:] != test.shape[1:]:
        raise InputError("Train and test images must have the same size.")
    h, w = train.shape[1:]
    counts = np.full((h * w, 256), float(alpha))
    flat = train.reshape(len(train), -1)
    for pos in range(h * w):
        counts[pos] += np.bincount(flat[:, pos], minlength=256)
    logp = np.log2(counts / counts.sum(1, keepdims=True))
    return -logp[np.arange(h * w), test.reshape(len(test), -1)].mean(1)


def histogram_rows(normal, anomal, names, bins=30):
    """Rows {"score", "share", "set"} of both histograms on shared bins, for a bar plot."""
    edges, hn, ha = histogram(normal, anomal, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    return [{"score": float(c), "share": float(h), "set": name}
            for name, hist in zip(names, (hn, ha)) for c, h in zip(centres, hist)]


def in_out_view(nll_in, images_in, nll_out, images_out, names=("clothes (in)", "digits (out)")):
    """Everything the out-of-distribution panel shows, for any likelihood model (the VAE's bound,
    the PixelCNN's exact likelihood): histogram rows of the raw and corrected scores, both AUROCs,
    the mean raw scores, and the one-sentence reason."""
    s = ood_summary(nll_in, images_in, nll_out, images_out)
    return {"raw": histogram_rows(*s["raw"], names), "corrected": histogram_rows(*s["corrected"], names),
            "auroc_raw": s["auroc_raw"], "auroc_corrected": s["auroc_corrected"],
            "mean_raw": (float(np.mean(s["raw"][0])), float(np.mean(s["raw"][1]))), "why": WHY}
