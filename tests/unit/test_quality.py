"""PSNR and SSIM against definitions and known values."""
import numpy as np
import pytest

from playground import quality
from playground.errors import InputError


def test_psnr_of_a_known_error():
    a = np.zeros((10, 10), np.uint8)
    b = np.full((10, 10), 5, np.uint8)
    assert quality.psnr(a, b)[0] == pytest.approx(10 * np.log10(255 ** 2 / 25))
    assert np.isinf(quality.psnr(a, a)[0])


def test_ssim_is_one_for_equal_images_and_drops_with_noise():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 32, 32)).astype(np.uint8)
    noisy = np.clip(a + rng.normal(0, 30, a.shape), 0, 255).astype(np.uint8)
    assert quality.ssim(a, a) == pytest.approx([1, 1])
    s = quality.ssim(a, noisy)
    assert (s < 0.95).all() and (s > 0).all()


def test_ssim_and_psnr_match_scikit_image():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    rng = np.random.default_rng(2)
    x = np.tile(np.linspace(0, 255, 48), (40, 1)).round().astype(np.uint8)
    y = np.clip(127.5 + (x - 127.5) / 2 + rng.normal(0, 8, x.shape), 0, 255).astype(np.uint8)
    expected = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255)
    assert quality.ssim(x, y)[0] == pytest.approx(expected, abs=1e-9)
    assert quality.psnr(x, y)[0] == pytest.approx(peak_signal_noise_ratio(x, y, data_range=255))


def test_luminance_of_white_and_black():
    assert quality.luminance(np.array([255, 255, 255])) == pytest.approx(235, abs=0.01)
    assert quality.luminance(np.array([0, 0, 0])) == pytest.approx(16)


@pytest.mark.parametrize("a,b", [(np.zeros((5, 5)), np.zeros((5, 6))), (np.zeros((5, 5)), np.zeros((5, 5)))])
def test_bad_shapes_are_refused(a, b):
    with pytest.raises(InputError):
        quality.ssim(a, b)
