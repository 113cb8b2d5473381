"""Sample-quality metrics in plain numpy.

Frechet distance between two sets of feature vectors, each summarised as a Gaussian (mean mu,
covariance S):

    d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))

The trace of the square root of S_a S_b equals that of the symmetric positive semi-definite
matrix S_a^(1/2) S_b S_a^(1/2), whose square root comes from an eigen-decomposition with real,
non-negative eigenvalues (no scipy, no complex parts to discard). On features of the playground's
own feature networks this is FD-Fashion / FD-ORL, not FID.
"""
import numpy as np

from .errors import InputError


def _sqrt_psd(m):
    """Square root of a symmetric positive semi-definite matrix (negative rounding clipped)."""
    values, vectors = np.linalg.eigh((m + m.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance_stats(mu_a, cov_a, mu_b, cov_b):
    """Frechet distance between the Gaussians N(mu_a, cov_a) and N(mu_b, cov_b)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.atleast_2d(np.asarray(cov_a, np.float64)), np.atleast_2d(np.asarray(cov_b, np.float64))
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    return max(d, 0.0)


def feature_stats(feats):
    """(mean, covariance) of feature vectors [N, D] (N >= 2), in float64."""
    feats = np.asarray(feats, np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise InputError(f"Frechet distance needs at least 2 feature vectors [N, D], not shape {feats.shape}.")
    return feats.mean(0), np.cov(feats, rowvar=False)


def frechet_distance(feats_a, feats_b):
    """Frechet distance between the Gaussians fitted to two sets of feature vectors [N, D]."""
    mu_a, cov_a = feature_stats(feats_a)
    mu_b, cov_b = feature_stats(feats_b)
    if mu_a.shape != mu_b.shape:
        raise InputError(f"The feature sets have different sizes ({mu_a.shape[0]} and {mu_b.shape[0]}).")
    return frechet_distance_stats(mu_a, cov_a, mu_b, cov_b)


def pairwise_distances(a, b):
    """Euclidean distances [len(a), len(b)] between rows of two arrays, in float64."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    d2 = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.maximum(d2, 0))


def knn_radii(feats, k=3):
    """Distance from each row to its k-th nearest other row (the radius of its k-NN ball)."""
    d = pairwise_distances(feats, feats)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def precision_recall(real_feats, fake_feats, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Precision: the share of generated samples inside the real data's manifold (the union of k-NN
    balls around real samples): fidelity. Recall: the share of real samples inside the generated
    manifold: diversity. Truncation trades the second for the first.
    """
    real, fake = np.asarray(real_feats, np.float64), np.asarray(fake_feats, np.float64)
    if min(len(real), len(fake)) <= k:
        raise InputError(f"Precision and recall with k={k} need more than {k} samples on each side.")
    cross = pairwise_distances(fake, real)
    precision = float((cross <= knn_radii(real, k)[None, :]).any(1).mean())
    recall = float((cross.T <= knn_radii(fake, k)[None, :]).any(1).mean())
    return {"precision": precision, "recall": recall}


def density_coverage(real_feats, fake_feats, k=5):
    """Density and coverage (Naeem et al. 2020), both from k-NN balls around the real samples only.

    Density: how many real balls hold each generated sample, over k (about 1 when generated samples
    crowd the real data as densely as real ones do; above 1 where they pile up). Coverage: the share
    of real balls holding at least one generated sample. Unlike precision and recall, an outlier
    among the generated samples cannot inflate them.
    """
    real, fake = np.asarray(real_feats, np.float64), np.asarray(fake_feats, np.float64)
    if len(real) <= k or not len(fake):
        raise InputError(f"Density and coverage with k={k} need more than {k} real samples and some generated.")
    inside = pairwise_distances(fake, real) <= knn_radii(real, k)[None, :]
    return {"density": float(inside.sum() / (k * len(fake))), "coverage": float(inside.any(0).mean())}


def kernel_inception_distance(feats_a, feats_b):
    """Kernel distance (KID, Binkowski et al. 2018) between two sets of feature vectors [N, D]: the
    unbiased estimate of the squared maximum mean discrepancy with the cubic polynomial kernel
    k(x, y) = (x . y / D + 1)^3, and its standard error -> {"kid": ..., "kid_se": ...}.

    Unlike FD it is unbiased: two samples of one distribution score about 0 at any N (so N=100 cells
    can be compared with N=1,000 ones), and it can be slightly negative. On the playground's own
    features it is KD-Fashion / KD-ORL, not comparable with published KID. The standard error is the
    first-order (delta-method) one of the two-sample U-statistic: sqrt(var(f)/N_a + var(g)/N_b), with
    f_i = 2 (mean_j k(a_i, a_j) - mean_j k(a_i, b_j)) and g_j likewise for b."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or min(len(a), len(b)) < 2:
        raise InputError(f"KID needs at least 2 feature vectors [N, D] on each side, not {a.shape} and {b.shape}.")
    if a.shape[1] != b.shape[1]:
        raise InputError(f"The feature sets have different sizes ({a.shape[1]} and {b.shape[1]}).")
    d = a.shape[1]
    kaa, kbb, kab = ((x @ y.T / d + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    na, nb = len(a), len(b)
    row_aa = (kaa.sum(1) - np.diag(kaa)) / (na - 1)
    row_bb = (kbb.sum(1) - np.diag(kbb)) / (nb - 1)
    kid = row_aa.mean() + row_bb.mean() - 2 * kab.mean()
    f = 2 * (row_aa - kab.mean(1))
    g = 2 * (row_bb - kab.mean(0))
    se = np.sqrt(f.var(ddof=1) / na + g.var(ddof=1) / nb)
    return {"kid": float(kid), "kid_se": float(se)}
