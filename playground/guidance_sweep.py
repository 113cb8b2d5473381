"""Classifier-free guidance against both feature networks: how a conditional diffusion model's default guidance is
chosen (the `guidance` of its training preset, shipped in playground.json).

    python -m playground.guidance_sweep ddpm-fashion [--scales 1,1.5,2] [--n 1000] [--checkpoint RUN/checkpoint.pt]

Each scale draws N images with the model's default sampler, classes in turn, seed 0 (Compare's protocol), and
scores them against Compare's real images on every feature network of the data set (scoring.Judges: FD, KD and
its standard error on both, precision/recall/density/coverage on the nearest-neighbour one), with two pixel
statistics that show what guidance does to the picture: the mean grey level and the share of near-white pixels
(above 0.95), beside the real images'. --checkpoint scores a training run's EMA weights instead of the shipped ones.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import compare, datasets, registry
from .families import diffusion, scoring

WHITE = 0.95


def pixel_stats(images):
    """{"mean grey": 0..1, "near-white share": fraction of pixels above WHITE} of uint8 images."""
    x = np.asarray(images, np.float32) / 255
    return {"mean grey": round(float(x.mean()), 4), "near-white share": round(float((x > WHITE).mean()), 4)}


def from_checkpoint(model_id, path):
    """The model with a training run's EMA weights (same settings as the shipped folder)."""
    from .train import diffusion as train  # the commands layer: building a UNet is the training command's
    from .train.loop import load_checkpoint
    folder = Path(registry.default().folder(model_id))
    settings = json.loads((folder / "playground.json").read_text())
    unet = train.build_unet(settings)
    unet.load_state_dict(load_checkpoint(path)["ema"]["unet"])
    schedule = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    return diffusion.Diffusion(unet.eval(), schedule, settings)


def sweep(model_id, scales, n, checkpoint=None):
    """[{"guidance", scores..., pixel stats, "seconds"}] plus a first row for the real reference images."""
    dataset = datasets.get(registry.default().card(model_id).dataset)
    reference, _, _ = compare.real_images(dataset.key)
    rows = [dict(guidance="real", **pixel_stats(reference[:n]))]
    with registry.using(model_id) as shipped:
        model = from_checkpoint(model_id, checkpoint) if checkpoint else shipped
        with scoring.Judges(dataset.key) as judges:
            ref = judges.features(reference[:n])
            for g in scales:
                start = time.perf_counter()
                images, _, _ = diffusion.generate_balanced(model, n, 0, *model.sampler, g)
                rows.append(dict(guidance=g, **judges.scores(judges.features(images), ref), **pixel_stats(images),
                                 seconds=round(time.perf_counter() - start, 1)))
    return rows


def markdown(rows, model_id, n, checkpoint=None):
    columns = list(dict.fromkeys(k for r in rows for k in r))
    where = f"the EMA weights of {checkpoint}" if checkpoint else "its shipped weights"
    lines = [f"{model_id}, {where}: N = {n} per scale, seed 0, classes in turn, against Compare's real images.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_id")
    ap.add_argument("--scales", default="1,1.5,2", help="guidance scales, comma-separated (1: no guidance)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--checkpoint", default=None, help="a training run's checkpoint.pt (its EMA weights)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    scales = [float(s) for s in args.scales.split(",")]
    print(markdown(sweep(args.model_id, scales, args.n, args.checkpoint), args.model_id, args.n, args.checkpoint))
    return 0


if __name__ == "__main__":
    sys.exit(main())
