"""The VAE tab's actions on tiny untrained models in a temporary registry, with the real data."""
import io

import numpy as np
import pytest
from PIL import Image

from playground.actions import vae as actions
from playground.errors import InputError
from tests.conftest import TinyModel


def _vae(**config):
    config = {"latent_dim": 4, "width": 4, "image_size": 28, "mixtures": 2, "dataset": "fashion-mnist", **config}
    size = config["image_size"]
    return TinyModel("vae", config, dataset=config["dataset"], resolution=f"{size}x{size}")


TINY_MODELS = {"vae-fashion": _vae(), "vae-fashion-2d": _vae(latent_dim=2),
               "vae-fashion-holdout": _vae(holdout_class=8), "vae-faces": _vae(image_size=64, dataset="orl-faces")}
TINY_CACHES = (actions._scores, actions._latent_map, actions._fitted)


def _png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return "data:image/png;base64," + __import__("base64").b64encode(buf.getvalue()).decode()


def test_lists_and_counts(tiny_registry):
    assert actions.vae_ids() == ["vae-faces", "vae-fashion", "vae-fashion-2d", "vae-fashion-holdout"]
    assert actions.test_count("vae-fashion") == 2000 and actions.test_count("vae-faces") == 80


def test_reconstruct_a_test_image(tiny_registry):
    r = actions.reconstruct("vae-fashion", "test image", 5)
    image, recon = r["raw"]
    assert image.shape == recon.shape == (28, 28) and r["input"].shape == (168, 168)
    assert r["error"].shape == (168, 168, 3) and r["error"].dtype == np.uint8
    assert np.isfinite([r["psnr"], r["ssim"], r["bits_per_dim"]]).all() and "test image 5" in r["caption"]
    again = actions.reconstruct("vae-fashion", "test image", 5)
    assert again["bits_per_dim"] == r["bits_per_dim"]


def test_faces_reconstruct_at_64(tiny_registry):
    assert actions.reconstruct("vae-faces", "test image", 79)["raw"][0].shape == (64, 64)


def test_uploads_are_fitted_and_light_backgrounds_inverted(tiny_registry):
    photo = np.full((90, 60, 3), 250, np.uint8)
    photo[30:60, 20:40] = 10  # a dark item on white
    image, caption = actions.model_input("vae-fashion", "upload", upload=_png(photo))
    assert image.shape == (28, 28) and image[0, 0] < 10 and image[14, 14] > 200 and caption == "your upload"


def test_drawings_count_and_empty_ones_are_refused(tiny_registry):
    drawing = np.full((280, 280), 255, np.uint8)
    drawing[100:180, 120:160] = 0
    image, _ = actions.model_input("vae-fashion", "drawing", drawing=drawing)
    assert image[14, 14] > 200
    with pytest.raises(InputError, match="empty"):
        actions.model_input("vae-fashion", "drawing", drawing=np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(InputError, match="empty"):
        actions.model_input("vae-fashion", "drawing", drawing=np.full((280, 280), 255, np.uint8))
    with pytest.raises(InputError, match="upload"):
        actions.model_input("vae-fashion", "upload")


@pytest.mark.parametrize("args", [("vae-nope", "test image", 0), ("vae-fashion", "webcam", 0),
                                  ("vae-fashion", "test image", 2000), ("vae-fashion", "test image", 1.5),
                                  ("vae-fashion", "test image", float("nan"))])
def test_bad_reconstruct_inputs_are_refused(tiny_registry, args):
    with pytest.raises(InputError):
        actions.reconstruct(*args)


def test_latent_map_and_points(tiny_registry):
    m = actions.latent_map()
    assert m["z"].shape == (2000, 2) and len(m["labels"]) == 2000 and len(m["names"]) == 10
    side = actions.GRID_SIDE * 28
    assert m["manifold"].shape == (side, side)
    assert actions.decode_point(0.5, -1).shape == (168, 168)
    with pytest.raises(InputError):
        actions.decode_point(9, 0)


def test_interpolate_and_sample(tiny_registry, tmp_path):
    strip, gif = actions.interpolate("vae-fashion", 0, 1, 5)
    with Image.open(gif) as im:
        assert im.n_frames == 8  # there and back without repeating the ends
    assert strip.ndim == 2
    a, b = actions.sample("vae-fashion", 7, 1.0, 3), actions.sample("vae-fashion", 7, 1.0, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, actions.sample("vae-fashion", 7, 1.0, 3, "mean", actions.PRIORS[1]))
    with pytest.raises(InputError):
        actions.sample("vae-fashion", 7, 1.0, 3, "mean", "uniform")
    with pytest.raises(InputError):
        actions.sample("vae-fashion", 7, 5.0, 3)


def test_held_out_class_view(tiny_registry):
    r = actions.anomaly("likelihood (bits/dim)", 95)
    c = r["confusion"]
    assert r["anomal_name"] == "Bag" and 0 <= r["auroc"] <= 1
    total_bags = c["true_positives"] + c["false_negatives"]
    normal = c["false_positives"] + c["true_negatives"]
    assert total_bags + normal == 2000 and 0.03 < c["false_positives"] / normal < 0.07
    corrected = actions.anomaly("complexity-corrected", 99)
    assert corrected["confusion"]["false_positives"] < c["false_positives"]
    with pytest.raises(InputError):
        actions.anomaly("entropy", 95)


def test_score_one_image(tiny_registry):
    r = actions.score_image("test image", 3)
    assert r["heatmap"].shape == (168, 168, 3) and 0 <= r["percentile_raw"] <= 100


def test_out_of_distribution_view(tiny_registry):
    r = actions.out_of_distribution()
    assert 0 <= r["auroc_raw"] <= 1 and 0 <= r["auroc_corrected"] <= 1 and r["why"]
    sets = {row["set"] for row in r["raw"]}
    assert sets == {"clothes (in)", "digits (out)"}


def test_thumbnails_caption_index_and_class(tiny_registry):
    thumbs = actions.thumbnails("vae-fashion", 5)
    assert len(thumbs) == 5 and thumbs[0][0].shape == (56, 56)
    image, name = actions.test_image("vae-fashion", 3)
    assert thumbs[3][1] == f"3: {name}"


def test_what_the_tab_shows_is_put_into_words_here(tiny_registry):
    shown, recon, error, text = actions.reconstruct_shown("vae-fashion", "test image", 5, None, None, "mean", 0)
    assert shown.shape == recon.shape == (168, 168) and "test image 5" in text and "bits/dim" in text
    points, manifold, point = actions.latent_map_view(0.5, -0.5)
    assert len(points["z1"]) == len(points["z2"]) == len(points["class"]) == actions.MAP_N
    assert set(points["class"]) <= set(actions.MAP_CLASSES) and manifold.ndim == point.ndim == 2
    text, histogram, roc, top = actions.anomaly_shown("likelihood (bits/dim)", 95)
    assert text.startswith("**AUROC ") and "95th percentile" in text and histogram and roc and top.ndim == 2
    image, heat, text = actions.score_shown("test image", 3, None, None)
    assert "bits/dim, higher than" in text and heat.shape[:2] == image.shape[:2]


def test_an_empty_drawing_says_so_whatever_reaches_the_action(tiny_registry):
    with pytest.raises(InputError, match="The drawing is empty"):
        actions.model_input("vae-fashion", "drawing", drawing=None)
