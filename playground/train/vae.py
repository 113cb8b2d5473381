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
from . import files, loop

PRESETS = files.presets("vae")  # presets/vae/<name>.json
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


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine.")


def run_text(minutes, threads, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed)."""
    return RUN.format(minutes=minutes, threads=threads, **training)


def card_template(model_id, preset, config, params, command):
    """A new card's first draft (its preset's drafts/<model id>.md; a card that exists keeps its prose; the run
    goes to run_text)."""
    return files.draft(PRESETS[preset]["draft"]).format(
        model_id=model_id, params=params, size=config["image_size"], latent=config["latent_dim"],
        mixtures=config["mixtures"], command=command, run_start=cards.RUN_START, run_end=cards.RUN_END)


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
