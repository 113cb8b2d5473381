"""Denoising diffusion models: a diffusers UNet2DModel that predicts the noise in x_t, and the
reverse process written out here so every step can be shown.

The weights folder is a diffusers folder (model_index.json, unet/, scheduler/) plus playground.json
(num_classes, pad, dataset). The samplers are diffusers schedulers swapped on the same UNet:
DDPM, DDIM (with eta), DPM-Solver++, Euler, Euler ancestral and Heun. Classifier-free guidance
(Ho and Salimans 2022) mixes the conditional and the "no class" prediction:
eps = eps_uncond + w * (eps_cond - eps_uncond); w = 1 is the plain conditional model.

sample_steps() is a generator: it yields (step, total, x_t, predicted x0) after every step and
returns the final images, so a tab can stream the process and stop it between two steps.
Every random draw uses a torch.Generator seeded by the caller; the global RNG is never used.
"""
import inspect
import json
import logging
import time

import numpy as np
import torch
from PIL import Image
from torch import nn

from .. import datasets, devices, ladder, registry
from ..metrics import kernel_inception_distance
from ..cards import where
from ..errors import InputError, ModelUnavailable
from ..images import make_grid
from . import protocol, scoring

SAMPLERS = {
    "DDPM": ("DDPMScheduler", {}),
    "DDIM": ("DDIMScheduler", {}),
    "DPM-Solver++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler ancestral": ("EulerAncestralDiscreteScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
}
MAX_IMAGES = 64
MAX_STEPS = 1000
DEFAULT_SAMPLER = ("DPM-Solver++", 20)  # unless the model's playground.json names another ("sampler", "steps")

log = logging.getLogger(__name__)


class Diffusion(nn.Module):
    """The UNet and what the playground needs to know around it (classes, padding, schedule)."""

    def __init__(self, unet, scheduler_config, settings):
        super().__init__()
        self.unet = unet
        self.scheduler_config = dict(scheduler_config)
        self.num_classes = int(settings.get("num_classes", 0))
        self.pad = int(settings.get("pad", 0))
        self.dataset = settings.get("dataset")
        self.sample_size = int(unet.config.sample_size)
        self.sampler = (settings.get("sampler", DEFAULT_SAMPLER[0]), int(settings.get("steps", DEFAULT_SAMPLER[1])))
        self.guidance = default_guidance(settings)
        if self.sampler[0] not in SAMPLERS:
            raise ModelUnavailable(f"Unknown default sampler {self.sampler[0]!r} in playground.json.")

    @property
    def output_size(self):
        return self.sample_size - 2 * self.pad


def load(folder):
    from diffusers import UNet2DModel  # lazy: diffusers takes seconds to import; only diffusion models need it
    try:
        unet = UNet2DModel.from_pretrained(str(folder / "unet"), use_safetensors=True)
        scheduler_config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
        settings_path = folder / "playground.json"
        settings = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
    except (OSError, ValueError) as e:
        log.warning("diffusion model in %s: %s", folder, e)
        raise ModelUnavailable(f"The diffusion model in {where(folder)} cannot be loaded.") from None
    return Diffusion(unet, scheduler_config, settings)


def make_scheduler(model, sampler, steps):
    """A fresh scheduler of the chosen kind, set to `steps` steps (one per call: schedulers keep state)."""
    if sampler not in SAMPLERS:
        raise InputError(f"The sampler must be one of {', '.join(SAMPLERS)}, not {sampler!r}.")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise InputError(f"Steps must be a whole number from 1 to {MAX_STEPS}, not {steps!r}.")
    import diffusers  # lazy: diffusers takes seconds to import; only diffusion models need it
    name, kwargs = SAMPLERS[sampler]
    scheduler = getattr(diffusers, name).from_config(model.scheduler_config, **kwargs)
    scheduler.set_timesteps(int(steps))
    return scheduler


def _labels(model, labels, n):
    if not model.num_classes:
        if labels is not None:
            raise InputError("This diffusion model is unconditional: it takes no class labels.")
        return None
    if labels is None:  # "no class": the unconditional branch the model learned through label dropout
        return torch.full((n,), model.num_classes, dtype=torch.long)
    seq = [labels] if isinstance(labels, (int, np.integer)) else list(labels)
    if not seq or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < model.num_classes
                      for v in seq):
        raise InputError(f"Class labels must be whole numbers from 0 to {model.num_classes - 1}; got {labels!r}.")
    return torch.tensor([int(seq[i % len(seq)]) for i in range(n)], dtype=torch.long)


