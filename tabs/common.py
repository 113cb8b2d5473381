"""What every tab shares: the explanation block, error handling, image components, GPU wrapping."""
import collections
import contextlib
import functools
import inspect
import logging
import os
import threading

import gradio as gr
import numpy as np
from gradio import component_meta
from gradio.components.base import server
from gradio.context import get_blocks_context
from gradio.utils import get_upload_folder

from playground.actions.common import NotCached, grey_drawing
from playground.errors import PlaygroundError

log = logging.getLogger("playground.ui")
GENERIC_ERROR = "Something went wrong on the server. It has been logged; please try other settings."


def intro(sentence, details):
    """A tab's two-level explanation: one sentence, then an accordion with details and references."""
    gr.Markdown(sentence)
    with gr.Accordion("How it works, in more detail", open=False):
        gr.Markdown(details)


def _as_ui_error(error):
    if isinstance(error, (gr.Error, NotCached)):  # NotCached: a page open's copy with no stored result (serving)
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


def on_gpu(fn, seconds=None):
    """On a ZeroGPU Space (the `spaces` package is present) ask for a GPU for `seconds`; elsewhere unchanged."""
    try:
        import spaces  # optional: installed only on a ZeroGPU Space
    except ImportError:
        return fn
    return spaces.GPU(fn, duration=seconds) if seconds else spaces.GPU(fn)


def model_event(fn):
    """Handler for an event that runs a model: guarded, and marked so that tabs.serving.gpu_events asks a ZeroGPU
    Space for a GPU for it, for as long as playground.gpu says its event needs."""
    handler = guarded(fn)
    handler.model_event = True
    return handler


NOT_UPLOADED = "This image did not come through the app's upload. Please upload the file again."
DRAWING_PIXELS = 1024 * 1024  # the sketchpads' canvases are 280x280; anything far larger is not a drawing
CANVAS = 280
# The editor fits its canvas inside a 30 px frame with 40 px more below for its toolbar; a box this size shows
# the 280 px canvas at about 100%, so the white page is most of what a student sees and touches.
DRAWING_BOX = (CANVAS + 60, CANVAS + 120)


def upload_folder():
    """Gradio's upload cache, symlinks resolved: the only folder image paths may point into."""
    return os.path.realpath(get_upload_folder())


def _file_or_url(file):
    """A FileData-like payload -> a data: URL or a real path inside the upload cache.

    Gradio opens whatever `path` a payload without `meta` names, so every path is checked here.
    Every refused path gets the same sentence, whether or not it exists.
    """
    if file is None:
        return None
    url = getattr(file, "url", None) if not isinstance(file, dict) else file.get("url")
    path = getattr(file, "path", None) if not isinstance(file, dict) else file.get("path")
    if isinstance(url, str) and url.startswith("data:"):
        return url  # normalize_image decodes data: URLs itself, with its own caps
    if not isinstance(path, str) or not path or "\0" in path:
        raise gr.Error(NOT_UPLOADED, print_exception=False)
    real, root = os.path.realpath(path), upload_folder()
    if os.path.commonpath([real, root]) != root or not os.path.isfile(real):
        log.warning("refused a file outside the upload cache: %r", path)
        raise gr.Error(NOT_UPLOADED, print_exception=False)
    return real


def raw(component):
    """Hand the value to the handler exactly as the client sent it.

    gradio's own preprocessing decodes images and checks numbers with messages of its own (and lets
    NaN and off-step values through raw HTTP). Skipping it makes playground.validate and
    playground.images.normalize_image the one door for every value, with one kind of message.
    Image payloads are reduced to a data: URL or a path inside the upload cache (_file_or_url).
    """
    component.preprocess = _file_or_url if isinstance(component, gr.Image) else (lambda payload: payload)
    return component


def image_input(label, **kwargs):
    """An image upload whose raw file (or data: URL) goes to playground.images.normalize_image."""
    return raw(gr.Image(label=label, type="filepath", image_mode=None, format="png",
                        sources=["upload", "clipboard"], **kwargs))


class BoundedBlobs(collections.OrderedDict):
    """Gradio's ImageEditor.blob_storage, bounded: drawings sent but never used by an event (a closed tab,
    a hostile client) stay in it forever upstream. The oldest go first once they hold `max_bytes`."""

    def __init__(self, max_bytes=64 * 1024**2):
        super().__init__()
        self.max_bytes = max_bytes
        self.lock = threading.RLock()

    @staticmethod
    def size(blobs):
        parts = [blobs.background, blobs.composite, *(blobs.layers or [])]
        return sum(len(p) for p in parts if isinstance(p, (bytes, bytearray)))

    def __setitem__(self, key, value):
        with self.lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            while len(self) > 1 and sum(self.size(v) for v in self.values()) > self.max_bytes:
                self.popitem(last=False)


