"""Train gan-faces: a data-efficient GAN on the 400 ORL faces at 64x64 grey, or gan-fashion: a
class-conditional DCGAN on Fashion-MNIST (28x28 padded to 32x32).

    python -m playground.train.gan --dataset orl-faces [--steps N] [--threads 1] [--run-dir DIR]
    python -m playground.train.gan --dataset fashion-mnist --threads 1 [--run-dir DIR]
    python -m playground.train.gan --dataset orl-faces --export-timeline RUN_DIR   # only the timeline

Hinge loss, a spectral-norm discriminator, DiffAugment (translation, cutout, colour) on every image
the discriminator sees, horizontal flips of the real faces, and an EMA of the generator (decay
0.999) that is what gets shipped. Samples of a fixed set of 64 latents go to <run>/samples/ (about
16 grids, evenly spaced: the "how it learned" timeline); losses to <run>/log.jsonl. It ends by
writing weights/gan-faces/ (EMA generator + discriminator) and the card's metrics.
"""
import argparse
import copy
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import cards, data
from ..families import gan
from ..images import make_grid
from . import loop

FASHION_STEPS, FASHION_G_WIDTH, FASHION_D_WIDTH = 9000, 48, 48  # sized for ~35 min on one busy CPU thread
MODEL_ID = "gan-faces"  # the orl-faces model; MODEL_IDS maps every preset's data set to its model
MODEL_IDS = {"orl-faces": "gan-faces", "fashion-mnist": "gan-fashion"}
PRESETS = {
    "orl-faces": dict(steps=16000, batch_size=32, lr=2e-4,
                      config=dict(latent_dim=128, g_width=32, d_width=32, image_size=64, channels=1)),
    # class-conditional (generator: conditional BatchNorm; projection discriminator),
    # 60,000 images: no DiffAugment and no flips (shoes all face left in Fashion-MNIST)
    "fashion-mnist": dict(steps=FASHION_STEPS, batch_size=64, lr=2e-4, betas=(0.0, 0.9), augment="", flip=False,
                          config=dict(latent_dim=128, g_width=FASHION_G_WIDTH, d_width=FASHION_D_WIDTH,
                                      image_size=32, channels=1, num_classes=10, output_size=28,
                                      dataset="fashion-mnist")),
}
COMMAND = "python -m playground.train.gan --dataset {dataset}"
COMMANDS = {"fashion-mnist": "python -m playground.train.gan --dataset fashion-mnist --threads 1",
            "orl-faces": "python -m playground.train.gan --dataset orl-faces --threads 1"}
BETAS = (0.0, 0.99)
EMA_DECAY = 0.999
GRIDS = 16
SAMPLE_SEED = 1234


def grid(images):
    """uint8 [N, H, W, 1] -> one grey grid image (8 per row)."""
    return make_grid(images, nrow=8)


def real_fashion(split="train", size=32):
    """Fashion-MNIST padded with black from 28x28 to size x size: (uint8 [N, size, size], int64 [N])."""
    images, labels = data.fashion_mnist(split)
    p = (size - images.shape[1]) // 2
    return np.pad(images, ((0, 0), (p, p), (p, p))), np.array(labels)


def labelled_batch(batch, gen):
    """(uint8 images (B, H, W), labels (B,)) -> (float (B, 1, H, W) in [-1, 1], labels); no flips."""
    return batch[0].float().div(127.5).sub(1).unsqueeze(1), batch[1]


def real_batch(batch, gen):
    """(uint8 faces (B, H, W),) -> (float (B, 1, H, W) in [-1, 1],), half of them mirrored."""
    x = batch[0].float().div(127.5).sub(1).unsqueeze(1)
    flip = torch.rand(len(x), generator=gen) < 0.5
    return (torch.where(flip[:, None, None, None], x.flip(-1), x),)


def export(g_ema, discriminator, config, seed=0):
    """The shipped GAN: the EMA generator (BatchNorm statistics recomputed) and the discriminator."""
    model = gan.build(config)
    model.generator.load_state_dict(g_ema.state_dict())
    model.discriminator.load_state_dict(discriminator.state_dict())
    gan.recalibrate_bn(model.generator, seed=seed)
    return model.eval()


