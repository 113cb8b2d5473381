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
import functools
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import cards
from ..families import features
from ..images import make_grid
from . import files, loop

PRESETS = files.presets("features")  # presets/features/<data set>.json
DEFAULT = next(name for name, preset in PRESETS.items() if preset.get("default"))
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


def degrade(batch, gen, p=0.2, blur=1.0, noise=0.05):
    """With probability p per image, a Gaussian blur (sigma uniform in 0..blur pixels) or, as often, Gaussian
    noise (sigma uniform in 0..noise of the 0..255 range): mild, so that the features do not jump away from
    the real images' at the first blur or noise, while strong degradations stay far (a preset's "degrade")."""
    x, y = batch
    x = x.float().clone()  # blurred in place below: never the caller's tensor
    n = len(x)
    hit = torch.rand(n, generator=gen) < p
    use_blur = torch.rand(n, generator=gen) < 0.5
    strength = torch.rand(n, generator=gen)
    for i in torch.nonzero(hit & use_blur).flatten().tolist():
        sigma = max(float(strength[i]) * blur, 0.05)
        t = torch.arange(-math.ceil(3 * sigma), math.ceil(3 * sigma) + 1, dtype=torch.float32)
        k = (-(t / sigma) ** 2 / 2).exp()
        k = k / k.sum()
        img = F.pad(x[i][None, None], (len(t) // 2,) * 4, mode="reflect")
        x[i] = F.conv2d(F.conv2d(img, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))[0, 0]
    noisy = hit & ~use_blur
    sigma = (strength * noise * 255)[:, None, None]
    x = torch.where(noisy[:, None, None], x + sigma * torch.randn(x.shape, generator=gen), x)
    return x.clamp(0, 255), y


def confusion(labels, preds, k):
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
    return m


AUGMENTS = {"crop_flip": crop_flip, "face_jitter": face_jitter}  # a preset's "augment" names one


def _then_degrade(augment, settings, batch, gen):
    return degrade(augment(batch, gen), gen, **settings)


def confusion_image(matrix, cell=12):
    """Rows true class, columns predicted; darker is more (each row scaled to its total)."""
    rows = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    return np.kron((255 * (1 - rows)).astype(np.uint8), np.ones((cell, cell), np.uint8))


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine.")


def run_text(minutes, threads, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed)."""
    return RUN.format(minutes=minutes, threads=threads, **training)


def card_template(dataset, params):
    """A new card's first draft (a card that exists keeps its prose; the run goes to run_text)."""
    return files.card_draft(PRESETS[dataset], params, cards.RUN_START, cards.RUN_END)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(dataset=DEFAULT, seed=0)])
    ap.add_argument("--width", type=int, help="channels of the first stage (default: the preset's)")
    ap.add_argument("--preset", default=None, help="a preset name (default: the data set's)")
    ap.add_argument("--no-finish", action="store_true", help="train only: write no weights/ and no card")
    args = ap.parse_args(argv)
    name, preset = loop.chosen_preset(ap, args, PRESETS)
    config = dict(preset["config"], **({"width": args.width} if args.width else {}))
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    device = loop.setup(args)
    images, labels = loop.load_dataset(config["dataset"], "train", size=config["image_size"])
    model = features.build(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=preset.get("weight_decay", 5e-4))
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    trainer = loop.Loop(run_dir, {"net": model}, {"net": opt}, schedulers={"net": sched}, steps=steps,
                        seed=args.seed, log_every=50, sample_every=1000, checkpoint_every=250, resume=args.resume)
    augment = AUGMENTS[preset["augment"]]
    if preset.get("degrade"):  # mild blur or noise on a share of the images, after the preset's augmentation
        augment = functools.partial(_then_degrade, augment, preset["degrade"])
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
    if loop.is_main() and not args.no_finish:
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
                           card_template(name, loop.count_params(model)), run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card}")
    trainer.close()


if __name__ == "__main__":
    main()
