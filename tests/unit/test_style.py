"""The style family on tiny networks: the loss network, the losses, the optimisation, fast networks, colour."""
import json

import numpy as np
import pytest
import torch

from playground import registry, style_images
from playground.errors import InputError
from playground.families import style, style_colour

RNG = np.random.default_rng(0)


def _picture(h=32, w=40, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _tiny_loss(seed=0):
    net = style.build(dict(kind="loss", seed=seed, scales=[1, 2], kernels=[3], filters=4, content_scales=[2]))
    net.calibrate(torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)))
    return net.eval().requires_grad_(False)


def test_the_loss_network_is_seeded_and_calibrated():
    a, b, c = _tiny_loss(0), _tiny_loss(0), _tiny_loss(1)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.convs[0].weight, c.convs[0].weight)
    assert a.names() == ["scale 1/1, 3x3", "scale 1/2, 3x3"] and a.content_branches() == [1]
    feats = a(torch.rand(1, 3, 16, 16))
    assert [f.shape[-1] for f in feats] == [16, 8] and (a.rms > 0).all()


def test_gram_is_symmetric_and_the_losses_vanish_on_the_targets():
    net = _tiny_loss()
    x = torch.rand(1, 3, 16, 16)
    g = style.gram(net(x)[0])
    assert g.shape == (1, 4, 4) and torch.allclose(g, g.transpose(1, 2))
    feats = net(x)
    assert float(style.style_loss(feats, style.style_targets(net, x))) < 1e-10
    assert float(style.content_loss(feats, feats, net.content_branches())) == 0
    assert float(style.tv_loss(torch.ones(1, 3, 8, 8))) == 0


def test_optimisation_streams_lowers_the_style_loss_and_is_seeded():
    net, content, sty = _tiny_loss(), _picture(), _picture(seed=1)
    states = list(style.optimise(net, content, sty, iterations=12, every=4, init="noise", seed=3))
    assert [s[1]["iteration"] for s in states] == [4, 8, 12]
    image, losses = states[-1]
    assert image.shape == content.shape and image.dtype == np.uint8
    first = list(style.optimise(net, content, sty, iterations=1, every=1, init="noise", seed=3))[0][1]
    assert losses["style"] < first["style"]
    again = style.run(net, content, sty, iterations=12, every=4, init="noise", seed=3)[0]
    assert np.array_equal(again, image)


@pytest.mark.parametrize("init", style.INITS)
def test_every_initialisation_and_colour_preservation(init):
    net, content, sty = _tiny_loss(), _picture(), _picture(seed=1)
    image, _ = style.run(net, content, sty, iterations=2, init=init, preserve_colour=True)
    assert image.shape == content.shape
    with pytest.raises(InputError, match="Initialisation"):
        style.initial_image(content, sty, "paint", 0)


def test_the_deadline_stops_the_optimisation():
    states = list(style.optimise(_tiny_loss(), _picture(), _picture(seed=1), iterations=50, every=1, deadline=0))
    assert len(states) == 1


def test_preserving_colour_keeps_the_content_chroma():
    content, result = _picture(), _picture(seed=2)
    kept = style.keep_colours(result, content)
    yiq = lambda im: np.asarray(im, float) / 255 @ style_colour._YIQ.T  # noqa: E731
    assert np.abs(yiq(kept)[..., 1:] - yiq(content)[..., 1:]).mean() < 0.02
    assert np.abs(yiq(kept)[..., 0] - yiq(result)[..., 0]).mean() < 0.02
    grey = style.luminance_only(content)
    assert (grey[..., 0] == grey[..., 1]).all()


