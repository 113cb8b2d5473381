"""The PixelCNN family on tiny untrained networks: causality, exact likelihoods, exact fast sampling."""
import math

import numpy as np
import pytest
import torch

from playground.errors import InputError
from playground.families import pixelcnn


def tiny(kind, num_classes=0, layers=5):
    torch.manual_seed(0)
    return pixelcnn.build(dict(kind=kind, channels=8, layers=layers, num_classes=num_classes, mixtures=3)).eval()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)


@pytest.mark.parametrize("kind", pixelcnn.KINDS)
def test_no_pixel_sees_itself_or_anything_after_it(kind, images):
    model = tiny(kind)
    for row, col in ((0, 0), (5, 27), (14, 14), (27, 3)):
        grad, causal = pixelcnn.receptive_field(model, images[0], row, col)
        assert not (grad[~causal] > 0).any()
        assert (grad[causal] > 0).any() or (row, col) == (0, 0)


def test_the_masked_pixelcnn_has_a_blind_spot_and_the_gated_one_none(images):
    """Three rows above pixel (14, 14) and 5-7 columns to its right: inside both receptive fields' reach."""
    region = np.s_[11:14, 19:22]
    gated, _ = pixelcnn.receptive_field(tiny("gated"), images[0], 14, 14)
    masked, _ = pixelcnn.receptive_field(tiny("masked"), images[0], 14, 14)
    assert (gated[region] > 0).all() and not (masked[region] > 0).all()
    assert (masked[11:14, 8:14] > 0).all()  # up and to the left it sees everything


@pytest.mark.parametrize("layers", [1, 3, 5])
def test_rows_seen_is_how_far_up_the_gated_model_sees(images, layers):
    """The fast sampler crops the rows above to rows_seen: exactly the rows the gradient reaches."""
    model = tiny("gated", layers=layers)
    grad, _ = pixelcnn.receptive_field(model, images[0], 20, 14)
    assert np.nonzero(grad.any(axis=1))[0].min() == 20 - pixelcnn.rows_seen(model)


def test_the_pixel_distribution_sums_to_one():
    params = torch.randn(4, 9)
    assert torch.allclose(pixelcnn.value_log_probs(params).exp().sum(1), torch.ones(4, dtype=torch.float64))


def test_bits_are_the_sum_of_the_pixels_log_probabilities(images):
    model = tiny("gated")
    bits = pixelcnn.pixel_bits(model, images)
    assert bits.shape == (3, 28, 28) and (bits > 0).all()
    assert np.allclose(pixelcnn.bits_per_dim(model, images), bits.reshape(3, -1).mean(1))


def test_a_conditional_model_without_labels_gives_the_exact_marginal(images):
    model = tiny("gated", num_classes=4)
    per_class = np.stack([pixelcnn.pixel_bits(model, images, c).reshape(3, -1).sum(1) for c in range(4)])
    marginal = -(np.logaddexp.reduce(-per_class * math.log(2), axis=0) - math.log(4)) / math.log(2)
    bits = pixelcnn.pixel_bits(model, images)
    assert np.allclose(bits.reshape(3, -1).sum(1), marginal)
    assert (bits > 0).all()  # every pixel's marginal conditional is a probability below 1
    assert np.allclose(pixelcnn.pixel_bits(model, images, [0, 1, 2]).reshape(3, -1)[1].sum(), per_class[1, 1])


@pytest.mark.parametrize("kind, num_classes", [("gated", 3), ("gated", 0), ("masked", 0)])
def test_the_fast_sampler_writes_the_same_pixels_as_the_naive_one(kind, num_classes):
    model = tiny(kind, num_classes, layers=3)
    labels = [0, 2] if num_classes else None
    naive = pixelcnn.sample(model, 7, 2, labels, 0.9, fast=False)
    fast = pixelcnn.sample(model, 7, 2, labels, 0.9, fast=True)
    assert naive.shape == (2, 28, 28) and naive.dtype == np.uint8 and np.array_equal(naive, fast)
    assert not np.array_equal(fast, pixelcnn.sample(model, 8, 2, labels, 0.9))


def test_rows_stream_and_completion_keeps_the_given_rows(images):
    model = tiny("gated", layers=3)
    rows = list(pixelcnn.sample_pixels(model, 0, 2, start=images[0], rows_from=20))
    assert [(r, cols) for r, cols, _ in rows] == [(r, 28) for r in range(20, 28)]
    done = rows[-1][2]
    assert (done[:, :20] == images[0][:20]).all() and not np.array_equal(done[0, 20:], done[1, 20:])


