"""What every tab shares: the explanation block, error handling, image components, GPU wrapping."""
import functools
import inspect
import logging

import gradio as gr

from playground.errors import PlaygroundError

log = logging.getLogger("playground.ui")
GENERIC_ERROR = "Something went wrong on the server. It has been logged; please try other settings."


def intro(sentence, details):
    """A tab's two-level explanation: one sentence, then an accordion with details and references."""
    gr.Markdown(sentence)
    with gr.Accordion("How it works, in more detail", open=False):
        gr.Markdown(details)


def _as_ui_error(error):
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, PlaygroundError):
        return gr.Error(str(error), print_exception=False)
    log.exception("unexpected error in a UI handler")
    return gr.Error(GENERIC_ERROR, print_exception=False)


def guarded(fn):
    """Run a handler so that users see our clear messages and never a traceback.

    Works for plain functions and for generators that stream their states.
    """
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                raise _as_ui_error(error) from None
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as error:
                raise _as_ui_error(error) from None
    return wrapper


def on_gpu(fn):
    """On a ZeroGPU Space (the `spaces` package is present) ask for a GPU; elsewhere unchanged."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(fn)


def model_event(fn):
    """Handler for an event that runs a model: guarded, GPU-wrapped on Spaces."""
    return on_gpu(guarded(fn))


def model_queue():
    """Event kwargs for model work. The registry puts every model on one device, so all model
    events share one concurrency id: one model call at a time on that device."""
    return {"concurrency_limit": 1, "concurrency_id": "model-device"}


def _raw_file(payload):
    if payload is None:
        return None
    if payload.url and payload.url.startswith("data:"):
        return payload.url  # normalize_image decodes data: URLs itself, with its own caps
    return payload.path


def raw(component):
    """Hand the value to the handler exactly as the client sent it.

    gradio's own preprocessing decodes images and checks numbers with messages of its own (and lets
    NaN and off-step values through raw HTTP). Skipping it makes playground.validate and
    playground.images.normalize_image the one door for every value, with one kind of message.
    """
    component.preprocess = _raw_file if isinstance(component, gr.Image) else (lambda payload: payload)
    return component


def image_input(label, **kwargs):
    """An image upload whose raw file (or data: URL) goes to playground.images.normalize_image."""
    return raw(gr.Image(label=label, type="filepath", image_mode=None, format="png",
                        sources=["upload", "clipboard"], **kwargs))


def image_output(label, **kwargs):
    """A lossless (PNG) output image."""
    return gr.Image(label=label, type="numpy", format="png", interactive=False, **kwargs)


def launch_alone(build):
    """`python -m tabs.<name>`: serve one tab on 127.0.0.1 for development."""
    import os
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build()
    demo.queue(max_size=64, default_concurrency_limit=1)
    demo.launch(server_name="127.0.0.1", max_file_size="10mb", enable_monitoring=False, ssr_mode=False)
