"""Train the second feature networks: self-supervised (SimCLR), no labels, another design than the classifiers.

    python -m playground.train.features_ssl --dataset orl-faces --threads 1       # -> weights/features-orl-ssl
    python -m playground.train.features_ssl --dataset fashion-mnist --threads 1   # -> weights/features-fashion-ssl

Each step takes a batch of images, makes two random views of each (random resized crop, horizontal flip,
small rotation, brightness and contrast; never blur or noise, so the features stay sensitive to both) and
trains families.features_ssl.ContrastiveNet with the NT-Xent loss to tell each view's partner from the
other 2B - 2 views. The preset (presets/features_ssl/<data set>.json) holds the data split, the view
strength, the temperature and the network's config. It ends by fitting the read-out (the principal
components of the first stage's pooled activations over the training images), dropping the training head,
measuring the network with families.features.evaluate (the FD ladder on every metric and the bundled
generators on it, through playground.feature_ladder) and writing weights/<id>/ and the card's metrics.
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from .. import cards, datasets
from ..families import features, features_ssl
from ..images import make_grid
from . import files, loop

PRESETS = files.presets("features_ssl")  # presets/features_ssl/<data set>.json
DEFAULT = next(name for name, preset in PRESETS.items() if preset.get("default"))


def views(batch, gen, scale=(0.5, 1.0), rotate=10.0, shift=0.08, jitter=0.3, padding="border"):
    """Two random views of each image (float 0..255 [B,S,S] each): resized crop covering `scale` of the area
    (aspect 3/4..4/3), flip half the time, rotation up to `rotate` degrees, shifts up to `shift` of the side,
    brightness and contrast within `jitter`; one affine warp per view (bilinear, `padding` outside)."""
    x = batch[0]
    n = len(x)

    def one():
        u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen)  # noqa: E731
        area, aspect = u(*scale).sqrt(), u(math.log(3 / 4), math.log(4 / 3)).exp().sqrt()
        angle = u(-rotate, rotate) * math.pi / 180
        flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
        sx, sy = area * aspect * flip, area / aspect
        theta = torch.stack([torch.stack([sx * angle.cos(), -sy * angle.sin(), u(-shift, shift) * 2], 1),
                             torch.stack([sx * angle.sin(), sy * angle.cos(), u(-shift, shift) * 2], 1)], 1)
        img = x.float().unsqueeze(1)
        grid = F.affine_grid(theta, img.shape, align_corners=False)
        img = F.grid_sample(img, grid, mode="bilinear", padding_mode=padding, align_corners=False)
        mean = img.mean((1, 2, 3), keepdim=True)
        contrast, brightness = (u(1 - jitter, 1 + jitter)[:, None, None, None] for _ in range(2))
        img = (img - mean) * contrast + mean * brightness
        return img.squeeze(1).clamp(0, 255)

    return one(), one()


def training_images(dataset, split, size):
    """The images to learn from, as the ladder and the generators see them (faces: prepare_faces)."""
    record = datasets.get(dataset)
    images, labels = record.load(split)
    return (record.prepare(images, size) if record.prepare else images), labels


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size} (two views each), {steps} steps, "
       "temperature {temperature}, seed {seed}. Training took {minutes:.1f} minutes on {threads} CPU thread(s) of a "
       "shared 2-core machine.")


def card_template(dataset, params):
    return files.card_draft(PRESETS[dataset], params, cards.RUN_START, cards.RUN_END)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(dataset=DEFAULT, seed=0)])
    ap.add_argument("--preset", default=None, help="a preset name (default: the data set's)")
    ap.add_argument("--no-finish", action="store_true", help="train only: write no weights/ and no card")
    args = ap.parse_args(argv)
    name, preset = loop.chosen_preset(ap, args, PRESETS)
    config = dict(preset["config"], design=features_ssl.DESIGN)
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    device = loop.setup(args)
    images, labels = training_images(config["dataset"], preset["split"], config["image_size"])
    model = features.build(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=preset.get("weight_decay", 1e-4))
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    trainer = loop.Loop(run_dir, {"net": model}, {"net": opt}, schedulers={"net": sched}, steps=steps,
                        seed=args.seed, log_every=50, sample_every=1000, checkpoint_every=250, resume=args.resume)
    augment = lambda batch, gen: views(batch, gen, **preset["views"])  # noqa: E731
    batches = loop.Batches((torch.as_tensor(np.array(images)), torch.as_tensor(np.array(labels))), batch_size,
                           args.seed, augment)

    def step_fn(batch, step):
        v1, v2 = batch
        net = trainer.modules["net"]
        loss, acc = features_ssl.nt_xent(net(v1), net(v2), preset["temperature"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "pair_acc": acc}

    def sample_fn(step):  # the pairs of views the model is seeing, to check the augmentation by eye
        a, b = augment((batches.data[0][:16],), torch.Generator().manual_seed(step))
        pairs = torch.stack([a, b], 1).reshape(-1, *a.shape[1:])
        return make_grid(pairs.round().clamp(0, 255).to(torch.uint8).numpy(), nrow=8)

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        model.eval().fit_readout(torch.as_tensor(np.array(images)))
        config, model = model.without_head(config)
        metrics = features.evaluate(model, None)
        print(f"{preset['model_id']}: monotone {metrics.get('monotone')} {loop.trained_for(trainer, start)}",
              flush=True)
        run = RUN.format(minutes=trainer.elapsed / 60, threads=torch.get_num_threads(), lr=lr, batch_size=batch_size,
                         steps=steps, temperature=preset["temperature"], seed=args.seed)
        card = loop.finish(model, config, preset["model_id"], metrics,
                           card_template(name, loop.count_params(model)), run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card}")
    trainer.close()


if __name__ == "__main__":
    main()