def test_the_whole_network_streams_every_pixel_and_the_fast_sampler_every_row():
    model = tiny("gated", layers=2)
    naive = list(pixelcnn.sample_pixels(model, 0, 2, fast=False, start=np.zeros((28, 28), np.uint8), rows_from=26))
    assert [(r, cols) for r, cols, _ in naive] == [(r, c) for r in (26, 27) for c in range(1, 29)]
    assert (naive[0][2][:, 26, 1:] == 0).all()  # the first state: one pixel of the row written
    fast = list(pixelcnn.sample_pixels(model, 0, 2, start=np.zeros((28, 28), np.uint8), rows_from=26))
    assert [(r, cols) for r, cols, _ in fast] == [(26, 28), (27, 28)] and np.array_equal(fast[-1][2], naive[-1][2])


def test_a_low_temperature_concentrates_the_draws():
    params = torch.randn(1, 9)
    u = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    spread = [len(set(pixelcnn._draw(params.expand(99, -1), u, t).tolist())) for t in (1.0, 0.1)]
    assert spread[1] < spread[0]


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 65}, {"temperature": 0.0}, {"temperature": float("nan")},
                                    {"labels": 5}, {"labels": [True]}, {"rows_from": 29}])
def test_bad_sampling_arguments_are_refused(kwargs):
    model = tiny("gated", num_classes=3, layers=2)
    args = {"n": 1, "labels": 0, **kwargs}
    with pytest.raises(InputError):
        next(pixelcnn.sample_pixels(model, 0, **args))


def test_bad_images_and_labels_are_refused(images):
    model = tiny("gated", layers=2)
    for bad in (np.zeros((3, 27, 28), np.uint8), np.zeros((0, 28, 28), np.uint8)):
        with pytest.raises(InputError):
            pixelcnn.pixel_bits(model, bad)
    with pytest.raises(InputError):
        pixelcnn.pixel_bits(model, images, 1)  # unconditional: no labels
    with pytest.raises(InputError):
        pixelcnn.receptive_field(model, images[0], 28, 0)
    with pytest.raises(InputError):
        pixelcnn.build({"kind": "transformer"})


def test_no_class_is_one_pass_of_the_same_network(images):
    model = tiny("gated", num_classes=3, layers=2)
    null = pixelcnn.pixel_bits(model, images, pixelcnn.NULL)
    assert null.shape == (3, 28, 28) and not np.allclose(null, pixelcnn.pixel_bits(model, images, 0))
    assert pixelcnn.sample(model, 0, 2, pixelcnn.NULL).shape == (2, 28, 28)


def test_evaluate_and_report(monkeypatch, tmp_path, images):
    import types

    from playground import data
    from playground.families import vae
    rng = np.random.default_rng(1)
    test = rng.integers(0, 256, (6, 28, 28)).astype(np.uint8)
    monkeypatch.setattr(data, "fashion_mnist", lambda split: (test, np.arange(6) % 3))
    monkeypatch.setattr(vae, "ood_images", lambda quick=False: images)
    model = tiny("gated", num_classes=3, layers=2)
    m = pixelcnn.evaluate(model)
    assert set(m) == set(pixelcnn.METRIC_TEXT) and all(np.isfinite(v) for v in m.values())
    assert m["test_bpd"] <= m["test_bpd_true_class"] + np.log2(3) / 784 + 1e-9  # p(x) >= p(x | y) / C
    card = types.SimpleNamespace(id="pixelcnn-x", metrics_command="python -m playground.evaluate pixelcnn-x --write")
    text = pixelcnn.report(model, card, m, tmp_path)
    assert (tmp_path / "samples.png").is_file() and "| test_bpd |" in text


def test_a_masked_model_is_timed_with_its_one_sampler(monkeypatch, images):
    from playground import data
    from playground.families import vae
    monkeypatch.setattr(data, "fashion_mnist", lambda split: (images, np.zeros(3, int)))
    monkeypatch.setattr(vae, "ood_images", lambda quick=False: images)
    m = pixelcnn.evaluate(tiny("masked", layers=2))
    assert "seconds_16_naive" in m and "seconds_16_fast" not in m and "test_bpd_no_class" not in m
