"""The diffusion tab's actions on a tiny untrained UNet in a temporary registry."""
import numpy as np
import pytest
from PIL import Image

from playground import registry
from playground.actions import diffusion as actions
from playground.errors import InputError
from playground.train import diffusion as train
from tests.conftest import SHIPPED, TinyModel


def tiny_unet(config=None):
    """A diffusers UNet with the Fashion-MNIST settings and 8 channels a level, saved as training saves it."""
    return TinyModel("diffusion", config or dict(train.FASHION, block_out_channels=(8, 8, 8)),
                     build=train.build_unet,
                     save=lambda folder, unet, config: train.save_folder(folder, unet, train.make_scheduler(), config))


TINY_MODELS = {"ddpm-tiny": tiny_unet(), "features-fashion": SHIPPED, "features-fashion-ssl": SHIPPED}


def test_classes_come_from_the_folder(tiny_registry):
    assert actions.diffusion_ids() == ["ddpm-tiny"] and actions.classes("ddpm-tiny")[0] == "T-shirt/top"


def test_generate_streams_every_step_then_a_gif(tiny_registry):
    states = list(actions.generate("ddpm-tiny", "Trouser", 2.0, "DDIM", 4, 1, side=2))
    assert len(states) == 5 and [s[2].split(" of")[0] for s in states[:4]] == [f"Step {i}" for i in range(1, 5)]
    xt, x0, text, gif = states[-1]
    assert xt.shape == x0.shape and "s per image" in text
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames >= 4
    again = list(actions.generate("ddpm-tiny", "Trouser", 2.0, "DDIM", 4, 1, side=2))[-1]
    assert np.array_equal(again[0], xt)


def test_a_guidance_below_one_on_the_slider_grid_is_accepted(tiny_registry):
    """ddpm-fashion ships guidance 0.8 (playground.guidance_sweep): the tab's default must pass the server's check."""
    *_, (xt, _, text, _) = actions.generate("ddpm-tiny", "Trouser", 0.8, "DDIM", 2, 0, side=1)
    assert xt.ndim >= 2 and "s per image" in text


def test_cancelling_stops_between_steps(tiny_registry):
    run = actions.generate("ddpm-tiny", actions.NO_CLASS, 1.0, "DDPM", 50, 0, side=1)
    first = next(run)
    run.close()  # what gradio does on cancel: the generator is closed after a yield
    assert first[2].startswith("Step 1 of 50")


@pytest.mark.parametrize("args", [("ddpm-tiny", "Unicorn", 2.0, "DDIM", 4, 0), ("ddpm-tiny", "Trouser", 2.25, "DDIM", 4, 0),
                                  ("ddpm-tiny", "Trouser", 2.0, "PLMS", 4, 0), ("ddpm-tiny", "Trouser", 2.0, "DDIM", 0, 0),
                                  ("ddpm-tiny", "Trouser", float("nan"), "DDIM", 4, 0), ("nope", "Trouser", 2.0, "DDIM", 4, 0)])
def test_bad_inputs_are_refused(tiny_registry, args):
    with pytest.raises(InputError):
        next(actions.generate(*args))


def test_schedules_start_near_one_and_end_near_zero():
    t, curves = actions.schedules()
    for abar in curves.values():
        assert abar[0] > 0.99 and abar[-1] < 1e-3 and np.all(np.diff(abar) < 0)
    rows, snr = actions.schedule_rows(300)
    assert {r["curve"] for r in rows} == set(actions.CURVE_COLOURS) == {r["curve"] for r in snr}


def test_forward_process_goes_from_the_image_to_noise():
    image = np.zeros((28, 28), np.uint8)
    image[8:20, 8:20] = 255
    early, n0 = actions.forward(image, 0, "linear", 0)
    late, n1 = actions.forward(image, 999, "linear", 0)
    assert n0["signal"] > 0.99 and n1["signal"] < 0.01
    small = early[::8, ::8]
    assert small[14, 14] > 240 and small[2, 2] < 15
    with pytest.raises(InputError):
        actions.forward(image, 1000)