def test_reinhard_and_histogram_matching_move_the_colour_statistics():
    content = _picture()
    sty = np.clip(_picture(seed=1).astype(int) // 4 + np.array([150, 20, 60]), 0, 255).astype(np.uint8)
    for out in (style.reinhard(content, sty), style.histogram_match(content, sty)):
        assert out.shape == content.shape and out.dtype == np.uint8
        assert np.abs(out.mean((0, 1)) - sty.mean((0, 1))).max() < 20
    matched = style.histogram_match(content, sty)
    assert np.array_equal(np.sort(np.unique(matched[..., 0])), np.sort(np.unique(matched[..., 0])))


def test_a_fast_network_handles_odd_sizes_strength_and_colour():
    net = style.build(dict(kind="transform", channels=[4, 4, 8], res_blocks=1, edge_kernel=3, style="gravel")).eval()
    photo = _picture(30, 37)
    out = style.stylise(net, photo)
    assert out.shape == photo.shape and abs(float(out.mean()) - 127.5) < 10  # untrained: about grey
    assert np.array_equal(style.stylise(net, photo, strength=0.0), photo)
    half = style.stylise(net, photo, strength=0.5, preserve_colour=True)
    assert half.shape == photo.shape


def test_default_action_for_both_kinds():
    net = _tiny_loss()
    assert len(style.default_action(net, 0)) == 2
    fast = style.build(dict(kind="transform", channels=[4, 4, 8], res_blocks=1, edge_kernel=3)).eval()
    assert style.default_action(fast, 0).shape == (1, 3, 128, 128)
    with pytest.raises(ValueError):
        style.build({"kind": "vgg"})


def test_fit_keeps_the_aspect_and_multiples_of_four():
    out = style.fit(_picture(30, 60), 64)
    assert out.shape == (32, 64, 3)


def test_bundled_images_have_licences():
    assert style_images.STYLES["starry_night"][1] == "Public domain"
    sky = style_images.style_image("starry_night")
    assert sky.ndim == 3 and max(sky.shape[:2]) == 512
    assert style_images.content_names()[:1] == ["astronaut"]
    with pytest.raises(InputError):
        style_images.style_image("mona_lisa")


def test_scores_and_the_evaluation_network_differs():
    net = _tiny_loss()
    other = style.build(dict(style.loss_config(net), seed=net.seed + style.EVAL_SEED_OFFSET))
    assert not torch.equal(net.convs[0].weight, other.convs[0].weight)
    content = _picture(32, 32)
    s = style.scores(net, content, content, content)
    assert s["style"] < 1e-10 and s["content"] == 0 and s["ssim"] == pytest.approx(1)


def test_the_shipped_loss_network_loads_from_the_registry():
    reg = registry.Registry()
    net = reg.get_model("style-loss-random")
    assert isinstance(net, style.LossNet) and len(net.names()) == 6


def test_structure_loss_ignores_colour_and_level_but_not_layout():
    ramp = torch.linspace(0, 1, 24)
    x = (ramp.view(1, 1, 1, 24) * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)).expand(2, 3, 24, 24)
    assert float(style.structure_loss(x, x * 0.5)) < 1e-3  # (zero padding: an offset would show at the borders)
    assert float(style.structure_loss(x, x.flip(-1))) > 0.1


def test_luminance_content_loss_ignores_hue_but_not_edges():
    net = style.build(dict(kind="loss", seed=0, scales=[1, 2], kernels=[3], filters=8, content_scales=[2]))
    g = torch.Generator().manual_seed(0)
    photo = torch.rand((1, 3, 32, 32), generator=g)
    luma = style.grey(photo)[:, :1]
    # another colour with the same luminance: shift chroma along a direction orthogonal to the luma weights
    d = torch.tensor([0.587, -0.299, 0.0]).view(1, 3, 1, 1) * 0.2
    recoloured = photo + d
    assert torch.allclose(style.grey(recoloured)[:, :1], luma, atol=1e-6)
    assert float(style.luminance_content_loss(net, recoloured, photo)) < 1e-8
    assert float(style.luminance_content_loss(net, photo.flip(-1), photo)) > 1e-3
    assert float(style.content_loss(net(recoloured), net(photo), net.content_branches())) > 1e-4  # the plain term sees colour


@pytest.mark.parametrize("preset", ["loss-random", "loss-random-wide"])
def test_loss_presets_make_the_shipped_cards_and_weights(tmp_path, preset):
    from playground.cards import parse_card
    from playground.train import style as train
    p = train.PRESETS[preset]
    net = train.make_loss_network(p["config"])
    text = train.card_template(preset, p["config"], sum(x.numel() for x in net.parameters()),
                               command=train.COMMAND.format(preset=preset))
    (tmp_path / f"{p['model_id']}.md").write_text(text)
    card = parse_card(tmp_path / f"{p['model_id']}.md")
    shipped = registry.Registry().card(p["model_id"])
    assert (card.params, card.train_command, card.metrics_command) == (shipped.params, shipped.train_command,
                                                                       shipped.metrics_command)
    weights = registry.Registry().get_model(p["model_id"])
    assert style.loss_config(weights) == p["config"]
    assert all(torch.allclose(a, b) for a, b in zip(net.state_dict().values(), weights.state_dict().values()))


