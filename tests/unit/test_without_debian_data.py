"""Every tab's first click works where Debian's dataset-fashion-mnist is missing (a Space that did
not install packages.txt), on the shipped models, and says what it falls back to.

CI has the Debian data, so each test hides it: $PLAYGROUND_DATA_DIR points at an empty folder and
the cached arrays are dropped before and after.
"""
import numpy as np
import pytest

from playground import compare, data
from playground.actions import compare as compare_actions
from playground.actions import diffusion, gallery, gan, pixelcnn, style, superres, vae

INSTALL = "sudo apt-get install dataset-fashion-mnist"


def _forget():
    data.clear_cache()
    gan._training_set.cache_clear()


@pytest.fixture
def no_debian_data(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    _forget()
    assert not data.fashion_mnist_installed()
    yield
    _forget()


def _last(stream):
    last = None
    for last in stream:
        pass
    return last


def _real_grid(grid):
    grid = np.asarray(grid)
    return grid.dtype == np.uint8 and grid.ndim >= 2 and min(grid.shape[:2]) > 20 and grid.std() > 1


def test_an_empty_data_folder_is_not_an_installed_fashion_mnist(tmp_path):
    assert not data.fashion_mnist_installed(tmp_path)
    assert data.available(tmp_path)["fashion-mnist"] is False
    for prefix in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            (tmp_path / f"{prefix}-{kind}-ubyte.gz").write_bytes(b"")
    assert data.fashion_mnist_installed(tmp_path)


def test_gan_generate_and_is_it_new_fall_back_to_the_gallery(no_debian_data):
    grid, made = gan.generate("gan-fashion", 0, 2, 1.0)
    assert _real_grid(grid) and made["images"].shape[0] == 4
    summary = gan.novelty("gan-fashion", made["images"])
    assert summary["pixels"].ratio.shape == (4,) and np.isfinite(summary["pixels"].ratio).all()
    assert summary["features"].index.max() < 2000  # indices into the 2,000 shipped images
    assert summary["note"] == gan.GALLERY_NOTE == gan.training_note("gan-fashion")
    assert "2,000 shipped Fashion-MNIST test images" in summary["note"] and INSTALL in summary["note"]
    result, strips = gan.is_new("gan-fashion", made["images"][0])
    assert set(strips) == {"pixels", "features"} and result["note"] == gan.GALLERY_NOTE
    gallery_images, _ = data.fashion_gallery()
    assert np.array_equal(gan.real_example("gan-fashion", 0)[0], gallery_images[0])


def test_gan_precision_recall_and_discriminator_fall_back_to_the_gallery(no_debian_data):
    pr = gan.fidelity_diversity("gan-fashion", 0, 1.0)
    assert 0 < pr["precision"] <= 1 and 0 < pr["recall"] <= 1 and pr["note"] == gan.GALLERY_NOTE
    assert gan.training_size("gan-fashion") == 2000
    _, made = gan.generate("gan-fashion", 0, 1, 1.0)
    image, label = gan.real_example("gan-fashion", 1999)
    fake, real = gan.judge("gan-fashion", made, image, label)
    assert fake.shape == (1,) and np.isfinite(real)


def test_the_faces_gan_needs_no_fallback(no_debian_data):
    _, made = gan.generate("gan-faces", 0, 1, 1.0)
    assert gan.novelty("gan-faces", made["images"])["note"] == "" and gan.training_note("gan-faces") == ""
    assert gan.timeline("gan-faces")[0]
    strip, gif = gan.walk("gan-faces", 0, 1, 3)
    assert _real_grid(strip) and open(gif, "rb").read(6) == b"GIF89a"


def test_compare_takes_memorisation_from_the_cards_and_says_so(no_debian_data):
    *_, (items, rows, status, path) = compare_actions.run("Fashion-MNIST", ["gan-fashion"], n=20)
    row = {r[0]: r for r in rows}["gan-fashion"]
    assert str(row[compare.COLUMNS.index("memorisation rate")]).endswith("(card)")
    assert compare.CARD_MEMORISATION.format(data.FASHION_TRAIN_MISSING) in status and INSTALL in status and path.endswith(".zip")
    assert len(items) == 2 and _real_grid(items[1][0])


def test_vae_reconstruct_and_sample(no_debian_data):
    r = vae.reconstruct("vae-fashion", "test image", 0)
    assert r["psnr"] > 10 and r["bits_per_dim"] > 0 and _real_grid(r["reconstruction"])
    assert _real_grid(vae.sample("vae-fashion", 0, 1.0, 2))


def test_diffusion_generate_and_forward(no_debian_data):
    xt, x0, text, gif = _last(diffusion.generate("ddpm-fashion", diffusion.EVERY_CLASS, 2.0, "DPM-Solver++", 3, 0, 1))
    assert _real_grid(x0) and "3 DPM-Solver++ steps" in text and open(gif, "rb").read(6) == b"GIF89a"
    shown, numbers = diffusion.forward(data.fashion_gallery()[0][0], 300)
    assert np.asarray(shown).size and 0 < numbers["alpha_bar"] < 1


def test_pixelcnn_sample(no_debian_data):
    choice = pixelcnn.class_choices("pixelcnn-fashion")
    grid, text, gif = _last(pixelcnn.sample("pixelcnn-fashion", choice[0] if choice else None, 1.0, 0, 1, True))
    assert _real_grid(grid) and "1 images" in text and open(gif, "rb").read(6) == b"GIF89a"


def test_style_fast_network(no_debian_data):
    content, _style = style.pair(None, style.content_names()[0], None, style.style_names()[0], 128)
    image = style.fast(content, style.first_fast(), 1.0)
    assert image.shape == content.shape and not np.array_equal(image, content)


def test_superres_upscales_the_first_pick(no_debian_data):
    name, path = superres.default_pick()
    assert name is not None
    res = superres.upscale_all(path, 2, True)
    assert res["truth"] is not None and "bicubic" in res["outputs"]
    assert all(np.isfinite(psnr) and psnr > 15 for _, psnr, _, _ in res["rows"])


def test_data_tab_shows_fashion_mnist_from_the_gallery(no_debian_data):
    grid, note = gallery.sample("Fashion-MNIST", 3, 0)
    assert _real_grid(grid) and "2,000 images here" in note
