"""Images that carry their recipe (issue 26): every image the app lets you download is a PNG whose text chunks
say how it was made, so that it can be checked and made again.

    recipe(tab, view, endpoint, settings)   # {"app", "tab", "view", "endpoint", "settings", "model", ...}
    save_png(image, recipe, name)           # -> the path of a PNG holding the image and its recipe
    read_recipe(path_or_bytes)              # -> the recipe again, or an InputError in the app's words
    query(recipe)                           # -> "tab=...&view=...&seed=3": the link that restores its settings

A PNG gets two text chunks: KEY ("generative-playground", iTXt) holds the recipe as JSON, and "parameters"
(tEXt, or iTXt for text outside Latin-1) one readable line, as AUTOMATIC1111 writes. The bytes are
deterministic: the same pixels and recipe give the same file (Pillow writes no time chunk), so a regenerated
image can be compared with the first byte for byte. A screenshot, an editor or a re-encode drops the chunks.
"""
import hashlib
import io
import json
import os
import re
import tempfile
import urllib.parse
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from . import __version__, registry, watermark
from .errors import InputError

APP = "Generative Playground"
KEY = "generative-playground"  # the text chunk holding the recipe as JSON
PARAMETERS = "parameters"  # the text chunk holding one readable line
UPLOAD = "upload"  # recipe["inputs"] when an uploaded image or a drawing went in: restoring needs the same one
RECIPE_KEYS = ("app", "tab", "view", "endpoint", "settings", "model", "weights_sha256", "seed")
MAX_BYTES = 64 * 1024**2  # read_recipe reads no more of a file than this
SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,150}\.png")

NOT_PNG = "This file is not a PNG image, so it carries no recipe. Only PNGs downloaded from the app carry one."
NO_RECIPE = ("This PNG carries no Generative Playground recipe: it was not made here, or the recipe was removed "
             "(a screenshot, an image editor or a re-encode drops it).")
BAD_RECIPE = "This PNG's recipe is damaged and cannot be read. Download the image from the app again."
OTHER_APP = "This PNG's recipe was written by {app!r}, not by {ours}: its settings cannot be restored here."


def app_name():
    return f"{APP} {__version__}"


def _model(settings):
    """The model a recipe's settings name: the "model" setting, else the first setting whose value is a model id."""
    known = registry.default().cards()
    values = [settings.get("model"), *settings.values()]
    return next((v for v in values if isinstance(v, str) and v in known), None)


def weights_sha256(model_id):
    """SHA-256 of a model's local weights; None for no model, or a hub model whose weights are not on this machine."""
    if model_id is None:
        return None
    digest = registry.default().weights_sha256(model_id)
    return None if digest.startswith("revision:") else digest


def _seed(settings):
    if "seed" in settings:
        return settings["seed"]
    return next((v for k, v in settings.items() if k.endswith("seed")), None)


def recipe(tab, view, endpoint, settings, inputs=None):
    """The recipe of one event's images: its tab, view and API name, its settings ({link slug: value}, see
    query()), the model among them with the SHA-256 of its weights, and the seed. inputs=UPLOAD when an image
    that is not a setting (an upload, a drawing) went in."""
    settings = dict(settings)
    model = _model(settings)
    out = {"app": app_name(), "tab": tab, "view": view, "endpoint": endpoint, "settings": settings,
           "model": model, "weights_sha256": weights_sha256(model), "seed": _seed(settings)}
    if inputs:
        out["inputs"] = inputs
    return out


def parameters_line(rec):
    """One readable line: "seed: 3, steps: 20, sampler: DDIM, model: ddpm-fashion, tab: diffusion, ..."."""
    items = [*rec["settings"].items(), ("model", rec["model"]), ("weights sha256", rec["weights_sha256"]),
             ("tab", rec["tab"]), ("view", rec["view"]), ("endpoint", rec["endpoint"]), ("app", rec["app"])]
    if rec.get("inputs"):
        items.append(("inputs", rec["inputs"]))
    text = ", ".join(f"{k}: {_plain(v)}" for k, v in items if v is not None)
    return " ".join(text.split())  # one line, whatever a setting holds


def _plain(value):
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, (list, tuple)) else str(value)