def test_cached_optimisations_are_named_per_loss_network():
    """evaluate() keeps optimisations under runs/style-eval/ by network: another design must not reuse them."""
    from playground.train.style import LOSS_CONFIG, WIDE_CONFIG
    with torch.device("meta"):
        nets = [style.build(c) for c in (LOSS_CONFIG, dict(LOSS_CONFIG, seed=5), WIDE_CONFIG, {"kind": "vgg19"})]
    assert [style._tag(n) for n in nets] == ["seed0", "seed5", "seed1-1x2x4x8-3x5x9-64-2x4", "vgg19loss"]
    assert style._is_loss(nets[-1]) and not style._is_loss(style.build(dict(kind="transform")))


def test_training_crops_of_photo_and_target_are_aligned():
    """The distillation pairs each photo crop with the same crop (and flip) of its optimised picture."""
    from playground.train import style as train
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)]
    targets = [255 - p for p in photos]
    gen = torch.Generator().manual_seed(0)
    x, y = train.crops(photos, 32, 0, targets)((torch.arange(8),), gen)
    assert x.shape == y.shape == (8, 3, 32, 32)
    assert torch.allclose(x + y, torch.ones_like(x), atol=1e-6)
    (alone,) = train.crops(photos, 32, 0)((torch.arange(8),), torch.Generator().manual_seed(0))
    assert torch.equal(alone, x)  # the same crops with or without targets
    assert len({tuple(c.flatten()[:4].tolist()) for c in x}) == 8  # different crops


def test_a_fast_networks_score_is_set_against_the_optimisation_of_the_same_photos(monkeypatch):
    """evaluate() scores a fast network and the optimisation (here: a stand-in returning the photo itself)
    on the same held-out photos with the evaluation network, and divides."""
    torch.manual_seed(0)
    loss_net = style.build(dict(kind="loss", seed=0, scales=[1, 2], kernels=[3], filters=4, content_scales=[2]))
    loss_net.calibrate(style.calibration_images(64))
    seen = []

    def stand_in(net, name, style_name, iterations):
        seen.append((net, name, style_name, iterations))
        return style.fit(style.content_image(name), style.EVAL_SIZE), [1.0, 2.0]
    monkeypatch.setattr(style, "_loss_network", lambda: loss_net)
    monkeypatch.setattr(style, "optimised", stand_in)
    fast = style.build(dict(kind="transform", channels=[4, 4, 8], res_blocks=1, edge_kernel=3, style="gravel")).eval()
    out = style.evaluate(fast)
    assert [s[1:] for s in seen] == [(n, "gravel", 100) for n in style.HELD_OUT] and seen[0][0] is loss_net
    assert out["optimisation_ssim"] == pytest.approx(1.0)  # the photo itself
    assert out["ssim_minus_optimisation"] == pytest.approx(out["ssim"] - 1.0)
    assert out["style_loss_vs_optimisation"] == pytest.approx(out["eval_style_loss"] / out["optimisation_eval_style_loss"])
    assert "style_loss_vs_optimisation" not in style.evaluate(fast, quick=True)


def test_optimised_training_targets_are_made_once_and_kept(tmp_path, monkeypatch):
    """The distillation targets: the optimisation of each training photo, cached as PNG under the run folder."""
    from playground.train import style as train
    torch.manual_seed(0)
    net = style.build(dict(kind="loss", seed=0, scales=[1], kernels=[3], filters=4, content_scales=[1]))
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)]
    sty = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    calls = []
    real = style.run
    monkeypatch.setattr(style, "run", lambda *a, **k: calls.append(k) or real(*a, **dict(k, iterations=5)))
    first = train.optimised_targets(net, photos, ["skimage:a", "data/b.jpg"], sty, tmp_path / "targets")
    assert len(calls) == 2 and all(c == style.DEFAULTS for c in calls)  # the tab's defaults
    assert sorted(p.name for p in (tmp_path / "targets").iterdir()) == ["00-skimage-a.png", "01-data-b.jpg.png"]
    assert [f.shape for f in first] == [p.shape for p in photos] and not np.array_equal(first[0], photos[0])
    again = train.optimised_targets(net, photos, ["skimage:a", "data/b.jpg"], sty, tmp_path / "targets")
    assert len(calls) == 2 and all(np.array_equal(a, b) for a, b in zip(first, again))  # read back, not redone


