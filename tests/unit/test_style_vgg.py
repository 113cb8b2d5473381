"""The hub VGG-19 loss network, from a cache in the hub's layout holding random weights in timm's key layout."""
import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from playground import registry
from playground.actions import style as actions
from playground.cards import parse_card
from playground.errors import ModelUnavailable
from playground.families import style, style_vgg
from tests.conftest import SHIPPED, TinyModel
from tests.unit.test_registry import Evil, hub_cache

CARD = parse_card("model_cards/style-loss-vgg19.md")
TIMM_CONFIG = {"architecture": "vgg19", "num_classes": 1000, "num_features": 4096,
               "pretrained_cfg": {"tag": "tv_in1k", "mean": list(style_vgg.MEAN), "std": list(style_vgg.STD)}}


def timm_state(seed=0):
    """Random VGG-19 tensors in timm's layout: features.* (He-initialised, so activations neither vanish nor
    explode), plus tensors the loader must ignore: a deeper convolution's bias and the classifier's."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, t in style.build({"kind": "vgg19"}).state_dict().items():
        fan_in = t[0].numel() if t.ndim == 4 else 1
        state[key] = torch.randn(t.shape, generator=g) * (2 / fan_in) ** 0.5 if t.ndim == 4 else torch.zeros(t.shape)
    state.update({"features.30.bias": torch.zeros(512), "pre_logits.fc2.bias": torch.full((4096,), 7.0),
                  "head.fc.weight": torch.full((10, 4096), 9.0), "head.fc.bias": torch.zeros(10)})
    return state


def snapshot(cache, files):
    return hub_cache(cache, CARD.hub_repo, CARD.revision, files)


def safetensors_bytes(tmp_path, state):
    path = tmp_path / "weights.safetensors"
    save_file(state, str(path))
    return path.read_bytes()


TINY_MODELS = {CARD.id: SHIPPED,
               "style-loss-tiny": TinyModel("style", dict(kind="loss", seed=0, scales=[1, 2], kernels=[3], filters=4,
                                                          content_scales=[2]))}


@pytest.fixture(scope="module")
def vgg_registry(tiny_registry):
    """A registry with the real style-loss-vgg19 card, its snapshot in a hub-layout cache, and a tiny local
    loss network beside it (for the compare mode)."""
    patch = pytest.MonkeyPatch()
    state = timm_state()
    cache = tiny_registry / "hub"
    snapshot(cache, {"config.json": json.dumps(TIMM_CONFIG).encode(),
                     "model.safetensors": safetensors_bytes(tiny_registry, state)})
    patch.setenv("HF_HUB_CACHE", str(cache))
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setattr(style_vgg, "CALIBRATION_SIZE", 32)
    yield registry.default(), state
    patch.undo()


def _pictures(size=32):
    rng = np.random.default_rng(0)
    photo = np.repeat(np.repeat(rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8), 4, 0), 4, 1)
    return photo, rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_the_card_pins_a_revision_fetches_no_pickles_and_counts_the_loaded_parameters():
    assert CARD.is_hub and CARD.hub_repo == "timm/vgg19.tv_in1k" and len(CARD.revision) == 40
    assert CARD.family == "style" and CARD.license == "BSD-3-Clause" and "ImageNet" in CARD.dataset
    assert registry.hub_patterns("style") == ["config.json", "model.safetensors"]
    with torch.device("meta"):
        net = style.build({"kind": "vgg19"})
    assert sum(p.numel() for p in net.parameters()) == CARD.params == 12_944_960
    for words in ("Simonyan", "Gatys", "BSD-3-Clause", "could not be checked"):
        assert words in CARD.body


def test_offline_without_a_cache_it_needs_the_network_and_the_rest_works(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reg = registry.Registry()
    assert reg.availability("style-loss-vgg19") == registry.NEEDS_NETWORK
    with pytest.raises(ModelUnavailable, match="needs network"):
        reg.get_model("style-loss-vgg19")
    assert reg.availability("style-loss-random") == "local"
    assert isinstance(reg.get_model("style-loss-random"), style.LossNet)


def test_loads_from_the_hub_cache_reading_only_the_features(vgg_registry):
    reg, state = vgg_registry
    assert reg.availability("style-loss-vgg19") == "cached"
    net = reg.get_model("style-loss-vgg19")
    assert isinstance(net, style_vgg.VGG19Loss) and not any(p.requires_grad for p in net.parameters())
    assert set(net.state_dict()) == {k for k in state if k.startswith("features.") and k != "features.30.bias"}
    assert torch.equal(net.features[28].weight, state["features.28.weight"])  # conv5_1, at timm's index
    assert net.names() == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "relu4_2"]
    assert net.style_branches() == [0, 1, 2, 3, 4] and net.content_branches() == [5]
    feats = net(torch.rand(1, 3, 32, 48))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512, 512]
    assert [tuple(f.shape[2:]) for f in feats] == [(32, 48), (16, 24), (8, 12), (4, 6), (2, 3), (4, 6)]
    assert (net.rms > 0).all() and not torch.equal(net.rms, torch.ones_like(net.rms))  # calibrated on photos
    assert len(style.default_action(net, 0)) == 6


def test_the_optimisation_runs_on_it_and_lowers_the_loss(vgg_registry):
    reg, _ = vgg_registry
    net = reg.get_model("style-loss-vgg19")
    content, sty = _pictures()
    states = list(style.optimise(net, content, sty, iterations=4, every=2, init="content"))
    first = list(style.optimise(net, content, sty, iterations=1, every=1, init="content"))[0][1]
    assert [s[1]["iteration"] for s in states] == [2, 4]
    assert states[-1][1]["total"] < first["total"] and states[-1][0].shape == content.shape


def test_the_tab_offers_it_beside_the_random_network(vgg_registry):
    content, sty = _pictures()
    assert actions.loss_networks() == ["style-loss-tiny", "style-loss-vgg19"]
    assert "optimisation (style-loss-vgg19)" in actions.methods()
    shown = actions.grams(content, sty, None, "style-loss-vgg19")
    assert [c for _, c in shown] == ["style: relu1_1", "content: relu1_1", "style: relu5_1", "content: relu5_1"]
    assert shown[0][0].shape[:2] == (192, 192) and shown[2][0].shape[:2] == (512, 512)


@pytest.mark.parametrize("files, words", [
    ({"features.0.weight": torch.zeros(32, 3, 3, 3)}, r"features\.0\.weight has shape \(32, 3, 3, 3\).*\(64, 3, 3, 3\)"),
    ({"features.0.weight": torch.zeros(64, 3, 3, 3, dtype=torch.int32)}, "int32.*floats"),
    ({"features.0.weight": torch.zeros(64, 3, 3, 3)}, r"has no features\.0\.bias \(25 of the 26"),
    ({"head.fc.weight": torch.zeros(10, 4096)}, "not VGG-19 in timm's layout"),
])
def test_a_wrong_file_is_refused_with_a_clear_message(tmp_path, files, words):
    (tmp_path / "config.json").write_text(json.dumps(TIMM_CONFIG))
    save_file(files, str(tmp_path / "model.safetensors"))
    with pytest.raises(ModelUnavailable, match=words):
        style.load(tmp_path)


def test_pickles_are_refused_and_never_run(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Evil(str(marker)))
    cache = tmp_path / "hub"
    folder = snapshot(cache, {"config.json": json.dumps(TIMM_CONFIG).encode(), "pytorch_model.bin": evil})
    with pytest.raises(ModelUnavailable, match="Refusing pickled weights"):
        style.load(folder)
    (folder / "model.safetensors").write_bytes(evil)  # a pickle under the safetensors name
    with pytest.raises(ModelUnavailable, match="not a readable safetensors file"):
        style.load(folder)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "model_cards").mkdir()
    (tmp_path / "model_cards" / CARD.path.name).write_text(CARD.path.read_text())
    with pytest.raises(ModelUnavailable, match="not a readable safetensors file"):
        registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path).get_model("style-loss-vgg19")
    assert not marker.exists()


def test_our_own_folders_still_load_as_before(tmp_path):
    config = dict(kind="loss", seed=3, scales=[1], kernels=[3], filters=4, content_scales=[1])
    net = style.build(config)
    registry.save_weights(tmp_path, net, config)
    again = style.load(tmp_path)
    assert isinstance(again, style.LossNet) and torch.equal(again.convs[0].weight, net.convs[0].weight)
    assert not style_vgg.is_timm_vgg19(tmp_path)
