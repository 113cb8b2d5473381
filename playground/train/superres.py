"""Train the super-resolution networks: sr-fast-x2, sr-fast-x4, sr-edsr-x2 and sr-edsr-x4.

    python -m playground.train.superres --preset edsr-x4 --threads 1   # -> weights/sr-edsr-x4
    python -m playground.train.superres --preset fast-x4 --threads 1
    python -m playground.train.superres --preset fast-x2 --threads 1
    python -m playground.train.superres --preset edsr-x2 --threads 1   # starts from sr-edsr-x4's body

Training pairs: random high-resolution crops (flipped, rotated by multiples of 90 degrees) of the
natural images installed offline (scikit-image's, scikit-learn's china.jpg, Debian opencv-doc's
photographs, gradio's media), each with its bicubic (antialiased) downscale. The held-out images
(families.superres.HELD_OUT) are never among them. L1 loss, Adam, cosine-decayed learning rate.
"""
import argparse
import hashlib
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from safetensors.torch import load_file

from .. import data
from ..families import superres
from . import files, loop
from .superres_card import card_template, run_text

PRESETS = files.presets("superres")  # presets/superres/<name>.json
COMMAND = "python -m playground.train.superres --preset {preset} --threads 1"
OPENCV_SKIP = ("logo", "chessboard", "left", "right", "digits", "alphabet", "text", "sudoku", "gradient", "mask",
               "ellipses", "pic", "graf", "box", "cards", "notes", "detect_blob", "ml.png", "pca_test", "blox",
               "licenseplate", "ela_", "aloe", "basketball", "rubberwhale", "data01", "smarties", "imageText",
               "chicky", "board", "suzanne", "apple", "orange", "tmpl")
SKIMAGE_SKIP = ("horse", "text", "cell")  # drawings and a phase image: not photographs
MIN_SIDE = 128


def _sources():
    """(name, path) of every training photograph installed here (not the held-out ones)."""
    found = [(f"natural:{n}", im.path) for n, im in sorted(data.natural_images().items())
             if n not in superres.HELD_OUT and n not in SKIMAGE_SKIP]
    sklearn = data._package_dir("sklearn")
    if sklearn and "china" not in superres.HELD_OUT:
        found.append(("sklearn:china", sklearn / "datasets" / "images" / "china.jpg"))
    opencv = Path(data.OPENCV_DATA_DIR)
    if opencv.is_dir():
        found += [(f"opencv:{p.name}", p) for p in sorted(opencv.iterdir())
                  if p.suffix.lower() in (".jpg", ".png") and not any(s.lower() in p.name.lower() for s in OPENCV_SKIP)]
    gradio = data._package_dir("gradio")
    if gradio:
        found += [(f"gradio:{p.name}", p) for p in sorted((gradio / "media_assets" / "images").glob("*"))
                  if p.suffix.lower() in (".jpg", ".jpeg", ".png") and "logo" not in p.name and "avatar" not in p.name]
    return found


def training_images():
    """name -> uint8 RGB, deduplicated by content, at least MIN_SIDE on the short side."""
    images, seen = {}, set()
    for name, path in _sources():
        if not Path(path).is_file():
            continue
        with Image.open(path) as im:
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        digest = hashlib.sha1(rgb.tobytes()).hexdigest()
        if min(rgb.shape[:2]) >= MIN_SIDE and digest not in seen:
            seen.add(digest)
            images[name] = rgb
    return images