def test_loss_weight_ramps_rise_linearly_or_at_once_and_leave_the_others():
    from playground.train import style as train
    w = dict(style_weight=1e3, luminance_weight=5.0)
    ramp = [("luminance_weight", 100, 200, 4)]
    assert [train.weights_at(w, ramp, s)["luminance_weight"] for s in (0, 100, 150, 200, 900)] == [5, 5, 12.5, 20, 20]
    assert train.weights_at(w, ramp, 150)["style_weight"] == 1e3 and w["luminance_weight"] == 5.0
    jump = [("style_weight", 2050, 2050, 5)]  # how the texture networks were trained
    assert [train.weights_at(w, jump, s)["style_weight"] for s in (2049, 2050)] == [1e3, 5e3]
    assert "from step 2050 the style weight is 5 times higher" in train.ramp_text(jump)
    assert "rises linearly to 4 times its value from step 100 to step 200" in train.ramp_text(ramp)
    assert train.ramp_text([]) == ""
    both = ramp + [("style_weight", 300, 400, 2, ": why")]  # how Starry Night was trained: two ramps, one aside
    assert [train.weights_at(w, both, s)["style_weight"] for s in (300, 350, 400)] == [1e3, 1.5e3, 2e3]
    assert train.ramp_text(both) == (" (the luminance content weight rises linearly to 4 times its value from step 100 "
                                     "to step 200; the style weight rises linearly to 2 times its value from step 300 "
                                     "to step 400: why)")
    again = both + [("style_weight", 500, 600, 2, ": why")]
    assert train.ramp_text(again).count("why") == 1 and train.ramp_text(again).endswith("from step 500 to step 600)")
    twice = jump + [("style_weight", 3000, 3500, 2)]  # two ramps of one weight multiply
    assert [train.weights_at(w, twice, s)["style_weight"] for s in (2500, 3250, 3500)] == [5e3, 7.5e3, 1e4]


@pytest.mark.parametrize("preset", ["starry-night", "gravel", "brick", "grass"])
def test_every_fast_presets_card_renders_with_its_whole_recipe(preset):
    from playground.train import style as train
    p = train.PRESETS[preset]
    config = dict(p["config"], style=p["style"])
    kw = dict(lr_drop=p["lr_drop"], crop=p["crop"], scale=p["scale"], ramps=p["ramps"], ema=p["ema"],
              ema_from=p["ema_from"], starts=p["starts"], note=p.get("note", ""), **p["weights"])
    card = train.card_template(preset, config, 1000, command="cmd", **kw)
    run = train.run_text(12.5, 1, ["a", "b"], p["warm_starts"], config, bool(p["weights"]["distil_weight"]),
                         lr=p["lr"], batch_size=p["batch_size"], steps=p["steps"], seed=0)
    for name, first, last, *_ in p["ramps"]:  # every ramp is in the draft's words
        assert f"from step {first}" in card and train.RAMP_NAMES[name] in card
    for w in p["warm_starts"]:  # and every warm start in the run's
        assert f"at step {w['step']} from {w['source']}" in run
    assert f"{p['steps']} steps" in run and "The 2 training photos" in run and f"{p['steps']} steps" not in card
    assert "{" not in card.split("---", 2)[2] + run  # no field left unformatted


# The presets as they were written in code before they became files (presets/style/*.json), the reasons for
# each ramp left out (they are in the cards): a preset file must keep what the command trains.
_FAST = dict(steps=6000, lr_drop=4800, batch_size=4, lr=2e-3, crop=128, scale=288, ema=0.999,
             config=dict(kind="transform", channels=[16, 32, 64], res_blocks=5, edge_kernel=9, size=256, detail=0.0),
             weights=dict(style_weight=1e3, content_weight=1.0, tv_weight=1e-2, structure_weight=20.0,
                          luminance_weight=5.0, distil_weight=0.0, ssim_weight=10.0), warm_starts=[])
_TEXTURE = dict(_FAST, steps=4000, lr_drop=3200, config=dict(_FAST["config"], detail=1.0),
                weights=dict(_FAST["weights"], distil_weight=100.0))
