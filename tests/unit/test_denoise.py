"""Classical denoising (playground.denoise) and the Denoising tab's action (playground.actions.denoise)."""
import json
import math
import time

import numpy as np
import pytest

from playground import charts, data, denoise
from playground.actions import denoise as actions
from playground.errors import InputError


@pytest.fixture(scope="module")
def camera():
    return denoise.capped(np.array(data.load_natural("camera", "L")), 256)[0]


def test_add_noise_is_reproducible_and_has_the_asked_sigma():
    flat = np.full((256, 256), 128, np.uint8)
    a, b, c = denoise.add_noise(flat, 20, 3), denoise.add_noise(flat, 20, 3), denoise.add_noise(flat, 20, 4)
    assert a.dtype == np.uint8 and np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(np.std(a.astype(float) - 128) - 20) < 0.5 and abs(np.mean(a.astype(float)) - 128) < 0.5
    colour = denoise.add_noise(np.full((64, 64, 3), 128, np.uint8), 10, 0)
    assert colour.shape == (64, 64, 3) and abs(np.std(colour.astype(float)) - 10) < 0.5


@pytest.mark.parametrize("name", ["camera", "coffee", "rocket"])
@pytest.mark.parametrize("sigma", [10, 15, 25, 50])
def test_the_sigma_estimate_is_within_15_percent_on_bundled_photos(name, sigma):
    clean = denoise.capped(np.array(data.load_natural(name, "L")))[0]
    estimate = denoise.estimate_sigma(denoise.add_noise(clean, sigma, 1))
    assert abs(estimate - sigma) <= 0.15 * sigma, (name, sigma, estimate)


def test_the_sigma_estimate_works_on_colour_and_says_a_clean_photo_is_nearly_clean(camera):
    assert denoise.estimate_sigma(camera) < 3
    astronaut = denoise.capped(np.array(data.load_natural("astronaut")))[0]
    assert abs(denoise.estimate_sigma(denoise.add_noise(astronaut, 25, 0)) - 25) < 0.15 * 25


def test_every_method_raises_psnr_at_sigma_25_and_nl_means_beats_gaussian_blur(camera):
    noisy = denoise.add_noise(camera, 25, 0)
    before = denoise.scores(noisy, camera)
    after = {name: denoise.scores(out, camera) for name, out, _ in denoise.denoise_all(noisy, 25)}
    assert list(after) == list(denoise.METHODS)
    for name, s in after.items():
        assert s["psnr"] > before["psnr"] + 3 and s["ssim"] > before["ssim"], (name, s, before)
    assert after["non-local means"]["psnr"] > after["Gaussian blur"]["psnr"] + 1


def test_colour_images_stay_colour_and_each_method_is_timed():
    image = denoise.capped(np.array(data.load_natural("coffee")), 128)[0]
    noisy = denoise.add_noise(image, 25, 0)
    for name, out, ms in denoise.denoise_all(noisy, 25):
        assert out.shape == image.shape and out.dtype == np.uint8 and ms > 0, name
        assert denoise.scores(out, image)["psnr"] > denoise.scores(noisy, image)["psnr"], name


def test_large_pictures_are_shrunk_with_a_sentence_and_each_method_takes_at_most_seconds():
    big = np.array(data.load_natural("astronaut"))
    big = np.concatenate([big, big], axis=1)  # 1024 x 512
    small, note = denoise.capped(big)
    assert small.shape == (256, 512, 3) and "1024x512" in note and "512x256" in note
    same, note = denoise.capped(small)
    assert same is small and note is None
    noisy = denoise.add_noise(denoise.capped(np.array(data.load_natural("astronaut")))[0], 25, 0)  # 512 x 512
    for name, _, ms in denoise.denoise_all(noisy, 25):
        assert ms < 3000, (name, ms)


