"""On a ZeroGPU Space every model event asks for a GPU, for its own duration; other events ask for none."""
import sys
import types

import app
from playground.gpu import GPU_SECONDS, PRIVATE_SECONDS


def test_model_events_ask_for_their_duration_and_no_other_event_asks(monkeypatch):
    asked = {}

    def gpu(fn, duration=None):
        def on_gpu(*args, **kwargs):
            return fn(*args, **kwargs)
        asked[id(on_gpu)] = duration
        return on_gpu
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    demo = app.build_app()
    public = {fn.api_name: asked.get(id(fn.fn)) for fn in demo.fns.values() if fn.api_visibility == "public"}
    private = [asked.get(id(fn.fn)) for fn in demo.fns.values() if fn.api_visibility == "private" and fn.fn]
    model_events = {name for name, seconds in public.items() if seconds is not None}
    assert model_events == set(GPU_SECONDS), "GPU_SECONDS must name exactly the public model events"
    assert all(public[name] == GPU_SECONDS[name] for name in model_events)
    assert public["data_sample"] is None and public["models_status"] is None  # no model, no GPU
    assert public["compare"] > 60 and public["style_compare"] > 60
    assert PRIVATE_SECONDS in private and set(private) <= {None, PRIVATE_SECONDS}
