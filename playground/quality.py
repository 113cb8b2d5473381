"""Full-reference image quality: PSNR and SSIM of uint8 images, in plain numpy.

SSIM follows Wang et al. 2004: an 11-tap Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
L = 255, statistics over the window positions that fit inside the image ("valid"), averaged.
Images are (H,W) or (N,H,W) grey; colour images are compared on the luminance Y (ITU-R BT.601),
as super-resolution papers do.
"""
import numpy as np

from .errors import InputError

WINDOW, SIGMA, K1, K2, PEAK = 11, 1.5, 0.01, 0.03, 255.0


def _pair(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise InputError(f"Images to compare must have the same shape, not {a.shape} and {b.shape}.")
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim != 3:
        raise InputError(f"Expected grey images (H,W) or (N,H,W), not shape {a.shape}.")
    return a.astype(np.float64), b.astype(np.float64)


def luminance(rgb):
    """uint8 (..., 3) RGB -> float64 Y in 16..235 (BT.601), as MATLAB's rgb2ycbcr computes it."""
    return y_of(np.asarray(rgb, np.float64))


def y_of(rgb):
    """luminance() of float RGB on the 0..255 scale, in arithmetic only (torch tensors work too)."""
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def psnr(a, b):
    """Per-image PSNR in dB, float64 (N,); identical images give inf."""
    a, b = _pair(a, b)
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(PEAK ** 2 / mse)


def _window():
    t = np.arange(WINDOW) - WINDOW // 2
    k = np.exp(-0.5 * (t / SIGMA) ** 2)
    return k / k.sum()


def _filter(x, k):
    """'valid' separable filtering over the last two axes."""
    n = len(k)
    h, w = x.shape[-2] - n + 1, x.shape[-1] - n + 1
    rows = sum(float(k[i]) * x[..., i:i + h, :] for i in range(n))
    return sum(float(k[i]) * rows[..., :, i:i + w] for i in range(n))


def ssim(a, b):
    """Per-image mean SSIM, float64 (N,); images must be at least 11x11."""
    a, b = _pair(a, b)
    if min(a.shape[1:]) < WINDOW:
        raise InputError(f"SSIM needs images of at least {WINDOW}x{WINDOW} pixels.")
    return ssim_map(a, b).reshape(len(a), -1).mean(1)


def ssim_map(a, b):
    """The SSIM at every valid window position of two float (N,H,W) stacks, in arithmetic only (torch
    tensors work too, with gradients: families.style.ssim_loss)."""
    k = _window()
    mu_a, mu_b = _filter(a, k), _filter(b, k)
    var_a = _filter(a * a, k) - mu_a ** 2
    var_b = _filter(b * b, k) - mu_b ** 2
    cov = _filter(a * b, k) - mu_a * mu_b
    c1, c2 = (K1 * PEAK) ** 2, (K2 * PEAK) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
