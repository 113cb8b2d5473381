"""A new family is one module and a card: a toy generator appears in Compare, the two-settings panel,
bench and evaluate with no other file changed (playground.families.protocol)."""
import shutil
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

from playground import bench, compare, evaluate, registry
from playground.cards import REPO_ROOT
from playground.families import protocol, scoring
from tests.conftest import write_tiny_card


class Toy(nn.Module):
    """Noise at a brightness the model learned: enough to be drawn, scored and timed."""

    def __init__(self, brightness=0.5):
        super().__init__()
        self.brightness = nn.Parameter(torch.tensor(float(brightness)))


def _draw(model, n, seed, knob=None, sampler=None):
    rng = np.random.default_rng(seed)
    scale = float(model.brightness) * (1.0 if knob is None else knob)
    return (np.clip(rng.random((n, 28, 28)) * scale, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def toy_registry(tmp_path, monkeypatch):
    module = types.ModuleType("playground.families.toy")
    module.build = lambda config: Toy(**config)
    module.default_action = lambda model, seed: _draw(model, 4, seed)
    module.evaluate = lambda model, card, quick=False: {"mean_pixel": float(_draw(model, 50, 0).mean())}
    module.GENERATOR = protocol.Generator(draw=_draw, knob=protocol.Knob("Brightness", 0.5, 1.5, 0.5, 1.0, 0.5),
                                          rank=9)
    monkeypatch.setitem(sys.modules, "playground.families.toy", module)
    (tmp_path / "model_cards").mkdir()
    for network in ("features-fashion", "features-fashion-ssl"):  # the data set's two feature networks
        shutil.copytree(REPO_ROOT / "weights" / network, tmp_path / "weights" / network)
        shutil.copy(REPO_ROOT / "model_cards" / f"{network}.md", tmp_path / "model_cards")
    model = Toy()
    registry.save_weights(tmp_path / "weights" / "toy-fashion", model, {"brightness": 0.5})
    write_tiny_card(tmp_path / "model_cards", "toy-fashion", "toy", model)
    monkeypatch.setattr(registry, "_default", registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path))
    return registry.default()


@pytest.mark.slow
def test_a_new_family_appears_in_compare_bench_and_evaluate(toy_registry):
    assert compare.candidates("fashion-mnist") == ["toy-fashion"]
    *_, (rows, grids, status) = compare.run("Fashion-MNIST", ["toy-fashion"], 20, 0)
    row = {r["model"]: r for r in rows}["toy-fashion"]
    assert row["family"] == "toy" and row["FD"] > rows[0]["FD"] and row["bits/dim (card)"] == "none"
    assert "toy-fashion" in grids
    table, first, second = compare.two_settings("toy-fashion", 1.0, 0.5, 20, 0)
    assert compare.knob("toy").name == "Brightness" and first.mean() > second.mean()
    assert table[0]["setting"] == "brightness 1" and "FD" in table[2]
    timed = bench.measure_one("toy-fashion", 2, reg=toy_registry)
    assert timed["family"] == "toy" and timed["p50_ms"] >= 0
    metrics, _ = evaluate.evaluate("toy-fashion", reg=toy_registry)
    assert 0 < metrics["mean_pixel"] < 128


def test_a_family_without_a_generator_is_not_offered(toy_registry, monkeypatch):
    monkeypatch.delattr(sys.modules["playground.families.toy"], "GENERATOR")
    assert compare.candidates("fashion-mnist") == [] and compare.knob("toy") is None


def test_table_scores_rank_real_images_above_noise():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(60, 8))
    close, far = scoring.table_scores(ref + 0.01 * rng.normal(size=ref.shape), ref), scoring.table_scores(ref + 5, ref)
    assert close["FD"] < far["FD"] and close["precision"] > far["precision"]


def test_an_unknown_family_has_no_generator_and_a_broken_one_is_not_hidden(monkeypatch):
    assert protocol.generator("no_such_family") is None and protocol.generator("../gan") is None
    assert protocol.generator("gan").knob.name == "Truncation"
    monkeypatch.setattr(protocol.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(protocol.importlib, "import_module",
                        lambda name: (_ for _ in ()).throw(ImportError("a missing dependency")))
    with pytest.raises(ImportError):
        protocol.generator("broken")