def _generator_kwarg(scheduler, gen):
    return {"generator": gen} if "generator" in inspect.signature(scheduler.step).parameters else {}


def to_uint8(model, x):
    """Network-size images in [-1, 1] -> uint8 (N, S, S), cropped to the data's size."""
    p = model.pad
    x = x[..., p:x.shape[-2] - p, p:x.shape[-1] - p] if p else x
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[:, 0].cpu().numpy()


@torch.no_grad()
def sample_steps(model, seed, n=16, labels=None, sampler="DPM-Solver++", steps=20, guidance=2.0, eta=0.0,
                 start=None, clip=True):
    """Run the reverse process, yielding (step, total, x_t, x0) after each step (float tensors in
    [-1, 1] at network size); returns uint8 images. `start` = (x_t, strength) begins from a given
    noisy image part-way (SDEdit) instead of pure noise. clip=True clips the predicted x0 to [-1, 1]
    and steps with the noise it implies, for every sampler (DDPM and DDIM do this themselves; without
    it the ODE samplers, Euler, Heun and DPM-Solver++, drift out of range on a pixel-space model)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_IMAGES:
        raise InputError(f"The number of images must be from 1 to {MAX_IMAGES}, not {n!r}.")
    if not isinstance(guidance, (int, float)) or not 0 <= guidance <= 20:
        raise InputError(f"The guidance scale must be from 0 to 20, not {guidance!r}.")
    device = next(model.unet.parameters()).device
    scheduler = make_scheduler(model, sampler, steps)
    gen = devices.generator(seed, device)
    s = model.sample_size
    y = _labels(model, labels, n)
    timesteps = scheduler.timesteps
    if start is None:
        x = torch.randn((n, 1, s, s), generator=gen, device=device) * scheduler.init_noise_sigma
    else:
        x, timesteps = start(scheduler, gen)
    guided = y is not None and guidance != 1.0 and labels is not None
    alphas = scheduler.alphas_cumprod.to(device)
    extra = {"eta": float(eta)} if sampler == "DDIM" else {}
    total = len(timesteps)
    for i, t in enumerate(timesteps):
        x_in = scheduler.scale_model_input(x, t)
        tt = torch.full((n,), float(t), device=device)
        if guided:
            null = torch.full_like(y, model.num_classes).to(device)
            eps_c, eps_u = model.unet(torch.cat([x_in, x_in]), torch.cat([tt, tt]),
                                      class_labels=torch.cat([y.to(device), null])).sample.chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
        else:
            eps = model.unet(x_in, tt, class_labels=None if y is None else y.to(device)).sample
        a = alphas[min(int(round(float(t))), len(alphas) - 1)]
        x0 = ((x_in - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1)
        if clip:  # every sampler gets the noise that the clipped x0 implies (DDPM's clip_sample, for all)
            eps = (x_in - a.sqrt() * x0) / (1 - a).sqrt()
        x = scheduler.step(eps, t, x, **extra, **_generator_kwarg(scheduler, gen)).prev_sample
        yield i + 1, total, x, x0
    return to_uint8(model, x)


def generate(model, seed, n=16, labels=None, sampler="DPM-Solver++", steps=20, guidance=2.0, eta=0.0, start=None):
    """uint8 images (n, S, S): the last state of sample_steps (same arguments)."""
    gen = sample_steps(model, seed, n, labels, sampler, steps, guidance, eta, start)
    while True:
        try:
            next(gen)
        except StopIteration as done:
            return done.value


def default_action(model, seed):
    """16 images with the model's default sampler and guidance (classes in turn for a conditional model)."""
    labels = [i % model.num_classes for i in range(16)] if model.num_classes else None
    return generate(model, seed, 16, labels, *model.sampler, model.guidance)


# metrics -------------------------------------------------------------------------------------------
SETTINGS = {"ddpm1000": ("DDPM", 1000), "ddim50": ("DDIM", 50), "dpm20": ("DPM-Solver++", 20),
            "ddim10": ("DDIM", 10), "eulera20": ("Euler ancestral", 20)}