CARD = """---
id: gan-faces
family: gan
title: Data-efficient GAN on ORL faces
source: weights/gan-faces
revision: null
dataset: orl-faces
license: MIT
params: {params}
resolution: 64x64
train_command: {command}
metrics: {{}}
metrics_command: python -m playground.evaluate gan-faces --write
---

# Data-efficient GAN on ORL faces

A small generative adversarial network that draws 64x64 grey faces from a 128-d latent vector,
trained from scratch on just 400 photographs. The weights (code: MIT) hold both networks: the
generator (the exponential moving average of the trained one) and the discriminator; their sizes are
under Training.

## How it works

- **Generator** (DCGAN-like): z ~ N(0, I) -> linear -> 4x4x{c0} -> four stride-2 transposed
  convolutions with BatchNorm and ReLU -> 64x64x1, tanh.
- **Discriminator**: four stride-2 convolutions with spectral normalisation and LeakyReLU (no
  BatchNorm) and a linear score; trained with the **hinge loss**.
- **DiffAugment** (Zhao et al. 2020): every image the discriminator sees, real or generated, is
  randomly shifted (up to 1/8 of the side), has a square of half the side cut out, and has its
  brightness and contrast changed. The augmentations are differentiable, so the generator learns
  through them, and because fakes are augmented the same way the generator is not pushed to draw
  the augmentations. Real faces are also mirrored half the time.
- **EMA**: the shipped generator is an exponential moving average (decay {ema}) of the trained
  one, with its BatchNorm statistics recomputed for the averaged weights; averaging smooths the
  oscillations of adversarial training and gives cleaner samples.
- **Truncation** psi scales the latent toward the prior's mean (0): z' = psi * z. Below 1 it trades
  variety for typical, cleaner faces; at 0 every seed gives the same face.

## Data

The ORL Database of Faces (AT&T Laboratories Cambridge, 1992-1994; credit AT&T Laboratories
Cambridge): 10 grey photographs of each of 40 people, 92x112, each cropped to 92x92 (rows 8-100,
where the faces sit) and resized to 64x64. The images are provided for research use with credit to
AT&T Laboratories Cambridge; the licence above covers the code and these weights, not the photographs.
All 400 images are used: this is few-shot territory, where a plain GAN's discriminator memorises
the data within a few thousand steps and training collapses. DiffAugment, spectral normalisation,
the hinge loss and the EMA are what make it work at this size.

## Training

`{command}`: Adam (betas {betas}) for both networks, one discriminator and one generator update per
step. Fixed-noise sample grids along the way are in weights/gan-faces/timeline/ and the run folder, the
losses in timeline/losses.json.

{run_start}
{run_end}

{metrics}## Limits

64x64 grey only, blurry in detail, with artefacts on hair and edges. It can only draw faces like
these 40 people: mostly young white men, frontal, against a dark background, under one
laboratory's light. With 400 images it learns this set, not "faces". Its samples tend to fall
between the 40 identities rather than on one of them: on features-orl, an identity classifier, few
samples land among a real person's nearest neighbours, which is what a low `precision` says. At truncation 1 a
noticeable share of the faces have smeared or doubled features (eyes, glasses, mouth).

## Ethics

- **Consent and data**: the 40 subjects agreed to be photographed for face-recognition research
  in the early 1990s, not to become the material of a face generator. The images are used here
  only because they are a standard, openly distributed research set; do not use the outputs to
  depict or identify any of them.
- **Memorisation**: with 400 images, a GAN can reproduce training faces nearly exactly, which
  would leak the subjects' likeness. The nearest-neighbour ratio above measures this; look at the
  nearest training face next to a generated one before calling it "new".
- **Deepfakes**: this model is far too small to fool anyone, but the techniques are those of
  realistic face synthesis. Generated faces must not be presented as photographs of real people.
- **Bias**: the data is dominated by one demographic, so the model represents others poorly or not
  at all; it is a teaching toy, not a model of human faces.
"""


