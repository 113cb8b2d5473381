"""playground.metrics: the Frechet distance against closed forms."""
import numpy as np
import pytest

from playground.errors import InputError
from playground import metrics
from playground.metrics import frechet_distance, frechet_distance_stats


def feats(n=500, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)


def test_identical_sets_are_at_distance_zero():
    a = feats()
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)


def test_a_shift_gives_the_squared_mean_difference():
    a, shift = feats(), np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    assert frechet_distance(a, a + shift) == pytest.approx((shift ** 2).sum(), rel=1e-8)


def test_scaling_matches_the_closed_form():
    # b = 2a: mean 2mu, covariance 4S, so d = |mu|^2 + tr S + 4 tr S - 2 tr(2S) = |mu|^2 + tr S
    a = feats(seed=1)
    expected = (a.mean(0) ** 2).sum() + np.trace(np.cov(a, rowvar=False))
    assert frechet_distance(a, 2 * a) == pytest.approx(expected, rel=1e-8)


def test_diagonal_gaussians_match_the_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    assert frechet_distance_stats(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-10)


def test_is_symmetric_and_positive():
    a, b = feats(seed=2), feats(seed=3)
    assert frechet_distance(a, b) > 0
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_rejects_mismatched_or_too_few_features():
    with pytest.raises(InputError):
        frechet_distance(feats(d=3), feats(d=4))
    with pytest.raises(InputError):
        frechet_distance(np.zeros((1, 3)), feats(d=3))


def test_density_and_coverage_of_the_real_distribution_itself_are_about_one():
    from playground.metrics import density_coverage
    rng = np.random.default_rng(0)
    m = density_coverage(rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)))
    assert 0.85 < m["density"] < 1.15 and 0.9 < m["coverage"] <= 1


def test_density_and_coverage_by_hand_and_under_collapse():
    from playground.metrics import density_coverage
    real, fake = np.array([[0.0], [1.0], [10.0]]), np.array([[0.5], [20.0]])  # 1-NN radii 1, 1, 9
    assert density_coverage(real, fake, k=1) == {"density": 1.0, "coverage": 2 / 3}
    rng = np.random.default_rng(1)
    real = rng.normal(size=(500, 2))
    collapsed = density_coverage(real, rng.normal(scale=0.1, size=(500, 2)))  # every sample near the mode
    assert collapsed["coverage"] < 0.2  # density stays near 1: the mode is covered densely, the rest not at all
    assert density_coverage(real, rng.normal(loc=50, size=(100, 2))) == {"density": 0.0, "coverage": 0.0}
    with pytest.raises(InputError):
        density_coverage(real[:5], real)


def test_kid_is_unbiased_at_small_n_where_fd_is_not():
    """Two samples of one distribution: KID averages about 0 at N=50 and at N=500 (FD shrinks with N instead),
    and its standard error is about the spread of the estimates."""
    rng = np.random.default_rng(0)
    for n in (50, 500):
        runs = [metrics.kernel_inception_distance(rng.normal(size=(n, 16)), rng.normal(size=(n, 16)))
                for _ in range(40)]
        values = np.array([r["kid"] for r in runs])
        assert abs(values.mean()) < 2 * values.std() / np.sqrt(len(values)) + 1e-4
        assert 0.5 < np.mean([r["kid_se"] for r in runs]) / values.std() < 2.5
    small = np.mean([metrics.frechet_distance(rng.normal(size=(50, 16)), rng.normal(size=(50, 16))) for _ in range(10)])
    large = np.mean([metrics.frechet_distance(rng.normal(size=(500, 16)), rng.normal(size=(500, 16))) for _ in range(10)])
    assert small > 4 * large


def test_kid_grows_with_the_shift_the_same_at_every_n():
    rng = np.random.default_rng(1)
    near = [np.mean([metrics.kernel_inception_distance(rng.normal(size=(n, 8)), rng.normal(0.3, size=(n, 8)))["kid"]
                     for _ in range(reps)]) for n, reps in ((100, 20), (1000, 2))]
    far = metrics.kernel_inception_distance(rng.normal(size=(100, 8)), rng.normal(1.0, size=(100, 8)))
    assert near[0] == pytest.approx(near[1], rel=0.3) and far["kid"] > 5 * near[1] and far["kid"] > 3 * far["kid_se"]


def test_kid_refuses_what_it_cannot_measure():
    with pytest.raises(InputError):
        metrics.kernel_inception_distance(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(InputError):
        metrics.kernel_inception_distance(np.zeros((5, 4)), np.zeros((5, 3)))


def test_disagreements_name_the_pairs_two_metrics_order_differently():
    from playground.families.scoring import disagreements
    rows = [{"model": "a", "FD": 1.0, "FD 2": 5.0, "KD": 0.10, "KD s.e.": 0.01, "KD 2": 0.30, "KD 2 s.e.": 0.01},
            {"model": "b", "FD": 2.0, "FD 2": 4.0, "KD": 0.11, "KD s.e.": 0.01, "KD 2": 0.20, "KD 2 s.e.": 0.01},
            {"model": "c", "FD": 3.0, "FD 2": 6.0, "KD": 0.50, "KD s.e.": 0.01, "KD 2": 0.60, "KD 2 s.e.": 0.01},
            {"model": "real", "FD": 0.5, "FD 2": ""}]
    assert disagreements(rows, "FD", "FD 2") == [("a", "b")]
    assert disagreements(rows, "KD", "KD 2") == [("a", "b")]
    # a and b are within noise on KD (0.01 apart, combined error 0.014): not a disagreement
    assert disagreements(rows, "KD", "KD 2", spread={"KD": "KD s.e.", "KD 2": "KD 2 s.e."}) == []
    assert disagreements(rows[2:], "FD", "FD 2") == []
