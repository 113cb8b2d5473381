"""Lanes instead of one queue (tabs/lanes.py): a cheap click never waits behind a heavy view."""
import json
import threading
import time
import urllib.request

import pytest

import app
from playground.gpu import GPU_SECONDS
from tabs.lanes import EVENT_LANE, HEAVY, LIMITS, QUICK, SAMPLING


def _events():
    demo = app.build_app()
    return {fn.api_name: fn for fn in demo.fns.values() if fn.api_visibility == "public"}, demo


def test_every_model_event_is_in_a_lane_and_cheap_ones_never_share_the_heavy_lane():
    public, demo = _events()
    assert set(EVENT_LANE) == set(GPU_SECONDS), "EVENT_LANE must name exactly the public model events"
    for name, lane in EVENT_LANE.items():
        assert public[name].concurrency_id == f"lane-{lane}" and public[name].concurrency_limit == LIMITS[lane]
    assert public["generate"].concurrency_id != public["compare"].concurrency_id
    assert public["reconstruct"].concurrency_id != public["compare_samplers"].concurrency_id
    assert {EVENT_LANE[n] for n in ("compare", "compare_samplers", "style_optimise", "gan_two_settings",
                                    "train_on_generated")} == {HEAVY}
    assert {EVENT_LANE[n] for n in ("generate", "reconstruct", "style_fast", "superres_upscale",
                                    "denoise")} == {QUICK}
    assert EVENT_LANE["diffusion_generate"] == SAMPLING
    private = [fn for fn in demo.fns.values() if fn.api_visibility == "private" and getattr(fn.fn, "model_event", 0)]
    # app.OPEN_WITH's copies run in their event's lane, after the page-open event that applies a link
    link_open = next(fn for fn in demo.fns.values() if any(t[1] == "load" for t in fn.targets)
                     and fn.fn is not None and fn.fn.__name__ == "on_open")
    opening = [fn for fn in demo.fns.values() if fn.trigger_after == link_open._id and fn.api_visibility
               == "private" and fn.concurrency_id.startswith("lane-")]
    assert private and all(fn.concurrency_id == f"lane-{QUICK}" for fn in private if fn not in opening)
    assert {fn.concurrency_id for fn in opening} == {f"lane-{QUICK}", f"lane-{SAMPLING}", f"lane-{HEAVY}"}
    assert sum(LIMITS.values()) <= 4  # on 2 cores: at most four calls at once (the docstring's reasoning)


def _post(url, api_name, data):
    body = json.dumps({"data": data}).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.load(r)["event_id"]


def _finish(url, api_name, event_id):
    """Read the event's stream to its end; (last event name, monotonic time it ended)."""
    event = None
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=600) as r:
        for raw in r:
            line = raw.decode()
            if line.startswith("event: "):
                event = line[7:].strip()
    return event, time.monotonic()


@pytest.mark.slow
def test_a_gan_grid_answers_while_a_sampler_grid_runs(fresh_app_url):
    url = fresh_app_url
    _finish(url, "generate", _post(url, "generate", ["gan-fashion", "all classes, in turn", 0, 2, 1]))  # load it
    heavy = {}
    samplers = ["ddpm-fashion", "every class in turn", 2, 0, ["DDPM", "DDIM"], [50, 100]]
    heavy_id = _post(url, "compare_samplers", samplers)
    worker = threading.Thread(target=lambda: heavy.update(end=_finish(url, "compare_samplers", heavy_id)))
    worker.start()
    time.sleep(2)  # the sampler grid has started
    event, cheap_end = _finish(url, "generate", _post(url, "generate", ["gan-fashion", "all classes, in turn", 1, 2, 1]))
    worker.join()
    assert event == "complete" and heavy["end"][0] == "complete"
    assert cheap_end < heavy["end"][1], "the GAN grid waited for the sampler grid to end"


def test_heavy_views_open_only_with_a_stored_result(tmp_path, monkeypatch):
    """A page open must not start minutes of work: the copy shows a stored result or changes nothing."""
    import gradio as gr

    from playground import results
    from tabs.common import guarded
    from tabs.serving import _stored_only
    monkeypatch.setenv(results.RESULTS_DIR_ENV, str(tmp_path))
    runs = []

    @results.cached("test.heavy")
    def heavy(n):
        runs.append(n)
        yield "half"
        yield f"done {n}"

    def handler(n):  # as a tab's streaming handler: a first state, then the action's results
        yield "starting", None
        for r in heavy(n):
            yield "running", r
    opened = _stored_only(guarded(handler), 2)
    skipped = opened(3)
    assert runs == [] and len(skipped) == 2 and all(isinstance(x, type(gr.skip())) for x in skipped)
    assert list(heavy(3)) == ["half", "done 3"]  # a click computes and stores it
    assert opened(3) == ("running", "done 3") and runs == [3]  # now the page opens with it, computing nothing


@pytest.mark.slow
def test_the_warm_up_stores_the_first_results(tmp_path):
    from tests.conftest import start_app
    proc, url = start_app(env={"PLAYGROUND_RESULTS_DIR": str(tmp_path)})
    try:
        app.warm_results(url, ("generate", "reconstruct"))
    finally:
        proc.terminate()
        proc.wait(10)
    assert len(list(tmp_path.glob("*.npz"))) >= 2  # both first results (the GAN tab stores its novelty check too)
