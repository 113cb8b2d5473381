"""The training loop every family's training command shares.

    args = argparse.ArgumentParser(parents=[loop.common_parser(steps=4000, lr=1e-3)]).parse_args()
    device = loop.setup(args)            # threads, device (joins torchrun's group), seeds: before building
    net = build(config).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr)
    trainer = loop.Loop(args.run_dir, {"net": net}, {"net": opt}, steps=args.steps, seed=args.seed)
    def step_fn(batch, step):                              # does its own backward and optimizer steps
        x, y = batch
        loss = F.cross_entropy(trainer.modules["net"](x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        return {"loss": loss}
    trainer.run(step_fn, loop.Batches(loop.load_dataset(args.dataset), 128, seed=args.seed), sample_fn=None)
    if loop.is_main():
        loop.finish(net, config, "my-model", evaluate(net), draft=card_template(), run=run_text(...))
    trainer.close()

A GAN passes {"generator": g, "discriminator": d} and two optimizers, asks for ema={"generator": 0.999}
and reads trainer.ema["generator"] in its sample_fn. `trainer.modules` are what step_fn trains with
(DistributedDataParallel wrappers under torchrun); `trainer.raw` are the plain modules, for sampling.
The run folder holds checkpoint.pt (loaded with weights_only=True), log.jsonl and samples/step_*.png.
"""
import argparse
import copy
import json
import os
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm.auto import tqdm

from .. import cards, data, devices
from ..cards import REPO_ROOT
from ..errors import InputError, PlaygroundError
from ..registry import save_weights

CHECKPOINT = "checkpoint.pt"
ALIASES = {alias: d.key for d in data.datasets.SOURCES.values() for alias in d.aliases}  # from the records


def dist_info():
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) otherwise."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def is_main():
    """True in the process that writes files (rank 0, or the only one)."""
    return dist_info()[0] == 0


def init_distributed(device=None):
    """This process's device; under torchrun also joins the group (nccl on CUDA, gloo on CPU)."""
    _, world, local = dist_info()
    device = devices.pick_device(device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too


def mix_seed(*numbers):
    """One 63-bit seed from several integers (seed, epoch, position, rank ...)."""
    return int(np.random.SeedSequence([int(n) for n in numbers]).generate_state(1, np.uint64)[0] >> 1)


def _rng_state():
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state):
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Batches:
    """An endless, seeded, resumable stream of batches drawn from in-memory tensors.

    Each epoch is a permutation from its own generator (seed, epoch); under torchrun every rank
    takes its own `batch_size` slice of each global batch. `transform(batch, generator)` (for
    augmentation) gets a generator seeded from (seed, epoch, position, rank), so a resumed run sees
    exactly the batches an uninterrupted one would. The last incomplete batch of an epoch is dropped.
    """

    def __init__(self, data, batch_size, seed=0, transform=None):
        data = data if isinstance(data, (tuple, list)) else (data,)
        self.data = tuple(d if torch.is_tensor(d) else torch.from_numpy(np.array(d)) for d in data)
        self.rank, self.world, _ = dist_info()
        self.batch_size, self.seed, self.transform = batch_size, seed, transform
        self.n = len(self.data[0])
        if self.n < batch_size * self.world:
            raise InputError(f"{self.n} examples cannot fill a batch of {batch_size} on {self.world} processes.")
        self.epoch, self.position, self._order = 0, 0, None

    def __iter__(self):
        return self

    def __next__(self):
        if self.position + self.batch_size * self.world > self.n:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        if self._order is None:
            gen = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
            self._order = torch.randperm(self.n, generator=gen)
        start = self.position + self.rank * self.batch_size
        batch = tuple(d[self._order[start:start + self.batch_size]] for d in self.data)
        if self.transform is not None:
            gen = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch, self.position, self.rank))
            batch = tuple(self.transform(batch, gen))
        self.position += self.batch_size * self.world
        return batch if len(batch) > 1 else batch[0]

    def state_dict(self):
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state):
        self.epoch, self.position, self._order = state["epoch"], state["position"], None


def _to(batch, device):
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(b, device) for b in batch)
    return batch.to(device, non_blocking=True) if torch.is_tensor(batch) else batch


