"""Every public endpoint that shows images returns PNGs carrying their recipe, and the recipe makes them again
byte for byte (issue 26): call with a setting that is not the default, read the recipe from the PNG, call the
same endpoint with the recipe's settings (the result cache emptied between, so the second call computes) and
compare the files.

Endpoints whose image came from an upload say so in the recipe (inputs="upload"); they are called again with
the same upload, since the upload is not part of the recipe.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground import provenance
from tests.conftest import _serve

pytestmark = pytest.mark.slow

# api name -> the settings sent first (link slugs from the endpoint's view: tabs.provenance.link_slug) and the
# uploads ({image control slug: file}); small settings keep the whole file to a few minutes on one thread
UPLOAD = "upload"
CASES = {
    "generate": {"model": "gan-fashion", "class": "Bag", "grid_size": 1, "seed": 3, "truncation_psi": 0.7},  # a
    # class the menu gets only when that model is picked
    "walk": {"steps": 2, "first_seed": 2},
    "timeline": {"model": "gan-fashion"},
    "gan_two_settings": {"first_truncation": 0.5, "seed": 1},
    "discriminate": {"model": "gan-fashion", "training_image_to_compare": 5},  # the model of the session's grid
    "reconstruct": {"model": "vae-fashion", "test_image": 7, "decoding": "sample", "seed": 2},
    "latent_map": {"z1": 0.5},
    "interpolate": {"steps": 2, "second_test_image": 3},
    "sample": {"grid_size": 1, "seed": 4, "temperature": 0.8},
    "anomaly": {"flag_images_scoring_above_this_percentile_of_normal_images": 90},
    "score": {"test_image": 5},
    "vae_two_settings": {"second_temperature": 0.5},
    "diffusion_generate": {"grid_size": 1, "steps": 2, "sampler": "DDIM", "seed": 1},
    "compare_samplers": {"samplers": ["DDIM"], "steps": [5], "generate.seed": 2},
    "forward_process": {"t": 100, "noise_seed": 3},
    "diffusion_edit": {"strength": 0.2, "forward_process.image": UPLOAD},
    "diffusion_two_settings": {"first_steps": 2, "second_steps": 1},
    "pixelcnn_sample": {"grid_size": 1, "seed": 2},
    "pixelcnn_complete": {"rows_hidden_at_the_bottom": 2, "completions": 1, "test_image": 4},
    "pixelcnn_likelihood": {"test_image": 3},
    "receptive_field": {"row": 3},
    "pixelcnn_two_settings": {"second_temperature": 0.5},
    "style_optimise": {"iterations": 2, "resolution": 128, "seed": 1},
    "style_fast": {"resolution": 128, "strength": 0.5},
    "style_baseline": {"resolution": 128, "baseline": "histogram matching"},
    "style_compare": {"resolution": 128, "right": "histogram matching"},
    "style_grams": {"resolution": 128},
    "superres_upscale": {"scale": 2, "your_image": UPLOAD},
    "denoise": {"photo": "coffee", "noise_sigma": 40, "noise_seed": 2, "colour": "colour"},
    "compare": {"models": ["gan-fashion"], "compare_n": 20, "seed": 1},
    "data_sample": {"grid_size": 2, "seed": 3},
    "inspect_upload": {"any_image": UPLOAD},
}
# Not here: text_to_image (its hub model needs the network; its recipe is made the same way) and superres_example
# (it fills the upload control with an example: an input, not a result). The slowest two keep the result cache for
# the second call, whose key is every argument, the weights' SHA-256 and the code, so a hit still means the recipe
# named the same computation (tests/unit/test_results.py: a hit returns what a fresh run gives). The others compute.
KEEP_CACHE = ("pixelcnn_likelihood", "pixelcnn_two_settings")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(client, results folder) of an app of this module's own, whose result cache the tests empty."""
    from gradio_client import Client
    results = tmp_path_factory.mktemp("results")
    for _, url in _serve(env={"PLAYGROUND_RESULTS_DIR": str(results)}):
        yield Client(url, verbose=False), results


