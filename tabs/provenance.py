"""Every image a public event shows is a PNG that carries its recipe (issue 26; playground.provenance).

`record(demo)` (app.build_app calls it after tabs.serving.lanes, so that the page-opening copies of events share
it) wraps the handler of every public event with image outputs, and of every private one that recomputes part of
a public one from the same inputs (a slider's release) under that endpoint's name (gr.Image, gr.Gallery, gr.ImageSlider that are
not input controls): each uint8 array or PIL image it returns, or yields, becomes a PNG in Gradio's cache with the
recipe made from the event's inputs, named from slugs (`gan-generate-gan-faces-seed0.png`: no user text). Gradio
serves a file already in its cache as it is, under that name. Paths (GIFs, stored figures), gr.update and
gr.skip() values and errors pass through untouched.

A recipe's settings are keyed as a link names them from the event's view (tabs.controls): a control of the view or
of its tab's MAIN view by its slug, one of another view of the tab as "<view>.<slug>". Images that are not
settings (an upload, a drawing) are not in the recipe: it says inputs="upload" when one went in.
"""
import functools
import inspect
import logging
import re
from dataclasses import dataclass

import gradio as gr
import numpy as np
from PIL import Image

from playground import provenance
from tabs import controls

log = logging.getLogger("playground.provenance")
IMAGE_OUTPUTS = (gr.Image, gr.Gallery, gr.ImageSlider)
SPECIAL = (gr.Request, gr.EventData, gr.Progress)  # what Gradio passes besides the inputs
NOT_SETTINGS = controls.NOT_SETTABLE  # image and sketchpad controls: uploads and drawings
# Endpoints that show real pictures only (the data sets, the student's own upload): they carry their recipe but not
# the invisible mark, which would say this app made them.
UNMARKED = ("data_sample", "inspect_upload")


@dataclass(frozen=True)
class Event:
    tab: str
    view: str
    endpoint: str
    inputs: tuple  # (link slug or None for a gr.State, Control or None) per input
    images: dict  # output index -> (kind: image, gallery or slider, label slug or "", Gradio's cache folder)
    output_ids: tuple  # the output components' ids (a handler may return a dict keyed by component)


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def link_slug(key, tab, view, own):
    """How a link written for (tab, view) names control key: its slug when it is the view's own or its tab's
    MAIN one (unless the view has its own of that name: own), else "<view>.<slug>"."""
    if key[1] == view or (key[1] == controls.MAIN and key[2] not in own):
        return key[2]
    return f"{key[1]}.{key[2]}"


def _event(fn, table, place, public=None):
    """The Event of fn; a private fn that recomputes part of a public one (same inputs: a slider's release) takes
    the public one's place and name (public), so that its images carry a recipe that endpoint makes again."""
    source = public or fn
    where = next((place[target] for target, _ in source.targets if target in place), None)
    by_id = {c.component._id: c for c in table.values()}
    images = {}
    for i, out in enumerate(fn.outputs):
        if isinstance(out, IMAGE_OUTPUTS) and out._id not in by_id:
            kind = "gallery" if isinstance(out, gr.Gallery) else "slider" if isinstance(out, gr.ImageSlider) else "image"
            images[i] = (kind, "-".join(_slug(out.label or "").split("-")[:3]), out.GRADIO_CACHE)
    if where is None or not images:
        return None
    tab, view = where
    own = {k[2] for k in table if k[:2] == (tab, view)}
    inputs = tuple((link_slug(c.key, tab, view, own), c) if (c := by_id.get(block._id)) else (None, None)
                   for block in fn.inputs)
    return Event(tab, view, source.api_name, inputs, images, tuple(o._id for o in fn.outputs))


def record(demo):
    """Wrap every public event with image outputs (see the module's doc). Call after tabs.serving.private_events."""
    table = controls.controls(demo)
    place = {block._id: (tab, view) for block, tab, view in controls._walk(demo)}
    public = [fn for fn in demo.fns.values() if fn.api_visibility == "public" and fn.fn is not None]
    for fn in demo.fns.values():
        twin = fn if fn in public else _public_twin(fn, public)
        if twin is not None and fn.fn is not None and (event := _event(fn, table, place, twin)):
            fn.fn = _recording(fn.fn, event)


def _public_twin(fn, public):
    """The public event a private one recomputes part of: the same inputs, outputs among its outputs."""
    ids = [block._id for block in fn.inputs]
    outputs = {block._id for block in fn.outputs}
    return next((p for p in public if ids and [b._id for b in p.inputs] == ids
                 and outputs <= {b._id for b in p.outputs}), None)


def _recording(handler, event):
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def recording(*args, **kwargs):
            values = [a for a in args if not isinstance(a, SPECIAL)]
            items = handler(*args, **kwargs)
            try:
                for item in items:
                    yield _saved(event, values, item)
            finally:
                items.close()
    else:
        @functools.wraps(handler)
        def recording(*args, **kwargs):
            return _saved(event, [a for a in args if not isinstance(a, SPECIAL)], handler(*args, **kwargs))
    return recording  # functools.wraps keeps the handler's signature and marks (model_event) for Gradio and serving


