"""The one door for images entering the playground, and small array helpers the tabs share.

`normalize_image` turns whatever a user or an API client sends (a file path, a data: URL, bytes,
a file object, a PIL image or a numpy array) into a C-contiguous uint8 array, and refuses huge,
damaged or unreadable images with an InputError whose message can be shown as it is.
"""
import base64
import binascii
import contextlib
import io
import math
import os
import re
import threading
import warnings

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from .errors import InputError

MAX_DATA_URL_CHARS = 20_000_000  # about 15 MB of image once decoded
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "AVIF", "ICO", "PPM", "TGA", "QOI")  # no EPS (Ghostscript)
RESAMPLE = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
            "lanczos": Image.LANCZOS, "box": Image.BOX, "hamming": Image.HAMMING}
UNREADABLE = "This file is not an image we can read. Please use a PNG, JPEG, GIF, WebP, BMP or TIFF file."
DAMAGED = "This image file is damaged or incomplete, so it cannot be read. Please upload it again or use another file."
_DATA_URL = re.compile(r"data:image/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_OPEN_LOCK = threading.Lock()  # warnings.catch_warnings swaps process-wide state: one thread at a time


def normalize_image(src, mode="RGB", max_pixels=16_000_000, background=(255, 255, 255)):
    """Any image from outside -> uint8 HxWx3 (mode "RGB") or HxWx1 (mode "L"), C-contiguous.

    First frame only, EXIF orientation applied, transparency composited on `background`,
    16-bit images scaled to 8 bits. Images above `max_pixels` are refused before decoding.
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', not {mode!r}")
    background = tuple(int(c) for c in background)
    if len(background) != 3 or not all(0 <= c <= 255 for c in background):
        raise ValueError(f"background must be three values from 0 to 255, not {background!r}")
    if isinstance(src, np.ndarray):
        return _finish(_from_array(src, max_pixels), mode, background)
    if isinstance(src, Image.Image):
        return _finish(_decode(src, max_pixels), mode, background)
    with contextlib.ExitStack() as stack:
        im = stack.enter_context(_open(_file_object(src, stack), max_pixels))
        return _finish(_decode(im, max_pixels), mode, background)


def _file_object(src, stack):
    """A readable binary file for a path, data: URL, bytes or file object."""
    if src is None or (isinstance(src, str) and not src.strip()):
        raise InputError("No image was given. Please upload one.")
    if isinstance(src, str) and src.lstrip()[:5].lower() == "data:":
        src = _data_url_bytes(src)
    elif isinstance(src, str) and re.match(r"\s*https?://", src, re.IGNORECASE):
        raise InputError("Images are not downloaded from links. Please upload the file or send a data: URL.")
    if isinstance(src, (bytes, bytearray, memoryview)):
        if not len(src):
            raise InputError("The image is empty (0 bytes). Please upload an image file.")
        return io.BytesIO(src)
    if isinstance(src, (str, os.PathLike)):
        try:
            fp = stack.enter_context(open(src, "rb"))
            empty = os.fstat(fp.fileno()).st_size == 0
        except (OSError, ValueError, TypeError) as err:
            raise InputError("The image file could not be found or opened. Please upload it again.") from err
        if empty:
            raise InputError("The image file is empty (0 bytes). Please upload an image file.")
        return fp
    if hasattr(src, "read"):
        return src
    raise InputError(f"An image cannot be read from a value of type {type(src).__name__}. "
                     "Please send an image file, a data:image URL or an array of pixels.")


def _data_url_bytes(url):
    """The bytes of a `data:image/...;base64,` URL: prefix checked, length capped, base64 strict."""
    url = url.strip()
    if len(url) > MAX_DATA_URL_CHARS:
        raise InputError(f"This image payload is {len(url) / 1e6:.1f} MB; the limit is "
                         f"{MAX_DATA_URL_CHARS / 1e6:.0f} MB. Please send a smaller image.")
    match = _DATA_URL.match(url)
    if not match:
        raise InputError("An image data URL must start with 'data:image/<type>;base64,'.")
    try:
        return base64.b64decode(url[match.end():], validate=True)
    except (binascii.Error, ValueError) as err:
        raise InputError("The image data URL is not valid base64.") from err


def _open(fp, max_pixels):
    """Image.open (header only), with PIL's decompression-bomb checks turned into our message."""
    Image.init()
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fp, formats=[f for f in FORMATS if f in Image.OPEN])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _too_big(err, max_pixels) from err
    except Exception as err:  # noqa: BLE001 - any failure to parse untrusted bytes is the input's fault
        raise InputError(UNREADABLE) from err


