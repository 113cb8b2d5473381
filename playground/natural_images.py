"""CC0 and public-domain pictures from scikit-image and Debian's opencv-doc, read as files (neither
package is imported): natural_images() lists those installed here, load_natural(name) reads one.
"""
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .data_files import file_key, package_dir, readonly, to_mode
from .errors import DataMissing, InputError

OPENCV_DATA_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
SKIMAGE_INSTALL = "pip install scikit-image"
OPENCV_INSTALL = "sudo apt-get install opencv-doc"


@dataclass(frozen=True)
class NaturalImage:
    name: str
    path: Path
    license: str
    credit: str
    kind: str  # photo, texture, painting, medical, microscopy or drawing


# name -> (source, file, license, credit, kind). Only files whose licence is stated as CC0 or
# public domain: for scikit-image, in the docstrings of skimage/data/_fetchers.py (its data
# README lists no licences); coins and ihc ("no known copyright restrictions"), motorcycle
# (Middlebury) and page, moon, logo, color, phantom (no statement) are left out.
_NATURAL = {
    "astronaut": ("skimage", "astronaut.png", "Public domain",
                  "NASA (astronaut Eileen Collins), NASA Great Images database", "photo"),
    "camera": ("skimage", "camera.png", "CC0-1.0", "Lav Varshney", "photo"),
    "coffee": ("skimage", "coffee.png", "CC0-1.0", "Rachel Michetti", "photo"),
    "chelsea": ("skimage", "chelsea.png", "CC0-1.0", "Stefan van der Walt", "photo"),
    "rocket": ("skimage", "rocket.jpg", "Public domain", "SpaceX", "photo"),
    "hubble_deep_field": ("skimage", "hubble_deep_field.jpg", "Public domain", "NASA, Hubble Space Telescope",
                          "photo"),
    "clock": ("skimage", "clock_motion.png", "Public domain", "Stefan van der Walt", "photo"),
    "brick": ("skimage", "brick.png", "CC0-1.0", "CC0Textures (Bricks25)", "texture"),
    "grass": ("skimage", "grass.png", "CC0-1.0", "linolafett on DeviantArt (Grass 01)", "texture"),
    "gravel": ("skimage", "gravel.png", "CC0-1.0", "CC0Textures (Gravel04)", "texture"),
    "retina": ("skimage", "retina.jpg", "CC0-1.0", "Mikael Häggström, Wikimedia Commons", "medical"),
    "microaneurysms": ("skimage", "microaneurysms.png", "CC0-1.0",
                       "Andreas Maier, High-Resolution Fundus (HRF) Image Database", "medical"),
    "cell": ("skimage", "cell.png", "CC0-1.0", "Paul Müller et al. (quantitative phase image)", "microscopy"),
    "horse": ("skimage", "horse.png", "CC0-1.0", "Andreas Preuss (marauder), openclipart", "drawing"),
    "text": ("skimage", "text.png", "Public domain", "Wikipedia, File:Corner.png", "drawing"),
    "starry_night": ("opencv", "starry_night.jpg", "Public domain",
                     "Vincent van Gogh, The Starry Night (1889); file from OpenCV's samples", "painting"),
}
_NATURAL_SOURCES = {"skimage": ("scikit-image", SKIMAGE_INSTALL), "opencv": ("Debian's opencv-doc", OPENCV_INSTALL)}


def _natural_folder(source):
    if source == "skimage":
        package = package_dir("skimage")
        return package / "data" if package else None
    return Path(OPENCV_DATA_DIR)


def natural_images():
    """name -> NaturalImage for every CC0 / public-domain picture installed here.

    Sources that are not installed are simply absent (they are optional); known_natural_images()
    lists every name this module knows.
    """
    found = {}
    for name, (source, file, license, credit, kind) in _NATURAL.items():
        folder = _natural_folder(source)
        if folder is not None and (folder / file).is_file():
            found[name] = NaturalImage(name, folder / file, license, credit, kind)
    return found


def known_natural_images():
    """Every natural image name, installed or not."""
    return tuple(_NATURAL)


@functools.lru_cache(maxsize=32)
def _read_natural(key, mode):
    try:
        with Image.open(key[0]) as im:
            return readonly(np.asarray(to_mode(ImageOps.exif_transpose(im), mode), dtype=np.uint8).copy())
    except OSError as e:
        raise DataMissing(f"{key[0]} cannot be read ({e}); reinstall the package it comes with.") from e


def load_natural(name, mode="RGB"):
    """A natural image -> uint8 HxWx3 (mode "RGB") or HxW (mode "L"), read-only."""
    if mode not in ("RGB", "L"):
        raise InputError(f"The image mode must be 'RGB' or 'L', not {mode!r}.")
    if name not in _NATURAL:
        raise InputError(f"No natural image called {name!r}; known: {', '.join(_NATURAL)}.")
    image = natural_images().get(name)
    if image is None:
        what, command = _NATURAL_SOURCES[_NATURAL[name][0]]
        raise DataMissing(f"The image {name!r} comes with {what}, which is not installed. "
                          f"Install it with: {command}")
    return _read_natural(file_key(image.path), mode)