# Every sampler is also measured on this many images, the same ones for each: DDPM with 1,000 steps
# on the ladder's full N would take many hours on a CPU.
# (datasets.DataSet.sampler_n.) DDPM-1000 on 100 faces at 64x64 takes about 1.5 hours on one shared core:
# settings in SLOW are measured only for images of at most SLOW_ABOVE pixels a side (Fashion-MNIST).
SLOW, SLOW_ABOVE = {"ddpm1000"}, 32
GUIDANCE = 2.0  # the default guidance of a conditional model whose playground.json names none


def default_guidance(settings):
    """The guidance scale a model's playground.json names for its conditional samples (1, none, if unconditional):
    what the tab starts at and the card's main numbers use."""
    return float(settings.get("guidance", GUIDANCE)) if int(settings.get("num_classes", 0) or 0) else 1.0



def generate_balanced(model, n, seed, sampler, steps, guidance=None):
    """n images cycling through the classes, in MAX_IMAGES batches: (uint8 (n,S,S), int64 labels, seconds);
    guidance None: the model's default (default_guidance)."""
    guidance = model.guidance if guidance is None else guidance
    classes = max(model.num_classes, 1)
    labels = np.arange(n) % classes
    start, out = time.perf_counter(), []
    for i in range(0, n, MAX_IMAGES):
        chunk = labels[i:i + MAX_IMAGES].tolist() if model.num_classes else None
        out.append(generate(model, seed + i, min(MAX_IMAGES, n - i), chunk, sampler, steps,
                            guidance if model.num_classes else 1.0))
    return np.concatenate(out), labels.astype(np.int64), time.perf_counter() - start