def _too_big(err, max_pixels):
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    found = re.search(r"\((\d+) pixels\)", str(err))
    size = f"has {int(found.group(1)) / 1e6:.1f} megapixels" if found else "is too large"
    return InputError(f"This image {size}; the limit is {limit / 1e6:.1f} megapixels. Please use a smaller image.")


def _check_size(width, height, max_pixels):
    if width <= 0 or height <= 0:
        raise InputError(f"This image is empty ({width}x{height} pixels). Please use another image.")
    if width * height > max_pixels:
        raise InputError(f"This image is {width}x{height} ({width * height / 1e6:.1f} megapixels); the limit is "
                         f"{max_pixels / 1e6:.1f} megapixels. Please use a smaller image.")


def _decode(im, max_pixels):
    """Size check, then the first frame's pixels, upright."""
    _check_size(*im.size, max_pixels)
    try:
        if getattr(im, "n_frames", 1) > 1 and im.tell() != 0:
            im.seek(0)
        im.load()
    except Image.DecompressionBombError as err:
        raise _too_big(err, max_pixels) from err
    except Exception as err:  # noqa: BLE001 - truncated or corrupt data, whatever PIL raises for it
        raise InputError(DAMAGED) from err
    _check_size(*im.size, max_pixels)  # a few formats only know their size after loading
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - unreadable EXIF: keep the pixels as stored
        return im


def _from_array(arr, max_pixels):
    a = arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (2, 3, 4))):
        raise InputError(f"Image pixels must be height x width with 1, 3 or 4 channels, not shape {arr.shape}.")
    _check_size(a.shape[1], a.shape[0], max_pixels)
    return Image.fromarray(_to_8bit(a))


def _to_8bit(a, sixteen_bit=False):
    """uint8 as is; 16-bit scaled by 255/65535; floats in [0, 1] times 255, other floats clipped."""
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * np.uint8(255)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise InputError("The image contains NaN or infinite values.")
        if a.min() >= 0 and a.max() <= 1:
            a = a * 255
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    if a.dtype.kind in "iu":
        if sixteen_bit or (a.dtype.kind == "u" and a.dtype.itemsize == 2):
            a = np.clip(a, 0, 65535).astype(np.uint32)
            return ((a * 255 + 32767) // 65535).astype(np.uint8)
        return np.clip(a, 0, 255).astype(np.uint8)
    raise InputError(f"Image pixels of type {a.dtype} are not supported.")


def _finish(im, mode, background):
    """Any PIL mode -> uint8 array in `mode`, transparency composited on `background`."""
    try:
        if im.mode in ("I", "F") or im.mode.startswith("I;16"):
            im = Image.fromarray(_to_8bit(np.asarray(im), sixteen_bit=im.mode != "F"))
        if im.mode == "La":  # premultiplied grey, which PIL cannot convert directly
            grey, alpha = im.split()
            im = Image.merge("RGBa", (grey, grey, grey, alpha))
        if "transparency" in im.info and im.mode in ("1", "L", "P", "RGB"):
            im = im.convert("RGBA")
        if im.mode in ("LA", "PA", "RGBa", "RGBA"):
            im = Image.alpha_composite(Image.new("RGBA", im.size, (*background, 255)), im.convert("RGBA"))
        if im.mode not in ("L", "RGB"):
            im = im.convert("RGB")
        out = np.array(im.convert(mode) if im.mode != mode else im, dtype=np.uint8)
    except InputError:
        raise
    except (ValueError, OSError) as err:
        raise InputError(f"Images in colour mode {im.mode} are not supported. Please use an RGB or grey image.") from err
    return np.ascontiguousarray(out[..., None] if mode == "L" else out)


def to_tensor(arr):
    """uint8 HxWxC (or HxW, or NxHxWxC) -> float CxHxW (NxCxHxW) in [-1, 1]."""
    import torch  # lazy: torch loads on first use, not when the UI is built
    a = np.asarray(arr)
    if a.dtype != np.uint8:
        raise ValueError(f"to_tensor expects uint8 pixels, not {a.dtype}")
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a)).float().div_(127.5).sub_(1).movedim(-1, -3).contiguous()


def to_uint8(tensor):
    """Float CxHxW or NxCxHxW in [-1, 1] -> uint8 HxWxC or NxHxWxC (clamped; NaN -> grey)."""
    import torch  # lazy: torch loads on first use, not when the UI is built
    t = torch.as_tensor(tensor).detach().to("cpu", torch.float32)
    if t.ndim not in (3, 4):
        raise ValueError(f"to_uint8 expects CxHxW or NxCxHxW, not shape {tuple(t.shape)}")
    t = torch.nan_to_num(t, nan=0.0).add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    return np.ascontiguousarray(t.movedim(-3, -1).numpy())