def load_checkpoint(path):
    """The checkpoint's contents; refuses anything but tensors and plain values (weights_only)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise PlaygroundError(f"Refusing checkpoint {path}: it cannot be read with weights_only=True ({e}). "
                              "Delete it or start again with --no-resume.") from None


def _step_of(line):
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return float("inf")


class Loop:
    """Runs `step_fn(batch, step) -> {name: loss}` for `steps` steps, with checkpoints, logs and samples."""

    def __init__(self, run_dir, modules, optimizers, *, steps, seed=0, schedulers=None, ema=None, ema_from=None,
                 log_every=50, sample_every=500, checkpoint_every=500, resume=True, progress=None,
                 ddp_kwargs=None):
        self.run_dir, self.steps, self.seed = Path(run_dir), int(steps), seed
        self.rank, self.world, _ = dist_info()
        if self.world > 1 and not dist.is_initialized():
            init_distributed("cpu")
        self.raw, self.optimizers, self.schedulers = dict(modules), dict(optimizers), dict(schedulers or {})
        self.ema_decay, self.ema_from = dict(ema or {}), dict(ema_from or {})  # ema_from: the EMA is the weights
        # themselves up to that step (so that a run may start averaging late)
        self.ema = {k: copy.deepcopy(self.raw[k]).eval().requires_grad_(False) for k in self.ema_decay}
        self.log_every, self.sample_every, self.checkpoint_every = log_every, sample_every, checkpoint_every
        self.progress = sys.stderr.isatty() if progress is None else progress
        params = [p for m in self.raw.values() for p in m.parameters()]
        self.device = params[0].device if params else torch.device("cpu")
        self.step, self.elapsed, self.last_losses, self._batches_state = 0, 0.0, {}, None
        self.started_at = 0  # the step a warm start began at (0: trained from scratch)
        seed_everything(mix_seed(seed, self.rank))
        self.checkpoint_path = self.run_dir / CHECKPOINT
        if resume and self.checkpoint_path.is_file():
            self._load(load_checkpoint(self.checkpoint_path))
        if self.rank == 0:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            self._trim_log()
        self.modules = dict(self.raw)
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.modules = {k: DDP(m, device_ids=ids, **(ddp_kwargs or {}))
                            if any(p.requires_grad for p in m.parameters()) else m for k, m in self.raw.items()}

    # checkpoints -----------------------------------------------------------
    def _load(self, ckpt):
        for kind, target in (("modules", self.raw), ("optimizers", self.optimizers),
                             ("schedulers", self.schedulers), ("ema", self.ema)):
            for name, obj in target.items():
                if kind == "ema" and name not in ckpt["ema"]:  # a run that had no EMA of it: start from its weights
                    obj.load_state_dict(self.raw[name].state_dict())
                    continue
                obj.load_state_dict(ckpt[kind][name])
        self.step, self.elapsed, self._batches_state = ckpt["step"], ckpt["elapsed"], ckpt["batches"]
        self.started_at = ckpt.get("started_at", 0)
        rng = ckpt["rng"]
        if len(rng) == self.world:
            _set_rng_state(rng[self.rank])
        else:  # another world size: deterministic, but not the uninterrupted run's random stream
            seed_everything(mix_seed(self.seed, self.rank, self.step))

    def warm_start(self, states, step):
        """Fine-tune: a fresh run (no checkpoint) that starts at `step` from the given weights ({name: state
        dict}), with fresh optimizers; each such module's EMA starts from the same weights, and the
        schedulers are moved on to `step`, so that the learning rates and the step-based schedules are
        those of a run that had trained to `step`."""
        if self.step:
            raise PlaygroundError(f"{self.checkpoint_path} already holds a run at step {self.step}: a warm "
                                  "start needs a fresh run folder (or --no-resume)")
        if not 0 <= step < self.steps:
            raise PlaygroundError(f"a warm start at step {step} must be before the last step ({self.steps})")
        for name, state in states.items():
            self.raw[name].load_state_dict(state)
            if name in self.ema:
                self.ema[name].load_state_dict(state)
        with warnings.catch_warnings():  # no optimizer step has been taken yet, by design
            warnings.simplefilter("ignore")
            for scheduler in self.schedulers.values():
                for _ in range(step):  # replayed: a chained schedule's rate depends on its path
                    scheduler.step()
        self.step = self.started_at = step
        seed_everything(mix_seed(self.seed, self.rank, step))

    def save(self, batches=None):
        """Write checkpoint.pt atomically (rank 0), with every rank's RNG state."""
        states = [_rng_state()]
        if self.world > 1:
            states = [None] * self.world
            dist.all_gather_object(states, _rng_state())
        if self.rank != 0:
            return
        ckpt = {"step": self.step, "elapsed": self.elapsed, "seed": self.seed, "rng": states,
                "started_at": self.started_at,
                "batches": batches.state_dict() if hasattr(batches, "state_dict") else None,
                **{kind: {k: v.state_dict() for k, v in target.items()} for kind, target in (
                    ("modules", self.raw), ("optimizers", self.optimizers),
                    ("schedulers", self.schedulers), ("ema", self.ema))}}
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(ckpt, tmp)
        os.replace(tmp, self.checkpoint_path)

    def _trim_log(self):
        """Keep the log lines up to the checkpoint's step (all of them on a fresh start go)."""
        path = self.run_dir / "log.jsonl"
        lines = path.read_text().splitlines() if path.is_file() and self.step else []
        kept = [line for line in lines if _step_of(line) <= self.step]  # a torn last line goes too
        path.write_text("".join(line + "\n" for line in kept))

    # the loop ----------------------------------------------------------------
    @torch.no_grad()
    def _update_ema(self):
        for name, ema in self.ema.items():
            decay = min(self.ema_decay[name], (1 + self.step) / (10 + self.step))
            decay = 0.0 if self.step <= self.ema_from.get(name, 0) else decay
            for e, p in zip(ema.parameters(), self.raw[name].parameters()):
                e.lerp_(p.detach(), 1 - decay)
            for e, b in zip(ema.buffers(), self.raw[name].buffers()):
                e.copy_(b)

    def _log(self, sums, counts):
        names = sorted(sums)
        means = torch.tensor([sums[k] / counts[k] for k in names], dtype=torch.float64)
        if self.world > 1:  # every rank must return the same loss names; nccl reduces on the GPU
            means = means.to(self.device)
            dist.all_reduce(means)
            means = means.cpu() / self.world
        self.last_losses = {k: float(v) for k, v in zip(names, means)}
        if self.rank == 0:
            row = {"step": self.step, "elapsed": round(self.elapsed, 3), **self.last_losses}
            with open(self.run_dir / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")

    def _sample(self, sample_fn):
        """Rank 0 only, in eval mode; the global RNG is put back so sampling never changes training."""
        if self.rank != 0:
            return
        for m in self.raw.values():
            m.eval()
        rng = _rng_state()
        with torch.no_grad():
            image = sample_fn(self.step)
        _set_rng_state(rng)
        if image is not None:
            image = np.asarray(image, dtype=np.uint8)
            Image.fromarray(image.squeeze(-1) if image.ndim == 3 and image.shape[-1] == 1 else image).save(
                self.run_dir / "samples" / f"step_{self.step:06d}.png")

    def run(self, step_fn, batches, sample_fn=None):
        """Train to `steps`; returns the last logged mean losses."""
        if self._batches_state is not None and hasattr(batches, "load_state_dict"):
            batches.load_state_dict(self._batches_state)
        bar = None
        if self.progress and self.rank == 0:
            bar = tqdm(total=self.steps, initial=self.step, dynamic_ncols=True)
        sums, counts, start, first = {}, {}, time.perf_counter() - self.elapsed, (self.step, self.elapsed)
        while self.step < self.steps:
            batch = _to(next(batches), self.device)
            for m in self.raw.values():
                m.train()
            losses = step_fn(batch, self.step) or {}
            self.step += 1
            for scheduler in self.schedulers.values():
                scheduler.step()
            self._update_ema()
            for k, v in losses.items():
                sums[k], counts[k] = sums.get(k, 0.0) + float(v), counts.get(k, 0) + 1
            self.elapsed, end = time.perf_counter() - start, self.step == self.steps
            if bar is not None:
                bar.update(1)
            if self.step % self.log_every == 0 or end:
                self._log(sums, counts)
                sums, counts = {}, {}
                self._report(bar, first)
            if sample_fn is not None and (self.step % self.sample_every == 0 or end):
                self._sample(sample_fn)
            if self.step % self.checkpoint_every == 0 or end:
                self.save(batches)
        if bar is not None:
            bar.close()
        return self.last_losses

    def _report(self, bar, first):
        text = " ".join(f"{k}={v:.4g}" for k, v in self.last_losses.items())
        if bar is not None:
            bar.set_postfix_str(text, refresh=False)
        elif self.rank == 0:
            first_step, first_elapsed = first
            rate = (self.step - first_step) / max(self.elapsed - first_elapsed, 1e-9)
            eta = (self.steps - self.step) / max(rate, 1e-9)
            print(f"step {self.step}/{self.steps} {text} ({rate:.2f} it/s, {self.elapsed:.0f}s, eta {eta:.0f}s)",
                  flush=True)

    def close(self):
        if self.world > 1 and dist.is_initialized():
            dist.barrier()  # no rank tears the group down while another still talks to it
            dist.destroy_process_group()


# shared helpers for training commands -------------------------------------------
def dataset_arg(text):
    """A data set name (canonical: fashion -> fashion-mnist), an existing folder, or hub:<org>/<name>."""
    name = ALIASES.get(text.lower(), text.lower())
    if name in data.DATASETS:
        return name
    if text.startswith("hub:") and text.count("/") == 1 or Path(text).expanduser().is_dir():
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(data.DATASETS)}, a folder or "
                                     "hub:<org>/<name>")