def _mark(image):
    """The image with the invisible mark (playground.watermark) where it can carry one: grey or colour uint8
    pixels of at least 8x8, transparency kept as it is. A screenshot drops the recipe; the mark survives it."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or min(array.shape[:2]) < watermark.MIN_SIDE:
        return image
    if array.ndim == 3 and array.shape[2] == 4:
        return np.concatenate([watermark.mark(array[..., :3]), array[..., 3:]], axis=2)
    return watermark.mark(array) if array.ndim == 2 or array.shape[2] in (1, 3) else image


def _pil(image):
    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"save_png takes uint8 pixels, not {array.dtype}")
    return Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)


def png_bytes(image, rec, mark=True):
    """The PNG file (bytes) of an image (uint8 HxW, HxWx3, HxWx4 or PIL) with its recipe in its text chunks."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(KEY, json.dumps(rec, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    info.add_text(PARAMETERS, parameters_line(rec))
    out = io.BytesIO()
    _pil(_mark(image) if mark else image).save(out, format="png", pnginfo=info)
    return out.getvalue()


def default_folder():
    """Gradio's cache (GRADIO_TEMP_DIR, or its default): files there are served as they are, never copied."""
    return os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")


def save_png(image, rec, name, folder=None, mark=True):
    """Write the PNG (png_bytes) as folder/<SHA-256 of its bytes>/name and return its path. name is made of
    slugs ("gan-generate-gan-faces-seed0.png"); folder defaults to Gradio's cache. mark=False for real pictures
    (a data set's, an upload's): the invisible mark says this app made a picture."""
    if not NAME.fullmatch(name):
        raise ValueError(f"a PNG's name is lower-case slugs ending in .png, not {name!r}")
    data = png_bytes(image, rec, mark)
    where = Path(folder or default_folder()) / hashlib.sha256(data).hexdigest()
    where.mkdir(parents=True, exist_ok=True)
    path = where / name
    if not path.is_file() or path.stat().st_size != len(data):
        fd, staging = tempfile.mkstemp(dir=where, prefix=".partial-")  # a reader never sees half a file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staging, path)
    return str(path)


def _text_chunks(data):
    """{keyword: text} of a PNG's tEXt, zTXt and iTXt chunks; InputError when data is not a PNG."""
    if not data.startswith(SIGNATURE):
        raise InputError(NOT_PNG)
    texts, at = {}, len(SIGNATURE)
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"IEND" or len(body) < length:
            break
        if kind in (b"tEXt", b"zTXt", b"iTXt") and b"\0" in body:
            keyword, rest = body.split(b"\0", 1)
            texts.setdefault(keyword.decode("latin-1"), (kind, rest))
    return texts


def _decode(kind, rest):
    if kind == b"tEXt":
        return rest.decode("latin-1")
    if kind == b"zTXt":
        return zlib.decompress(rest[1:]).decode("latin-1")
    compressed, rest = rest[0], rest[2:]  # iTXt: compression flag and method, language, translated keyword, text
    text = rest.split(b"\0", 2)[2]
    return (zlib.decompress(text) if compressed else text).decode("utf-8")


def read_recipe(source):
    """The recipe of a PNG made here (a path or its bytes). InputError, in words a user can act on, when it is not
    a PNG, carries no recipe, carries a damaged one, or one written by another app."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source[:MAX_BYTES])
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_BYTES)
        except OSError:
            raise InputError("This image could not be read. Please upload the PNG again.") from None
    chunk = _text_chunks(data).get(KEY)
    if chunk is None:
        raise InputError(NO_RECIPE)
    try:
        rec = json.loads(_decode(*chunk))
    except (ValueError, IndexError, zlib.error):
        raise InputError(BAD_RECIPE) from None
    if not isinstance(rec, dict) or not isinstance(rec.get("app"), str):
        raise InputError(BAD_RECIPE)
    if not rec["app"].startswith(APP + " ") and rec["app"] != APP:
        raise InputError(OTHER_APP.format(app=rec["app"][:80], ours=APP))
    if any(k not in rec for k in RECIPE_KEYS) or not isinstance(rec["settings"], dict):
        raise InputError(BAD_RECIPE)
    return rec


def query(rec):
    """The link query that opens a recipe's view with its settings: "tab=gan&view=main&model=gan-faces&seed=3"
    (lists as comma-separated values, as tabs.controls reads them). Uploads are not part of it."""
    pairs = [("tab", rec["tab"]), ("view", rec["view"])]
    pairs += [(k, ",".join(map(str, v)) if isinstance(v, (list, tuple)) else
               str(v).lower() if isinstance(v, bool) else str(v)) for k, v in rec["settings"].items()]
    return urllib.parse.urlencode(pairs)
