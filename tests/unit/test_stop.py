"""Stop (issue 25): every long view's action takes should_stop, ends with its partial result and says where it
stopped; a stopped run is never stored by the result cache; tabs.stopping keys the flag by session and view."""
import inspect
import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from playground import results
from playground.actions import compare, diffusion, pixelcnn, style
from tests.conftest import SHIPPED, TinyModel
from tests.unit.test_compare import TINY_MODELS as COMPARE_MODELS
from tests.unit.test_style_actions import LOSS, OPTS

TINY_MODELS = {**COMPARE_MODELS, "style-loss-tiny": TinyModel("style", LOSS)}
assert COMPARE_MODELS["features-fashion"] == SHIPPED


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """An empty result cache for each test."""
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path / "results"))
    return tmp_path / "results"


def after(n):
    """A should_stop that says stop from its n-th question on (Stop pressed during the n-th step)."""
    asked = itertools.count(1)
    return lambda: next(asked) >= n


def never():
    return False


def _frames(path):
    with Image.open(path) as im:
        return im.n_frames


def test_diffusion_stops_at_a_step_with_its_images_and_the_gif_so_far(tiny_registry):
    states = list(diffusion.generate("ddpm-fashion", "Trouser", 2.0, "DDPM", 50, 0, side=2, should_stop=after(3)))
    assert len(states) == 4  # three steps, then the stopped result
    assert states[0][2].startswith("Step 1 of 50 (DDPM), about ")  # an estimate from the first step
    xt, x0, text, gif = states[-1]
    assert text.startswith("Stopped at step 3 of 50 (DDPM)") and np.array_equal(xt, states[-2][0])
    assert gif and _frames(gif) >= 2


def test_a_stopped_run_is_not_stored_and_the_next_run_computes_in_full(tiny_registry):
    args = ("ddpm-fashion", "Trouser", 2.0, "DDIM", 6, 0)
    stored = results.stats["stored"]
    list(diffusion.generate(*args, side=1, should_stop=after(2)))
    assert results.stats["stored"] == stored
    full = list(diffusion.generate(*args, side=1, should_stop=never))
    assert len(full) == 7 and "s per image" in full[-1][2]  # every step again: not answered by the stopped run
    assert results.stats["stored"] == stored + 1
    hit = list(diffusion.generate(*args, side=1, should_stop=after(1)))  # should_stop is not part of the key
    assert len(hit) == 1 and np.array_equal(hit[0][0], full[-1][0])


def test_the_cache_skips_a_stopped_generator_or_function_whatever_it_ended_with():
    calls = []

    @results.cached("test.stop")
    def counted(x, should_stop=None):
        calls.append(x)
        yield from range(x)

    assert list(counted(3, should_stop=lambda: True)) == [0, 1, 2]  # ran to its end, but Stop was pressed
    assert list(counted(3)) == [0, 1, 2] and list(counted(3)) == [2] and calls == [3, 3]

    @results.cached("test.stop.plain")
    def plain(x, should_stop=None):
        calls.append(x)
        return x

    plain(5, should_stop=lambda: True)
    plain(5)
    plain(5)
    assert calls == [3, 3, 5, 5]


def test_pixelcnn_sample_stops_at_a_row_with_the_gif_so_far(tiny_registry):
    states = list(pixelcnn.sample(pixelcnn.MAIN_ID, pixelcnn.EVERY_CLASS, 1.0, 0, side=2, should_stop=after(4)))
    grid, text, gif = states[-1]
    assert len(states) == 4 and text.startswith("Stopped at row 4 of 28") and grid.shape == states[-2][0].shape
    assert _frames(gif) >= 4


def test_the_whole_network_sampler_stops_within_a_row(tiny_registry, monkeypatch):
    """Half a minute a row for 36 images: Stop is asked after every pixel there, and the row so far is kept."""
    monkeypatch.setattr(pixelcnn, "PARTIAL_S", 1e9)  # within a row, only the first pixel is shown
    states = list(pixelcnn.sample(pixelcnn.MAIN_ID, pixelcnn.NO_CLASS, 1.0, 0, side=1, fast=False,
                                  should_stop=after(30)))
    assert [s[1].split(",")[0] for s in states[:-1]] == ["1 of 28 pixels of row 1 of 28 written", "Row 1 of 28 written"]
    assert states[-1][1].startswith("Stopped at row 2 of 28")  # the 30th question: pixel 2 of row 2


def test_pixelcnn_complete_stops_at_a_row(tiny_registry):
    states = list(pixelcnn.complete(pixelcnn.MAIN_ID, "test image", 0, hidden=10, k=2, should_stop=after(2)))
    strip, text = states[-1]
    assert len(states) == 2 and "Stopped at row 20 of 28" in text and strip.shape == states[-2][0].shape


