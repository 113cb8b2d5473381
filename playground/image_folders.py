"""Any folder of images, or an image data set repo on the Hugging Face hub, as uint8 arrays with labels
from the folder names. Not cached: every call returns fresh, writable arrays.
"""
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .data_files import IMAGE_EXTENSIONS, check_size, fit, to_mode
from .errors import DataMissing, InputError

NEEDS_NETWORK = "needs network"


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
    size = check_size(size)
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
                array = np.asarray(fit(to_mode(ImageOps.exif_transpose(im), mode), size), dtype=np.uint8)
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