class Pairs:
    """Random (low-res, high-res) crops as float tensors in [0, 1]; seeded per batch by loop.Batches."""

    def __init__(self, images, scale, patch):
        self.scale, self.patch = scale, patch - patch % scale
        self.hr = [superres.mod_crop(im, scale) for im in images.values()]
        self.lr = [superres.downscale(im, scale) for im in self.hr]
        self.weights = np.array([im.shape[0] * im.shape[1] for im in self.hr], np.float64)
        self.cumulative = torch.tensor(np.cumsum(self.weights / self.weights.sum()), dtype=torch.float64)

    def __call__(self, batch, gen):
        s, p = self.scale, self.patch // self.scale
        lrs, hrs = [], []
        for _ in range(len(batch[0])):
            i = min(int(torch.searchsorted(self.cumulative, torch.rand(1, generator=gen, dtype=torch.float64))),
                    len(self.hr) - 1)
            lr, hr = self.lr[i], self.hr[i]
            y = int(torch.randint(0, lr.shape[0] - p + 1, (1,), generator=gen))
            x = int(torch.randint(0, lr.shape[1] - p + 1, (1,), generator=gen))
            a = superres.to_tensor(lr[y:y + p, x:x + p])[0]
            b = superres.to_tensor(hr[y * s:(y + p) * s, x * s:(x + p) * s])[0]
            flip, rot = torch.randint(0, 2, (1,), generator=gen), int(torch.randint(0, 4, (1,), generator=gen))
            if flip:
                a, b = a.flip(-1), b.flip(-1)
            lrs.append(a.rot90(rot, (1, 2)))
            hrs.append(b.rot90(rot, (1, 2)))
        return torch.stack(lrs), torch.stack(hrs)


def init_from(model, model_id):
    """Copy every tensor of weights/<model_id> whose name and shape match (EDSR's head and body)."""
    path = loop.REPO_ROOT / "weights" / model_id / "model.safetensors"
    if not path.is_file():
        print(f"no {path}: starting from random weights", flush=True)
        return 0
    source, own = load_file(str(path)), model.state_dict()
    shared = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape and not k.startswith("upsample")}
    model.load_state_dict(shared, strict=False)
    print(f"initialised {len(shared)} of {len(own)} tensors from {model_id}", flush=True)
    return len(shared)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(seed=0)])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="fast-x4")
    ap.add_argument("--no-finish", action="store_true", help="train only; do not write weights/ or the card")
    args = ap.parse_args(argv)
    preset = PRESETS[args.preset]
    config = dict(preset["config"])
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    device = loop.setup(args)
    images = training_images()
    print(f"{len(images)} training images: {', '.join(images)}", flush=True)
    model = superres.build(config).to(device)
    if preset.get("init_from") and not (Path(run_dir) / loop.CHECKPOINT).is_file():
        init_from(model, preset["init_from"])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(  # math, not numpy: numpy scalars would make the checkpoint unloadable
        opt, lambda s: 0.1 + 0.45 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    trainer = loop.Loop(run_dir, {"net": model}, {"net": opt}, schedulers={"net": sched}, steps=steps,
                        seed=args.seed, log_every=25, sample_every=250, checkpoint_every=50, resume=args.resume)
    pairs = Pairs(images, config["scale"], preset["patch"])
    batches = loop.Batches((torch.arange(100_000),), batch_size, args.seed, pairs)

    def step_fn(batch, step):
        x, y = batch
        out = trainer.modules["net"](x)
        loss = F.l1_loss(out, y)
        with torch.no_grad():
            base = F.l1_loss(F.interpolate(x, scale_factor=config["scale"], mode="bicubic", align_corners=False), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"l1": loss.detach(), "l1_bicubic": base}

    probe = superres.held_out_images()["astronaut"][128:256, 160:288]  # a held-out crop, only to look at

    def sample_fn(step):
        lr_image = superres.downscale(probe, config["scale"])
        row = [superres.classical(lr_image, config["scale"], "bicubic"), superres.upscale(model, lr_image), probe]
        return np.concatenate(row, axis=1)

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        model.eval()
        metrics = superres.evaluate(model, None)
        print(f"{preset['model_id']}: {metrics} {loop.trained_for(trainer, start)}", flush=True)
        draft = card_template(preset["model_id"], preset, config, loop.count_params(model),
                              COMMAND.format(preset=args.preset))
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), sorted(images), lr=lr, batch_size=batch_size,
                       steps=steps, seed=args.seed)
        card = loop.finish(model, config, preset["model_id"], metrics, draft, run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card}", flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