def test_the_action_streams_the_noisy_input_before_any_method():
    states = actions.denoise_all("camera", None, actions.GROUND_TRUTH, 25, 0, "grey")
    start = time.perf_counter()
    first = next(states)
    assert time.perf_counter() - start < 2 and first["outputs"] == {} and len(first["rows"]) == 1
    assert first["rows"][0][1] < 22  # the noisy input's own PSNR
    rest = list(states)
    assert len(rest) == len(denoise.METHODS) and list(rest[-1]["outputs"]) == list(denoise.METHODS)
    table = actions.rows(rest[-1])
    assert all(row[2] > 0 for row in table[1:])  # every method gains over the noisy input
    captions = [c for _, c in actions.gallery(rest[-1])]
    assert captions[:2] == ["clean", "noisy input"] and "dB" in captions[-1] and "ms" in captions[-1]


def test_an_already_noisy_upload_gets_its_sigma_estimated_and_no_scores():
    clean = denoise.capped(np.array(data.load_natural("coffee", "L")), 256)[0]
    noisy = denoise.add_noise(clean, 30, 5)
    *_, last = actions.denoise_all(actions.UPLOAD, noisy, actions.ALREADY_NOISY, 5, 0, "grey")
    assert abs(last["sigma"] - 30) < 0.15 * 30 and "Estimated noise sigma" in last["note"]
    assert all(row[1] is None and row[3] is None for row in actions.rows(last))


@pytest.mark.parametrize("args, words", [
    (("camera", None, actions.GROUND_TRUTH, 0, 0, "grey"), "Noise sigma must be a number from 5 to 100"),
    (("camera", None, actions.GROUND_TRUTH, 1000, 0, "grey"), "Noise sigma must be a number from 5 to 100"),
    (("camera", None, actions.GROUND_TRUTH, math.nan, 0, "grey"), "Noise sigma must be"),
    (("camera", None, actions.GROUND_TRUTH, "25", 0, "grey"), "Noise sigma must be"),
    (("camera", None, "sharpen", 25, 0, "grey"), "Mode must be one of"),
    (("nowhere", None, actions.GROUND_TRUTH, 25, 0, "grey"), "Photo must be one of"),
    (("camera", None, actions.GROUND_TRUTH, 25, -1, "grey"), "Seed must be"),
    (("camera", None, actions.GROUND_TRUTH, 25, 0, "sepia"), "Colour must be one of"),
    ((actions.UPLOAD, None, actions.GROUND_TRUTH, 25, 0, "grey"), "No image was given"),
    ((actions.UPLOAD, b"", actions.GROUND_TRUTH, 25, 0, "grey"), "empty"),
    ((actions.UPLOAD, b"not an image at all", actions.GROUND_TRUTH, 25, 0, "grey"), "not an image"),
    ((actions.UPLOAD, np.zeros((8, 8, 3), np.uint8), actions.GROUND_TRUTH, 25, 0, "grey"), "at least 16 pixels"),
])
def test_bad_input_gets_a_clear_sentence(args, words):
    with pytest.raises(InputError, match=words):
        next(actions.denoise_all(*args))


def test_the_library_refuses_what_is_not_an_image():
    for bad in (np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.uint8), "camera"):
        with pytest.raises(InputError, match="uint8 grey"):
            denoise.add_noise(bad, 10, 0)


def test_the_stored_sweep_covers_every_method_and_sigma_and_is_drawn():
    result = json.loads(denoise.SWEEP.read_text())
    assert result["sigmas"] == [5, 10, 15, 25, 35, 50, 75, 100] and len(result["photos"]) >= 3
    assert set(result["methods"]) == {actions.NOISY, *denoise.METHODS}
    at = result["sigmas"].index(25)
    noisy = result["methods"][actions.NOISY]["psnr_mean"][at]
    assert all(v["psnr_mean"][at] > noisy for n, v in result["methods"].items() if n != actions.NOISY)
    image, text = actions.sweep_chart(result)
    assert image.shape == (charts.HEIGHT, charts.WIDTH, 3) and result["command"] in text
    assert actions.sweep_chart.__doc__ and image.std() > 0