def make_grid(images, nrow=None, pad=2, pad_value=255):
    """uint8 HxWxC (or HxW) images -> one uint8 grid, `nrow` images per row, `pad` pixels around each.

    HxW images give an HxW grid (what PIL and gradio show as grey); mixed grey and colour give colour.
    """
    tiles = [np.asarray(t) for t in images]
    if not tiles or any(t.dtype != np.uint8 or t.ndim not in (2, 3) for t in tiles):
        raise ValueError("make_grid expects one or more uint8 HxW or HxWxC images")
    flat = all(t.ndim == 2 for t in tiles)
    tiles = [t[..., None] if t.ndim == 2 else t for t in tiles]
    c = max(t.shape[2] for t in tiles)
    tiles = [np.repeat(t, c, axis=2) if t.shape[2] == 1 else t for t in tiles]
    if any(t.shape[2] != c for t in tiles):
        raise ValueError(f"make_grid cannot mix {sorted({t.shape[2] for t in tiles})} channels")
    h, w = max(t.shape[0] for t in tiles), max(t.shape[1] for t in tiles)
    cols = min(nrow or math.ceil(math.sqrt(len(tiles))), len(tiles))
    rows = math.ceil(len(tiles) / cols)
    grid = np.empty((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    grid[...] = pad_value
    for i, t in enumerate(tiles):
        y, x = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        grid[y:y + t.shape[0], x:x + t.shape[1]] = t
    return grid[..., 0] if flat else grid



def labelled_grid(grid, row_labels, col_labels, tile, pad=2, margin=(110, 24)):
    """A make_grid grid of len(row_labels) x len(col_labels) tiles of `tile` pixels, with each row's label on
    its left and each column's above it (black on white, PIL's own font): a table a class can read."""
    left, top = margin
    grey = grid.ndim == 2
    canvas = Image.new("L" if grey else "RGB", (grid.shape[1] + left, grid.shape[0] + top), 255)
    canvas.paste(Image.fromarray(grid), (left, top))
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default(size=14)
    for j, text in enumerate(col_labels):
        draw.text((left + pad + j * (tile + pad) + tile // 2, top // 2), str(text), fill=0, font=font, anchor="mm")
    for i, text in enumerate(row_labels):
        draw.text((left - 6, top + pad + i * (tile + pad) + tile // 2), str(text), fill=0, font=font, anchor="rm")
    return np.asarray(canvas)


def _pil(a):
    a = np.asarray(a)
    if a.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, not {a.dtype}")
    return Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a)


def save_gif(frames, path, duration_ms=100, loop=0):
    """Write uint8 HxWxC (or HxW) frames as an animated GIF (loop=0: forever; None: once). Returns path."""
    images = [_pil(f) for f in frames]
    if not images:
        raise ValueError("save_gif needs at least one frame")
    extra = {} if loop is None else {"loop": loop}
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, **extra)
    return path


def resize(arr, size, resample="bicubic"):
    """Resize uint8 HxW or HxWxC pixels to `size` = (width, height), or an int for a square."""
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, not {resample!r}")
    w, h = (size, size) if isinstance(size, int) else size
    out = np.array(_pil(arr).resize((int(w), int(h)), RESAMPLE[resample]))
    return out[..., None] if np.ndim(arr) == 3 and out.ndim == 2 else out


HEAT = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float64)  # inferno


def heatmap(values, vmax=None, vmin=0.0):
    """A float map (H,W) -> uint8 RGB (H,W,3) on an inferno-like scale from vmin (black) to vmax
    (pale yellow; default: the map's maximum). NaN shows as vmin."""
    v = np.nan_to_num(np.asarray(values, np.float64), nan=vmin)
    if v.ndim != 2:
        raise ValueError(f"heatmap expects a 2-D map, not shape {v.shape}")
    top = float(v.max()) if vmax is None else float(vmax)
    t = np.clip((v - vmin) / max(top - vmin, 1e-12), 0, 1) * (len(HEAT) - 1)
    i = np.minimum(t.astype(int), len(HEAT) - 2)
    f = (t - i)[..., None]
    return np.rint(HEAT[i] * (1 - f) + HEAT[i + 1] * f).astype(np.uint8)


def zoom(images, size, colour=False):
    """Small images enlarged by whole-pixel repetition (nearest neighbour) to about `size` pixels, so
    28x28 pictures stay crisp on a projector. Grey images are [..., S, S] (a trailing axis of 1 is
    dropped); colour=True takes [..., S, S, C] and keeps the channels."""
    a = np.asarray(images)
    if colour:
        f = max(1, size // a.shape[-2])
        return a.repeat(f, -3).repeat(f, -2)
    if a.ndim >= 3 and a.shape[-1] == 1:
        a = a[..., 0]
    f = max(1, size // a.shape[-1])
    return a.repeat(f, -2).repeat(f, -1)
