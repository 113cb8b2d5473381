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
from . import files, loop

PRESETS = files.presets("gan")  # presets/gan/<data set>.json
DEFAULT = next(name for name, preset in PRESETS.items() if preset.get("default"))
MODEL_IDS = {name: preset["model_id"] for name, preset in PRESETS.items()}
COMMAND = "python -m playground.train.gan --dataset {dataset}"
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


def card_template(params, c0, dataset=None, betas=BETAS, command=None):
    """A new card's first draft for the data set's model (its preset's draft, drafts/<model id>.md); a card
    that exists keeps its prose, and the run goes to run_text."""
    preset = PRESETS[dataset or DEFAULT]
    return files.draft(preset["draft"]).format(
        params=params, c0=c0, ema=EMA_DECAY, betas=tuple(betas), run_start=cards.RUN_START, run_end=cards.RUN_END,
        command=command or preset.get("command") or COMMAND.format(dataset=dataset or DEFAULT))


RUN = ("The run that wrote these weights: lr {lr}, batch {batch_size}, {steps} steps (about {passes}), seed {seed}, "
       "{minutes:.0f} minutes on {threads} CPU thread(s); {g_params:,} generator parameters and {d_params:,} "
       "discriminator parameters, {params:,} in all.")


def run_text(dataset, epochs, **run):
    """The card's training-run section (run: lr, batch_size, steps, seed, minutes, threads, g_params, d_params,
    params)."""
    passes = PRESETS.get(dataset, {}).get("passes", "{:.1f} passes over the data")  # a preset's own words
    return RUN.format(passes=passes.format(epochs), **run)


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
                                 parents=[loop.common_parser(dataset=DEFAULT, seed=0)])
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
    betas, policy = tuple(preset.get("betas", BETAS)), preset.get("augment", gan.POLICY)
    config = dict(preset["config"])
    config.update({k: v for k, v in (("g_width", args.g_width), ("d_width", args.d_width)) if v})
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, model_id)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = loop.init_distributed(args.device)
    loop.seed_everything(args.seed)
    conditional = bool(config.get("num_classes"))
    if preset["loader"] == "padded":  # Fashion-MNIST padded to the image size, with labels
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