def evaluate(model, card=None, quick=False, seed=0, log=lambda text: print(text, flush=True)):
    """The card's metrics on playground.ladder's protocol (as gan.evaluate; read its docstring):

    - <fd> (fd_fashion / fd_orl, the GAN cards' name): FD-Fashion / FD-ORL (the project's feature
      networks, NOT FID) of N samples with the model's default sampler (5,000 Fashion-MNIST images,
      500 per class, the model's default guidance; 200 faces) against N training images, with the ladder's rungs at the
      same N, precision / recall, memorisation and label accuracy: comparable with the GAN cards.
    - <fd>_<setting>_n<M>, precision_<setting>_n<M>, recall_<setting>_n<M> and
      seconds_per_image_<setting> for every entry of SETTINGS (DDPM 1000, DDIM 50, DPM-Solver++ 20,
      DDIM 10, Euler ancestral 20; not those in SLOW above SLOW_ABOVE pixels), each on the
      same M = datasets.DataSet.sampler_n images (seeds and classes), with <fd>_floor_n<M> (held-out real images at
      that M) beside them: FD at small M is biased upward, so compare these with each other only.
    quick: N / 5 and M / 5, for a smoke run; such numbers are not for cards.
    """
    dataset = getattr(card, "dataset", None) or model.dataset
    scorer = scoring.CardScorer(dataset, seed, model.output_size, quick)
    fake, labels, seconds = generate_balanced(model, scorer.n, seed, *model.sampler)
    log(f"{model.sampler} on {scorer.n} images: {seconds:.0f}s")
    metrics = scorer.all(fake, labels if model.num_classes else None)
    fd_name, sampler_images = scorer.data.fd_metric, scorer.data.sampler_n
    m = min(sampler_images // 5 if quick else sampler_images, scorer.n)
    ref_m = scorer.reference(m)
    near = scorer.data.neighbours_id
    near_m = ref_m if near == scorer.data.features_id else scorer.reference(m, near)
    kd_name = scoring.metric_name(scorer.data.features_id, "kd")
    metrics[f"{fd_name}_floor_n{m}"] = scorer.ladder(m, ref_m)[f"{fd_name}_floor"]
    for key, (sampler, steps) in SETTINGS.items():
        if key in SLOW and model.output_size > SLOW_ABOVE:
            continue
        fake, _, seconds = generate_balanced(model, m, seed, sampler, steps)
        log(f"{key} on {m} images: {seconds:.0f}s")
        metrics[f"{fd_name}_{key}_n{m}"] = scorer.fd(fake, m, ref_m)
        kd = kernel_inception_distance(scorer.features(fake[:m]), ref_m)
        metrics.update({f"{kd_name}_{key}_n{m}": kd["kid"], f"{kd_name}_{key}_n{m}_se": kd["kid_se"]})
        metrics.update({f"{k}_{key}_n{m}": v for k, v in scorer.fidelity(fake, near_m).items()})
        metrics[f"seconds_per_image_{key}"] = seconds / m
    return metrics


def sampler_n(metrics):
    """M of the sampler comparison in these metrics (None if it was not measured)."""
    found = [k.rsplit("_n", 1)[1] for k in metrics if k.startswith("fd_") and "_floor_n" in k]
    return int(found[0]) if found else None


def report(model, card, metrics, folder):
    """samples.png (8x8 with the model's default sampler, seed 0; one row per class for a conditional
    model) and the FD ladder with every sampler's FD and seconds per image, as card markdown."""
    labels = [i // 8 % model.num_classes for i in range(64)] if model.num_classes else None
    images = generate(model, 0, 64, labels, *model.sampler, model.guidance)
    Image.fromarray(make_grid(images, nrow=8)).save(folder / "samples.png")
    record = datasets.get(getattr(card, "dataset", None) or model.dataset)
    fd_name, label = record.fd_metric, record.fd_short
    rungs = {name: metrics[f"{fd_name}_{key}"] for name, key in scoring.RUNGS.items() if f"{fd_name}_{key}" in metrics}
    default = f"{model.sampler[0]} {model.sampler[1]}"
    lines = [f"![64 samples, {default} steps, seed 0](../weights/{card.id}/samples.png)", "",
             ladder.ladder_markdown(metrics[fd_name], rungs, model=f"{card.id} ({default})", metric=label)]
    extra = scoring.distances_markdown(metrics, record)
    lines += ["", extra] if extra else []
    gan = registry.default().measured("gan", getattr(card, "dataset", None), fd_name)
    if gan:
        lines += ["", f"On the same protocol, {gan[0]}'s card gives {label} {gan[1]:.3f}."]
    m = sampler_n(metrics)
    if m:
        how = f"seeds and classes; guidance {model.guidance:g}" if model.num_classes else "seeds"
        lines += ["", f"Every sampler on the same {m} images ({how}). FD on "
                  f"{m} images is biased upward: held-out real images score {metrics[f'{fd_name}_floor_n{m}']:.3f} "
                  "here, so compare these rows with each other, not with the numbers above.", "",
                  f"| sampler and steps | {label} (N={m}) | {record.kd_short} (N={m}) | precision | recall | "
                  "seconds per image |", "|---|---|---|---|---|---|"]
        kd_name = scoring.metric_name(record.features_id, "kd")
        kd = lambda key: (f"{metrics[f'{kd_name}_{key}_n{m}']:.4f} ± {metrics[f'{kd_name}_{key}_n{m}_se']:.4f}"  # noqa: E731
                          if f"{kd_name}_{key}_n{m}" in metrics else "not measured")
        lines += [f"| {sampler} {steps} | {metrics[f'{fd_name}_{key}_n{m}']:.3f} | {kd(key)} | "
                  f"{metrics[f'precision_{key}_n{m}']:.3f} | {metrics[f'recall_{key}_n{m}']:.3f} | "
                  f"{metrics[f'seconds_per_image_{key}']:.3f} |"
                  for key, (sampler, steps) in SETTINGS.items() if f"{fd_name}_{key}_n{m}" in metrics]
    lines.append(f"\nWritten by `{card.metrics_command}`.")
    return "\n".join(lines)


def draw_for_views(model, n, seed, knob=None, sampler=None):
    """n images for the shared views (protocol.Generator), cycling through the classes: sampler (name, steps)
    or None for the model's default; knob, when given, is the number of steps."""
    name, steps = sampler or model.sampler
    return generate_balanced(model, n, seed, name, steps if knob is None else int(knob))[0]


GENERATOR = protocol.Generator(draw=draw_for_views, rank=2, knob=protocol.Knob("Steps", 1, 200, 1, 20, 5, integer=True),
                               samplers=tuple(SAMPLERS), max_steps=MAX_STEPS)
