"""Classical denoising, measured: add Gaussian noise of a known sigma, estimate an unknown one, and remove it
six ways, each timed and scored against the clean image.

    noisy = add_noise(clean, 25, seed=0)              # sigma on the 0..255 scale, clipped to 0..255
    estimate_sigma(noisy)                             # about 25, from the image alone
    for name, out, ms in denoise_all(noisy, 25): ...   # each method as it finishes
    scores(out, clean)                                # {"psnr": dB, "ssim": 0..1}

Every denoiser is a function of (image, sigma): uint8 in (HxW grey or HxWx3 colour), uint8 out, its
parameters set from sigma (sigma_255 below, s = sigma_255 / 255) as each docstring says. Colour images are
filtered per channel (Gaussian, median), or jointly (bilateral, TV, non-local means: scikit-image's
channel_axis). PSNR is over every pixel value (all three channels for colour); SSIM is playground.quality's
(Wang et al. 2004), averaged over the channels for colour.

The noise estimate is Immerkaer's (1996, "Fast noise variance estimation"): the image filtered with the
3x3 Laplacian difference N = [[1,-2,1],[-2,4,-2],[1,-2,1]], which cancels smooth intensity (and linear
ramps), leaves white noise with standard deviation 6 sigma (the kernel's L2 norm is 6). Immerkaer averages
|I*N|; here the median is taken instead (sigma = median|I*N| / (0.6745 * 6), as Donoho's wavelet MAD
estimate does with its finest wavelet band), so edges and texture, a minority of pixels, barely move it.
Pixels next to a 0 or a 255 are left out (the noise was clipped there). Measured on the bundled photos
(tests/unit/test_denoise.py) it is within 15% from sigma 10 to 50; at 5 the photo's own fine texture
adds to it (up to +30%), and above 50 clipping has removed part of the noise itself, which it then
underestimates. scikit-image's estimate_sigma (a wavelet MAD) does not leave the clipped pixels out.
"""
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.restoration import denoise_bilateral, denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

from . import quality
from .errors import InputError

SWEEP = Path(__file__).resolve().parent / "assets" / "denoise_sweep.json"  # the noise-level sweep
SWEEP_COMMAND = "python -m playground.denoise_bench"  # which writes it
MAX_SIDE = 512  # larger images are shrunk to this long side first (each method then answers in about a second)
LAPLACE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
MAD = 0.6745  # median |x| of a standard normal


