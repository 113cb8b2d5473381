"""Train the diffusion models: ddpm-fashion (class-conditional, Fashion-MNIST padded to 32x32, label
dropout for classifier-free guidance) and ddpm-faces (ORL faces at 64x64, unconditional).

    python -m playground.train.diffusion --preset fashion --threads 1 [--no-finish]
    python -m playground.train.diffusion --preset faces --threads 1

A diffusers UNet2DModel learns to predict the noise added to an image at a random step t of a
1,000-step forward process (linear schedule, beta 1e-4 to 0.02, as Ho et al. 2020; every diffusers
sampler handles it, whereas with the cosine schedule alpha-bar reaches ~0 at t=999 and the Euler,
Heun and DPM-Solver samplers blew up in a test run); the loss is the mean squared error. For
guidance, the class label is replaced by a "no class" label (index num_classes) 10% of the time.
An EMA of the weights (decay 0.999) is what gets shipped, as a diffusers folder (model_index.json,
unet/, scheduler/) under weights/<id>/. Samples of fixed noise (the model's default sampler,
DPM-Solver++ 20 unless its preset names another) go to <run>/samples/. Resumable: rerunning the
same command continues, and once all steps are done it only writes weights/<id>/ (unless
--no-finish).
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import cards, data
from ..errors import PlaygroundError
from ..families import diffusion
from ..images import make_grid
from . import files, loop

PRESETS = files.presets("diffusion")  # presets/diffusion/<name>.json
FASHION = PRESETS["fashion"]["config"]
LABEL_DROPOUT = 0.1
SAMPLE_SEED = 1234


def build_unet(config):
    from diffusers import UNet2DModel  # lazy: diffusers takes seconds to import; only diffusion models need it
    levels = len(config["block_out_channels"])
    classes = config["num_classes"]
    return UNet2DModel(sample_size=config["sample_size"], in_channels=1, out_channels=1,
                       block_out_channels=tuple(config["block_out_channels"]),
                       layers_per_block=config["layers_per_block"], down_block_types=("DownBlock2D",) * levels,
                       up_block_types=("UpBlock2D",) * levels, norm_num_groups=8,
                       num_class_embeds=classes + 1 if classes else None)


def make_scheduler():
    from diffusers import DDPMScheduler  # lazy: diffusers takes seconds to import; only diffusion models need it
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon",
                         clip_sample=True)


def training_images(config, dataset=None):
    """uint8 images (N,S,S) and int64 labels: Fashion-MNIST's training set padded with black to 32x32;
    the 400 ORL faces cropped exactly as gan-faces saw them (data.prepare_faces), so the two compare."""
    name = dataset or config["dataset"]
    how = next((p.get("images", {}) for p in PRESETS.values() if p["config"]["dataset"] == name), {})
    if how.get("faces"):  # the preset's data set is read as gan-faces reads it
        images, labels = data.orl_faces()
        images = data.prepare_faces(images, config["sample_size"])
    else:  # its split, at its own size when the preset says so; other data: all of it, at the model's size
        size = None if how.get("native_size") else config["sample_size"]
        images, labels = data.load(name, split=how.get("split", "all"), size=size, mode="L")
    images = np.asarray(images)
    p = config["pad"]
    if p:
        images = np.pad(images, ((0, 0), (p, p), (p, p)))
    return torch.from_numpy(np.array(images)), torch.from_numpy(np.array(labels, np.int64))


def quick_samples(unet, scheduler_config, config, n=64, guidance=None, seed=SAMPLE_SEED):
    """n images (uint8 (n,S,S)) with the model's default sampler from fixed noise, exactly as the tab
    draws them (families.diffusion.generate); classes in turn for a conditional model."""
    model = diffusion.Diffusion(unet, scheduler_config, config)
    classes = config["num_classes"]
    labels = [i % classes for i in range(n)] if classes else None
    return diffusion.generate(model, seed, n, labels, *model.sampler, model.guidance if guidance is None else guidance)


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.0f} minutes of wall-clock time on {threads_text} of a shared 2-core machine (including any time "
       "the run was paused).")


def run_text(minutes, threads, warm_starts=(), offset_noise=0.0, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed), and the
    pieces it was trained in (the preset's warm_starts) and its offset noise, if any."""
    threads_text = "one CPU thread" if threads == 1 else f"{threads} CPU threads"
    text = RUN.format(minutes=minutes, threads_text=threads_text, **training)
    if warm_starts:
        text += (" It was trained in pieces: each `--warm-start` piece began a fresh optimizer at the step named, from "
                 + "; ".join(f"step {w['step']:,}, {w['source']}" for w in warm_starts)
                 + ". The minutes are those of the last piece.")
    if offset_noise:
        text += (f" Offset noise {offset_noise:g}: each training image's noise also had a random constant of that "
                 "standard deviation added, so that the network learns to move an image's overall brightness.")
    return text


def card_template(preset, config, params):
    """A new card's first draft (a card that exists keeps its prose; the run goes to run_text)."""
    sampler, steps = config.get("sampler", "DPM-Solver++"), config.get("steps", 20)
    sampler_text = f"Its default sampler, in the tab and for the card's main numbers, is {sampler} with {steps} steps."
    if sampler != "DPM-Solver++":
        sampler_text += (" With this network the deterministic samplers (DDIM, DPM-Solver++, Euler) drift to washed-out "
                         "or speckled faces from many seeds while the stochastic ones (DDPM, Euler ancestral), whose fresh "
                         "noise at every step corrects the network's errors, do not: see it in the tab's Compare "
                         "samplers with one seed. The sampler table below hardly shows it: FD-ORL, on the features of "
                         "an identity classifier, barely registers brightness and speckle.")
    return files.draft(PRESETS[preset]["draft"]).format(
        model_id=PRESETS[preset]["model_id"], preset=preset, dataset=config["dataset"], params=params,
        size=config["sample_size"] - 2 * config["pad"], sampler_text=sampler_text,
        channels=", ".join(str(c) for c in config["block_out_channels"]), run_start=cards.RUN_START,
        run_end=cards.RUN_END)