CARD_FASHION = """---
id: gan-fashion
family: gan
title: Class-conditional DCGAN on Fashion-MNIST
source: weights/gan-fashion
revision: null
dataset: fashion-mnist
license: MIT
params: {params}
resolution: 28x28
train_command: {command}
metrics: {{}}
metrics_command: python -m playground.evaluate gan-fashion --write
---

# Class-conditional DCGAN on Fashion-MNIST

A small generative adversarial network that draws 28x28 grey pictures of clothing of a class you
choose (T-shirt/top, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot) from a
128-d latent vector. The weights (code: MIT) hold both networks: the generator (the exponential
moving average of the trained one) and the discriminator; their sizes are under Training.

## How it works

- **Padding**: the networks work at 32x32, so every layer halves or doubles cleanly (4 -> 8 -> 16 ->
  32). Training images are Fashion-MNIST's 28x28 padded with 2 black pixels on each side; the
  generator's 32x32 output is cropped back to the centre 28x28 before anyone sees it, so generated
  and real images are compared at the same size.
- **Generator** (DCGAN): z ~ N(0, I) (128-d) -> linear -> 4x4x{c0} -> three stride-2 transposed
  convolutions -> 32x32x1, tanh, with ReLU and **conditional BatchNorm** after the linear layer and
  each hidden convolution: the normalisation's gain and bias are learned per class (embeddings of
  the label), so the class sets the features' statistics and z their content. (A first version
  that instead concatenated a label embedding with z collapsed within 600 steps: the 8 samples of
  each class were nearly the same image. With z the linear layer's only input it cannot be ignored.)
- **Discriminator**: three stride-2 convolutions with spectral normalisation and LeakyReLU (no
  BatchNorm) give features h; the score is a linear function of h plus the inner product of h with a
  (spectrally normalised) embedding of the label: a **projection discriminator** (Miyato & Koyama
  2018). It judges "is this a real example of this class", so a good sandal labelled "coat" is
  penalised and the generator has to follow the label. Trained with the **hinge loss**.
- **Labels during training**: real images carry their own labels; generated ones get labels drawn
  uniformly, so every class is practised equally.
- No DiffAugment and no flips: with 60,000 images the discriminator has enough data, and flipping
  would turn the (always left-facing) shoes around.
- **EMA**: the shipped generator is an exponential moving average (decay {ema}) of the trained one,
  with its BatchNorm statistics recomputed for the averaged weights.
- **Truncation** psi scales the latent toward 0: below 1 it trades variety for typical items.

## Data

Fashion-MNIST (Zalando Research, Xiao, Rasul and Vollgraf 2017; MIT licence): 70,000 28x28 grey
product photographs from Zalando's shop, 10 classes, 60,000 for training (all used here) and 10,000
for testing (used only by the metrics).

## Training

`{command}`: Adam (betas {betas}) for both networks, one discriminator and one generator update per
step. Fixed-noise sample grids (one row of 8 per class, top to bottom in the order above) along the way
are in weights/gan-fashion/timeline/ and the run folder, the losses in timeline/losses.json.

{run_start}
{run_end}

{metrics}## Limits

28x28 grey only, and small: details such as prints, logos, laces and textures are blurred or
invented. Shirts, T-shirts, pullovers and coats look alike in Fashion-MNIST itself and the model
confuses them too. It knows only these ten kinds of centred, isolated product shots on black; it is
a teaching toy, not a fashion designer.

## Risks

- **Mode collapse**: a GAN can learn to draw a few items per class very well and ignore the rest;
  samples then look good while the variety is gone. recall_fashion and fd_fashion measure this;
  look at a grid of one class for near-duplicates.
- **Memorisation**: a generator can reproduce training images. The product photographs are not
  personal data, but the check matters for any GAN; the nearest-neighbour ratio above measures it
  (against a subset of the training set, so a copy of an image outside the subset can be missed).
- **Misuse**: the images are far too small to pass as product photographs; do not present them as
  real products.
"""


METRICS = {  # data set -> (model id, metric key, its name, feature network, what is compared)
    "orl-faces": ("gan-faces", "fd_orl", "FD-ORL", "features-orl",
                  "200 generated faces against 200 training faces (one half of the 400, five per person)"),
    "fashion-mnist": ("gan-fashion", "fd_fashion", "FD-Fashion", "features-fashion",
                      "5,000 generated images (500 per class) against 5,000 training images"),
}


def metrics_section(dataset):
    """The card's "## Metrics" section: what `python -m playground.evaluate <id> --write` measures."""
    model_id, key, label, net, what = METRICS[dataset]
    labels = ("\n- `label_accuracy`: the share of generated images that features-fashion classifies as the class\n"
              "  they were asked for (the classifier itself gets about 0.93 on real test images)."
              if dataset == "fashion-mnist" else "")
    return f"""## Metrics

Written by `python -m playground.evaluate {model_id} --write`, never by hand, on the protocol in
`playground/ladder.py`:
- `{key}` ({label}): Frechet distance on the features of {net} (the project's own classifier,
  standing in for Inception): {what}. Lower is better. It is **not an FID** and cannot be compared
  with published numbers.
- The ladder, measured in the same run against the same training images: `{key}_floor` (real
  held-out images), `{key}_blur1` and `{key}_blur2` (those images blurred, sigma 1 and 2 pixels),
  `{key}_noise0.1` and `{key}_noise0.2` (Gaussian noise of 10% and 20% of the grey range). The
  section *Measured* below places the model on it.
- `precision` / `recall`: improved precision (fidelity) and recall (diversity), k=3, on the same
  features (Kynkaanniemi et al. 2019).
- `memorisation_rate`: the share of generated images closer (in pixels) to a training image than
  the median distance between a training image and its nearest other one; `nn_ratio_median`: the
  median of that ratio. Real held-out images score about 0.5 and 1.0: a rate well above 0.5 (or a
  ratio well below 1) means samples sit closer to the training set than new photos would.{labels}

"""