def test_sdedit_keeps_the_size_and_strength_matters(tiny_registry):
    image = np.full((40, 40), 255, np.uint8)
    image[10:30, 15:25] = 0  # dark item on white: inverted for Fashion-MNIST
    shown, low = actions.edit("ddpm-tiny", image, 0.1, "Trouser", 1.0, 0, steps=10)
    _, high = actions.edit("ddpm-tiny", image, 1.0, "Trouser", 1.0, 0, steps=10)
    assert shown.shape == low.shape == high.shape and shown[5 * 8, 5 * 8] < 20
    assert np.abs(low.astype(int) - shown).mean() < np.abs(high.astype(int) - shown).mean()


def test_compare_samplers_fills_the_grid_cell_by_cell(tiny_registry):
    states = list(actions.compare_samplers("ddpm-tiny", "Trouser", 2.0, 0, ["DDIM", "Euler"], [5, 10]))
    assert len(states) == 5 and states[0][1] == [] and states[0][2].startswith("0 of 4 cells")  # a blank grid at once
    grid, rows, text = states[-1]
    assert states[1][2].startswith("1 of 4 cells (DDIM, 5 steps done), about ") and text.startswith("Done: 4 cells in")
    assert [r[:2] for r in rows] == [["DDIM", 5], ["DDIM", 10], ["Euler", 5], ["Euler", 10]]
    assert all(r[3] == "not measured yet" for r in rows) and grid.shape == states[0][0].shape
    again = list(actions.compare_samplers("ddpm-tiny", "Trouser", 2.0, 0, ["DDIM", "Euler"], [5, 10]))[-1][0]
    assert np.array_equal(again, grid)


@pytest.mark.parametrize("samplers, steps", [([], [5]), (["DDIM"], []), (["PLMS"], [5]), (["DDIM"], [7]),
                                             (list(actions.SAMPLERS), [1000]),
                                             (["DDPM", "DDIM", "Euler", "Heun"], [1000])])  # Heun: 2 per step
def test_compare_samplers_refuses_bad_or_too_big_requests(tiny_registry, samplers, steps):
    with pytest.raises(InputError):
        next(actions.compare_samplers("ddpm-tiny", "Trouser", 2.0, 0, samplers, steps))


def test_measured_cells_show_their_kd_in_the_sampler_table(tiny_registry):
    """Every cell can be measured (KD at N=100, unbiased), and the sampler table shows a measured cell's KD,
    also when the grid itself comes from the result cache."""
    from playground import sampler_kd
    sampler_kd._reference.cache_clear()
    before = list(actions.compare_samplers("ddpm-tiny", "Trouser", 2.0, 0, ["DDIM"], [5, 10]))[-1][1]
    assert [r[3] for r in before] == ["not measured yet"] * 2
    states = list(actions.measure_samplers("ddpm-tiny", 2.0, ["DDIM"], [5]))
    assert states[0][1].startswith("0 of 1 cells known") and states[-1][1].startswith("Done: 1 cells measured")
    kd, se = (float(v) for v in states[-1][0][0][3].split(" ± "))
    assert se > 0 and kd > 3 * se  # an untrained UNet's noise is far from garments
    after = list(actions.compare_samplers("ddpm-tiny", "Trouser", 2.0, 0, ["DDIM"], [5, 10]))[-1][1]
    assert after[0][3] == states[-1][0][0][3] and after[1][3] == "not measured yet"
    again = list(actions.measure_samplers("ddpm-tiny", 2.0, ["DDIM"], [5]))
    assert len(again) == 1 and again[0][1].startswith("All 1 cells were measured before")
    with pytest.raises(InputError, match="network passes"):
        next(actions.measure_samplers("ddpm-tiny", 2.0, ["DDPM", "DDIM", "Euler"], [100, 50, 20, 10, 5]))