OLD_PRESETS = {
    "loss-random": dict(model_id="style-loss-random", title="Random multi-scale style loss network",
                        config=dict(kind="loss", seed=0, scales=[1, 2, 4], kernels=[3, 7], filters=64,
                                    content_scales=[2, 4])),
    "loss-random-wide": dict(model_id="style-loss-random-wide", title="Wide random multi-scale style loss network",
                             config=dict(kind="loss", seed=1, scales=[1, 2, 4, 8], kernels=[3, 5, 9], filters=64,
                                         content_scales=[2, 4])),
    "starry-night": dict(_FAST, model_id="style-fast-starry-night", style="starry_night", steps=13500, ema_from=6000,
                         ramps=[["luminance_weight", 6000, 7500, 2], ["style_weight", 9500, 10000, 2]],
                         starts={"ssim_weight": 7500}),
    "gravel": dict(_TEXTURE, model_id="style-fast-gravel", style="gravel", steps=17000, ema_from=4000,
                   config=dict(_TEXTURE["config"], detail=0.0),
                   ramps=[["style_weight", 2050, 2050, 5], ["distil_weight", 6000, 6000, 0],
                          ["style_weight", 6000, 6500, 4], ["ssim_weight", 7000, 7500, 2],
                          ["style_weight", 8000, 8500, 2], ["ssim_weight", 9000, 9500, 2],
                          ["ssim_weight", 10000, 10500, 3], ["style_weight", 14000, 14500, 1.5],
                          ["style_weight", 14500, 15000, 1.5]],
                   starts={"ssim_weight": 4000},
                   warm_starts=[dict(step=6000, source="the weights shipped at commit 80ca621"),
                                dict(step=12000, source="the weights shipped at commit e9690e9", before=dict(detail=1.0)),
                                dict(step=14000, source="session 11's candidate, docs/candidates/style-fast-gravel-"
                                                        "detail0-step14000-ema.safetensors at commit 9bd98e4")]),
    "brick": dict(_TEXTURE, model_id="style-fast-brick", style="brick", steps=8500, ema_from=4000,
                  ramps=[["style_weight", 2000, 2000, 5], ["distil_weight", 6000, 6000, 0],
                         ["style_weight", 6000, 6500, 4], ["ssim_weight", 7000, 7500, 2]],
                  starts={"ssim_weight": 6000}, warm_starts=[dict(step=6000, source="the weights shipped at commit 127ea55")]),
    "grass": dict(_FAST, model_id="style-fast-grass", style="grass", steps=12000, lr_drop=4000, ema_from=3000,
                  weights=dict(_FAST["weights"], style_weight=5e3),
                  ramps=[["style_weight", 5000, 5500, 4], ["ssim_weight", 6000, 6500, 3], ["style_weight", 7500, 8000, 2],
                         ["ssim_weight", 8000, 8500, 2], ["style_weight", 10000, 10500, 2]],
                  starts={"ssim_weight": 2000},
                  warm_starts=[dict(step=5000, source="the weights shipped at commit ec0121f"),
                               dict(step=7500, source="session 10's candidate, docs/candidates/"
                                                      "style-fast-grass-step7500-ema.safetensors at commit 2e5a4c0")]),
}


def test_the_preset_files_hold_what_the_presets_in_code_held():
    """Moving the presets to files changed no value the command trains with (nor the schedule)."""
    from playground.train import style as train
    assert sorted(train.PRESETS) == sorted(OLD_PRESETS)
    for name, old in OLD_PRESETS.items():
        loaded = {k: v for k, v in train.PRESETS[name].items() if k != "draft"}
        assert loaded == old, name
        for step in (0, 2049, 2050, 6000, 7250, 9999, 12000, 14750, 20000):  # the same weights at every step
            if "weights" in old:
                assert train.weights_at(loaded["weights"], loaded["ramps"], step, loaded["starts"]) == \
                    train.weights_at(old["weights"], old["ramps"], step, old["starts"])
    assert train.PRESETS["gravel"]["weights"]["style_weight"] == 1e3 and train.LOSS_CONFIG["seed"] == 0
    assert train.weights_at(train.PRESETS["gravel"]["weights"], train.PRESETS["gravel"]["ramps"], 15000,
                            train.PRESETS["gravel"]["starts"])["style_weight"] == pytest.approx(1e3 * 5 * 4 * 2 * 1.5 * 1.5)


