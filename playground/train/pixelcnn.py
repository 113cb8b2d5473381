"""Train the PixelCNNs: pixelcnn-fashion (gated, class-conditional) and pixelcnn-masked-small.

    python -m playground.train.pixelcnn --preset fashion --threads 1   # -> weights/pixelcnn-fashion
    python -m playground.train.pixelcnn --preset masked-small --threads 1
    python -m playground.train.pixelcnn --preset fashion --dataset ./my_images --no-finish   # other data

The loss is -log p(x | y) in nats per pixel under every pixel's mixture of discretised logistics
given the pixels before it (and the class, replaced by "no class" for 10% of images so that the
model also learns its unconditional p(x)), reported as bits/dim. Adam with a short warm-up and cosine decay.
Samples (the fast exact sampler, 16 images) go to <run>/samples/, losses to <run>/log.jsonl.
Resumable: rerunning the same command continues. It ends by writing weights/<id>/ and the card;
`python -m playground.evaluate <id> --write` measures its numbers.
"""
import argparse
import math
import time

import numpy as np
import torch

from .. import cards, data
from ..families import pixelcnn
from ..families.vae import log_likelihood
from ..images import make_grid
from . import files, loop

PRESETS = files.presets("pixelcnn")  # presets/pixelcnn/<name>.json
COMMAND = "python -m playground.train.pixelcnn --preset {preset} --threads 1"
SAMPLE_SEED = 1234
LABEL_DROPOUT = 0.1

RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine.")


def run_text(minutes, threads, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed)."""
    return RUN.format(minutes=minutes, threads=threads, **training)


def card_template(preset, config, params, command):
    """A new card's first draft (its preset's drafts/<model id>.md; a card that exists keeps its prose; the run
    goes to run_text)."""
    return files.draft(PRESETS[preset]["draft"]).format(**dict(
        config, model_id=PRESETS[preset]["model_id"], params=params, command=command, run_start=cards.RUN_START,
        run_end=cards.RUN_END))


def training_data(config, dataset=None):
    """uint8 (N,S,S) images and int64 labels (zeros for an unlabelled --dataset)."""
    images, labels = data.load(dataset or config["dataset"], split="train", size=config["image_size"], mode="L")
    images = np.asarray(images)
    labels = np.zeros(len(images), np.int64) if labels is None else np.asarray(labels, np.int64)
    return images, labels


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
    images, labels = training_data(config, args.dataset)
    model = pixelcnn.build(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    warmup = max(1, steps // 50)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.02 + 0.49 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    trainer = loop.Loop(run_dir, {"pixelcnn": model}, {"pixelcnn": opt}, schedulers={"pixelcnn": sched},
                        steps=steps, seed=args.seed, log_every=50, sample_every=500, checkpoint_every=250,
                        resume=args.resume)

    def drop_labels(batch, gen):  # label dropout: the model also learns "no class", its unconditional p(x)
        x, y = batch
        return x, torch.where(torch.rand(len(y), generator=gen) < LABEL_DROPOUT, config["num_classes"], y)

    batches = loop.Batches((images, labels), batch_size, args.seed, drop_labels if config["num_classes"] else None)
    conditional = bool(config["num_classes"])

    def step_fn(batch, step):
        x, y = batch
        inputs = pixelcnn.to_input(x, x.device)
        loss = -log_likelihood(inputs, trainer.modules["pixelcnn"](inputs, y if conditional else None)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return {"loss": loss.detach(), "bpd": loss.detach() / math.log(2)}

    def sample_fn(step):
        model.eval()
        out = pixelcnn.sample(model, SAMPLE_SEED, 16, list(range(10)) if conditional else None)
        model.train()
        return make_grid(out, nrow=8)

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        model.eval()
        draft = card_template(args.preset, config, loop.count_params(model), COMMAND.format(preset=args.preset))
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), lr=lr, batch_size=batch_size, steps=steps,
                       seed=args.seed)
        card = loop.finish(model, config, preset["model_id"], {}, draft, run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card} {loop.trained_for(trainer, start)}; now run "
              f"python -m playground.evaluate {preset['model_id']} --write", flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
