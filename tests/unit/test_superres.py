"""The super-resolution family on tiny networks: shapes, bicubic start, tiling, metrics, evaluation."""
import numpy as np
import pytest
import torch

from playground.errors import InputError
from playground.families import superres

torch.set_num_threads(1)


def _image(h=40, w=52, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3)).astype(np.uint8)
    return superres.classical(base, 4, "bicubic")[:h, :w].copy()  # smooth, so upscalers have something to do


@pytest.mark.parametrize("arch,kwargs", [("fast", dict(features=8, mid=4)), ("edsr", dict(channels=8, blocks=2)),
                                         ("esrgan-slim", dict(channels=8, growth=2, blocks=2))])
@pytest.mark.parametrize("scale", [2, 4])
def test_networks_upscale_by_their_scale(arch, kwargs, scale):
    net = superres.build(dict(arch=arch, scale=scale, **kwargs)).eval()
    out = superres.upscale(net, _image(10, 14))
    assert out.shape == (10 * scale, 14 * scale, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("arch", ["fast", "edsr"])
def test_untrained_learned_models_start_at_bicubic(arch):
    net = superres.build(dict(arch=arch, scale=2)).eval()
    x = torch.rand(1, 3, 9, 11)
    with torch.no_grad():
        expected = torch.nn.functional.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        assert torch.allclose(net(x), expected)


def test_parameter_budgets():
    count = lambda config: sum(p.numel() for p in superres.build(config).parameters())  # noqa: E731
    assert count(dict(arch="fast", scale=4)) < 100_000
    assert 800_000 < count(dict(arch="edsr", scale=2, blocks=10)) < 1_200_000


def test_tiled_upscale_matches_whole_image():
    torch.manual_seed(0)
    net = superres.build(dict(arch="edsr", scale=2, channels=8, blocks=1)).eval()
    for p in net.parameters():  # a non-trivial residual
        torch.nn.init.normal_(p, std=0.05)
    image = _image(37, 45)
    whole = superres.upscale(net, image, tile=1000)
    tiled = superres.upscale(net, image, tile=20, overlap=8)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_spans_cover_every_pixel_once():
    for n, tile, overlap in [(5, 10, 2), (100, 30, 4), (61, 20, 8)]:
        spans = superres._spans(n, tile, overlap)
        kept = [i for _, _, a, b in spans for i in range(a, b)]
        assert kept == list(range(n)) and all(e - s <= tile for s, e, _, _ in spans)


def test_classical_methods_and_bad_inputs():
    image = _image()
    for method in superres.CLASSICAL:
        assert superres.classical(image, 2, method).shape == (80, 104, 3)
    with pytest.raises(InputError, match="method"):
        superres.classical(image, 2, "sinc")
    with pytest.raises(InputError, match="scale"):
        superres.check_scale(3)
    with pytest.raises(InputError, match="uint8 RGB"):
        superres.classical(image[..., 0], 2)


def test_downscale_mod_crops_and_y_metrics():
    image = _image(41, 53)
    low = superres.downscale(image, 4)
    assert low.shape == (10, 13, 3)
    hr = superres.mod_crop(image, 4)
    same = superres.y_metrics(hr, hr, 4)
    assert same["psnr"] == 100.0 and same["ssim"] == pytest.approx(1.0)
    bicubic = superres.y_metrics(superres.classical(low, 4), hr, 4)
    nearest = superres.y_metrics(superres.classical(low, 4, "nearest"), hr, 4)
    assert bicubic["psnr"] > nearest["psnr"] > 10
    with pytest.raises(InputError, match="differ in size"):
        superres.y_metrics(hr[:-4], hr, 4)


def test_y_metrics_crop_the_border():
    hr = _image(48, 48)
    sr = hr.copy()
    sr[:2] = 0  # damage only inside the cropped border
    assert superres.y_metrics(sr, hr, 2)["psnr"] == 100.0
    assert superres.y_metrics(sr, hr, 1)["psnr"] < 100.0


def test_compare_downscales_then_measures_each_method():
    image = _image(40, 48)
    low, results = superres.compare(image, 4, {"bicubic": lambda lr: superres.classical(lr, 4)})
    assert low.shape == (10, 12, 3)
    sr, m = results["bicubic"]
    assert sr.shape == (40, 48, 3) and set(m) == {"psnr", "ssim", "ms"}


def test_evaluate_names_every_method(monkeypatch):
    monkeypatch.setattr(superres, "held_out_images", lambda: {n: _image(48, 64, i) for i, n in enumerate(superres.HELD_OUT)})
    net = superres.build(dict(arch="fast", scale=2, features=8, mid=4)).eval()
    m = superres.evaluate(net, quick=True)
    assert {f"x2_{k}_psnr" for k in (*superres.CLASSICAL, "model")} <= set(m)
    assert m["x2_gain_over_bicubic_db"] == pytest.approx(m["x2_model_psnr"] - m["x2_bicubic_psnr"], abs=1e-3)


def test_training_pairs_are_seeded_aligned_and_never_held_out():
    from playground.train import superres as train
    names = [n for n, _ in train._sources()]
    assert not any(n.split(":", 1)[1] in superres.HELD_OUT for n in names)
    images = {"a": _image(64, 80, 1), "b": _image(72, 72, 2)}
    pairs = train.Pairs(images, 4, 32)
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    low, high = pairs((torch.arange(5),), gen())
    assert low.shape == (5, 3, 8, 8) and high.shape == (5, 3, 32, 32)
    again = pairs((torch.arange(5),), gen())
    assert torch.equal(low, again[0]) and torch.equal(high, again[1])
    # each low-res crop is the bicubic downscale of its high-res crop (up to the crop's border)
    down = torch.nn.functional.avg_pool2d(high, 4)
    assert (down - low).abs()[..., 1:-1, 1:-1].mean() < 0.05


def test_training_command_checkpoints_and_resumes(tmp_path, monkeypatch):
    from playground.train import loop
    from playground.train import superres as train
    monkeypatch.setattr(train, "training_images", lambda: {"a": _image(80, 96, 1)})
    monkeypatch.setattr(superres, "held_out_images", lambda: {"astronaut": _image(300, 300, 2)})
    args = ["--preset", "fast-x2", "--threads", "1", "--batch-size", "2", "--run-dir", str(tmp_path), "--no-finish"]
    train.main([*args, "--steps", "2"])
    assert loop.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2  # loadable with weights_only=True
    train.main([*args, "--steps", "3"])
    assert loop.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 3


@pytest.mark.parametrize("preset", ["fast-x4", "edsr-x2"])
def test_card_templates_make_valid_cards(tmp_path, preset):
    from playground.cards import parse_card, write_metrics
    from playground.train import superres as train
    from playground.train.superres_card import card_template, port_template
    p = train.PRESETS[preset]
    from playground.train.superres_card import run_text
    text = card_template(p["model_id"], p, p["config"], 1234, train.COMMAND.format(preset=preset))
    path = tmp_path / f"{p['model_id']}.md"
    path.write_text(text)
    write_metrics(path, {"x2_model_psnr": 30.0})
    card = parse_card(path)
    assert card.family == "superres" and card.resolution == f"x{p['config']['scale']}" and card.params == 1234
    assert "astronaut" in card.body
    run = run_text(2.5, 1, ["natural:brick", "sklearn:china"], lr=p["lr"], batch_size=16, steps=p["steps"], seed=0)
    assert "on 2 pictures: natural:brick, sklearn:china." in run and f"{p['steps']} steps" in run
    port = tmp_path / "esrgan-slim-x4.md"
    port.write_text(port_template(4, 99, "1.0.0", "ab" * 32))
    assert "Kevin Scott" in parse_card(port).body