def test_a_term_switched_off_is_off_after_its_step_and_is_not_prepared_for():
    from playground.train import style as train
    w = dict(style_weight=1e3, distil_weight=100.0, ssim_weight=10.0)
    off = [("distil_weight", 6000, 6000, 0)]
    assert [train.weights_at(w, off, s)["distil_weight"] for s in (5999, 6000, 9000)] == [100, 0, 0]
    assert train.ramp_text(off) == " (from step 6000 the distillation term is off)"
    assert train.term_on(w, off, {}, "distil_weight", 0, 8000)  # a run from scratch needs the targets
    assert not train.term_on(w, off, {}, "distil_weight", 6000, 8000)  # one resumed at 6000 does not
    assert not train.term_on(w, [], {"ssim_weight": 500}, "ssim_weight", 0, 500)
    assert train.term_on(w, [], {"ssim_weight": 500}, "ssim_weight", 0, 501)


def _tiny_training(monkeypatch, tmp_path, preset, **overrides):
    """The training command on a tiny network, loss network and photos, shipping into tmp_path -> the preset."""
    from functools import partial

    from playground.train import loop
    from playground.train import style as train
    small = dict(train.PRESETS[preset], crop=16, lr_drop=3,
                 config=dict(train.PRESETS[preset]["config"], channels=[4, 8, 8], res_blocks=1), **overrides)
    monkeypatch.setitem(train.PRESETS, preset, small)
    monkeypatch.setattr(train, "make_loss_network", lambda config=None: _tiny_loss())
    monkeypatch.setattr(train, "training_photos", lambda scale: ([_picture(24, 32, 1), _picture(32, 24, 2)], ["a", "b"]))
    monkeypatch.setattr(train.style, "content_images", lambda: {"astronaut": _picture(40, 40, 3)})
    monkeypatch.setattr(loop, "finish", partial(loop.finish, root=tmp_path))
    return small


def test_training_command_resumes_and_ships_the_ema_with_a_card_that_says_so(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from playground.train import loop
    from playground.train import style as train
    small = _tiny_training(monkeypatch, tmp_path, "starry-night", ema_from=2, ramps=[("luminance_weight", 1, 3, 2)],
                           starts={"ssim_weight": 3}, note="Why this recipe.")
    run = tmp_path / "run"
    args = ["--preset", "starry-night", "--threads", "1", "--run-dir", str(run)]
    train.main([*args, "--steps", "2", "--no-finish"])
    assert loop.load_checkpoint(run / "checkpoint.pt")["step"] == 2
    assert not (tmp_path / "weights").exists()  # --no-finish trains only
    train.main([*args, "--steps", "4"])  # resumes at step 2 and finishes
    ckpt = loop.load_checkpoint(run / "checkpoint.pt")
    assert ckpt["step"] == 4
    shipped = load_file(tmp_path / "weights" / "style-fast-starry-night" / "model.safetensors")
    ema, raw = ckpt["ema"]["net"], ckpt["modules"]["net"]
    key = next(k for k in shipped if k in raw and raw[k].is_floating_point() and not torch.equal(raw[k], ema[k]))
    assert torch.equal(shipped[key], ema[key])  # the EMA is shipped, not the last step's weights
    monkeypatch.setattr(train.style, "evaluate", lambda net: {"value": float(net.state_dict()[key].sum())})
    assert train.score(small, run / "checkpoint.pt") == (4, {"value": float(shipped[key].sum())})  # what ships
    folder = tmp_path / "weights" / "style-fast-starry-night"
    assert train.score(small, folder) == train.score(small, folder / "model.safetensors") == (
        None, {"value": float(shipped[key].sum())})  # shipped weights score as they are
    card = (tmp_path / "model_cards" / "style-fast-starry-night.md").read_text()
    assert "moving average (decay 0.999) of the trained ones from step 2" in card
    assert "4 steps" in card and "rises linearly to 2 times its value from step 1 to step 3" in card
    assert "was dropped. Why this recipe. The shipped weights" in card  # the preset's note, in the Training section
    assert "\nTraining took" in card.split("<!-- training-run:start -->")[1]  # the run's minutes, in its section
    assert "and three terms of\nits own" in card and "- 10 x an SSIM term from step 3: 1 minus the SSIM" in card
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["ssim"] > 0 for r in log if "ssim" in r][-1]  # the term is on after its start step


