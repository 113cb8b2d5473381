"""Reading data files without importing the packages they come with, and fitting images to a size.

Shared by the loaders (playground.data_sources, natural_images, image_folders) and playground.data.
"""
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".webp")


def readonly(*arrays):
    """Mark arrays read-only (cached arrays are shared, never copied); returns them."""
    for a in arrays:
        a.flags.writeable = False
    return arrays if len(arrays) > 1 else arrays[0]


def package_dir(package):
    """The folder of an installed top-level package, without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    return None


def file_key(path):
    """(path, mtime, size): a cache key that changes when the file does."""
    st = Path(path).stat()
    return str(path), st.st_mtime_ns, st.st_size


def to_mode(im, mode):
    """A PIL image -> mode "L" or "RGB": 16-bit grey scaled down, transparency over white."""
    if im.mode.startswith("I;16"):
        im = Image.fromarray((np.asarray(im, dtype=np.uint16) >> 8).astype(np.uint8), "L")
    elif im.mode in ("I", "F"):
        im = Image.fromarray(np.clip(np.asarray(im), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return im.convert(mode)


def check_size(size):
    """None, an int or (height, width) -> None or (H, W); InputError for anything else."""
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        size = (size, size)
    try:
        h, w = (int(v) for v in size)
        if h != size[0] or w != size[1] or h <= 0 or w <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"The image size must be (height, width) in whole pixels, not {size!r}.") from None
    return h, w


def fit(im, size):
    """Resize to cover size = (H, W) keeping the aspect ratio, then crop the centre."""
    if size is None or im.size == (size[1], size[0]):
        return im
    return ImageOps.fit(im, (size[1], size[0]), method=Image.Resampling.LANCZOS)


def convert(images, size, mode):
    """Resize / change the mode of a uint8 stack; returned unchanged when nothing is asked."""
    grey = images.ndim == 3
    if size is not None and tuple(images.shape[1:3]) != size:
        images = np.stack([np.asarray(fit(Image.fromarray(im), size)) for im in images])
    if mode == "RGB" and grey:
        images = np.repeat(images[..., None], 3, axis=-1)
    elif mode == "L" and not grey:
        images = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in images])
    return images