def _plain(value):
    return value is None or isinstance(value, (str, int, float, bool)) or (
        isinstance(value, (list, tuple)) and all(_plain(v) for v in value))


def recipe_of(event, values):
    """The recipe of one call of event with these input values (as its handler got them)."""
    settings, sources, images = {}, {}, []
    for (name, control), value in zip(event.inputs, values):
        if control is None:
            continue
        if control.kind in NOT_SETTINGS:
            images.append((control.key[2], value))
            continue
        # the handler accepted the value: a choice the menu did not have when built (another model's class) stays
        verdict = control.check(value) if control.settable else controls.Verdict(False)
        if verdict.ok or _plain(value):
            settings[name] = verdict.value if verdict.ok else value
        if control.kind == "radio":
            sources.update({str(v): settings.get(name) for _, v in control.choices})
    # an image counts when it was sent and, where a radio picks the source ("test image", "upload", "drawing"),
    # when that radio picks it
    used = any(value is not None and sources.get(slug, slug) == slug for slug, value in images)
    return provenance.recipe(event.tab, event.view, event.endpoint, settings, provenance.UPLOAD if used else None)


def file_name(event, rec, label, index=None):
    """Slugs only: tab, endpoint (without the tab's name), the output's label, model, seed, the gallery index."""
    endpoint = event.endpoint[len(event.tab) + 1:] if event.endpoint.startswith(event.tab + "_") else event.endpoint
    seed = rec["seed"] if isinstance(rec["seed"], int) and not isinstance(rec["seed"], bool) else None
    parts = [event.tab, endpoint, label, rec["model"], None if seed is None else f"seed{seed}",
             None if index is None else str(index + 1)]
    return "-".join(_slug(p) for p in parts if p and _slug(p))[:140] + ".png"


class _Saver:
    """Turns one result's images into PNG paths; the recipe is made once, at the first image."""

    def __init__(self, event, values):
        self.event, self.values, self.rec = event, values, None

    def image(self, image, label, folder, index=None):
        if not (isinstance(image, Image.Image) or isinstance(image, np.ndarray) and image.dtype == np.uint8):
            return image
        try:
            self.rec = self.rec or recipe_of(self.event, self.values)
            return provenance.save_png(image, self.rec, file_name(self.event, self.rec, label, index), folder,
                                       mark=self.event.endpoint not in UNMARKED)
        except Exception:  # noqa: BLE001 - the image is shown without its recipe rather than not at all
            log.exception("could not save %s's image with its recipe", self.event.endpoint)
            return image

    def output(self, value, kind, label, folder):
        if kind == "image":
            return self.image(value, label, folder)
        if kind == "slider" and isinstance(value, (tuple, list)) and len(value) == 2:
            return tuple(self.image(v, f"{label}-{side}", folder) for v, side in zip(value, ("before", "after")))
        if kind == "gallery" and isinstance(value, list):
            return [(self.image(v[0], label, folder, i), v[1]) if isinstance(v, (tuple, list)) and len(v) == 2
                    else self.image(v, label, folder, i) for i, v in enumerate(value)]
        return value


def _saved(event, values, result):
    """The result with each image output's pixels saved as a PNG with its recipe (see the module's doc)."""
    outputs = dict(zip(event.output_ids, result)) if isinstance(result, (tuple, list)) else {}
    shown = [i for i in event.images if isinstance(outputs.get(event.output_ids[i]), (np.ndarray, Image.Image, list))]
    saver, labels = _Saver(event, values), len(shown) > 1  # an output's label in its name when several show images
    names = {i: (kind, label if labels else "", folder) for i, (kind, label, folder) in event.images.items()}
    if isinstance(result, dict) and any(getattr(k, "_id", None) in event.output_ids for k in result):
        index = {block_id: i for i, block_id in enumerate(event.output_ids)}
        return {k: saver.output(v, *names[i]) if (i := index.get(getattr(k, "_id", None))) in names else v
                for k, v in result.items()}
    if len(event.output_ids) == 1:
        return saver.output(result, *names[0])
    if isinstance(result, (tuple, list)) and len(result) == len(event.output_ids):
        return type(result)(saver.output(v, *names[i]) if i in names else v for i, v in enumerate(result))
    return result


def arguments(demo, rec):
    """[(link slug or None, value)] for the inputs of the recipe's endpoint: each setting where the recipe has it,
    None for the rest (a gr.State, an upload: rec.get("inputs") says whether one is needed)."""
    table = controls.controls(demo)
    place = {block._id: (tab, view) for block, tab, view in controls._walk(demo)}
    fn = next(f for f in demo.fns.values() if f.api_name == rec["endpoint"] and f.api_visibility == "public")
    event = _event(fn, table, place)
    return [(name, rec["settings"].get(name) if name else None) for name, _ in event.inputs]