def common_parser(**defaults):
    """The arguments every training command takes; use as argparse.ArgumentParser(parents=[...])."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--run-dir", type=Path, help="folder for checkpoint.pt, log.jsonl and samples/")
    p.add_argument("--steps", type=int, help="optimizer steps in all")
    p.add_argument("--batch-size", type=int, help="examples per step on each process")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best there is)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from the run folder's checkpoint if there is one")
    p.add_argument("--dataset", type=dataset_arg, help="fashion-mnist, orl-faces, mnist-5k, digits, a folder "
                   "of images or hub:<org>/<name>")
    p.set_defaults(**defaults)
    return p


def setup(args):
    """Threads, device (joining torchrun's group) and seeds from the common arguments -> the device."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = init_distributed(args.device)
    seed_everything(args.seed)
    return device


def load_dataset(name, split="train", size=None, mode=None):
    """(uint8 images, int64 labels) of the --dataset argument, through playground.data.load."""
    return data.load(name, split=split, size=size, mode=mode)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def chosen_preset(parser, args, presets):
    """(name, preset): the one --preset names, else the one named like --dataset; a usage error otherwise."""
    name = args.preset or args.dataset
    if name not in presets:
        parser.error(f"--preset / --dataset must be one of {', '.join(presets)}")
    return name, presets[name]


def run_settings(args, preset, model_id):
    """(steps, batch size, learning rate, run folder): the command line's values, else the preset's."""
    return (args.steps or preset["steps"], args.batch_size or preset["batch_size"], args.lr or preset["lr"],
            args.run_dir or REPO_ROOT / "runs" / model_id)


def trained_for(trainer, start):
    """"after 120s of training (30s this session)", for the closing line of a training command."""
    return f"after {trainer.elapsed:.0f}s of training ({time.perf_counter() - start:.0f}s this session)"


def finish(model, config, model_id, metrics, draft=None, root=REPO_ROOT, save=None, run=None, params=None):
    """Write weights/<id>/ (with `save(folder, model, config)`, default registry.save_weights) and, with
    cards.update, the card's parts a training run owns: the front matter's `metrics` (the training's own, {}
    when it measures none: `python -m playground.evaluate <id> --write` follows) and `params` (default: the
    model's), and `run`, the markdown of what this run was (steps, minutes, ...), between the card's
    training-run markers. The card's prose is people's: an existing card keeps it. `draft` (the family's
    template) is used only when the model has no card yet, as its first draft. Rank 0 only; -> the card's path."""
    if not is_main():
        return None
    root = Path(root)
    model = getattr(model, "module", model)
    (save or save_weights)(root / "weights" / model_id, model, config)
    card = root / "model_cards" / f"{model_id}.md"
    if draft is None and not card.is_file():
        raise PlaygroundError(f"No card {card} and no template to draft it from.")
    written = cards.update(card, metrics=metrics, params=count_params(model) if params is None else params,
                           training_run=run, draft=draft)
    for note in written.notes():
        print(note, flush=True)
    return card