def card_template(params, c0, dataset="orl-faces", betas=BETAS, command=None):
    """A new card's first draft for the data set's model (CARD for gan-faces, CARD_FASHION for gan-fashion);
    a card that exists keeps its prose, and the run goes to run_text."""
    template = CARD_FASHION if dataset == "fashion-mnist" else CARD
    return template.format(params=params, c0=c0, ema=EMA_DECAY, betas=tuple(betas), metrics=metrics_section(dataset),
                           command=command or COMMANDS.get(dataset, COMMAND.format(dataset=dataset)),
                           run_start=cards.RUN_START, run_end=cards.RUN_END)


PASSES = {"orl-faces": "{:.0f} passes over the 400 faces", "fashion-mnist": "{:.1f} passes over the training set"}
RUN = ("The run that wrote these weights: lr {lr}, batch {batch_size}, {steps} steps (about {passes}), seed {seed}, "
       "{minutes:.0f} minutes on {threads} CPU thread(s); {g_params:,} generator parameters and {d_params:,} "
       "discriminator parameters, {params:,} in all.")


def run_text(dataset, epochs, **run):
    """The card's training-run section (run: lr, batch_size, steps, seed, minutes, threads, g_params, d_params,
    params)."""
    return RUN.format(passes=PASSES.get(dataset, "{:.1f} passes over the data").format(epochs), **run)


def _evenly(items, k):
    """At most k items spread evenly over the list, first and last included."""
    if len(items) <= k:
        return list(items)
    return [items[i] for i in np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))]


