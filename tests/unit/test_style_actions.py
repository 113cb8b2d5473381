"""The Style transfer tab's actions on tiny networks in a temporary registry."""
import numpy as np
import pytest
import torch
from PIL import Image

from playground import registry
from playground.actions import style as actions
from playground.errors import InputError
from playground.families import style
from tests.conftest import TinyModel

LOSS = dict(kind="loss", seed=0, scales=[1, 2], kernels=[3], filters=4, content_scales=[2])
WIDE = dict(kind="loss", seed=1, scales=[1, 2, 4], kernels=[3, 5], filters=4, content_scales=[2])
FAST = dict(kind="transform", channels=[4, 4, 8], res_blocks=1, edge_kernel=3, style="starry_night")
OPTS = dict(style_weight=1000, content_weight=1, tv_weight=0.01, iterations=4, init="content", preserve_colour=False,
            seed=0)
TINY_MODELS = {"style-loss-tiny": TinyModel("style", LOSS), "style-loss-tiny-wide": TinyModel("style", WIDE),
               "style-fast-tiny": TinyModel("style", FAST)}


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


ODD_SHAPES = [(4096, 4), (4, 4096), (1, 1), (2, 2)]  # width x height


@pytest.mark.parametrize("width, height", ODD_SHAPES)
@pytest.mark.parametrize("resolution", [128, 512])
def test_elongated_and_tiny_images_give_a_result_or_a_clear_message(tiny_registry, tmp_path, width, height,
                                                                     resolution):
    """Every path of the tab, with the odd image as the content and as the style: a picture, or an InputError
    that names the size and the least side, never a padding error from inside a network."""
    path = tmp_path / "odd.png"
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(path)
    for content_up, style_up in ((str(path), None), (None, str(path))):
        try:
            content, sty = actions.pair(content_up, "astronaut", style_up, "starry_night", resolution)
        except InputError as err:
            assert f"{width}x{height} pixels" in str(err) and f"at least {style.MIN_SIDE} pixels" in str(err)
            assert width != height  # the tiny squares are enlarged to the resolution and go through
            continue
        assert min(content.shape[:2]) >= style.MIN_SIDE and min(sty.shape[:2]) >= style.MIN_SIDE
        for method in actions.methods():
            image, _ = actions.run_method(method, content, sty, dict(OPTS, iterations=1))
            assert image.shape == content.shape and image.dtype == np.uint8
        assert len(actions.grams(content, sty, content, "style-loss-tiny-wide")) == 6
        assert len(actions.compare(actions.methods()[1], actions.methods()[2], content, sty,
                                   dict(OPTS, iterations=1))) == 2


@pytest.mark.parametrize("shape", [(4, 256, 3), (256, 4, 3), (1, 1, 3), (11, 512, 3)])
def test_arrays_below_a_networks_least_side_are_refused_on_every_network_path(tiny_registry, shape):
    """style-loss-tiny-wide (a 5x5 filter at 1/4 scale) takes 12 pixels a side, style-fast-tiny 8."""
    image = np.full(shape, 90, np.uint8)
    content, sty = _pair()
    wide = "style-loss-tiny-wide needs at least 12 pixels on each side"
    calls = [(lambda: list(actions.optimise(image, sty, "style-loss-tiny-wide", **OPTS)), wide),
             (lambda: list(actions.optimise(content, image, "style-loss-tiny-wide", **OPTS)), wide),
             (lambda: actions.grams(image, sty, None, "style-loss-tiny-wide"), wide),
             (lambda: actions.grams(content, sty, image, "style-loss-tiny-wide"), wide),
             (lambda: actions.compare(actions.methods()[1], actions.methods()[3], image, sty, OPTS), wide)]
    if min(shape[:2]) < 8:
        calls.append((lambda: actions.fast(image, "style-fast-tiny"), "style-fast-tiny needs at least 8 pixels"))
    for call, words in calls:
        with pytest.raises(InputError, match=f"^The (content|style|result) image is {shape[1]}x{shape[0]} pixels; "
                                             f"{words}"):
            call()
    for method in actions.BASELINES:  # colour statistics work at any size
        assert actions.baseline(image, sty, method).shape == shape


def test_every_style_network_runs_at_its_least_side():
    """min_side is what each network needs, and MIN_SIDE what every network in weights/ (and VGG-19) takes."""
    import json
    from pathlib import Path

    from playground.families.style_vgg import VGG19Loss
    weights = Path(__file__).resolve().parents[2] / "weights"
    configs = [json.loads(p.read_text()) for p in sorted(weights.glob("style-*/config.json"))]
    assert len(configs) >= 6
    nets = [style.build(c) for c in configs + [LOSS, WIDE, FAST]] + [VGG19Loss()]
    assert [style.min_side(n) for n in nets[-4:]] == [4, 12, 8, 16]
    assert max(style.min_side(n) for n in nets) == style.MIN_SIDE
    with torch.no_grad():
        for net in nets:
            side = style.min_side(net)
            for shape in ((side, 3 * side), (3 * side, side)):
                out = net(torch.rand(1, 3, *shape))
                assert all(torch.isfinite(o).all() for o in (out if isinstance(out, list) else [out]))
            if not isinstance(net, style.TransformNet):  # one pixel fewer is too few (a fast network pads to 4s)
                with pytest.raises(RuntimeError):
                    net(torch.rand(1, 3, side - 1, 3 * side))


def test_the_resolution_as_the_api_documents_it(tiny_registry):
    content, sty = actions.pair(None, "astronaut", None, "starry_night", "192")
    assert max(content.shape[:2]) == 192 and max(sty.shape[:2]) == 192
    for bad in ("192.0", "192 ", "200"):
        with pytest.raises(InputError, match="^Resolution must be one of 128, 192, 256, 384 or 512; got "):
            actions.pair(None, "astronaut", None, "starry_night", bad)


def test_what_the_tab_shows_is_put_into_words_here(tiny_registry):
    content, style, image, text, kept = actions.baseline_shown(None, actions.content_names()[0], None,
                                                               actions.style_names()[0], 128, actions.BASELINES[0])
    assert image.shape == content.shape and kept is image and text == f"{actions.BASELINES[0]}: colour statistics only."
