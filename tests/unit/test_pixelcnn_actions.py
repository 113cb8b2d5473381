"""The PixelCNN tab's actions on tiny untrained networks in a temporary registry."""
import numpy as np
import pytest
from PIL import Image

from playground import registry
from playground.actions import pixelcnn as actions
from playground.errors import InputError
from tests.conftest import TinyModel

CONFIGS = {actions.MAIN_ID: dict(kind="gated", channels=8, layers=3, num_classes=10, mixtures=2),
           actions.MASKED_ID: dict(kind="masked", channels=8, layers=3, num_classes=0, mixtures=2)}
TINY_MODELS = {model_id: TinyModel("pixelcnn", config) for model_id, config in CONFIGS.items()}
TINY_CACHES = (actions._gallery_scores,)


def test_class_choices_come_from_the_config(tiny_registry):
    assert actions.class_choices(actions.MAIN_ID)[:3] == [actions.EVERY_CLASS, actions.NO_CLASS, "T-shirt/top"]
    assert actions.class_choices(actions.MASKED_ID) == []


def test_sampling_streams_rows_then_a_gif_and_is_seeded(tiny_registry):
    states = list(actions.sample(actions.MAIN_ID, actions.EVERY_CLASS, 1.0, 3, side=2))
    assert len(states) == 29 and states[0][1].startswith("Row 1 of 28 written, about ") and states[0][2] is None
    grid, text, gif = states[-1]
    assert "4 images" in text and "fast exact sampler" in text
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames >= 28
    naive = list(actions.sample(actions.MAIN_ID, actions.EVERY_CLASS, 1.0, 3, side=2, fast=False))[-1]
    assert np.array_equal(naive[0], grid) and "whole network per pixel" in naive[1]


def test_the_whole_network_sampler_shows_its_first_row_coming(tiny_registry, monkeypatch):
    """A row of the whole network takes seconds (23 s for 36 images): the grid is shown after its first pixel,
    then at most every PARTIAL_S within a row, and after every row; the GIF keeps a frame a row."""
    monkeypatch.setattr(actions, "PARTIAL_S", 1e9)
    states = list(actions.sample(actions.MASKED_ID, None, 1.0, 3, side=1, fast=False))
    texts = [text.split(",")[0] for _, text, _ in states[:-1]]
    assert texts == ["1 of 28 pixels of row 1 of 28 written"] + [f"Row {r} of 28 written" for r in range(1, 29)]
    monkeypatch.setattr(actions, "PARTIAL_S", 0)  # every pixel
    every = list(actions.sample(actions.MASKED_ID, None, 1.0, 4, side=1, fast=False))  # another seed: not cached
    assert [text.split(",")[0] for _, text, _ in every[:28]] == [
        f"{c} of 28 pixels of row 1 of 28 written" for c in range(1, 28)] + ["Row 1 of 28 written"]
    assert len(every) == 28 * 28 + 1 and every[0][0].shape == every[-1][0].shape
    with Image.open(every[-1][2]) as im:
        assert im.n_frames >= 28


def test_completion_keeps_the_visible_rows_and_reads_the_class(tiny_registry):
    states = list(actions.complete(actions.MAIN_ID, "test image", 5, hidden=4, k=3, seed=1))
    strip, text = states[-1]
    assert len(states) == 5 and "From the visible rows it reads:" in text and "drawn from those odds" in text
    tile = (strip.shape[1] - 2 * 6) // 5  # 5 tiles: original, masked, 3 completions
    original, first = strip[2:2 + tile, 2:2 + tile], strip[2:2 + tile, 2 + 2 * (tile + 2):2 + 2 * (tile + 2) + tile]
    visible = tile * 24 // 28
    assert np.array_equal(original[:visible], first[:visible])


def test_class_posterior_is_a_distribution(tiny_registry):
    with registry.using(actions.MAIN_ID) as model:
        post = actions.class_posterior(model, actions.model_input("test image", 0)[0], 14)
    assert post.shape == (10,) and abs(post.sum() - 1) < 1e-9 and (post >= 0).all()


def test_likelihood_gives_bits_a_heatmap_and_percentiles(tiny_registry):
    r = actions.likelihood(actions.MAIN_ID, "test image", 2)
    assert r["heatmap"].shape[:2] == r["input"].shape[:2] and r["heatmap"].shape[2] == 3
    assert r["bits_per_dim"] > 0 and 0 <= r["percentile_raw"] <= 100 and "test image 2" in r["caption"]
    drawn = np.full((100, 100), 255, np.uint8)
    drawn[20:80, 40:60] = 0
    assert actions.likelihood(actions.MAIN_ID, "drawing", drawing=drawn)["caption"] == "your drawing"


