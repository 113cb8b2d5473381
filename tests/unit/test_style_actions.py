"""The Style transfer tab's actions on tiny networks in a temporary registry."""
import numpy as np
import pytest
import torch
from PIL import Image

from playground import registry
from playground.actions import style as actions
from playground.errors import InputError
from playground.families import style
from tests.conftest import write_tiny_card

LOSS = dict(kind="loss", seed=0, scales=[1, 2], kernels=[3], filters=4, content_scales=[2])
WIDE = dict(kind="loss", seed=1, scales=[1, 2, 4], kernels=[3, 5], filters=4, content_scales=[2])
FAST = dict(kind="transform", channels=[4, 4, 8], res_blocks=1, edge_kernel=3, style="starry_night")
OPTS = dict(style_weight=1000, content_weight=1, tv_weight=0.01, iterations=4, init="content", preserve_colour=False,
            seed=0)


@pytest.fixture(scope="module")
def tiny_registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("style-tab")
    (root / "model_cards").mkdir()
    torch.manual_seed(0)
    for model_id, config in (("style-loss-tiny", LOSS), ("style-loss-tiny-wide", WIDE), ("style-fast-tiny", FAST)):
        model = style.build(config)
        registry.save_weights(root / "weights" / model_id, model, config)
        write_tiny_card(root / "model_cards", model_id, "style", model)
    before = registry.default()
    registry.configure(cards_dir=root / "model_cards", root=root)
    yield root
    registry._default = before


def _pair(resolution=128):
    return actions.pair(None, "astronaut", None, "starry_night", resolution)


def test_models_and_methods_come_from_the_cards(tiny_registry):
    assert actions.loss_networks() == ["style-loss-tiny", "style-loss-tiny-wide"]
    assert actions.fast_networks() == ["style-fast-tiny"]
    assert actions.methods() == ["optimisation (style-loss-tiny)", "optimisation (style-loss-tiny-wide)",
                                 "fast network (style-fast-tiny)", *actions.BASELINES]
    assert actions.INITS == style.INITS
    assert actions.default_fast("gravel") == "style-fast-tiny"  # no gravel network here: the first one
    assert actions.default_fast(None) == "style-fast-tiny"


def test_pictures_come_by_name_or_upload(tiny_registry, tmp_path):
    content, sty = _pair()
    assert max(content.shape[:2]) == 128 and max(sty.shape[:2]) == 128
    path = tmp_path / "up.png"
    Image.fromarray(np.full((50, 80, 3), 200, np.uint8)).save(path)
    up = actions.picture(str(path), "nonsense ignored", actions.content_names(), "content", 256)
    assert up.shape == (160, 256, 3)
    for bad, words in ((("astronaut", "starry_night", 300), "Resolution"), (("unicorn", "starry_night", 128), "Content"),
                       (("astronaut", "../etc", 128), "Style")):
        with pytest.raises(InputError, match=words):
            actions.pair(None, bad[0], None, bad[1], bad[2])
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="not an image"):
        actions.picture(str(tmp_path / "bad.png"), None, [], "style", 128)


def test_optimisation_streams_images_and_loss_rows(tiny_registry):
    content, sty = _pair()
    states = list(actions.optimise(content, sty, "style-loss-tiny", **OPTS))
    assert len(states) == 1  # every 5 iterations, and at the end
    image, rows = states[-1]
    assert image.shape == content.shape and {r["term"] for r in rows} == {"style", "content", "tv"}
    assert all(np.isfinite(r["weighted"]) for r in rows)


@pytest.mark.parametrize("key, value, words", [
    ("style_weight", float("nan"), "Style weight"), ("content_weight", -1, "Content weight"),
    ("tv_weight", "0.1", "Total variation"), ("iterations", 2.5, "Iterations"), ("iterations", 10_000, "Iterations"),
    ("init", "paint", "Initialisation"), ("preserve_colour", "yes", "Preserve colour"), ("seed", -3, "Seed")])
def test_bad_settings_get_clear_messages(tiny_registry, key, value, words):
    content, sty = _pair()
    with pytest.raises(InputError, match=words):
        list(actions.optimise(content, sty, "style-loss-tiny", **dict(OPTS, **{key: value})))