def test_bench_cases_time_streamed_and_unstreamed_runs(tiny_registry):
    from playground import bench
    rows = bench.measure_cases("diffusion", 1)
    assert [r["case"].split(":")[0] for r in rows] == ["Diffusion", "Diffusion"] and all(r["p50_ms"] > 0 for r in rows)


def test_the_compare_view_puts_the_gan_card_beside(tiny_registry, monkeypatch):
    import dataclasses
    reg = registry.default()
    assert "no measured FD" in actions.against_gan("ddpm-tiny")
    card = dataclasses.replace(reg.card("ddpm-tiny"), metrics={"fd_fashion": 1.25, "kd_fashion": 0.0021,
                                                                "kd_fashion_se": 0.0004})
    gan = dataclasses.replace(card, id="gan-tiny", family="gan", metrics={"fd_fashion": 1.5})
    monkeypatch.setitem(reg._cards, "ddpm-tiny", card)
    monkeypatch.setitem(reg._cards, "gan-tiny", gan)
    text = actions.against_gan("ddpm-tiny")
    assert "FD-Fashion 1.250, KD-Fashion 0.0021 ± 0.0004" in text and "**gan-tiny**, FD-Fashion 1.500 (" in text


def test_every_class_in_turn_is_the_first_choice_and_cycles_the_classes(tiny_registry, monkeypatch):
    choices = actions.class_choices("ddpm-tiny")
    assert choices[:2] == [actions.EVERY_CLASS, actions.NO_CLASS] and len(choices) == 12
    assert actions._label("ddpm-tiny", actions.EVERY_CLASS) == list(range(10))
    from playground.families import diffusion
    seen = []
    real = diffusion.sample_steps
    monkeypatch.setattr(diffusion, "sample_steps", lambda model, seed, n, labels, *a: seen.append(labels) or
                        real(model, seed, n, labels, *a))
    list(actions.generate("ddpm-tiny", actions.EVERY_CLASS, 2.0, "DDIM", 2, 0, side=2))
    list(actions.generate("ddpm-tiny", "Bag", 2.0, "DDIM", 2, 0, side=2))
    assert seen == [list(range(10)), 8]


def test_the_forward_tab_picks_gallery_images():
    from playground.actions.common import gallery_thumbnails
    thumbs = gallery_thumbnails(3)
    assert [t[1].split(":")[0] for t in thumbs] == ["0", "1", "2"] and thumbs[0][0].shape == (56, 56)
    picked = actions.gallery_image(3)
    assert picked.shape == (224, 224) and actions.forward(picked, 0, "linear", 0)[1]["alpha_bar"] > 0.99
    with pytest.raises(InputError):
        actions.gallery_image(2000)


def test_the_default_sampler_is_read_without_loading_and_agrees_with_the_family(tiny_registry):
    import json
    assert actions.default_sampler("ddpm-tiny") == registry.get_model("ddpm-tiny").sampler == ("DPM-Solver++", 20)
    path = registry.default().folder("ddpm-tiny") / "playground.json"
    before = path.read_text()
    try:
        path.write_text(json.dumps(dict(json.loads(before), sampler="Euler ancestral", steps=30)))
        assert actions.default_sampler("ddpm-tiny") == ("Euler ancestral", 30)
    finally:
        path.write_text(before)


def test_what_the_tab_shows_is_put_into_words_here(tiny_registry):
    shown, text, rows, snr = actions.forward_shown(None, 300, "cosine", 0)
    assert shown.shape == (224, 224) and text.startswith("At t = 300 (cosine): x_t = ")
    assert {"t": 300, "value": 1.0, "curve": "chosen t"} in rows and {"t": 300, "value": 4.0, "curve": "chosen t"} in snr
    with pytest.raises(InputError, match="Draw something"):
        actions.edit_drawing_or_upload("ddpm-tiny", np.zeros((28, 28), np.uint8), None, 0.5, None, 1.0, 0)
