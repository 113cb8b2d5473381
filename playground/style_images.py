"""The style transfer tab's bundled pictures (CC0 / public domain), without importing torch.

Styles: Starry Night (shipped in playground/assets/styles/, see its README) and scikit-image's CC0
textures. Content: scikit-image's photos (playground.data.natural_images, kind "photo"); the held-out
ones are the evaluation photos, which no fast network is trained on.
"""
from pathlib import Path

import numpy as np
from PIL import Image

from . import data
from .errors import InputError

ASSETS = Path(__file__).resolve().parent / "assets" / "styles"
HELD_OUT = ("astronaut", "coffee", "chelsea", "rocket")  # evaluation content images, never trained on
STYLES = {  # name -> (where, licence, credit)
    "starry_night": ("asset", "Public domain", "Vincent van Gogh, The Starry Night (1889); file from OpenCV's samples "
                     "(Debian opencv-doc), frame cropped, resized to 512 px"),
    "brick": ("skimage", "CC0-1.0", "CC0Textures (Bricks25), from scikit-image"),
    "grass": ("skimage", "CC0-1.0", "linolafett on DeviantArt (Grass 01), from scikit-image"),
    "gravel": ("skimage", "CC0-1.0", "CC0Textures (Gravel04), from scikit-image"),
}


def fast_id(style_name):
    """The model id of the fast network trained on a style: style-fast-<name with dashes>."""
    return f"style-fast-{style_name.replace('_', '-')}"


def style_image(name):
    """A bundled style image, uint8 HxWx3."""
    if name not in STYLES:
        raise InputError(f"No bundled style called {name!r}; known: {', '.join(STYLES)}.")
    if STYLES[name][0] == "asset":
        with Image.open(ASSETS / f"{name}.jpg") as im:
            return np.asarray(im.convert("RGB"))
    return np.asarray(data.load_natural(name, mode="RGB"))


def content_names():
    """The installed content photos, the held-out ones first."""
    found = data.natural_images()
    return [n for n in HELD_OUT if n in found] + sorted(
        n for n, im in found.items() if im.kind == "photo" and n not in HELD_OUT)


def content_images():
    """name -> uint8 HxWx3 for every installed content photo (grey ones made RGB)."""
    return {n: np.asarray(data.load_natural(n, mode="RGB")) for n in content_names()}


def content_image(name):
    return np.asarray(data.load_natural(name, mode="RGB"))