def test_out_of_distribution_uses_the_shared_view(tiny_registry):
    r = actions.out_of_distribution()
    assert 0 <= r["auroc_raw"] <= 1 and 0 <= r["auroc_corrected"] <= 1 and r["raw"] and r["corrected"]


def test_receptive_field_shows_the_blind_spot_of_the_masked_model_only(tiny_registry):
    (masked, masked_text), (gated, gated_text) = actions.receptive_field(14, 14)
    assert masked.shape == gated.shape and masked.shape[2] == 3
    assert "blind spot" in masked_text and "earlier pixels within its reach are never seen" in masked_text
    assert "no blind spot" in gated_text


@pytest.mark.parametrize("call", [
    lambda: next(actions.sample(actions.MAIN_ID, "Unicorn", 1.0, 0)),
    lambda: next(actions.sample(actions.MAIN_ID, actions.NO_CLASS, float("nan"), 0)),
    lambda: next(actions.sample(actions.MAIN_ID, actions.NO_CLASS, 1.0, -1)),
    lambda: next(actions.sample(actions.MAIN_ID, actions.NO_CLASS, 1.0, 0, side=7)),
    lambda: next(actions.sample(actions.MAIN_ID, actions.NO_CLASS, 1.0, 0, fast="yes")),
    lambda: next(actions.sample("../weights", actions.NO_CLASS, 1.0, 0)),
    lambda: next(actions.complete(actions.MAIN_ID, "test image", 0, hidden=28)),
    lambda: next(actions.complete(actions.MAIN_ID, "upload", 0)),
    lambda: next(actions.complete(actions.MAIN_ID, "drawing", 0, drawing=np.zeros((50, 50), np.uint8))),
    lambda: actions.likelihood(actions.MAIN_ID, "test image", 2000),
    lambda: actions.receptive_field(28, 0),
    lambda: actions.receptive_field(3, 2.5),
])
def test_bad_inputs_get_clear_messages(tiny_registry, call):
    with pytest.raises(InputError):
        call()


def test_bench_cases_time_naive_and_fast(tiny_registry):
    cases = actions.bench_cases()
    assert [k.split(",")[1].strip() for k in cases] == ["whole network per pixel (pixelcnn-fashion)",
                                                        "fast exact sampler (pixelcnn-fashion)",
                                                        "whole network per pixel (pixelcnn-fashion)"]
    assert list(cases)[2].startswith("PixelCNN: first partial grid")
    assert list(cases.values())[2](0) is None  # the first state only: the tiny model's 6x6 grid after one pixel


def _png_file(tmp_path):
    """A 40x30 white image with a dark bar, as a PNG file: an upload arrives as its path or a data: URL."""
    picture = np.full((30, 40, 3), 250, np.uint8)
    picture[5:25, 15:25] = 10
    path = tmp_path / "upload.png"
    Image.fromarray(picture).save(path)
    return path


def test_uploads_arrive_as_a_path_or_a_data_url(tiny_registry, tmp_path):
    import base64
    path = _png_file(tmp_path)
    url = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    for upload in (str(path), url):
        image, caption = actions.model_input("upload", upload=upload)
        assert image.shape == (28, 28) and image.dtype == np.uint8 and caption == "your upload"
        assert image[14, 14] > 200 and image[14, 2] < 50  # the light background inverted: a light bar on black
        assert actions.likelihood(actions.MAIN_ID, "upload", upload=upload)["caption"] == "your upload"
        strip, text = list(actions.complete(actions.MAIN_ID, "upload", upload=upload, hidden=2, k=1))[-1]
        assert "your upload" in text


def test_what_the_tab_shows_is_put_into_words_here(tiny_registry):
    image, heat, text = actions.likelihood_shown(actions.MAIN_ID, "test image", 2, None, None)
    assert "bits/dim under the model's own p(x)" in text and heat.shape[:2] == image.shape[:2]
    masked, gated, text = actions.receptive_field_shown(14, 14)
    assert masked.shape == gated.shape and text.count("\n\n") >= 1


def test_an_empty_drawing_says_so_whatever_reaches_the_action(tiny_registry):
    """A blank sketchpad sends no composite (None): the sentence is about the drawing, not "choose an image"."""
    with pytest.raises(InputError, match="The drawing is empty"):
        next(actions.complete(actions.MAIN_ID, "drawing", 0, drawing=None))
