"""Train gan-faces: a data-efficient GAN on the 400 ORL faces at 64x64 grey.

    python -m playground.train.gan --dataset orl-faces [--steps N] [--threads 1] [--run-dir DIR]

Hinge loss, a spectral-norm discriminator, DiffAugment (translation, cutout, colour) on every image
the discriminator sees, horizontal flips of the real faces, and an EMA of the generator (decay
0.999) that is what gets shipped. Samples of a fixed set of 64 latents go to <run>/samples/ (about
16 grids, evenly spaced: the "how it learned" timeline); losses to <run>/log.jsonl. It ends by
writing weights/gan-faces/ (EMA generator + discriminator) and the card's metrics.
"""
import argparse
import copy
import time

import torch

from ..families import gan
from . import loop

MODEL_ID = "gan-faces"
PRESETS = {
    "orl-faces": dict(steps=16000, batch_size=32, lr=2e-4,
                      config=dict(latent_dim=128, g_width=32, d_width=32, image_size=64, channels=1)),
}
COMMAND = "python -m playground.train.gan --dataset {dataset}"
BETAS = (0.0, 0.99)
EMA_DECAY = 0.999
GRIDS = 16
SAMPLE_SEED = 1234


def grid(images):
    """uint8 [N, H, W, 1] -> one grey grid image (8 per row)."""
    from ..images import make_grid
    return make_grid(images, nrow=8)


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
trained from scratch on just 400 photographs. The weights (code: MIT) hold both networks,
{g_params:,} generator parameters (the exponential moving average of the trained generator) and
{d_params:,} discriminator parameters, {params:,} in all.

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

`{command}`: Adam (lr {lr}, betas {betas}) for both networks, batch {batch_size}, {steps} steps
(one discriminator and one generator update each), seed {seed}, {minutes:.0f} minutes on {threads}
CPU thread(s). Sample grids of fixed latents along the way are in the run folder (samples/), the
losses in log.jsonl.

## Metrics

Written by `python -m playground.evaluate gan-faces --write`, never by hand:
- `fd_orl`: Frechet distance between the features-orl features (a classifier trained on the same
  faces, standing in for Inception) of 400 generated faces and the 400 real ones. Lower is better;
  it ranks models inside this playground only and is not an FID.
- `nn_ratio_median` / `nn_ratio_min`: each generated face's pixel distance to its nearest training
  face, divided by the median distance between a training face and its nearest other training
  face (usually the same person in another pose). Around 1 or above: generated faces are no closer
  to the training set than its photographs are to each other; near 0: copies.

## Limits

64x64 grey only, blurry in detail, with artefacts on hair and edges. It can only draw faces like
these 40 people: mostly young white men, frontal, against a dark background, under one
laboratory's light. With 400 images it learns this set, not "faces".

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


def card_template(params, g_params, d_params, c0, **training):
    return CARD.format(params=params, g_params=g_params, d_params=d_params, c0=c0, ema=EMA_DECAY,
                       betas=BETAS, **training)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(dataset="orl-faces", seed=0)])
    ap.add_argument("--g-width", type=int, help="generator channels at 32x32 (default: the preset's)")
    ap.add_argument("--d-width", type=int, help="discriminator channels at 32x32 (default: the preset's)")
    ap.add_argument("--no-finish", action="store_true", help="train only; do not write weights/ or the card")
    args = ap.parse_args(argv)
    if args.dataset not in PRESETS:
        ap.error(f"--dataset must be one of {', '.join(PRESETS)}")
    preset = PRESETS[args.dataset]
    config = dict(preset["config"])
    config.update({k: v for k, v in (("g_width", args.g_width), ("d_width", args.d_width)) if v})
    steps, batch_size, lr = (args.steps or preset["steps"], args.batch_size or preset["batch_size"],
                             args.lr or preset["lr"])
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = args.run_dir or loop.REPO_ROOT / "runs" / MODEL_ID

    device = loop.init_distributed(args.device)
    loop.seed_everything(args.seed)
    faces = gan.real_faces(args.dataset, config["image_size"])
    model = gan.build(config).to(device)
    g, d = model.generator, model.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=BETAS)
    trainer = loop.Loop(run_dir, {"generator": g, "discriminator": d}, {"generator": opt_g, "discriminator": opt_d},
                        ema={"generator": EMA_DECAY}, steps=steps, seed=args.seed, log_every=50,
                        sample_every=max(1, steps // GRIDS), checkpoint_every=250, resume=args.resume)
    batches = loop.Batches(torch.from_numpy(faces), batch_size, args.seed, real_batch)
    single = trainer.world == 1
    fixed_z = gan.latents(SAMPLE_SEED, 64, config["latent_dim"])

    def step_fn(batch, step):
        real = batch  # Batches hands over a lone tensor as it is
        G, D = trainer.modules["generator"], trainer.modules["discriminator"]
        gen = torch.Generator().manual_seed(loop.mix_seed(args.seed, step, trainer.rank, 1))
        z = torch.randn(len(real), config["latent_dim"], generator=gen).to(device)
        with torch.no_grad():
            fake = G(z)
        scores = D(torch.cat([gan.diff_augment(real, gen), gan.diff_augment(fake, gen)]))
        d_loss = gan.hinge_d_loss(scores[:len(real)], scores[len(real):])
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        if single:
            d.requires_grad_(False)  # no discriminator weight gradients in the generator's step
        z = torch.randn(len(real), config["latent_dim"], generator=gen).to(device)
        g_loss = gan.hinge_g_loss(D(gan.diff_augment(G(z), gen)))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if single:
            d.requires_grad_(True)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": scores[:len(real)].detach().mean(), "d_fake": scores[len(real):].detach().mean()}

    def sample_fn(step):  # the EMA generator on fixed latents, its BatchNorm statistics recomputed
        g_ema = gan.recalibrate_bn(copy.deepcopy(trainer.ema["generator"]), seed=0).eval()
        return grid(gan.to_uint8(g_ema(fixed_z.to(device))))

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        shipped = export(trainer.ema["generator"], d, config)
        final = gan.to_uint8(shipped.generator(gan.latents(SAMPLE_SEED + 1, 64, config["latent_dim"]).to(device)))
        from PIL import Image
        Image.fromarray(grid(final).squeeze()).save(run_dir / "final_grid.png")
        params = loop.count_params(shipped)
        template = card_template(params, loop.count_params(shipped.generator), loop.count_params(shipped.discriminator),
                                 shipped.generator.c0, command=COMMAND.format(dataset=args.dataset), lr=lr,
                                 batch_size=batch_size, steps=steps, seed=args.seed, minutes=trainer.elapsed / 60,
                                 threads=torch.get_num_threads())
        card = loop.finish(shipped, config, MODEL_ID, {}, template)
        try:
            metrics = gan.evaluate(shipped, None)
            loop.finish(shipped, config, MODEL_ID, metrics, template)
        except Exception as e:  # noqa: BLE001 - weights are written; metrics can be recomputed
            print(f"metrics not written ({e}); run: python -m playground.evaluate {MODEL_ID} --write", flush=True)
            metrics = {}
        print(f"{MODEL_ID}: {metrics} after {trainer.elapsed:.0f}s of training "
              f"({time.perf_counter() - start:.0f}s this session); wrote weights/{MODEL_ID}/ and {card}", flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
