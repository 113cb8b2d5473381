"""The Compare view on tiny untrained models of every family, against the shipped real images."""
import csv
import io
import json
import zipfile

import numpy as np
import pytest

from playground import compare
from playground.errors import InputError
from tests.conftest import SHIPPED, TinyModel
from tests.unit.test_diffusion_actions import tiny_unet

MODELS = ["gan-fashion", "vae-fashion", "ddpm-fashion", "pixelcnn-fashion"]
TINY_MODELS = {
    "features-fashion": SHIPPED,  # the real ones
    "features-fashion-ssl": SHIPPED,
    "gan-fashion": TinyModel("gan", {"latent_dim": 16, "g_width": 4, "d_width": 4, "image_size": 32, "channels": 1,
                                     "num_classes": 10, "output_size": 28, "dataset": "fashion-mnist"}),
    "vae-fashion": TinyModel("vae", {"latent_dim": 4, "width": 4, "image_size": 28, "mixtures": 2,
                                     "dataset": "fashion-mnist"}),
    "pixelcnn-fashion": TinyModel("pixelcnn", {"kind": "gated", "channels": 8, "layers": 2, "num_classes": 10,
                                               "mixtures": 2}),
    "ddpm-fashion": tiny_unet(),
}


def _without_time(rows):
    return [{k: v for k, v in r.items() if k != "seconds per image"} for r in rows]


def test_every_family_is_a_candidate_and_the_main_ones_are_ticked(tiny_registry):
    assert compare.candidates("fashion-mnist") == MODELS and compare.defaults("fashion-mnist") == MODELS


@pytest.mark.slow
def test_the_table_streams_is_seeded_and_exports(tiny_registry, tmp_path):
    states = list(compare.run("Fashion-MNIST", MODELS, 20, 3, "DDIM", 2))
    assert len(states) == 1 + len(MODELS)
    rows, grids, status = states[-1]
    assert [r["model"] for r in rows] == [*compare.REFERENCES, *MODELS] and list(grids)[0] == "real held-out"
    assert all(set(r) == set(compare.COLUMNS) for r in rows)
    assert all(np.isfinite(r["FD"]) and 0 <= r["precision"] <= 1 and 0 <= r["coverage"] <= 1 for r in rows)
    first = len(compare.REFERENCES)
    assert rows[first]["bits/dim (card)"] == "none" and rows[-1]["parameters"] > 0
    floor, noisy = rows[0]["FD"], rows[3]["FD"]
    assert floor < noisy  # real held-out images sit closer to the reference than noisy copies of them
    # KD is unbiased: real held-out images are within about 3 standard errors of 0 at N=20, noisy ones far out
    assert abs(rows[0]["KD"]) < 3 * rows[0]["KD s.e."] and rows[3]["KD"] > 3 * rows[3]["KD s.e."] > 0
    again = list(compare.run("Fashion-MNIST", MODELS, 20, 3, "DDIM", 2))[-1][0]
    other = list(compare.run("Fashion-MNIST", MODELS[:1], 20, 4, "DDIM", 2))[-1][0]
    assert _without_time(again) == _without_time(rows) and _without_time(other)[first] != _without_time(rows)[first]
    record = compare.record("Fashion-MNIST", MODELS, 20, 3, "DDIM", 2)
    assert record["seed"] == 3 and len(record["models"]["gan-fashion"]["weights_sha256"]) == 64
    assert set(record["versions"]) >= {"torch", "diffusers", "gradio"}
    path = compare.write_export(rows, grids, record, tmp_path)
    with zipfile.ZipFile(path) as z:
        assert {"table.csv", "record.json", "real-held-out.png", "ddpm-fashion.png"} <= set(z.namelist())
        table = list(csv.DictReader(io.StringIO(z.read("table.csv").decode())))
        assert [r["model"] for r in table] == [r["model"] for r in rows]
        assert float(table[first]["FD"]) == rows[first]["FD"] and json.loads(z.read("record.json"))["seed"] == 3


@pytest.mark.slow
def test_the_benchs_cross_family_quality_figures_are_reproducible(tiny_registry):
    """bench.measure_cross (each data set's default models at their default samplers) twice, one seed: every
    quality column the same to the last digit; only the seconds may differ."""
    from playground import bench
    first, second = (bench.measure_cross("Fashion-MNIST", 20, seed=5) for _ in range(2))
    assert [r["model"] for r in first["rows"]] == [*compare.REFERENCES, *MODELS]
    quality = [c for c in compare.COLUMNS if c != "seconds per image"]
    assert all(set(r) == set(compare.COLUMNS) for r in first["rows"] + second["rows"])
    assert [[r[c] for c in quality] for r in second["rows"]] == [[r[c] for c in quality] for r in first["rows"]]
    assert all(isinstance(r["FD"], float) and r["FD"] == r["FD"] for r in first["rows"])  # numbers, no NaN