def test_a_warm_started_run_begins_from_the_given_weights_and_its_card_says_how(tmp_path, monkeypatch, capsys):
    from safetensors.torch import load_file

    from playground.errors import PlaygroundError
    from playground.train import loop
    from playground.train import style as train
    small = _tiny_training(monkeypatch, tmp_path, "grass", ema_from=0, steps=4, ramps=[], starts={}, warm_starts=[
        dict(step=1, source="the first weights"), dict(step=2, source="the second ones")])
    shipped, card = tmp_path / "weights" / "style-fast-grass", tmp_path / "model_cards" / "style-fast-grass.md"
    args = ["--preset", "grass", "--threads", "1"]
    train.main([*args, "--run-dir", str(tmp_path / "scratch"), "--steps", "2"])
    assert "in pieces" not in card.read_text() and "Training took" in card.read_text()  # run in one go
    first = load_file(shipped / "model.safetensors")
    train.main([*args, "--run-dir", str(tmp_path / "fine"), "--warm-start", str(shipped)])  # the preset's step 2
    ckpt = loop.load_checkpoint(tmp_path / "fine" / "checkpoint.pt")
    assert (ckpt["step"], ckpt["started_at"]) == (4, 2)
    assert [json.loads(line)["step"] for line in (tmp_path / "fine" / "log.jsonl").read_text().splitlines()] == [4]
    text = card.read_text()
    assert "trained in pieces" in text and "at step 1 from the first weights; at step 2 from the second ones" in text
    assert "Training from step 2 took" in text
    capsys.readouterr()
    train.main([*args, "--run-dir", str(tmp_path / "fine"), "--warm-start", str(tmp_path / "nowhere")])
    assert "applies to a fresh run only" in capsys.readouterr().out  # a resumed run says it ignores the flag
    assert card.read_text() == text  # and finishes as the run it is
    second = load_file(shipped / "model.safetensors")
    assert any(not torch.equal(v, second[k]) for k, v in first.items())  # trained on from them
    config = dict(small["config"], style="grass")
    assert set(train.warm_weights(shipped / "model.safetensors", config)) == set(first)  # a file will do
    with pytest.raises(PlaygroundError, match="another network"):
        train.warm_weights(shipped, dict(config, res_blocks=2))
    with pytest.raises(RuntimeError):  # the tensors must fit: no config.json beside a bare file
        train.warm_weights(shipped / "model.safetensors", dict(config, channels=[4, 8, 16]))
    with pytest.raises(SystemExit):  # no step to start at
        train.main(["--preset", "starry-night", "--threads", "1", "--run-dir", str(tmp_path / "x"),
                    "--warm-start", str(shipped)])


def test_a_warm_start_may_change_the_photos_detail_and_the_run_and_card_follow_it(tmp_path, monkeypatch):
    """How gravel was trained: with the photo's detail at 1 until a warm start, then without it."""
    from safetensors.torch import load_file

    from playground.errors import PlaygroundError
    from playground.train import style as train
    ws = [dict(step=2, source="the first weights", before=dict(detail=1.0)), dict(step=3, source="the second ones")]
    assert [train.config_at(dict(detail=0.0, res_blocks=1), ws, s)["detail"] for s in (0, 1, 2, 5)] == [1, 1, 0, 0]
    later = ws + [dict(step=4, source="x", before=dict(detail=0.5))]
    assert [train.config_at(dict(detail=0.0), later, s)["detail"] for s in (1, 2, 3, 4)] == [1, 0.5, 0.5, 0]
    with pytest.raises(PlaygroundError, match="only detail"):  # a change of shape is no warm start
        train.config_at({}, [dict(step=1, source="x", before=dict(channels=[4, 8, 8]))], 0)
    small = _tiny_training(monkeypatch, tmp_path, "gravel", ema_from=0, steps=4, ramps=[], starts={}, warm_starts=ws,
                           weights=dict(train.PRESETS["gravel"]["weights"], distil_weight=0.0))
    assert small["config"]["detail"] == 0.0  # gravel ships without the photo's detail
    calls = []
    monkeypatch.setattr(train.style, "photo_detail", lambda x, f=train.style.photo_detail: calls.append(len(x)) or f(x))
    shipped, card = tmp_path / "weights" / "style-fast-gravel", tmp_path / "model_cards" / "style-fast-gravel.md"
    args = ["--preset", "gravel", "--threads", "1"]
    train.main([*args, "--run-dir", str(tmp_path / "scratch")])  # from scratch in one go
    assert calls == [4, 4]  # the two training steps before step 2 added the detail, the rest and the samples did not
    assert json.loads((shipped / "config.json").read_text())["detail"] == 0.0
    train.main([*args, "--run-dir", str(tmp_path / "half"), "--steps", "2"])  # stops where the detail still holds
    assert json.loads((shipped / "config.json").read_text())["detail"] == 1.0  # its config says so
    half = load_file(shipped / "model.safetensors")
    with pytest.raises(PlaygroundError, match="another network"):  # these weights are not the step-3 network
        train.main([*args, "--run-dir", str(tmp_path / "wrong"), "--warm-start", str(shipped), "--from-step", "3"])
    calls.clear()
    train.main([*args, "--run-dir", str(tmp_path / "fine"), "--warm-start", str(shipped), "--from-step", "2"])
    assert calls == [] and json.loads((shipped / "config.json").read_text())["detail"] == 0.0
    assert any(not torch.equal(v, load_file(shipped / "model.safetensors")[k]) for k, v in half.items())
    text = card.read_text()
    assert ("at step 2 from the first weights, trained until then with the photo's detail (its grey image minus a 5x5 "
            "box blur, `families.style.photo_detail`) at 1 x (0 x from this step on)") in text
    assert "To that output it adds" not in text  # the shipped network adds no detail
    monkeypatch.setattr(train.style, "evaluate", lambda net: {"detail": net.detail})
    assert train.score(small, tmp_path / "half" / "checkpoint.pt") == (2, {"detail": 1.0})  # as it was trained
    assert train.score(small, tmp_path / "fine" / "checkpoint.pt") == (4, {"detail": 0.0})


