"""The feature networks (families/features.py) and their training augmentations, on tiny models."""
import numpy as np
import pytest
import torch

from playground.families import features
from playground.registry import load_weights, save_weights
from playground.train import features as train_features

torch.set_num_threads(1)
TINY = dict(in_channels=1, num_classes=10, width=4, feature_dim=16, image_size=28, dataset="fashion-mnist")
TINY_ORL = dict(TINY, num_classes=40, image_size=64, dataset="orl-faces")


def images(n, size=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def test_round_trip_through_safetensors_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = features.build(TINY)
    with torch.no_grad():  # move the BatchNorm statistics away from their defaults
        model.train()(torch.as_tensor(images(32)))
    save_weights(tmp_path, model.eval(), TINY)
    loaded = load_weights(tmp_path, features.build).eval()
    x = images(5, seed=1)
    assert np.array_equal(features.features(model, x), features.features(loaded, x))
    assert np.array_equal(features.classify(model, x), features.classify(loaded, x))


@pytest.mark.parametrize("config", [TINY, TINY_ORL])
def test_features_shape_layouts_and_resizing(config):
    model = features.build(config)
    size = config["image_size"]
    out = features.features(model, images(7, size))
    assert out.shape == (7, 16) and out.dtype == np.float32 and np.isfinite(out).all()
    assert np.allclose(features.features(model, images(7, size)[..., None]), out)  # (N,H,W,1)
    assert features.features(model, images(3, 50)).shape == (3, 16)  # fitted to the model's size
    assert features.features(model, images(3, size + 20)[:, :, 10:-10]).shape == (3, 16)  # not square
    assert features.features(model, images(0, size)).shape == (0, 16)
    probs = features.classify(model, images(7, size))
    assert probs.shape == (7, config["num_classes"]) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert model.training  # batched inference leaves the model's mode as it was


def test_evaluate_quick_on_a_tiny_model():
    model = features.build(TINY)
    metrics = features.evaluate(model, None, quick=True)
    assert set(metrics) == {"test_accuracy"} and 0 <= metrics["test_accuracy"] <= 1


def test_evaluate_orl_uses_the_80_test_faces(monkeypatch):
    seen = []
    real = features.classify
    monkeypatch.setattr(features, "classify", lambda m, x: seen.append(np.shape(x)) or real(m, x))
    features.evaluate(features.build(TINY_ORL), None, quick=True)
    assert seen == [(80, 64, 64)]


@pytest.mark.parametrize("config", [TINY, TINY_ORL])
def test_default_action_classifies_eight_gallery_images(config):
    model = features.build(config).eval()
    out = features.default_action(model, seed=3)
    assert out["images"].shape == (8, config["image_size"], config["image_size"]) and out["images"].dtype == np.uint8
    assert out["predictions"].shape == out["labels"].shape == (8,)
    assert out["probabilities"].shape == (8, config["num_classes"])
    assert len(features.class_names(model)) == config["num_classes"]
    assert np.array_equal(features.default_action(model, seed=3)["images"], out["images"])


def test_augmentations_are_seeded_and_keep_shapes():
    x = torch.as_tensor(images(16))
    y = torch.arange(16)
    a, ya = train_features.crop_flip((x, y), torch.Generator().manual_seed(0))
    b, _ = train_features.crop_flip((x, y), torch.Generator().manual_seed(0))
    assert a.shape == x.shape and a.dtype == torch.uint8 and torch.equal(a, b) and torch.equal(ya, y)
    faces = torch.as_tensor(images(16, 64))
    f, _ = train_features.face_jitter((faces, y), torch.Generator().manual_seed(0))
    g, _ = train_features.face_jitter((faces, y), torch.Generator().manual_seed(1))
    assert f.shape == faces.shape and 0 <= f.min() and f.max() <= 255 and not torch.equal(f, g)


def test_card_template_is_a_valid_card(tmp_path):
    from playground.cards import parse_card, write_metrics
    for dataset, preset in train_features.PRESETS.items():
        path = tmp_path / f"{preset['model_id']}.md"
        path.write_text(train_features.card_template(dataset, 1234))
        write_metrics(path, {"test_accuracy": 0.5})
        card = parse_card(path)
        assert card.family == "features" and card.metrics == {"test_accuracy": 0.5} and card.params == 1234
        assert "NOT comparable" in card.body and card.train_command.endswith(dataset)