def export_timeline(run_dir, weights_dir, max_grids=16, max_rows=400):
    """Copy a run's "how it learned" timeline for the GAN tab into weights_dir/timeline/: at most
    `max_grids` fixed-noise sample grids (samples/step_XXXXXX.png, evenly spaced, the last one
    included) and losses.json, the log.jsonl rows as one JSON list (at most `max_rows`, evenly
    subsampled). Older step_*.png files there are replaced. Returns the timeline folder."""
    run_dir, out = Path(run_dir), Path(weights_dir) / "timeline"
    grids = sorted((run_dir / "samples").glob("step_*.png"))
    steps = [int(p.stem.split("_")[1]) for p in grids]
    if len(grids) > max_grids >= 2 and steps[-1] - steps[-2] < (steps[-2] - steps[0]) / (2 * (len(steps) - 2) or 1):
        grids = grids[:-2] + grids[-1:]  # the end-of-training grid just after a regular one: keep the end's
    log_path = run_dir / "log.jsonl"
    if not grids and not log_path.is_file():
        raise FileNotFoundError(f"{run_dir} holds neither samples/step_*.png nor log.jsonl: not a training run.")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("step_*.png"):
        old.unlink()
    for path in _evenly(grids, max_grids):
        shutil.copyfile(path, out / path.name)
    rows = [json.loads(line) for line in (log_path.read_text().splitlines() if log_path.is_file() else [])
            if line.strip()]
    (out / "losses.json").write_text(json.dumps(_evenly(rows, max_rows)) + "\n")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(dataset="orl-faces", seed=0)])
    ap.add_argument("--g-width", type=int, help="generator channels at 32x32 (default: the preset's)")
    ap.add_argument("--d-width", type=int, help="discriminator channels at 32x32 (default: the preset's)")
    ap.add_argument("--no-finish", action="store_true", help="train only; do not write weights/ or the card")
    ap.add_argument("--export-timeline", type=Path, metavar="RUN_DIR", help="only copy RUN_DIR's sample grids "
                    "and losses to weights/<id>/timeline/ (the id follows --dataset) and stop")
    args = ap.parse_args(argv)
    if args.dataset not in PRESETS:
        ap.error(f"--dataset must be one of {', '.join(PRESETS)}")
    model_id = MODEL_IDS[args.dataset]
    if args.export_timeline:
        out = export_timeline(args.export_timeline, loop.REPO_ROOT / "weights" / model_id)
        print(f"wrote {out}", flush=True)
        return
    preset = PRESETS[args.dataset]
    betas, policy = preset.get("betas", BETAS), preset.get("augment", gan.POLICY)
    config = dict(preset["config"])
    config.update({k: v for k, v in (("g_width", args.g_width), ("d_width", args.d_width)) if v})
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, model_id)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = loop.init_distributed(args.device)
    loop.seed_everything(args.seed)
    conditional = bool(config.get("num_classes"))
    if args.dataset == "fashion-mnist":
        data = tuple(torch.from_numpy(a) for a in real_fashion("train", config["image_size"]))
    else:
        data = torch.from_numpy(gan.real_faces(args.dataset, config["image_size"]))
    model = gan.build(config).to(device)
    g, d = model.generator, model.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=betas)
    trainer = loop.Loop(run_dir, {"generator": g, "discriminator": d}, {"generator": opt_g, "discriminator": opt_d},
                        ema={"generator": EMA_DECAY}, steps=steps, seed=args.seed, log_every=50,
                        sample_every=max(1, steps // GRIDS), checkpoint_every=250, resume=args.resume)
    batches = loop.Batches(data, batch_size, args.seed,
                           labelled_batch if conditional else real_batch if preset.get("flip", True) else None)
    single = trainer.world == 1
    # fixed latents for the timeline: 64 for gan-faces; one row of 8 per class for a conditional model
    rows = config["num_classes"] if conditional else 8
    fixed_z = gan.latents(SAMPLE_SEED, rows * 8, config["latent_dim"])
    fixed_y = torch.arange(rows).repeat_interleave(8).to(device) if conditional else None
    augment = (lambda x, gen: gan.diff_augment(x, gen, policy)) if policy else (lambda x, gen: x)

    def step_fn(batch, step):
        real, y = batch if conditional else (batch, None)  # Batches hands over a lone tensor as it is
        G, D = trainer.modules["generator"], trainer.modules["discriminator"]
        gen = torch.Generator().manual_seed(loop.mix_seed(args.seed, step, trainer.rank, 1))
        z = torch.randn(len(real), config["latent_dim"], generator=gen).to(device)
        fake_y = None
        if conditional:  # generated images get labels drawn uniformly
            fake_y = torch.randint(0, config["num_classes"], (len(real),), generator=gen).to(device)
        with torch.no_grad():
            fake = G(z, fake_y)
        labels = torch.cat([y, fake_y]) if conditional else None
        scores = D(torch.cat([augment(real, gen), augment(fake, gen)]), labels)
        d_loss = gan.hinge_d_loss(scores[:len(real)], scores[len(real):])
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        if single:
            d.requires_grad_(False)  # no discriminator weight gradients in the generator's step
        z = torch.randn(len(real), config["latent_dim"], generator=gen).to(device)
        if conditional:
            fake_y = torch.randint(0, config["num_classes"], (len(real),), generator=gen).to(device)
        g_loss = gan.hinge_g_loss(D(augment(G(z, fake_y), gen), fake_y))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if single:
            d.requires_grad_(True)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": scores[:len(real)].detach().mean(), "d_fake": scores[len(real):].detach().mean()}

    def sample_fn(step):  # the EMA generator on fixed latents, its BatchNorm statistics recomputed
        g_ema = gan.recalibrate_bn(copy.deepcopy(trainer.ema["generator"]), seed=0).eval()
        return grid(gan.to_uint8(gan.crop(model, g_ema(fixed_z.to(device), fixed_y))))

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        shipped = export(trainer.ema["generator"], d, config)
        final_z = gan.latents(SAMPLE_SEED + 1, rows * 8, config["latent_dim"]).to(device)
        final = gan.to_uint8(gan.crop(shipped, shipped.generator(final_z, fixed_y)))
        Image.fromarray(grid(final).squeeze()).save(run_dir / "final_grid.png")
        params = loop.count_params(shipped)
        draft = card_template(params, shipped.generator.c0, dataset=args.dataset, betas=betas)
        run = run_text(args.dataset, steps * batch_size / len(data[0] if conditional else data), lr=lr,
                       batch_size=batch_size, steps=steps, seed=args.seed, minutes=trainer.elapsed / 60,
                       threads=torch.get_num_threads(), g_params=loop.count_params(shipped.generator),
                       d_params=loop.count_params(shipped.discriminator), params=params)
        card = loop.finish(shipped, config, model_id, {}, draft, run=run)
        export_timeline(run_dir, loop.REPO_ROOT / "weights" / model_id)
        try:
            metrics = gan.evaluate(shipped, None)
            loop.finish(shipped, config, model_id, metrics, draft, run=run)
        except Exception as e:  # noqa: BLE001 - weights are written; metrics can be recomputed
            print(f"metrics not written ({e}); run: python -m playground.evaluate {model_id} --write", flush=True)
            metrics = {}
        print(f"{model_id}: {metrics} {loop.trained_for(trainer, start)}; wrote weights/{model_id}/ and {card}",
              flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