def test_ssim_loss_is_the_measured_ssim_and_has_gradients():
    from playground import quality
    a = _picture(40, 48, 1)
    b = np.clip(a.astype(int) + RNG.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    x, y = style.to_float(a).double().requires_grad_(True), style.to_float(b).double()
    loss = style.ssim_loss(x, y)
    measured = quality.ssim(quality.luminance(a), quality.luminance(b))[0]
    assert abs((1 - float(loss.detach())) - measured) < 1e-6 and 0.2 < measured < 0.99
    loss.backward()
    assert x.grad.abs().sum() > 0 and float(style.ssim_loss(y, y)) == pytest.approx(0, abs=1e-12)


def test_a_started_weight_is_off_before_its_step_and_ramps_after():
    from playground.train import style as train
    w = dict(style_weight=1e3, ssim_weight=10.0)
    starts = {"ssim_weight": 100}
    assert [train.weights_at(w, [], s, starts)["ssim_weight"] for s in (0, 99, 100, 500)] == [0, 0, 10, 10]
    assert train.weights_at(w, [("ssim_weight", 100, 200, 3)], 150, starts)["ssim_weight"] == 20
    assert train.weights_at(w, [], 0, starts)["style_weight"] == 1e3 and train.weights_at(w, [], 0)["ssim_weight"] == 10


def test_an_optimisation_that_blows_up_goes_back_to_its_last_finite_image(monkeypatch):
    """L-BFGS can step to NaN once the loss is flat (coffee on grass did at iteration 90): no grey picture."""
    real, calls = torch.optim.LBFGS.step, []

    def step(self, closure):
        calls.append(1)
        out = real(self, closure)
        if len(calls) == 2:
            with torch.no_grad():
                self.param_groups[0]["params"][0].fill_(float("nan"))
        return out
    monkeypatch.setattr(torch.optim.LBFGS, "step", step)
    frames = list(style.optimise(_tiny_loss(), _picture(32, 32, 1), _picture(32, 32, 2), iterations=6, every=2))
    assert [f[1]["iteration"] for f in frames] == [2, 4, 6]
    assert np.array_equal(frames[1][0], frames[0][0]) and frames[1][1]["total"] == frames[0][1]["total"]
    assert all(np.isfinite(f[1]["total"]) and f[0].std() > 10 for f in frames)
    calls.clear()
    calls.append(1)  # now the very first step blows up: the starting image and its losses
    first = next(style.optimise(_tiny_loss(), _picture(32, 32, 1), _picture(32, 32, 2), iterations=2, every=2))
    assert np.array_equal(first[0], _picture(32, 32, 1)) and np.isfinite(first[1]["style"])
