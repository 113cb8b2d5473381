"""The Super-resolution tab's actions on tiny untrained networks in a temporary registry."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from playground.actions import superres as actions
from playground.errors import InputError
from playground.families import superres
from tests.conftest import TinyModel

torch.set_num_threads(1)
CONFIGS = {"tiny-fast-x4": dict(arch="fast", scale=4, features=8, mid=4),
           "sr-edsr-tiny-x4": dict(arch="edsr", scale=4, channels=8, blocks=1),
           "tiny-fast-x2": dict(arch="fast", scale=2, features=8, mid=4)}
TINY_MODELS = {model_id: TinyModel("superres", config, resolution=f"x{config['scale']}")
               for model_id, config in CONFIGS.items()}


def _png(h, w):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_methods_per_scale(tiny_registry):
    assert actions.methods(4) == [*actions.CLASSICAL, "sr-edsr-tiny-x4", "tiny-fast-x4"]
    assert actions.methods(2) == [*actions.CLASSICAL, "tiny-fast-x2"]


def test_upscale_every_method_side_by_side(tiny_registry):
    result = actions.upscale_all(_png(20, 24), 4)
    assert list(result["outputs"]) == actions.methods(4) and result["truth"] is None
    assert all(o.shape == (80, 96, 3) for o in result["outputs"].values())
    rows = actions.table(result)
    assert [r[0] for r in rows] == actions.methods(4) and all(r[1] is None and r[4] >= 0 for r in rows)


def test_ground_truth_mode_measures_against_the_original(tiny_registry):
    image = superres.classical(np.random.default_rng(1).integers(0, 256, (12, 13, 3), dtype=np.uint8), 4)
    result = actions.upscale_all(image, 4, True)
    assert result["input"].shape == (12, 13, 3) and result["truth"].shape == (48, 52, 3)
    rows = {r[0]: r for r in actions.table(result)}
    assert rows["bicubic"][2] == 0 and rows["bicubic"][1] > rows["nearest"][1]
    # an untrained network is bicubic (torch's), so it lands near PIL's bicubic
    assert abs(rows["tiny-fast-x4"][1] - rows["bicubic"][1]) < 1.5


def test_slider_and_zoom(tiny_registry):
    result = actions.upscale_all(_png(32, 32), 2, True)
    assert actions.slider_default(result) == "tiny-fast-x2"
    assert actions.slider_default(actions.upscale_all(_png(16, 16), 4)) == "sr-edsr-tiny-x4"
    before, after = actions.slider_pair(result, "tiny-fast-x2")
    assert before.shape == after.shape == (32, 32, 3)
    assert actions.slider_pair(result, "ground truth")[1] is result["truth"]
    crops = actions.zoom_crops(result, 0.25, 1.0)
    assert [c[1] for c in crops] == [*actions.methods(2), "ground truth"]
    assert len({c[0].shape for c in crops}) == 1 and crops[0][0].shape[0] >= actions.ZOOM // 2
    with pytest.raises(InputError, match="Method"):
        actions.slider_pair(result, "magic")
    with pytest.raises(InputError, match="Crop centre x"):
        actions.zoom_crops(result, float("nan"), 0.5)
    with pytest.raises(InputError, match="Upscale an image first"):
        actions.zoom_crops(None, 0.5, 0.5)


@pytest.mark.parametrize("scale,truth,match", [(3, False, "Scale"), ("4.0", False, "Scale"), (" 4", False, "Scale"),
                                                ("3", False, "Scale"), (True, False, "Scale"),
                                                (4, "yes", "Ground-truth mode"), (4, None, "Ground-truth mode")])
def test_bad_settings_are_refused(tiny_registry, scale, truth, match):
    with pytest.raises(InputError, match=match):
        actions.upscale_all(_png(16, 16), scale, truth)


def test_size_limits(tiny_registry, monkeypatch):
    monkeypatch.setattr(actions, "MAX_PIXELS", 32 * 32)
    shrunk = actions.upscale_all(_png(40, 40), 4)  # issue 25: shrunk to the cap and said so, not refused
    assert shrunk["input"].shape == (32, 32, 3) and shrunk["outputs"]["bicubic"].shape == (128, 128, 3)
    assert shrunk["note"] == ("Your 40x40 image was shrunk to 32x32 first: the largest image to upscale at x4 here "
                              "has 1,024 pixels, so that every method finishes in about a minute.")
    assert actions.upscale_all(_png(40, 40), 4, True)["input"].shape == (10, 10, 3)  # downscaled first
    assert actions.upscale_all(_png(40, 40), 4, True)["note"] is None
    with pytest.raises(InputError, match="at least 8 pixels"):
        actions.upscale_all(_png(4, 30), 4)
    with pytest.raises(InputError, match="at least 32 pixels"):
        actions.upscale_all(_png(20, 40), 4, True)
    with pytest.raises(InputError):
        actions.upscale_all(b"not an image", 4)
    with pytest.raises(InputError):
        actions.upscale_all(None, 4)


def test_chosen_methods_and_examples(tiny_registry):
    result = actions.upscale_all(_png(16, 16), 2, False, ["bicubic"])
    assert list(result["outputs"]) == ["bicubic"]
    with pytest.raises(InputError, match="Method"):
        actions.upscale_all(_png(16, 16), 2, False, ["tiny-fast-x4"])
    assert actions.pick("astronaut").shape == (512, 512, 3)
    with pytest.raises(InputError, match="Example image"):
        actions.pick("../../etc/passwd")


def test_bench_cases(tiny_registry):
    cases = actions.bench_cases()
    assert len(cases) == 2
    assert all(fn(0).shape == (512, 512, 3) for fn in cases.values())


def test_the_tab_opens_with_a_picture_to_upscale(tiny_registry):
    name, path = actions.default_pick()
    assert name in actions.PICKS and path.endswith((".png", ".jpg"))
    res = actions.upscale_all(path, 4, True)  # what the first click sends: the preloaded file
    assert res["truth"] is not None and res["truth"].shape == actions.pick(name).shape


@pytest.mark.parametrize("width, height", [(4096, 4), (4, 4096), (1, 1), (2, 2), (8, 4096), (4096, 8)])
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("truth", [False, True])
def test_elongated_and_tiny_images_give_a_result_or_a_clear_message(tiny_registry, width, height, scale, truth):
    try:
        result = actions.upscale_all(_png(height, width), scale, truth)
    except InputError as err:
        assert f"The image is {width}x{height}" in str(err) and "pixels on each side" in str(err)
        assert min(width, height) < actions.MIN_SIDE * (scale if truth else 1)
        return
    assert min(width, height) >= actions.MIN_SIDE and not truth
    assert all(o.shape == (height * scale, width * scale, 3) for o in result["outputs"].values())
    assert len(actions.zoom_crops(result, 0.5, 0.5)) == len(result["outputs"])


def test_every_shipped_superres_network_takes_the_least_side():
    """MIN_SIDE holds for the networks in weights/: each upscales a MIN_SIDE-high strip."""
    import json
    from pathlib import Path
    weights = Path(__file__).resolve().parents[2] / "weights"
    configs = [json.loads(p.read_text()) for p in sorted(weights.glob("*/config.json"))
               if p.parent.name.startswith(("sr-", "esrgan-"))]
    assert len(configs) >= 6
    strip = np.random.default_rng(0).integers(0, 256, (actions.MIN_SIDE, 5 * actions.MIN_SIDE, 3), dtype=np.uint8)
    for config in configs:
        model = superres.build(config)
        for image in (strip, np.ascontiguousarray(strip.transpose(1, 0, 2))):
            out = superres.upscale(model, image)
            assert out.shape == (image.shape[0] * config["scale"], image.shape[1] * config["scale"], 3)


def test_the_scale_as_the_api_documents_it(tiny_registry):
    """The API lists the scale's choices as '2' and '4': those strings are the scales."""
    result = actions.upscale_all(_png(16, 16), "4", False, ["bicubic"])
    assert result["scale"] == 4 and result["outputs"]["bicubic"].shape == (64, 64, 3)
    assert actions.methods("2") == actions.methods(2)


def test_an_ordinary_photo_upscales_whole(tiny_registry):
    """Issue 25: a 640x427 photo at x2 (and x4) runs in tiles, whole, with no crop or shrink."""
    for scale in (2, 4):
        result = actions.upscale_all(_png(427, 640), scale, False)
        assert result["note"] is None and result["input"].shape == (427, 640, 3)
        assert all(o.shape == (427 * scale, 640 * scale, 3) for o in result["outputs"].values())
        assert [r[0] for r in actions.table(result)] == actions.methods(scale)