def test_fast_network_strength_and_baselines(tiny_registry):
    content, sty = _pair()
    out = actions.fast(content, "style-fast-tiny", 1.0)
    assert out.shape == content.shape
    assert np.array_equal(actions.fast(content, "style-fast-tiny", 0.0), content)
    with pytest.raises(InputError, match="Strength"):
        actions.fast(content, "style-fast-tiny", 0.33)
    with pytest.raises(InputError, match="Model"):
        actions.fast(content, "style-loss-tiny", 1.0)
    name, picture = actions.network_style("style-fast-tiny", 128)  # the tab shows the style the network paints
    assert name == "starry_night" and np.array_equal(picture, actions.picture(None, name, actions.style_names(),
                                                                              "style", 128))
    with pytest.raises(InputError, match="Model"):
        actions.network_style("style-loss-tiny", 128)
    assert actions.network_style_name("style-fast-tiny") == "starry_night"  # the tab's Style image follows it
    for method in actions.BASELINES:
        assert actions.baseline(content, sty, method).shape == content.shape
    with pytest.raises(InputError, match="Baseline"):
        actions.baseline(content, sty, "sepia")


def test_compare_runs_two_methods_and_scores_both(tiny_registry):
    content, sty = _pair()
    methods = actions.methods()
    (a, ta, sa), (b, tb, sb) = actions.compare(methods[0], methods[3], content, sty, OPTS)
    assert a.shape == b.shape == content.shape and ta >= 0 and tb >= 0
    assert all(np.isfinite(list(x.values())).all() and -1 <= x["ssim"] <= 1 for x in (sa, sb))
    _, _, score = actions.compare(methods[3], methods[3], content, sty, OPTS)[1]
    assert score == sb and score["style"] > 0  # the baseline is deterministic; its colours are not the style
    with pytest.raises(InputError, match="Method"):
        actions.compare("magic", methods[2], content, sty, OPTS)
    with pytest.raises(InputError, match="Iterations"):
        actions.compare(methods[3], methods[4], content, sty, dict(OPTS, iterations=float("inf")))


def test_compare_two_loss_networks_with_the_difference_of_their_scores(tiny_registry):
    content, sty = _pair()
    a, b = "optimisation (style-loss-tiny)", "optimisation (style-loss-tiny-wide)"
    results = actions.compare(a, b, content, sty, OPTS)
    (ia, _, sa), (ib, _, sb) = results
    assert not np.array_equal(ia, ib)
    ref, net = actions.evaluator()
    assert ref == "style-loss-tiny" and net.seed == style.EVAL_SEED_OFFSET  # neither optimisation's network
    assert sa == style.scores(net, ia, content, sty) and sa != sb
    text = actions.compare_text(a, b, results)
    assert text.startswith(f"**Left:** {a}, ") and f"**Right:** {b}, " in text
    assert f"eval style loss {sa['style']:.4g}, SSIM {sa['ssim']:.3f}" in text
    assert f"eval style loss {sb['style'] - sa['style']:+.4g} (x{sb['style'] / sa['style']:.2f}), SSIM " \
           f"{sb['ssim'] - sa['ssim']:+.3f}" in text
    assert "style-loss-tiny's design with another seed" in text


def test_gram_view_shows_two_branches_of_each_picture(tiny_registry):
    content, sty = _pair()
    shown = actions.grams(content, sty, content, "style-loss-tiny")
    assert len(shown) == 6 and shown[0][1] == "style: scale 1/1, 3x3" and shown[-1][1] == "result: scale 1/2, 3x3"
    assert all(img.dtype == np.uint8 and img.shape[-1] == 3 for img, _ in shown)
    assert len(actions.grams(content, sty, None, "style-loss-tiny")) == 4


def test_gram_heatmaps_are_on_a_signed_square_root_scale(tiny_registry):
    from playground.images import heatmap, zoom
    content, sty = _pair()
    assert list(actions.signed_sqrt([-4.0, 0.0, 9.0])) == [-2.0, 0.0, 3.0]
    with registry.using("style-loss-tiny") as net, torch.no_grad():
        mats = [actions.signed_sqrt(style.gram(net(style.to_float(p))[0])[0].numpy()) for p in (sty, content)]
    top = max(float(m.max()) for m in mats)
    expected = zoom(heatmap(mats[0], vmax=top), actions.GRAM_SIZE, colour=True)
    assert np.array_equal(actions.grams(content, sty, None, "style-loss-tiny")[0][0], expected)


def test_bench_cases_run(tiny_registry):
    cases = actions.bench_cases()
    assert len(cases) == 3
    first = actions.first_fast()  # the network the tab opens on is the one timed
    assert first == actions.default_fast(actions.style_names()[0])
    assert {f"{first} 256px", f"{first} 512px"} <= set(cases)
    for fn in cases.values():
        fn(0)
