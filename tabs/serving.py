"""What the whole app gets once its tabs are built: chosen API names, lanes, GPU durations, one error boundary.

app.build_app calls these; docs/sharing.md says why each is as it is.
"""
import inspect

import gradio as gr
from gradio.exceptions import InvalidPathError

from playground.actions.common import NotCached, cache_only
from playground.gpu import gpu_duration
from tabs.common import GENERIC_ERROR, NOT_UPLOADED, log, on_gpu
from tabs.lanes import LIMITS, lane_of


def gpu_events(demo):
    """Model events ask a ZeroGPU Space for a GPU, for their own duration (playground.gpu)."""
    for fn in demo.fns.values():
        if getattr(fn.fn, "model_event", False):
            fn.fn = on_gpu(fn.fn, gpu_duration(fn.api_name if fn.api_visibility == "public" else None))


def lanes(demo):
    """Each model event joins its lane (tabs.lanes): cheap clicks never wait behind heavy work."""
    for fn in demo.fns.values():
        if getattr(fn.fn, "model_event", False):
            lane = lane_of(fn.api_name, fn.api_visibility == "public")
            fn.concurrency_id, fn.concurrency_limit = f"lane-{lane}", LIMITS[lane]


def open_with_results(demo, computed, from_cache, after=None):
    """Each named event also runs when the page opens, on the controls' default values, so a tab opens
    showing what its first click gives. `computed` events run (cheap, and answered by the shared result
    cache once warm: playground.results); `from_cache` ones (minutes of work) only show a stored result
    and leave the view empty otherwise. Each copy is private and runs in its event's lane; call after lanes()."""
    events = {fn.api_name: fn for fn in demo.fns.values() if fn.api_visibility == "public"}
    with demo:
        for name in (*computed, *from_cache):
            src = events[name]
            fn = _stored_only(src.fn, len(src.outputs)) if name in from_cache else src.fn
            (after.then if after is not None else demo.load)(
                fn, src.inputs, src.outputs, api_visibility="private", show_progress="minimal",
                concurrency_id=src.concurrency_id, concurrency_limit=src.concurrency_limit)


def _stored_only(handler, n_outputs):
    """The handler run inside cache_only(): its last output when every result it needs is stored, else no
    change to any output. A streaming handler is run to its end in one call (the thread cache_only marks)."""
    def run(*args):
        try:
            with cache_only():
                out = handler(*args)
                if inspect.isgenerator(out):
                    last = None
                    for last in out:
                        pass
                    out = last
        except Exception as error:  # noqa: BLE001 - a result not stored yet: the view stays as it was
            if isinstance(error, NotCached) or isinstance(error.__context__, NotCached):
                return [gr.skip()] * n_outputs if n_outputs > 1 else gr.skip()
            raise
        return out
    # the handler's own parameters, so that Gradio passes what it takes (a stoppable handler's gr.Request first)
    run.__signature__, run.__annotations__ = inspect.signature(handler), dict(getattr(handler, "__annotations__", {}))
    return run


def private_events(demo, public_api):
    """Events not in public_api become private; a name in public_api that no event has is an error."""
    public = set()
    for fn in demo.fns.values():
        if fn.api_name in public_api and fn.fn is not None:
            public.add(fn.api_name)
        elif fn.api_visibility != "private":
            fn.api_visibility = "private"
    missing = set(public_api) - public
    if missing:
        raise RuntimeError(f"app.PUBLIC_API names endpoints that no event has: {sorted(missing)}")


def error_boundary(demo, bad_request):
    """One error boundary for every event: an exception that is not already the app's own message
    (Gradio's checks of the payload, pydantic's, a bug) reaches the client as one sentence of ours;
    the log keeps the detail."""
    preprocess_data, process_api = demo.preprocess_data, demo.process_api

    async def checked_payload(*args, **kwargs):
        try:
            return await preprocess_data(*args, **kwargs)
        except gr.Error:
            raise
        except InvalidPathError as error:  # a FileData path outside the upload cache: the same words as ours
            log.warning("refused a file outside the upload cache: %r", error)
            raise gr.Error(NOT_UPLOADED, print_exception=False) from None
        except Exception as error:  # noqa: BLE001 - Gradio's input count, FileData fields, ...
            log.warning("refused an event's payload: %r", error)
            raise gr.Error(bad_request, print_exception=False) from None

    async def bounded(*args, **kwargs):
        try:
            return await process_api(*args, **kwargs)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - the boundary: anything else is logged, never shown
            log.exception("an event failed outside its handler")
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None
    demo.preprocess_data, demo.process_api = checked_payload, bounded