@pytest.fixture(scope="module")
def built():
    from tabs import controls
    return controls.built_app()[0]


@pytest.fixture(scope="module")
def upload(tmp_path_factory):
    """A small picture to upload (a drawing or a photo, as the endpoint takes it)."""
    path = tmp_path_factory.mktemp("upload") / "picture.png"
    y, x = np.mgrid[0:48, 0:40]
    Image.fromarray(((x * 5 + y * 3) % 256).astype(np.uint8)).convert("RGB").save(path)
    return str(path)


def _arguments(demo, api_name, settings, upload_path):
    """Positional arguments for an endpoint: each input's value in settings, else its control's default."""
    from tabs import controls, provenance as tab_provenance
    slugs = tab_provenance.arguments(demo, {"endpoint": api_name, "settings": {}})
    fn = next(f for f in demo.fns.values() if f.api_name == api_name and f.api_visibility == "public")
    table = {c.component._id: c for c in controls.controls(demo).values()}
    args = []
    for (slug, _), block in zip(slugs, fn.inputs):
        control = table.get(block._id)
        if control is None:  # a gr.State: not a parameter of the API
            continue
        if control.kind in controls.NOT_SETTABLE:
            args.append(_image(control, upload_path) if settings.get(slug) == UPLOAD else None)
        else:
            args.append(settings[slug] if slug in settings else control.default)
    return args


def _image(control, path):
    from gradio_client import handle_file
    if control.kind == "sketchpad":
        return {"background": None, "layers": [], "composite": handle_file(path), "id": None}
    return handle_file(path)


def _pngs(result):
    """The PNG files among an endpoint's outputs (images, galleries, sliders), in order."""
    found = []
    for value in result if isinstance(result, (tuple, list)) else [result]:
        if isinstance(value, str) and value.endswith(".png"):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found += _pngs(value)
        elif isinstance(value, dict):
            found += _pngs([v for k, v in value.items() if k in ("image", "path", "value")])
    return found


def _recall(demo, api_name, rec, first_args):
    """The arguments of the second call: the recipe's settings, and the first call's upload where it has one."""
    from tabs import provenance as tab_provenance
    pairs = [(slug, value) for slug, value in tab_provenance.arguments(demo, rec) if slug is not None]  # no States
    return [first if value is None and rec.get("inputs") == provenance.UPLOAD else value
            for (slug, value), first in zip(pairs, first_args)]


@pytest.mark.parametrize("api_name", list(CASES))
def test_an_endpoints_png_carries_a_recipe_that_makes_it_again(served, built, upload, api_name):
    client, results = served
    settings = CASES[api_name]
    args = _arguments(built, api_name, settings, upload)
    first = _pngs(client.predict(*args, api_name=f"/{api_name}"))
    assert first, f"{api_name} returned no PNG"
    rec = provenance.read_recipe(first[0])
    assert (rec["endpoint"], rec["app"]) == (api_name, provenance.app_name())
    for slug, value in settings.items():
        if value != UPLOAD:
            assert rec["settings"][slug] == value, (slug, rec["settings"])
    uploaded = any(v == UPLOAD for v in settings.values())
    assert rec.get("inputs") == (provenance.UPLOAD if uploaded else None)
    assert [provenance.read_recipe(p) for p in first] == [rec] * len(first)
    names = [Path(p).name for p in first]
    assert all(n.startswith(rec["tab"].replace("_", "-") + "-") for n in names), names
    if api_name not in KEEP_CACHE:
        shutil.rmtree(results, ignore_errors=True)  # the second call computes again
        os.makedirs(results, exist_ok=True)
    again = _pngs(client.predict(*_recall(built, api_name, rec, args), api_name=f"/{api_name}"))
    assert [Path(p).name for p in again] == names
    for a, b in zip(first, again):
        assert Path(a).read_bytes() == Path(b).read_bytes(), f"{api_name}: {Path(a).name} differs"