def _drawing(pad, payload):
    """The sketchpad's composite alone, decoded by the one normaliser with a drawing-sized pixel cap:
    a grey HxW uint8 array, or None when nothing was sent."""
    if payload is None:
        return None
    blob_id = getattr(payload, "id", None)
    if blob_id is not None:
        blobs = pad.blob_storage.pop(blob_id, None)
        composite = None if blobs is None else blobs.composite
    else:
        composite = _file_or_url(getattr(payload, "composite", None))
    if composite is None:
        return None
    try:
        return grey_drawing(composite, DRAWING_PIXELS)
    except PlaygroundError as error:
        raise gr.Error(str(error), print_exception=False) from None


def blank_drawing():
    """A sketchpad's value on load and after Clear: a white page as its background. Gradio's editor keeps the
    brush while it has a background; an empty value switches it to its image tool ("select the draw tool")."""
    return {"background": np.full((CANVAS, CANVAS), 255, np.uint8), "layers": [], "composite": None}


@contextlib.contextmanager
def _no_stub_file():
    """Gradio's component metaclass writes a .pyi stub beside the module of every new component class; not here."""
    write, component_meta.create_or_modify_pyi = component_meta.create_or_modify_pyi, lambda *args: None
    try:
        yield
    finally:
        component_meta.create_or_modify_pyi = write


with _no_stub_file():
    class DrawingPad(gr.Sketchpad):
        """gr.Sketchpad whose handler gets the composite only (a grey array, None when empty), never Gradio's own
        decoding of every layer, with a bounded blob store written under its lock.

        On the class, not patched onto an instance: Gradio rebuilds a component from its constructor arguments
        for a session when an event updates its props, and such a copy handed the whole value to the handler."""

        # no __init__ of its own: Gradio reads a component's props from its class's __init__ signature

        @property
        def blob_storage(self):
            return self._blobs

        @blob_storage.setter
        def blob_storage(self, value):  # Gradio's __init__ sets a plain dict
            self._blobs = value if isinstance(value, BoundedBlobs) else BoundedBlobs()

        def get_block_name(self):
            return "imageeditor"  # the browser's component: a subclass of a template is named after its parent

        get_block_class = get_block_name

        def preprocess(self, payload):
            return _drawing(self, payload)

        @server
        def accept_blobs(self, data):
            """The browser sends a drawing's background, layer and composite in parallel requests to one id;
            upstream reads the entry, adds its part and writes it back, so one part could erase another."""
            with self.blob_storage.lock:
                return super().accept_blobs(data)


def drawing_input(label, source=None, **kwargs):
    """A black-brush sketchpad on a fixed 280x280 white page, the brush on from the start, in a box that fits
    it. Drawing on it sets `source` (a radio of sources) to "drawing"; Clear gives a white page again."""
    with gr.Column(scale=0, min_width=DRAWING_BOX[0]):
        pad = DrawingPad(label=label, value=blank_drawing(), type="numpy", image_mode="L",
                         canvas_size=(CANVAS, CANVAS), fixed_canvas=True, layers=False, transforms=(),
                         brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                         width=DRAWING_BOX[0], height=DRAWING_BOX[1], elem_classes=["drawing-pad"], **kwargs)
    if get_blocks_context() is None:
        return pad  # made alone (tests): no events to wire
    pad.clear(guarded(blank_drawing), None, pad, show_progress="hidden")
    if source is not None:  # the editor also says "input" when its page loads: only a touch of the page counts
        get_blocks_context().root_block.load(None, None, None, js=_WATCH_TOUCHES)
        pad.input(None, source, source, js=_PICK_IF_TOUCHED)
    return pad


_WATCH_TOUCHES = """() => { if (!window.drawingTouchWatch) { window.drawingTouchWatch = true;
  document.addEventListener('pointerdown', (e) => { if (e.target.closest && e.target.closest('.drawing-pad canvas'))
    window.drawingTouchedAt = performance.now(); }, true); } }"""
_PICK_IF_TOUCHED = "(s) => (performance.now() - (window.drawingTouchedAt ?? -1e9) < 5000 ? 'drawing' : s)"


def image_output(label, **kwargs):
    """A lossless (PNG) output image."""
    return gr.Image(label=label, type="numpy", format="png", interactive=False, **kwargs)


def launch_alone(build):
    """`python -m tabs.<name>`: serve one tab on 127.0.0.1 for development."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build()
    demo.queue(max_size=64, default_concurrency_limit=1)
    demo.launch(server_name="127.0.0.1", max_file_size="10mb", enable_monitoring=False, ssr_mode=False)