def test_a_model_sent_twice_is_compared_once(tiny_registry):
    ids = compare.check("Fashion-MNIST", ["vae-fashion", "gan-fashion", "vae-fashion"], 20, 0,
                        compare.MODEL_DEFAULT, 20)[1]
    assert ids == ["vae-fashion", "gan-fashion"]
    assert list(compare.record("Fashion-MNIST", ["gan-fashion", "gan-fashion"], 20, 0, "DDIM", 2)["models"]) == [
        "gan-fashion", "features-fashion", "features-fashion-ssl"]


def test_two_settings_offers_what_compare_offers(tiny_registry, monkeypatch):
    """One source of truth: a generator that candidates() leaves out (another data set, weights missing)
    is refused by two_settings too, with a clear message, before anything is drawn."""
    everything = compare.candidates
    monkeypatch.setattr(compare, "candidates", lambda d: [i for i in everything(d) if i != "gan-fashion"])
    with pytest.raises(InputError, match="Model must be one of 'ddpm-fashion'"):
        compare.two_settings("gan-fashion", 1.0, 0.5, 20, 1)


@pytest.mark.slow
def test_two_settings_score_both_and_their_difference(tiny_registry):
    rows, grid_a, grid_b = compare.two_settings("gan-fashion", 1.0, 0.5, 20, 1)
    assert [r["setting"] for r in rows] == ["truncation 1", "truncation 0.5", "difference (second - first)"]
    assert rows[2]["FD"] == pytest.approx(rows[1]["FD"] - rows[0]["FD"], abs=1e-3)
    assert rows[2]["KD"] == pytest.approx(rows[1]["KD"] - rows[0]["KD"], abs=1e-4)
    assert rows[2]["KD s.e."] == pytest.approx((rows[0]["KD s.e."] ** 2 + rows[1]["KD s.e."] ** 2) ** 0.5, abs=1e-4)
    assert not np.array_equal(grid_a, grid_b)
    rows, grid_a, grid_b = compare.two_settings("pixelcnn-fashion", 0.8, 0.8, 20, 1)
    assert np.array_equal(grid_a, grid_b) and rows[2]["FD"] == 0  # the same seed and setting: the same images


@pytest.mark.parametrize("call, words", [
    (lambda: list(compare.run("Fashion-MNIST", [], 20)), "at least one model"),
    (lambda: list(compare.run("Fashion-MNIST", ["../weights"], 20)), "Model"),
    (lambda: list(compare.run("MNIST", MODELS, 20)), "Data set"),
    (lambda: list(compare.run("Fashion-MNIST", MODELS, 25)), "Images per model"),
    (lambda: list(compare.run("ORL faces", [], 300)), "at least one model"),
    (lambda: list(compare.run("Fashion-MNIST", MODELS, 20, float("nan"))), "Seed"),
    (lambda: list(compare.run("Fashion-MNIST", MODELS, 20, 0, "PLMS")), "Sampler"),
    (lambda: compare.two_settings("gan-fashion", 1.0, 9, 20), "Truncation"),
    (lambda: compare.two_settings("ddpm-fashion", 20, 2.5, 20), "Steps"),
    (lambda: compare.two_settings("features-fashion", 1, 1, 20), "Model"),
])
def test_bad_input_gets_a_clear_message(tiny_registry, call, words):
    with pytest.raises(InputError, match=words):
        call()


def test_the_first_n_real_faces_hold_every_person(monkeypatch):
    """Compare scores the first N of the ladder's halves; stored person by person, N=100 of ORL's 200 held 20 of
    the 40 people (every model then scored precision 0). Taken in turns, any N holds every person it can."""
    from playground import datasets
    labels = np.repeat(np.arange(8), 4)  # 8 people, 4 images each, stored person by person as ORL is
    images = np.repeat(labels * 20, 16 * 16).reshape(32, 16, 16).astype(np.uint8)  # each image shows its person
    record = datasets.DataSet("toy-faces", "Toy faces", lambda split, data_dir=None: (images, labels),
                              {"all": 32}, lambda d=None: True, resolution=16, class_word="person",
                              generator_split="all", prepare=lambda x, size: np.asarray(x))
    monkeypatch.setitem(datasets.SOURCES, record.key, record)
    reference, heldout, seen = compare.real_images("toy-faces")
    assert len(reference) == len(heldout) == 16 and len(seen) == 32
    assert sorted(set(reference[:8, 0, 0] // 20)) == sorted(set(heldout[:8, 0, 0] // 20)) == list(range(8))
    assert sorted(reference[:, 0, 0] // 20) == sorted(np.repeat(np.arange(8), 2))  # the same half, reordered
    assert compare.in_turns([0, 0, 1, 1, 1, 2]).tolist() == [0, 2, 5, 1, 3, 4]
