"""Anomaly scores: AUROC, ROC, confusion counts, compressed lengths, the complexity correction."""
import numpy as np
import pytest

from playground import ood
from playground.errors import InputError


def test_auroc_known_values():
    assert ood.auroc([0, 1, 2], [3, 4]) == 1.0
    assert ood.auroc([3, 4], [0, 1, 2]) == 0.0
    assert ood.auroc([1, 1], [1, 1]) == 0.5
    assert ood.auroc([0, 2], [1, 3]) == 0.75


def test_auroc_matches_counting_pairs():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 20, 50).astype(float), rng.integers(5, 25, 40).astype(float)
    pairs = np.mean([(y > x) + 0.5 * (y == x) for x in a for y in b])
    assert ood.auroc(a, b) == pytest.approx(pairs)


def test_auroc_refuses_empty_or_nan():
    with pytest.raises(InputError):
        ood.auroc([], [1])
    with pytest.raises(InputError):
        ood.auroc([np.nan], [1])


def test_roc_runs_from_corner_to_corner_and_confusion_counts_add_up():
    fpr, tpr = ood.roc_curve([0, 1, 2, 3], [2, 3, 4])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1) and np.all(np.diff(fpr) >= 0)
    c = ood.confusion([0, 1, 2, 3], [2, 3, 4], 2.5)
    assert c == {"true_positives": 2, "false_negatives": 1, "false_positives": 1, "true_negatives": 3}


def test_busier_images_compress_to_more_bits_and_the_correction_subtracts_them():
    flat = np.zeros((1, 28, 28), np.uint8)
    busy = np.random.default_rng(0).integers(0, 256, (1, 28, 28)).astype(np.uint8)
    bits = ood.compressed_bits(np.concatenate([flat, busy]))
    assert bits[1] > 5 * bits[0] and bits[1] > 784 * 8 * 0.9
    corrected = ood.corrected_scores([2.0, 2.0], np.concatenate([flat, busy]))
    assert np.allclose(corrected, 2.0 - bits / 784)


def test_the_correction_turns_simplicity_back_into_the_right_order():
    # a "model" that codes everything at 0.5 bits/dim above what PNG needs, except its own kind
    rng = np.random.default_rng(1)
    own = rng.integers(0, 256, (20, 28, 28)).astype(np.uint8)      # complex, well modelled
    simple = np.zeros((20, 28, 28), np.uint8)
    simple[:, 10:18, 10:18] = 255                                  # simple, never seen
    png = lambda x: ood.compressed_bits(x) / 784  # noqa: E731
    nll_own, nll_simple = png(own) - 0.5, png(simple) + 0.5
    assert ood.auroc(nll_own, nll_simple) == 0.0          # raw likelihood: the simple ones look normal
    s = ood.ood_summary(nll_own, own, nll_simple, simple)
    assert s["auroc_raw"] == 0.0 and s["auroc_corrected"] == 1.0


def test_histogram_baseline_is_cheap_for_constant_data_and_costly_for_noise():
    zeros = np.zeros((50, 4, 4), np.uint8)
    assert ood.histogram_bits(zeros, zeros[:3], alpha=0.01).max() < 0.1
    noise = np.random.default_rng(0).integers(0, 256, (50, 4, 4)).astype(np.uint8)
    assert ood.histogram_bits(noise, noise[:5]).mean() > 6


def test_histograms_are_shares():
    edges, a, b = ood.histogram([0, 1, 2], [2, 3], bins=4)
    assert len(edges) == 5 and a.sum() == pytest.approx(1) and b.sum() == pytest.approx(1)
