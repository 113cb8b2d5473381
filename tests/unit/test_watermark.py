"""The invisible watermark (playground/watermark.py): found on marked pictures after JPEG and halving, not
found on real ones, invisible, and clear about bad input; the Data tab's actions and the measured table."""
import json

import numpy as np
import pytest
import torch

from playground import data, watermark
from playground import watermark_bench as bench
from playground.actions import gan as gan_actions
from playground.actions import watermark_check
from playground.errors import InputError
from playground.images import make_grid, zoom
from tests.conftest import TinyModel

torch.set_num_threads(1)
TINY_MODELS = {
    "gan-tiny": TinyModel("gan", {"latent_dim": 16, "g_width": 4, "d_width": 4, "image_size": 64, "channels": 1},
                          dataset="orl-faces", resolution="64x64"),
}
HALF_JPEG = ("JPEG quality 75", "resize 0.5x", "JPEG 75 then resize 0.5x")


def fashion_grid(start=0, side=4):
    """A grid as the app draws one: 28x28 images enlarged to 112 pixels, white lines between them."""
    images, _ = data.fashion_gallery()
    return make_grid([zoom(images[i], 112) for i in range(start, start + side * side)], nrow=side)


def photo():
    return np.asarray(data.load_natural(sorted(data.natural_images())[0], "RGB"))


@pytest.fixture(scope="module")
def generated(tiny_registry):
    """What the GAN tab returns (a 4x4 grid, here of a tiny untrained GAN) for two seeds."""
    return [gan_actions.generate("gan-tiny", seed, 4, 1.0)[0] for seed in (0, 1)]


def test_a_marked_picture_is_found_and_unchanged_in_shape(generated):
    for image in [fashion_grid(), photo(), generated[0], data.fashion_gallery()[0][0]]:
        assert not watermark.detect(image).found
        marked = watermark.mark(image)
        assert marked.shape == image.shape and marked.dtype == np.uint8 and not np.array_equal(marked, image)
        found = watermark.detect(marked)
        assert found.found and found.score > 4 * found.threshold, (image.shape, found)
    grey = fashion_grid()[..., None]  # (H, W, 1) keeps its shape
    assert watermark.mark(grey).shape == grey.shape and watermark.detect(watermark.mark(grey)).found


def test_the_mark_is_invisible_by_psnr():
    assert watermark.psnr(photo(), watermark.mark(photo())) >= 40  # natural photo (the target: 38 dB)
    assert watermark.psnr(fashion_grid(), watermark.mark(fashion_grid())) >= 40  # a grey grid
    single = data.fashion_gallery()[0][3]
    assert watermark.psnr(single, watermark.mark(single)) >= 38  # a single 28x28 image


def test_unmarked_real_pictures_are_not_found():
    real = bench.real(1000)[::5]  # every kind: grids, single images, faces, digits, photos and crops
    scores = np.array([watermark.detect(im).score for _, im in real])
    assert len({what for what, _ in real}) >= 6
    assert (scores < watermark.THRESHOLD).all() and abs(scores.mean()) < 0.5 and scores.std() < 1.5


@pytest.mark.parametrize("change", HALF_JPEG + ("Gaussian noise sigma 5", "screenshot-like (1.5x, PNG)"))
def test_a_marked_generated_picture_survives_jpeg_and_halving(generated, change):
    for image in [*generated, fashion_grid(16), photo()]:
        found = watermark.detect(bench.CHANGES[change](watermark.mark(image)))
        assert found.found, (change, image.shape, found)


def test_the_mark_is_the_keys_own():
    marked = watermark.mark(fashion_grid())
    keyed = watermark._DITHER
    try:
        watermark._DITHER = np.random.default_rng(1).random(keyed.size)  # another key
        assert not watermark.detect(marked).found
    finally:
        watermark._DITHER = keyed
    assert watermark.detect(marked).found


def test_a_centre_crop_removes_the_mark():  # the limitation the Data tab states
    assert not watermark.detect(bench.centre_crop(watermark.mark(photo()), 0.5)).found


@pytest.mark.parametrize("bad, words", [
    (np.zeros((3, 3), np.uint8), "8x8"), (np.zeros((64, 64), np.float64), "uint8"),
    (np.zeros((64, 64, 4), np.uint8), "grey (H, W) or RGB"), (np.zeros(64, np.uint8), "grey (H, W) or RGB"),
    ([[0] * 64] * 64, "uint8"), (None, "uint8"),
])
def test_bad_input_gets_a_clear_message(bad, words):
    for fn in (watermark.mark, watermark.detect):
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            fn(bad)


def test_the_check_says_what_it_found_with_score_and_threshold(tmp_path):
    path = tmp_path / "marked.png"
    from PIL import Image
    Image.fromarray(watermark.mark(photo())).save(path)
    found = watermark_check.check(str(path))
    assert found.startswith("**Mark found") and "threshold 6" in found
    assert watermark_check.check(photo()).startswith("**No mark found")
    marked, note = watermark_check.mark_upload(photo())
    assert watermark.detect(marked).found and "dB" in note
    with pytest.raises(InputError):
        watermark_check.check(None)


def test_the_table_is_read_from_its_file_and_missing_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(watermark, "TABLE", tmp_path / "missing.json")
    rows, note = watermark_check.robustness()
    assert rows == [] and "python -m playground.bench --watermark" in note


def test_the_shipped_table_is_complete_and_meets_the_targets():
    result = json.loads(watermark.TABLE.read_text())
    rows = {r["change"]: r for r in result["rows"]}
    assert list(rows) == list(bench.CHANGES) and result["threshold"] == watermark.THRESHOLD
    assert result["generated"] >= 200 and result["false_positives"]["of"] == bench.REAL_COUNT
    assert all(rows[c]["detected"] >= bench.TARGET_RATE for c in HALF_JPEG)
    assert result["false_positives"]["rate"] <= bench.TARGET_FP and result["targets"]["met"]
    table, note = watermark_check.robustness()
    assert len(table) == len(rows) + 1 and result["command"] in note
    assert bench.markdown(result).count("\n| ") == len(rows) + 2  # a line per change, false positives, header rule
