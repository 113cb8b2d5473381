import numpy as np

from playground import memorisation
from playground.metrics import pairwise_distances, precision_recall


def test_reference_matches_the_full_matrix_across_blocks(monkeypatch):
    monkeypatch.setattr(memorisation, "BLOCK", 7)
    x = np.random.default_rng(0).normal(size=(30, 5))
    d = pairwise_distances(x, x)
    np.fill_diagonal(d, np.inf)
    assert np.allclose(memorisation.reference(x), d.min(1))


def test_copies_are_flagged_and_fresh_points_are_not():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(200, 8))
    queries = np.concatenate([train[:3] + 1e-6, rng.normal(size=(3, 8))])
    n = memorisation.nearest(queries, train, memorisation.reference(train), k=2)
    assert n.index[:3, 0].tolist() == [0, 1, 2] and n.copy.tolist() == [True] * 3 + [False] * 3
    assert (n.ratio[:3] < 0.01).all() and (n.ratio[3:] > 0.3).all() and n.distance.shape == (6, 2)


def test_precision_recall_see_fidelity_and_diversity():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(300, 2))
    assert precision_recall(real, rng.normal(size=(300, 2)))["precision"] > 0.8
    collapsed = precision_recall(real, rng.normal(scale=0.1, size=(300, 2)))  # typical but not diverse
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3
    far = precision_recall(real, rng.normal(loc=10, size=(300, 2)))
    assert far["precision"] == 0 and far["recall"] == 0
