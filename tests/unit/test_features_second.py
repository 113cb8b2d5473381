"""The second feature networks (families/features_ssl.py, issue 27): built through features.build like the
classifiers, used through features.features, measured by playground.feature_ladder; the shipped ones keep
the FD ladder in order on every metric."""
import json
from collections import OrderedDict

import numpy as np
import pytest
import torch

from playground import datasets, feature_ladder, registry
from playground.cards import REPO_ROOT
from playground.errors import InputError
from playground.families import features, features_ssl
from playground.registry import load_weights, save_weights
from playground.train import features as train_features
from playground.train import features_ssl as train_ssl

torch.set_num_threads(1)
OLD = dict(in_channels=1, num_classes=10, width=4, feature_dim=16, image_size=28, dataset="fashion-mnist")
SSL = dict(design="contrastive", width=4, feature_dim=8, image_size=28, dataset="fashion-mnist", head_dim=8,
           proj_dim=8)
SSL_ORL = dict(SSL, image_size=64, dataset="orl-faces")


def images(n, size=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


@pytest.mark.parametrize("config, kind, dim", [(OLD, features.FeatureNet, 16), (dict(OLD, design="classifier"),
                         features.FeatureNet, 16), (SSL, features_ssl.ContrastiveNet, 8),
                         (SSL_ORL, features_ssl.ContrastiveNet, 8)])
def test_both_designs_build_from_config_and_give_n_by_d_features(config, kind, dim):
    model = features.build(config)
    assert type(model) is kind and model.feature_dim == dim
    size = config["image_size"]
    out = features.features(model, images(7, size))
    assert out.shape == (7, dim) and out.dtype == np.float32 and np.isfinite(out).all()
    assert features.features(model, images(3, 50)).shape == (3, dim)  # fitted to the model's size
    assert features.features(model, images(0, size)).shape == (0, dim)


def test_an_unknown_design_is_refused():
    with pytest.raises(InputError, match="design"):
        features.build(dict(OLD, design="inception"))


@pytest.mark.parametrize("model_id", ["features-fashion", "features-orl"])
def test_the_shipped_classifiers_configs_have_no_design_and_still_build(model_id):
    folder = REPO_ROOT / "weights" / model_id
    assert "design" not in json.loads((folder / "config.json").read_text())
    model = load_weights(folder, features.build)
    assert type(model) is features.FeatureNet and features.has_head(model)


def test_fit_readout_gives_orthonormal_components_and_the_shipped_network_drops_its_head(tmp_path):
    torch.manual_seed(0)
    model = features.build(SSL_ORL)
    x = torch.as_tensor(images(40, 64))
    assert model(x).shape == (40, 8) and torch.allclose(model(x).norm(dim=1), torch.ones(40), atol=1e-5)
    model.eval().fit_readout(x)
    comps = model.readout_components.double()
    assert torch.allclose(comps @ comps.T, torch.eye(8, dtype=torch.float64), atol=1e-4)
    feats = features.features(model, images(40, 64))
    assert abs(feats.mean(0)).max() < 1e-3 * abs(feats).max()  # centred on the fitting images
    config, slim = model.without_head(SSL_ORL)
    assert config["head"] is False and sum(p.numel() for p in slim.parameters()) < sum(
        p.numel() for p in model.parameters())
    assert np.array_equal(features.features(slim, images(5, 64, 1)), features.features(model, images(5, 64, 1)))
    with pytest.raises(InputError, match="training head"):
        slim(x)
    save_weights(tmp_path, slim, config)
    loaded = load_weights(tmp_path, features.build).eval()
    assert np.array_equal(features.features(loaded, images(5, 64, 1)), features.features(slim, images(5, 64, 1)))


def test_a_network_without_classes_refuses_classify_and_shows_nearest_neighbours():
    model = features.build(SSL).eval()
    with pytest.raises(InputError, match="no classes"):
        features.classify(model, images(3))
    out = features.default_action(model, seed=3)
    assert out["images"].shape == out["neighbours"].shape == (8, 28, 28) and out["neighbours"].dtype == np.uint8
    assert out["labels"].shape == out["neighbour_labels"].shape == out["distances"].shape == (8,)
    assert not any((a == b).all() for a, b in zip(out["images"], out["neighbours"]))  # never the image itself
    assert all(np.array_equal(a, b) for a, b in zip(out.values(), features.default_action(model, seed=3).values()))


def test_nt_xent_rewards_matching_views():
    z = torch.nn.functional.normalize(torch.randn(16, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    same, acc = features_ssl.nt_xent(z, z, 0.2)
    other, _ = features_ssl.nt_xent(z, z.roll(1, 0), 0.2)
    assert acc == 1 and same < other


def test_views_are_seeded_and_keep_shapes():
    x = torch.as_tensor(images(8, 64))
    a1, b1 = train_ssl.views((x,), torch.Generator().manual_seed(0))
    a2, _ = train_ssl.views((x,), torch.Generator().manual_seed(0))
    assert a1.shape == b1.shape == x.shape and torch.equal(a1, a2) and not torch.equal(a1, b1)
    assert 0 <= a1.min() and a1.max() <= 255


def test_degrade_is_mild_seeded_and_off_at_p_zero():
    x, y = torch.as_tensor(images(64, 64)).float(), torch.arange(64)
    same, _ = train_features.degrade((x, y), torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(same, x)
    a, ya = train_features.degrade((x, y), torch.Generator().manual_seed(0), p=1.0)
    b, _ = train_features.degrade((x, y), torch.Generator().manual_seed(0), p=1.0)
    assert torch.equal(a, b) and torch.equal(ya, y) and not torch.equal(a, x) and 0 <= a.min() and a.max() <= 255


def test_the_presets_name_their_drafts_and_the_drafts_are_valid_cards(tmp_path):
    from playground.cards import parse_card, write_metrics
    for name, preset in train_ssl.PRESETS.items():
        assert preset["config"]["dataset"] == name and preset["model_id"].endswith("-ssl")
        path = tmp_path / f"{preset['model_id']}.md"
        path.write_text(train_ssl.card_template(name, 1234))
        write_metrics(path, {"fd_floor": 0.5})
        card = parse_card(path)
        assert card.family == "features" and card.params == 1234 and card.dataset == name
        assert "NOT comparable" in card.body and f"--dataset {name}" in card.train_command
    assert train_features.PRESETS["orl-faces"]["degrade"] == {"p": 0.05, "blur": 1.0, "noise": 0.05}


def _rows(**overrides):
    base = {"FD": 1.0, "KID": 0.1, "KID_se": 0.01, "precision": 0.9, "recall": 0.9, "density": 0.9, "coverage": 0.9}
    step = {"real held-out vs train": 0, "blurred sigma=1": 1, "blurred sigma=2": 2, "noisy sigma=0.1": 1,
            "noisy sigma=0.2": 2}
    rows = OrderedDict()
    for name, k in step.items():
        rows[name] = {m: (v * (1 + k) if m in ("FD", "KID", "KID_se") else v - 0.2 * k) for m, v in base.items()}
    for (name, metric), value in overrides.items():
        rows[name][metric] = value
    return rows


def test_monotone_says_which_rung_is_out_of_order():
    assert feature_ladder.all_monotone(_rows())
    ties = _rows()
    ties["noisy sigma=0.2"]["precision"] = ties["noisy sigma=0.1"]["precision"]  # two zeros are a tie, not an order
    ok, why = feature_ladder.monotone(ties, "precision")
    assert not ok and "noise 0.1" in why and not feature_ladder.all_monotone(ties)
    worse = _rows()
    worse["blurred sigma=1"]["FD"] = 0.5  # blurred images closer than the held-out ones
    assert not feature_ladder.monotone(worse, "FD")[0] and feature_ladder.monotone(worse, "KID")[0]
    assert "Not monotone on: FD" in feature_ladder.markdown(worse)


def test_card_metrics_round_trip_through_flatten():
    rows = _rows()
    rows["gan-faces"] = dict(rows["blurred sigma=1"])
    flat = feature_ladder.flatten(rows, "_n1000")
    assert flat["fd_floor_n1000"] == 1.0 and "precision_gan-faces_n1000" in flat
    assert feature_ladder.unflatten(flat, "orl-faces", "_n1000") == rows


def test_quick_card_metrics_of_a_tiny_network_on_the_faces():
    metrics = feature_ladder.card_metrics(features.build(SSL_ORL), "orl-faces", quick=True)
    with pytest.raises(InputError, match="playground.evaluate"):
        features.evaluate(features.build(SSL_ORL), None, quick=True)
    assert metrics["monotone"] in (0.0, 1.0) and {"fd_floor", "kid_noise0.2", "coverage_blur2"} <= set(metrics)


# the shipped networks -------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_shipped_faces_network_keeps_the_ladder_in_order_on_every_metric():
    """The acceptance of issue 27 on the ladder's own protocol (N = 200 per side, seed 0); seconds on one thread."""
    with registry.using("features-orl-ssl") as net:
        assert not features.has_head(net)
        rows = feature_ladder.Ladder("orl-faces").measure(net)
    checks = {m: feature_ladder.monotone(rows, m) for m in feature_ladder.METRICS}
    bad = {m: why for m, (ok, why) in checks.items() if not ok}
    assert not bad, bad
    assert rows["noisy sigma=0.1"]["precision"] > 0 and rows["blurred sigma=1"]["coverage"] > 0


@pytest.mark.slow
def test_the_shipped_fashion_network_keeps_the_ladder_in_order_at_n_1000():
    if not datasets.FASHION.training_installed():
        pytest.skip("the ladder compares with Fashion-MNIST's training split, which is not installed here")
    with registry.using("features-fashion-ssl") as net:
        rows = feature_ladder.Ladder("fashion-mnist", 1000).measure(net)
    assert feature_ladder.all_monotone(rows), feature_ladder.markdown(rows)


@pytest.mark.slow
def test_the_shipped_faces_classifier_keeps_the_ladder_in_order_too():
    """features-orl, retrained with its preset's mild blur and noise: before, every k-NN metric of blurred sigma=2
    and both noisy rungs was 0, a tie; now the faces' ladder is in order on both networks."""
    with registry.using("features-orl") as net:
        rows = feature_ladder.Ladder("orl-faces").measure(net)
    assert feature_ladder.all_monotone(rows), feature_ladder.markdown(rows)
    assert rows["blurred sigma=2"]["FD"] > 20 * rows["real held-out vs train"]["FD"]  # the FD spread is kept
