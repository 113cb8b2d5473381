"""Every downloadable image is a PNG carrying its recipe (issue 26): written, read back, byte for byte the same."""
import io
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from playground import __version__, provenance, watermark
from playground.errors import InputError

SETTINGS = {"model": "gan-faces", "class": "all classes, in turn", "seed": 3, "grid_size": 2,
            "truncation_psi": 0.7}


def _recipe(**settings):
    return provenance.recipe("gan", "main", "generate", {**SETTINGS, **settings})


def _pixels(seed=0, shape=(20, 30, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_a_recipe_names_the_app_the_view_the_model_its_weights_and_the_seed():
    rec = _recipe()
    assert list(rec) == list(provenance.RECIPE_KEYS)
    assert rec["app"] == f"Generative Playground {__version__}"
    assert (rec["tab"], rec["view"], rec["endpoint"], rec["model"], rec["seed"]) == \
        ("gan", "main", "generate", "gan-faces", 3)
    assert rec["weights_sha256"] and len(rec["weights_sha256"]) == 64
    assert rec["settings"] == SETTINGS


def test_a_recipe_without_a_model_or_seed_says_none_and_an_upload_is_named():
    rec = provenance.recipe("pixelcnn", "receptive_field", "receptive_field", {"row": 3, "column": 4})
    assert (rec["model"], rec["weights_sha256"], rec["seed"]) == (None, None, None)
    assert "inputs" not in rec
    rec = provenance.recipe("data", "inspect", "inspect_upload", {}, inputs=provenance.UPLOAD)
    assert rec["inputs"] == "upload"
    style = provenance.recipe("style_transfer", "fast_network", "style_fast",
                              {"content_photo": "astronaut", "fast_network": "style-fast-brick", "first_seed": 4})
    assert style["model"] == "style-fast-brick" and style["seed"] == 4


def test_save_and_read_round_trip(tmp_path):
    rec, pixels = _recipe(), _pixels()
    path = provenance.save_png(pixels, rec, "gan-generate-gan-faces-seed3.png", folder=tmp_path)
    assert path.endswith("/gan-generate-gan-faces-seed3.png") and path.startswith(str(tmp_path))
    assert provenance.read_recipe(path) == rec
    with open(path, "rb") as f:
        data = f.read()
    assert provenance.read_recipe(data) == rec
    image = Image.open(io.BytesIO(data))
    saved = np.asarray(image)  # the pixels with the invisible mark: found by the detector, close to the original
    assert saved.shape == pixels.shape and watermark.detect(saved).found and not watermark.detect(pixels).found
    assert watermark.psnr(pixels, saved) > 35
    assert image.text[provenance.KEY] == json.dumps(rec, sort_keys=True, separators=(",", ":"))
    line = image.text["parameters"]
    assert "\n" not in line and line.startswith("model: gan-faces, class: all classes, in turn, seed: 3")
    assert f"weights sha256: {rec['weights_sha256']}" in line


def test_the_bytes_are_deterministic_and_named_by_their_hash(tmp_path):
    rec = _recipe()
    a = provenance.save_png(_pixels(), rec, "a.png", folder=tmp_path / "one")
    b = provenance.save_png(_pixels(), dict(reversed(list(rec.items()))), "a.png", folder=tmp_path / "two")
    assert open(a, "rb").read() == open(b, "rb").read()
    assert a.split("/")[-2] == b.split("/")[-2] == __import__("hashlib").sha256(open(a, "rb").read()).hexdigest()
    assert provenance.save_png(_pixels(), rec, "a.png", folder=tmp_path / "one") == a  # written once
    c = provenance.save_png(_pixels(), _recipe(seed=4), "a.png", folder=tmp_path / "one")
    assert c != a and open(c, "rb").read() != open(a, "rb").read()
    for key in (b"tIME", b"eXIf", b"pHYs"):
        assert key not in open(a, "rb").read()


@pytest.mark.parametrize("shape", [(8, 9), (8, 9, 1), (8, 9, 3), (8, 9, 4)])
def test_every_pixel_layout_round_trips(tmp_path, shape):
    pixels = _pixels(1, shape)
    path = provenance.save_png(pixels, _recipe(), "x.png", folder=tmp_path)
    expected = pixels.reshape(shape[:2]) if len(shape) == 3 and shape[2] == 1 else pixels
    saved = np.asarray(Image.open(path))  # marked (playground.watermark) where the picture is large enough
    assert saved.shape == expected.shape and watermark.psnr(expected, saved) > 35
    if len(shape) == 3 and shape[2] == 4:
        assert np.array_equal(saved[..., 3], expected[..., 3])  # transparency as it was
    pil = provenance.save_png(Image.fromarray(_pixels(1, (8, 9, 3))), _recipe(), "y.png", folder=tmp_path)
    assert provenance.read_recipe(pil)["seed"] == 3


def test_unicode_settings_survive_and_stay_on_one_line(tmp_path):
    rec = provenance.recipe("diffusion", "text_to_image", "text_to_image",
                            {"prompt": "un renard roux\nsous la neige, 狐", "seed": 0})
    path = provenance.save_png(_pixels(), rec, "t.png", folder=tmp_path)
    assert provenance.read_recipe(path)["settings"]["prompt"] == "un renard roux\nsous la neige, 狐"
    assert "\n" not in Image.open(path).text["parameters"]


def test_a_name_is_slugs_only(tmp_path):
    for bad in ("../x.png", "a b.png", "A.png", "x.jpg", "", "x" * 200 + ".png"):
        with pytest.raises(ValueError):
            provenance.save_png(_pixels(), _recipe(), bad, folder=tmp_path)


def test_the_default_folder_is_gradios_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    assert provenance.save_png(_pixels(), _recipe(), "z.png").startswith(str(tmp_path) + "/")


def _png_with(text, key=provenance.KEY, zip=False):
    info = PngImagePlugin.PngInfo()
    info.add_itxt(key, text, zip=zip)
    out = io.BytesIO()
    Image.fromarray(_pixels()).save(out, format="png", pnginfo=info)
    return out.getvalue()


def _says(source, words):
    with pytest.raises(InputError) as caught:
        provenance.read_recipe(source)
    assert words in str(caught.value)
    return str(caught.value)


def test_every_error_is_a_sentence_of_the_app(tmp_path):
    jpeg = io.BytesIO()
    Image.fromarray(_pixels()).save(jpeg, format="jpeg")
    _says(jpeg.getvalue(), "not a PNG")
    _says(b"", "not a PNG")
    _says(b"hello", "not a PNG")
    _says(tmp_path / "missing.png", "could not be read")
    plain = io.BytesIO()
    Image.fromarray(_pixels()).save(plain, format="png")
    _says(plain.getvalue(), "carries no Generative Playground recipe")
    _says(_png_with("seed: 3, steps: 20", key="parameters"), "carries no Generative Playground recipe")
    _says(_png_with("{not json"), "damaged")
    _says(_png_with("[1, 2]"), "damaged")
    _says(_png_with(json.dumps({"app": "Generative Playground 0.26.0"})), "damaged")
    other = json.dumps({**_recipe(), "app": "Stable Diffusion web UI"})
    _says(_png_with(other), "written by 'Stable Diffusion web UI'")
    _says(_png_with(json.dumps({**_recipe(), "app": "Generative Playgroundish 1"})),
          "not by Generative Playground")
    truncated = open(provenance.save_png(_pixels(), _recipe(), "t.png", folder=tmp_path), "rb").read()[:60]
    _says(truncated, "carries no Generative Playground recipe")


def test_a_compressed_or_latin1_recipe_is_read_too():
    rec = _recipe()
    assert provenance.read_recipe(_png_with(json.dumps(rec), zip=True)) == rec
    info = PngImagePlugin.PngInfo()
    info.add_text(provenance.KEY, json.dumps(rec), zip=True)  # zTXt
    out = io.BytesIO()
    Image.fromarray(_pixels()).save(out, format="png", pnginfo=info)
    assert provenance.read_recipe(out.getvalue()) == rec


def test_a_recipe_becomes_the_link_query_of_its_view():
    rec = provenance.recipe("diffusion", "compare_samplers", "compare_samplers",
                            {"model": "ddpm-fashion", "samplers": ["DDIM", "Euler"], "steps": [5, 10],
                             "generate.seed": 2, "fast": True, "prompt": "a fox & a hen"})
    assert provenance.query(rec) == ("tab=diffusion&view=compare_samplers&model=ddpm-fashion&samplers=DDIM%2CEuler"
                                     "&steps=5%2C10&generate.seed=2&fast=true&prompt=a+fox+%26+a+hen")