def add_noise(image, sigma_255, seed):
    """image + Gaussian noise of standard deviation sigma_255 (0..255 scale), rounded and clipped to uint8;
    the same seed gives the same noise."""
    image = _uint8(image)
    rng = np.random.default_rng(seed)
    noisy = image.astype(np.float64) + rng.normal(0.0, float(sigma_255), image.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def estimate_sigma(image):
    """The noise's standard deviation on the 0..255 scale, from the image alone (Immerkaer's Laplacian
    residual, robust median form); colour images: the mean over the channels."""
    image = _uint8(image).astype(np.float64)
    planes = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
    if min(image.shape[:2]) < 3:
        raise InputError("The image needs at least 3 pixels on each side to estimate its noise.")
    return float(np.mean([_plane_sigma(p) for p in planes]))


def _plane_sigma(plane):
    """Where the noise was clipped (a 0 or a 255 in the 3x3 window) it is smaller: those pixels are left out,
    unless they are nearly all there is."""
    residual = np.abs(ndimage.convolve(plane, LAPLACE, mode="reflect"))[1:-1, 1:-1]
    unclipped = ((ndimage.minimum_filter(plane, 3) > 0) & (ndimage.maximum_filter(plane, 3) < 255))[1:-1, 1:-1]
    kept = residual[unclipped] if unclipped.mean() > 0.05 else residual.ravel()
    return float(np.median(kept)) / (MAD * 6)


def _uint8(image):
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InputError(f"Expected a uint8 grey (H,W) or colour (H,W,3) image, not {image.dtype} {image.shape}.")
    return image


def _float(image):
    return _uint8(image).astype(np.float64) / 255.0


def _back(x):
    return np.clip(np.rint(np.asarray(x) * 255.0), 0, 255).astype(np.uint8)


def _channel(image):
    return -1 if image.ndim == 3 else None


def gaussian_blur(image, sigma):
    """A Gaussian blur of standard deviation 0.3 + sigma_255 / 30 pixels (1.1 px at sigma 25, 3.6 at 100),
    per channel: it averages the noise away and the edges with it."""
    width = 0.3 + sigma / 30.0
    spread = (width, width, 0) if image.ndim == 3 else width
    return _back(ndimage.gaussian_filter(_float(image), spread, mode="reflect"))


def median(image, sigma):
    """The median of a square window, per channel: 3x3 up to sigma_255 30, 5x5 up to 60, 7x7 above.
    Robust to outliers, it keeps straight edges but rounds corners and erases fine texture."""
    k = 3 if sigma <= 30 else 5 if sigma <= 60 else 7
    return ndimage.median_filter(_uint8(image), size=(k, k, 1) if image.ndim == 3 else (k, k), mode="reflect")


def bilateral(image, sigma):
    """Tomasi and Manduchi's bilateral filter (scikit-image): a Gaussian over space (sigma_spatial 2.5 px,
    a 7x7 window) weighted by a Gaussian over intensity differences of sigma_color = 2 s, so that pixels
    across an edge (a difference well above the noise) count little. On colour the difference is the
    distance between RGB triples, which noise makes larger, so it smooths less there than on grey."""
    s = sigma / 255.0
    return _back(denoise_bilateral(_float(image), win_size=7, sigma_color=2 * s, sigma_spatial=2.5,
                                   channel_axis=_channel(image)))


def total_variation(image, sigma):
    """Rudin-Osher-Fatemi total-variation denoising (Chambolle's algorithm in scikit-image), weight = s:
    the closest image whose gradients are sparse, so flat regions and sharp edges survive, texture less."""
    s = sigma / 255.0
    return _back(denoise_tv_chambolle(_float(image), weight=s, channel_axis=_channel(image)))


def nl_means(image, sigma):
    """Buades, Coll and Morel's non-local means (scikit-image, fast mode): each pixel becomes an average of
    the pixels whose 5x5 patches look like its own within 13x13 pixels, with h = 0.6 s and the noise sigma
    s given, as scikit-image's documentation recommends for fast mode."""
    s = sigma / 255.0
    return _back(denoise_nl_means(_float(image), h=0.6 * s, sigma=s, fast_mode=True, patch_size=5,
                                  patch_distance=6, channel_axis=_channel(image)))


def wavelet(image, sigma):
    """Wavelet shrinkage (Chang, Yu and Vetterli's BayesShrink in scikit-image, with PyWavelets): the picture
    is split into wavelet bands, and each detail band's coefficients are shrunk towards 0 by a soft threshold
    sigma^2 / (the band's signal spread), so bands that hold mostly noise lose most; the noise sigma is s.
    Colour is denoised in YCbCr, where the noise of the three channels separates from the picture's."""
    s = sigma / 255.0
    return _back(denoise_wavelet(_float(image), sigma=s, method="BayesShrink", mode="soft", rescale_sigma=True,
                                 channel_axis=_channel(image), convert2ycbcr=image.ndim == 3))


METHODS = {"Gaussian blur": gaussian_blur, "median": median, "bilateral": bilateral, "wavelet": wavelet,
           "total variation": total_variation, "non-local means": nl_means}


def denoise_all(noisy, sigma, methods=None):
    """Yield (method, denoised uint8 image, milliseconds) for each method in turn (all by default)."""
    noisy = _uint8(noisy)
    for name in methods or METHODS:
        start = time.perf_counter()
        out = METHODS[name](noisy, float(sigma))
        yield name, out, (time.perf_counter() - start) * 1000


def _planes(image):
    image = _uint8(image)
    return image[None] if image.ndim == 2 else np.moveaxis(image, 2, 0)


def scores(image, clean):
    """{"psnr": dB over every pixel value, "ssim": playground.quality's mean SSIM, averaged over channels}."""
    a, b = _planes(image), _planes(clean)
    if a.shape != b.shape:
        raise InputError(f"Images to compare must have the same shape, not {image.shape} and {clean.shape}.")
    psnr = float(quality.psnr(a.reshape(1, -1, a.shape[-1]), b.reshape(1, -1, b.shape[-1]))[0])
    return {"psnr": psnr, "ssim": float(np.mean(quality.ssim(a, b)))}


def capped(image, max_side=MAX_SIDE):
    """(image shrunk so its long side is at most max_side, aspect kept, or the image itself; a sentence saying
    so, or None)."""
    image = _uint8(image)
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image, None
    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return small, (f"Your {w}x{h} image was shrunk to {size[0]}x{size[1]} first (at most {max_side} pixels on "
                   "the long side), so that each method answers in about a second.")