def warm_step(preset):
    """The step a warm start begins at: the preset's last warm start (the steps the shipped weights had)."""
    starts = preset.get("warm_starts") or []
    if not starts:
        raise PlaygroundError(f"the preset of {preset['model_id']} names no warm start (warm_starts)")
    return starts[-1]["step"]


def warm_weights(folder, config):
    """The UNet state dict of a diffusers folder written by save_folder, checked against the preset's settings."""
    from safetensors.torch import load_file
    folder = Path(folder)
    shipped = json.loads((folder / "playground.json").read_text())
    changed = {k for k in config if k not in ("sampler", "steps", "guidance")
               and shipped.get(k) != json.loads(json.dumps(config[k]))}  # as JSON: a tuple is a list
    if changed:
        raise PlaygroundError(f"{folder} was trained with other settings ({', '.join(sorted(changed))})")
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    if not weights.is_file():
        raise PlaygroundError(f"no {weights}: a warm start reads the safetensors of a diffusers folder")
    return load_file(str(weights))


def save_folder(folder, unet, scheduler, config):
    """A diffusers folder: unet/ and scheduler/ (safetensors and json) and model_index.json, plus the
    playground's own settings in playground.json."""
    folder.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(folder / "unet", safe_serialization=True)
    scheduler.save_pretrained(folder / "scheduler")
    (folder / "model_index.json").write_text(json.dumps(
        {"_class_name": "DDPMPipeline", "unet": ["diffusers", "UNet2DModel"],
         "scheduler": ["diffusers", type(scheduler).__name__]}, indent=2) + "\n")
    (folder / "playground.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(seed=0)])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="fashion")
    ap.add_argument("--no-finish", action="store_true", help="train only; do not write weights/")
    ap.add_argument("--warm-start", type=Path, metavar="WEIGHTS", help="continue training shipped weights (a "
                    "diffusers folder, e.g. weights/ddpm-fashion) in a fresh run, from the preset's last warm start")
    args = ap.parse_args(argv)
    preset = PRESETS[args.preset]
    config = dict(preset["config"])
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    device = loop.setup(args)
    images, labels = training_images(config, args.dataset)
    unet = build_unet(config).to(device)
    scheduler = make_scheduler()
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.0)
    warmup = preset.get("warmup", max(1, steps // 40))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))
    trainer = loop.Loop(run_dir, {"unet": unet}, {"unet": opt}, schedulers={"unet": sched}, steps=steps,
                        seed=args.seed, ema={"unet": 0.999}, log_every=50, sample_every=1000,
                        checkpoint_every=250, resume=args.resume)
    if args.warm_start and trainer.step:
        print(f"resuming {run_dir} at step {trainer.step}: --warm-start applies to a fresh run only", flush=True)
    elif args.warm_start:
        trainer.warm_start({"unet": warm_weights(args.warm_start, config)}, warm_step(preset))
    flip, offset = preset.get("flip", False), preset.get("offset_noise", 0.0)

    def transform(batch, gen):
        x, y = batch
        x = x.float().div(127.5).sub(1).unsqueeze(1)
        if flip:
            f = torch.rand(len(x), generator=gen) < 0.5
            x = torch.where(f[:, None, None, None], x.flip(-1), x)
        noise = torch.randn(x.shape, generator=gen)
        if offset:  # offset noise (Guttenberg 2023): a per-image constant too, so that the network learns to
            noise = noise + offset * torch.randn((len(x), 1, 1, 1), generator=gen)  # move the image's mean
        t = torch.randint(0, 1000, (len(x),), generator=gen)
        drop = torch.rand(len(x), generator=gen) < LABEL_DROPOUT
        return x, y, noise, t, drop

    batches = loop.Batches((images, labels), batch_size, args.seed, transform)
    alphas = scheduler.alphas_cumprod

    def step_fn(batch, step):
        x, y, noise, t, drop = batch
        a = alphas.to(x.device)[t].view(-1, 1, 1, 1)
        noisy = a.sqrt() * x + (1 - a).sqrt() * noise
        classes = config["num_classes"]
        y = torch.where(drop, torch.full_like(y, classes), y) if classes else None
        loss = F.mse_loss(trainer.modules["unet"](noisy, t, class_labels=y).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        return {"loss": loss.detach()}

    def sample_fn(step):
        return make_grid(quick_samples(trainer.ema["unet"], scheduler.config, config), nrow=8)

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), preset.get("warm_starts", ()),
                       preset.get("offset_noise", 0.0), lr=lr, batch_size=batch_size, steps=steps, seed=args.seed)
        card = loop.finish(trainer.ema["unet"], config, preset["model_id"], {},
                           card_template(args.preset, config, loop.count_params(unet)), run=run,
                           save=lambda folder, net, settings: save_folder(folder, net, scheduler, settings))
        print(f"wrote weights/{preset['model_id']}/ and {card} {loop.trained_for(trainer, start)}; now run "
              f"python -m playground.evaluate {preset['model_id']} --write", flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