def test_style_optimisation_stops_at_an_iteration_and_keeps_its_picture(tiny_registry):
    opts = dict(OPTS, iterations=40)
    states = list(style.optimise_shown(None, "astronaut", None, "starry_night", 128, "style-loss-tiny",
                                       opts["preserve_colour"], opts["style_weight"], opts["content_weight"],
                                       opts["tv_weight"], 40, opts["init"], 0, should_stop=after(2)))
    content, _, image, rows, text = states[-1]
    assert text.startswith("Stopped at iteration 10 of 40 after") and image.shape == content.shape
    assert states[1][4].startswith("Iteration 5 of 40 after") and " left:" in states[1][4]  # with an estimate
    assert np.array_equal(image, states[-2][2])


def test_compare_samplers_stops_at_a_cell(tiny_registry):
    states = list(diffusion.compare_samplers("ddpm-fashion", "Trouser", 2.0, 0, ["DDIM", "Euler"], [5, 10],
                                             should_stop=after(2)))
    grid, rows, text = states[-1]
    assert text.startswith("Stopped at cell 2 of 4") and len(rows) == 2 and grid.shape == states[0][0].shape


@pytest.mark.slow  # the real images and the training set's memorisation check
def test_compare_stops_at_a_model_with_the_models_done(tiny_registry):
    states = list(compare.run("Fashion-MNIST", ["gan-fashion", "vae-fashion"], 20, 0, should_stop=after(2)))
    gallery, table, text, export = states[-1]
    assert states[0][2].startswith("Scoring the real images")  # at once, before any work
    assert text.startswith("Stopped at model 1 of 2") and export is None
    assert [row[0] for row in table][-1] == "gan-fashion" and len(gallery) == 2  # real images and the GAN's


@pytest.mark.slow  # the real images and the training set's memorisation check
def test_two_settings_streams_and_stops_after_the_first_setting(tiny_registry, monkeypatch):
    monkeypatch.setattr(compare, "TWO_N", 20)
    full = list(compare.two_settings("gan-fashion", 1.0, 0.5, 0))
    assert [s[3].split(" ")[0] for s in full] == ["Drawing", "Setting", "Both"] and full[-1][1] is not None
    assert len(full[-1][2]) == 3  # both settings and their difference
    stopped = list(compare.two_settings("gan-fashion", 1.0, 0.7, 0, should_stop=after(1)))
    grid_a, grid_b, rows, text = stopped[-1]
    assert text.startswith("Stopped at setting 1 of 2") and grid_b is None and len(rows) == 1


def test_the_stop_flag_belongs_to_one_session_and_one_view():
    from tabs import stopping
    seen = {}

    def action(x, should_stop=None):
        for i in range(x):
            seen[i] = should_stop()
            yield i

    handler = stopping.stoppable("view", action)
    assert list(inspect.signature(handler).parameters) == ["request", "x"]  # what Gradio reads
    mine, other = SimpleNamespace(session_hash="a"), SimpleNamespace(session_hash="b")
    run, elsewhere = handler(mine, 3), handler(other, 3)
    assert next(run) == 0 and next(elsewhere) == 0
    assert not stopping.request_stop("another view", mine)
    assert stopping.request_stop("view", mine)
    assert list(run) == [1, 2] and seen[1] is True
    assert list(elsewhere) == [1, 2]
    assert not stopping.request_stop("view", mine)  # nothing left running


def test_a_run_stopped_while_it_waits_in_its_lane_ends_as_it_starts(monkeypatch):
    """Stop finds the session's events of its view in Gradio's queue and marks them; such a run, when its turn
    comes, leaves every output as it was (one gr.skip()) without calling its action."""
    import contextvars

    import gradio as gr
    from gradio.context import LocalContext

    from tabs import common, stopping
    called = []

    def action(x, should_stop=None):
        called.append(x)
        yield x

    handler = common.model_event(stopping.stoppable("view", action))  # as the tabs wire it
    other = common.model_event(stopping.stoppable("other view", action))

    def event(event_id, session, fn):
        return SimpleNamespace(_id=event_id, session_hash=session, fn=SimpleNamespace(fn=fn))
    lane = SimpleNamespace(queue=[event("e1", "a", handler), event("e2", "b", handler), event("e3", "a", other)])
    blocks = SimpleNamespace(_queue=SimpleNamespace(event_queue_per_concurrency_id={"lane-sampling": lane}))
    monkeypatch.setattr(gr, "Info", lambda message, **options: called.append(message))

    def in_event(fn, event_id=None):
        def run():
            LocalContext.blocks.set(blocks)
            LocalContext.event_id.set(event_id)
            return fn()
        return contextvars.copy_context().run(run)

    mine = SimpleNamespace(session_hash="a")
    assert in_event(lambda: stopping.request_stop("view", mine))  # e1 waits: marked
    assert not in_event(lambda: stopping.request_stop("view", SimpleNamespace(session_hash="c")))
    assert in_event(lambda: list(handler(mine, 5)), "e1") == [gr.skip()]
    assert called == [stopping.NOT_STARTED]  # the note, and the action never ran
    assert in_event(lambda: list(handler(SimpleNamespace(session_hash="b"), 6)), "e2") == [6]  # another session's
    assert in_event(lambda: list(handler(mine, 7)), "e1") == [7]  # a mark is used once
