"""The GAN tab's actions on tiny real models in a temporary registry."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground import data
from playground.actions import gan as actions
from playground.errors import InputError
from tests.conftest import SHIPPED, TinyModel

FACES = dict(dataset="orl-faces", resolution="64x64")
TINY_MODELS = {
    "gan-tiny": TinyModel("gan", {"latent_dim": 16, "g_width": 4, "d_width": 4, "image_size": 64, "channels": 1},
                          **FACES),
    "gan-tiny-cond": TinyModel("gan", {"latent_dim": 16, "g_width": 4, "d_width": 4, "image_size": 32, "channels": 1,
                                       "num_classes": 10, "output_size": 28, "dataset": "fashion-mnist"},
                               dataset="fashion-mnist", resolution="64x64"),
    "features-fashion": TinyModel("features", {"num_classes": 10, "width": 4, "feature_dim": 8, "image_size": 28,
                                               "dataset": "fashion-mnist"}, **FACES),
    "features-orl": TinyModel("features", {"num_classes": 40, "width": 4, "feature_dim": 8, "image_size": 64,
                                           "dataset": "orl-faces"}, **FACES),
    "features-orl-ssl": SHIPPED, "features-fashion-ssl": SHIPPED,  # the nearest-neighbour networks (small)
}
TINY_CACHES = (actions._training_set,)


def test_generate_is_seeded_and_validated(tiny_registry):
    grid, made = actions.generate("gan-tiny", 3, 2, 1.0)
    again, _ = actions.generate("gan-tiny", 3, 2, 1.0)
    other, _ = actions.generate("gan-tiny", 4, 2, 1.0)
    faces = made["images"]
    assert faces.shape == (4, 64, 64, 1) and made["labels"] is None and np.array_equal(grid, again) and not np.array_equal(grid, other)
    assert grid.shape == (2 * 128 + 3 * 2, 2 * 128 + 3 * 2)
    for bad in [("gan-tiny", 3, 9, 1.0), ("gan-tiny", 3, 2, float("nan")), ("gan-tiny", 3, 2, 0.33),
                ("nope", 3, 2, 1.0), ("gan-tiny", -1, 2, 1.0)]:
        with pytest.raises(InputError):
            actions.generate(*bad)


def test_truncation_zero_gives_one_face_for_every_seed(tiny_registry):
    _, a = actions.generate("gan-tiny", 1, 1, 0)
    _, b = actions.generate("gan-tiny", 2, 1, 0)
    assert np.array_equal(a["images"], b["images"])


@pytest.mark.parametrize("x, y, expected", [(2, 2, 0), (129, 2, 0), (133, 2, 1), (2, 133, 2), (259, 259, 3),
                                            (0, 0, None), (400, 10, None)])
def test_click_maps_to_the_face_under_it(x, y, expected):
    assert actions.grid_index(x, y, 2) == expected


def test_walk_writes_a_looping_gif(tiny_registry):
    strip, path = actions.walk("gan-tiny", 0, 1, 5)
    with Image.open(path) as gif:
        assert gif.n_frames == 8 and gif.size == (256, 256)
    _, first = actions.generate("gan-tiny", 0, 1, 1.0)
    assert np.array_equal(strip[2:130, 2:130], actions.zoom(first["images"][0]))


def test_a_training_face_is_flagged_as_a_copy_and_a_generated_one_is_not(tiny_registry):
    train = actions._training_set("gan-tiny")["images"]
    result, strips = actions.is_new("gan-tiny", train[17])
    assert result["pixels"].index[0, 0] == 17 and result["pixels"].copy[0]
    assert result["features"].index[0, 0] == 17 and result["features"].copy[0]
    _, made = actions.generate("gan-tiny", 0, 1, 1.0)
    result, strips = actions.is_new("gan-tiny", made["images"][0])
    assert not result["pixels"].copy[0] and strips["pixels"].shape == (132, 3 * 128 + 4 * 2)


def test_novelty_summary_flags_copies_in_a_grid(tiny_registry):
    train = actions._training_set("gan-tiny")["images"]
    _, made = actions.generate("gan-tiny", 0, 2, 1.0)
    mixed = np.concatenate([made["images"][:3, ..., 0], train[[40]]])
    summary = actions.novelty("gan-tiny", mixed)
    assert summary["pixels"].copy.tolist() == [False, False, False, True]
    assert summary["features"].copy[3]


def test_precision_recall_and_discriminator_scores(tiny_registry):
    pr = actions.fidelity_diversity("gan-tiny", 0, 1.0)
    assert 0 <= pr["precision"] <= 1 and 0 <= pr["recall"] <= 1
    _, made = actions.generate("gan-tiny", 0, 2, 1.0)
    image, label = actions.real_example("gan-tiny", 5)
    assert image.shape == (64, 64) and label == 0  # ORL image 6 is person 1's
    fake, real = actions.judge("gan-tiny", made, image, None)
    assert fake.shape == (4,) and np.isfinite(fake).all() and np.isfinite(real)


def test_timeline_reads_what_training_shipped(tiny_registry):
    assert actions.timeline("gan-tiny") == ([], [])
    folder = Path(tiny_registry) / "weights" / "gan-tiny" / "timeline"
    folder.mkdir()
    Image.new("L", (8, 8)).save(folder / "step_000100.png")
    (folder / "losses.json").write_text('[{"step": 100, "d_loss": 1.5, "g_loss": 0.2}]')
    grids, losses = actions.timeline("gan-tiny")
    assert grids[0][0] == 100 and grids[0][1].shape == (8, 8) and losses[0]["g_loss"] == 0.2


def test_a_conditional_gan_draws_the_class_asked_for(tiny_registry):
    assert actions.classes("gan-tiny") == [] and actions.classes("gan-tiny-cond")[7] == "Sneaker"
    assert actions.training_size("gan-tiny") == 400
    full = data.fashion_mnist_installed()  # else the 2,000 shipped images stand in (test_without_debian_data)
    assert actions.training_size("gan-tiny-cond") == (actions.MAX_TRAIN if full else 2000)
    _, made = actions.generate("gan-tiny-cond", 0, 2, 1.0, "Sneaker")
    assert made["labels"] == [7] * 4 and made["images"].shape == (4, 28, 28, 1)
    _, mixed = actions.generate("gan-tiny-cond", 0, 2, 1.0)
    assert mixed["labels"] == [0, 1, 2, 3]
    with pytest.raises(InputError, match="Class"):
        actions.generate("gan-tiny-cond", 0, 2, 1.0, "Unicorn")
    strip, gif = actions.walk("gan-tiny-cond", 0, 1, 3, "Bag")
    assert strip.shape[0] == 112 + 4
    image, label = actions.real_example("gan-tiny-cond", 3)
    fake, real = actions.judge("gan-tiny-cond", made, image, label)
    assert fake.shape == (4,) and np.isfinite(real)
    with pytest.raises(InputError, match="class-conditional"):
        actions.judge("gan-tiny-cond", made, image, None)
    result, _ = actions.is_new("gan-tiny-cond", made["images"][1])
    assert result["pixels"].distance.shape == (1, 3)


def test_what_the_tab_shows_is_put_into_words_here(tiny_registry, monkeypatch):
    grid, made, side, summary = actions.generate_shown("gan-tiny", actions.ALL, 0, 2, 1.0)
    assert side == 2 and len(made["images"]) == 4 and summary.startswith("**Is it new? The whole grid:** in pixel space")
    assert actions.precision_recall_shown("gan-tiny", actions.ALL, 0, 0.5).startswith("**At psi = 0.5:** precision")
    face, near_px, near_ft, verdict = actions.selected_shown("gan-tiny", made, 2, 133, 2)
    assert np.array_equal(face, actions.zoom(made["images"][1])) and "**Pixel space:** nearest distances" in verdict
    for made_, x in ((None, 2), (made, 0)):
        with pytest.raises(InputError):
            actions.selected_shown("gan-tiny", made_, 2, x, 2)
    real, text = actions.judge_shown("gan-tiny", made, 5, None)
    assert real.shape == (128, 128) and text.startswith("**Real image:** ") and "**Generated, in grid order:**" in text
    _, text = actions.judge_shown("gan-tiny", None, 5, None)
    assert "Generate a grid to score generated images too." in text
    monkeypatch.setattr(actions, "timeline", lambda model_id: ([(100, grid)], [{"step": 100, "d_loss": 1.5}]))
    assert actions.timeline_shown("gan-tiny") == ([(grid, "step 100")], [{"step": 100, "loss": 1.5,
                                                                           "network": "discriminator"}])
    monkeypatch.setattr(actions, "timeline", lambda model_id: ([], []))
    with pytest.raises(InputError, match="no training timeline"):
        actions.timeline_shown("gan-tiny")


def test_precision_recall_words_name_the_data_set_and_say_what_was_measured(tiny_registry, monkeypatch):
    """Issue 25: "faces" beside a grid of clothes, and a claim about psi the measurement contradicted."""
    clothes = actions.precision_recall_shown("gan-tiny-cond", actions.ALL, 0, 1.0)
    assert "generated garments" in clothes and "faces" not in clothes
    assert "generated faces" in actions.precision_recall_shown("gan-tiny", actions.ALL, 0, 1.0)
    measured = {1.0: {"precision": 0.25, "recall": 0.09, "note": ""}, 0.6: {"precision": 0.04, "recall": 0.01, "note": ""}}
    monkeypatch.setattr(actions, "fidelity_diversity", lambda model_id, seed, psi, label=actions.ALL: measured[psi])
    text = actions.precision_recall_shown("gan-tiny", actions.ALL, 0, 0.6)
    assert "precision went from 0.25 to 0.04 and recall went from 0.09 to 0.01" in text
    assert "usually raises" not in text and "not the textbook trade" in text
    measured[0.6] = {"precision": 0.4, "recall": 0.05, "note": ""}
    assert "That is the usual trade" in actions.precision_recall_shown("gan-tiny", actions.ALL, 0, 0.6)
