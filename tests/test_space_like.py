"""A Space-like run: the app started from the deploy snapshot alone (playground.deploy_space), with
Debian's Fashion-MNIST hidden, answers every tab's first click over HTTP.

The snapshot is copied to a temporary folder, so a file the app needs but the snapshot leaves out
fails here; $PLAYGROUND_DATA_DIR points at an empty folder, as on a Space without packages.txt.
Sizes and steps are small so the whole run stays near a minute.
"""
import shutil
import subprocess

import pytest

from playground import compare, data, deploy_space
from playground.actions import gan, pixelcnn, style, superres
from tests.conftest import ARTIFACTS, start_app

pytestmark = pytest.mark.slow  # starts the app from a copy of the deploy snapshot


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    from gradio_client import Client
    copy = tmp_path_factory.mktemp("space")
    for rel, path in deploy_space.snapshot():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy / rel)
    empty = tmp_path_factory.mktemp("no-fashion-mnist")
    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = start_app(env={data.DATA_DIR_ENV: str(empty)}, root=copy)
    yield Client(url, verbose=False)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def _gif(path):
    with open(path, "rb") as f:
        return f.read(6) == b"GIF89a"


def test_gan_tab(space):
    grid, *_, verdict = space.predict("gan-fashion", gan.ALL, 0, 2, 1.0, api_name="/generate")
    assert _png(grid) and gan.GALLERY_NOTE in verdict
    pr = space.predict("gan-fashion", gan.ALL, 0, 1.0, api_name="/precision_recall")
    assert "precision" in pr and "recall" in pr and gan.GALLERY_NOTE in pr
    real, scores = space.predict("gan-fashion", 1999, None, api_name="/discriminate")
    assert _png(real) and "Real image" in scores and gan.GALLERY_NOTE in scores
    strip, walk = space.predict("gan-faces", gan.ALL, 0, 1, 3, api_name="/walk")
    assert _png(strip) and _gif(walk)
    frames, losses = space.predict("gan-fashion", api_name="/timeline")
    assert len(frames) > 3 and losses["data"]


def test_vae_tab(space):
    shown, recon, error, text = space.predict("vae-fashion", "test image", 0, None, None, "mean", 0,
                                              api_name="/reconstruct")
    assert _png(recon) and "PSNR" in text


def test_diffusion_tab(space):
    xt, x0, status, gif = space.predict("ddpm-fashion", "every class in turn", 2, "DPM-Solver++", 3, 0, 1,
                                        api_name="/diffusion_generate")
    assert _png(x0) and "3 DPM-Solver++ steps" in status and _gif(gif)
    noisy, numbers, *_ = space.predict(None, 300, "linear", 0, api_name="/forward_process")
    assert _png(noisy) and "alpha-bar" in numbers


def test_pixelcnn_tab(space):
    choices = pixelcnn.class_choices("pixelcnn-fashion")
    grid, status, gif = space.predict("pixelcnn-fashion", choices[0] if choices else None, 1.0, 0, 1, True,
                                      api_name="/pixelcnn_sample")
    assert _png(grid) and "1 images" in status and _gif(gif)


def test_style_tab(space):
    content_view, style_view, result, status = space.predict(
        None, style.content_names()[0], None, style.style_names()[0], 128, False, style.first_fast(), 1.0,
        api_name="/style_fast")
    assert _png(result) and style.first_fast() in status


def test_superres_tab(space):
    from gradio_client import handle_file
    _, path = superres.default_pick()
    table, gallery, slider, method, crops, _notice = space.predict(handle_file(path), 4, True,
                                                                  api_name="/superres_upscale")
    assert "bicubic" in [row[0] for row in table["data"]] and len(gallery) >= 4


def test_compare_tab_says_where_memorisation_comes_from(space):
    grids, table, status, export = space.predict("Fashion-MNIST", ["gan-fashion"], 20, 0, compare.MODEL_DEFAULT, 20,
                                                 api_name="/compare")
    row = {r[0]: r for r in table["data"]}["gan-fashion"]
    assert str(row[compare.COLUMNS.index("memorisation rate")]).endswith("(card)")
    assert compare.CARD_MEMORISATION.format(data.FASHION_TRAIN_MISSING) in status and export.endswith(".zip")


def test_data_and_models_tabs(space):
    grid, note = space.predict("Fashion-MNIST", 3, 0, api_name="/data_sample")
    assert _png(grid) and "2,000 images here" in note
    rows, memory = space.predict(api_name="/models_status")
    assert {"gan-fashion", "vae-fashion", "ddpm-fashion"} <= {r[0] for r in rows["data"]}
