"""What the diffusion tab does, as plain functions: validated inputs in, images and numbers out.

generate() is a generator that yields after every denoising step, so the tab streams x_t and the
predicted clean image side by side and a cancel stops the run between two steps. The forward
process and the noise schedules need no model weights beyond the card's schedule.
"""
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .. import data, datasets, registry, results, sampler_kd, validate
from ..errors import InputError
from ..families import diffusion as family
from ..families import scoring
from ..families import text_to_image as t2i
from ..images import labelled_grid, make_grid, save_gif, zoom
from .common import about, family_ids, fit_upload, pick_model, stopped_by

SAMPLERS = ("DDPM", "DDIM", "DPM-Solver++", "Euler", "Euler ancestral", "Heun")
NO_CLASS = "no class (unguided)"
EVERY_CLASS = "every class in turn"
CURVE_COLOURS = {"linear": "#1f77b4", "cosine": "#ff7f0e", "chosen t": "#d62728"}
MAX_SIDE = 6
TILE = 96
SAMPLER_TILE = 128  # a sampler grid's cells are single images: bigger, so a class can compare them

GUIDANCE_STEP = 0.1  # the slider's step: a preset may ship 0.8 (ddpm-fashion)


def diffusion_ids():
    return family_ids(family)


def _model_id(model_id):
    return pick_model(model_id, diffusion_ids(), "diffusion model")


def settings(model_id):
    """The model's playground.json (num_classes, pad, dataset), read without loading the weights."""
    path = registry.default().folder(_model_id(model_id)) / "playground.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _light_on_dark(model_id):
    record = datasets.DATASETS.get(settings(model_id).get("dataset"))
    return bool(record and record.light_on_dark)


def classes(model_id):
    s = settings(model_id)
    if not s.get("num_classes"):
        return []
    named = datasets.DATASETS[s["dataset"]].classes if s.get("dataset") in datasets.DATASETS else ()
    return list(named) if named else \
        [f"class {i}" for i in range(s["num_classes"])]


def class_choices(model_id):
    """The Class dropdown's choices: every class in turn, no class, then the classes ([] if unconditional)."""
    names = classes(model_id)
    return [EVERY_CLASS, NO_CLASS] + names if names else []


def _label(model_id, label):
    """None (no class), a class index, or every class index in turn (a single image takes the first)."""
    names = classes(model_id)
    if not names:
        return None
    label = validate.choice(label, class_choices(model_id), name="Class")
    if label == EVERY_CLASS:
        return list(range(len(names)))
    return None if label == NO_CLASS else names.index(label)


def _zoom(images, size=TILE):
    return zoom(images, size)


def _grid(model, x, side):
    return make_grid(_zoom(family.to_uint8(model, x)), nrow=side)


@results.cached("diffusion.generate")
def generate(model_id, label, guidance, sampler, steps, seed, side=4, eta=0.0, should_stop=None):
    """Yield (x_t grid, predicted-x0 grid, progress text, None) after each step, then the final
    grid, the last x0 grid, a summary and the path of an animated GIF of the trajectory.
    should_stop (the tab's Stop) is asked after every step: when it says so the run ends there, with the
    last grids, "Stopped at step k of N" and the GIF of the steps so far."""
    model_id = _model_id(model_id)
    y = _label(model_id, label)
    guidance = validate.number(guidance, name="Guidance scale", minimum=0, maximum=10, step=GUIDANCE_STEP)
    sampler = validate.choice(sampler, SAMPLERS, name="Sampler")
    steps = validate.number(steps, name="Steps", minimum=1, maximum=1000, step=1, integer=True)
    seed = validate.seed(seed)
    side = validate.number(side, name="Grid size", minimum=1, maximum=MAX_SIDE, step=1, integer=True)
    eta = validate.number(eta, name="DDIM eta", minimum=0, maximum=1, step=0.1)
    frames, start, stopped = [], time.perf_counter(), None
    with registry.using(model_id) as model:
        run = family.sample_steps(model, seed, side * side, y, sampler, steps, float(guidance), float(eta))
        every = max(1, steps // 40)  # at most ~40 frames in the GIF
        for i, total, x, x0 in run:
            xt_grid, x0_grid = _grid(model, x, side), _grid(model, x0, side)
            if i % every == 0 or i == total:
                frames.append(np.concatenate([xt_grid, x0_grid], 1))
            left = (time.perf_counter() - start) / i * (total - i)
            yield xt_grid, x0_grid, f"Step {i} of {total} ({sampler}), {about(left)} left", None
            if i < total and stopped_by(should_stop):
                stopped = (i, total)
                frames.append(np.concatenate([xt_grid, x0_grid], 1))
                run.close()
                break
    seconds = time.perf_counter() - start
    path = Path(tempfile.mkdtemp(prefix="diffusion-")) / f"trajectory-{seed}.gif"
    save_gif(frames + [frames[-1]] * 10, path, duration_ms=80)
    if stopped:
        text = (f"Stopped at step {stopped[0]} of {stopped[1]} ({sampler}) after {seconds:.1f} s: these are the "
                "images so far, and the trajectory up to here.")
    else:
        text = (f"{side * side} images, {steps} {sampler} steps, {seconds:.1f} s "
                f"({seconds / (side * side):.2f} s per image)")
    yield xt_grid, x0_grid, text, str(path)


# the forward process --------------------------------------------------------------------------------
def gallery_image(index):
    """Gallery image `index` as the Forward process tab's input (shown enlarged; the action shrinks it)."""
    images, _ = data.fashion_gallery()
    index = validate.number(index, name="Test image", minimum=0, maximum=len(images) - 1, step=1, integer=True)
    return _zoom(np.asarray(images[index]), 224)


def schedules(num_steps=1000):
    """alpha-bar(t) for the linear (Ho et al. 2020) and cosine (Nichol and Dhariwal 2021) schedules."""
    t = np.arange(num_steps)
    linear = np.cumprod(1 - np.linspace(1e-4, 0.02, num_steps))
    s = 0.008
    f = np.cos(((np.arange(num_steps + 1) / num_steps) + s) / (1 + s) * np.pi / 2) ** 2
    betas = np.minimum(1 - f[1:] / f[:-1], 0.999)
    return t, {"linear": linear, "cosine": np.cumprod(1 - betas)}


def schedule_rows(t_mark):
    """Rows for two line plots: alpha-bar and log10 SNR = log10(alpha-bar / (1 - alpha-bar)) of both
    schedules, with the chosen t marked by a vertical line."""
    t, curves = schedules()
    rows, snr = [], []
    for name, abar in curves.items():
        rows += [{"t": int(i), "value": float(a), "curve": name} for i, a in zip(t[::10], abar[::10])]
        ratio = np.log10(np.maximum(abar, 1e-12) / np.maximum(1 - abar, 1e-12))
        snr += [{"t": int(i), "value": float(v), "curve": name} for i, v in zip(t[::10], ratio[::10])]
    rows += [{"t": int(t_mark), "value": v, "curve": "chosen t"} for v in (0.0, 1.0)]
    snr += [{"t": int(t_mark), "value": v, "curve": "chosen t"} for v in (-5.0, 4.0)]
    return rows, snr


def forward(image, t, schedule="linear", seed=0, size=28):
    """q(x_t | x_0) for a grey image (None: the gallery's first test image, as the tab shows before an upload):
    sqrt(alpha-bar) x0 + sqrt(1 - alpha-bar) noise, and the numbers."""
    t = validate.number(t, name="t", minimum=0, maximum=999, step=1, integer=True)
    schedule = validate.choice(schedule, ("linear", "cosine"), name="Schedule")
    seed = validate.seed(seed)
    if image is None:
        image = data.fashion_gallery()[0][0]
    x0 = fit_upload(image, size).astype(np.float64) / 127.5 - 1
    abar = float(schedules()[1][schedule][t])
    noise = np.random.default_rng(seed).standard_normal(x0.shape)
    xt = np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise
    shown = np.clip(np.rint((xt + 1) * 127.5), 0, 255).astype(np.uint8)
    return _zoom(shown, 224), {"alpha_bar": abar, "signal": np.sqrt(abar), "noise": np.sqrt(1 - abar)}


def edit(model_id, image, strength, label, guidance, seed, steps=50):
    """SDEdit (Meng et al. 2022): noise an image to `strength` (0..1 of the way to pure noise) and
    denoise it with DDIM: low strength stays faithful, high strength becomes realistic but new."""
    model_id = _model_id(model_id)
    strength = validate.number(strength, name="Strength", minimum=0.05, maximum=1, step=0.05)
    y = _label(model_id, label)
    guidance = validate.number(guidance, name="Guidance scale", minimum=0, maximum=10, step=GUIDANCE_STEP)
    seed = validate.seed(seed)
    steps = validate.number(steps, name="Steps", minimum=2, maximum=200, step=1, integer=True)
    with registry.using(model_id) as model:
        small = fit_upload(image, model.output_size, invert_light=_light_on_dark(model_id))
        p = model.pad
        x0 = torch.from_numpy(np.pad(small, p)).float().div(127.5).sub(1)[None, None]
        device = next(model.unet.parameters()).device

        def start(scheduler, gen):
            ts = scheduler.timesteps
            k = max(1, int(round(len(ts) * strength)))
            ts = ts[len(ts) - k:]
            noise = torch.randn(x0.shape, generator=gen, device=device)
            return scheduler.add_noise(x0.to(device), noise, ts[:1]), ts

        result = family.generate(model, seed, 1, y, "DDIM", steps, float(guidance), start=start)[0]
    return _zoom(small, 224), _zoom(result, 224)


# compare samplers -----------------------------------------------------------------------------------
STEP_CHOICES = (5, 10, 20, 50, 100, 1000)
MAX_PASSES = 4000  # UNet passes one comparison may take (cells x steps), so a click stays bounded
MAX_MEASURED_PASSES = 500  # the same for measure_samplers, per image of each cell (N images a cell)
PASSES_PER_STEP = {"Heun": 2}  # Heun evaluates the network twice per step


def kd_header(model_id):
    """The sampler table's KD column: "KD-Fashion (N=100) ± s.e." (KID on the playground's own features)."""
    record = datasets.DATASETS.get(registry.default().card(_model_id(model_id)).dataset)
    return f"{record.kd_short if record else 'KD'} (N={sampler_kd.N}) ± s.e."


def _cells(samplers, step_counts):
    """Validated (samplers, step counts, network passes) of a sampler comparison, refused when too big."""
    if not isinstance(samplers, (list, tuple)) or not samplers or len(samplers) > len(SAMPLERS):
        raise InputError("Choose one or more samplers.")
    if not isinstance(step_counts, (list, tuple)) or not step_counts or len(step_counts) > len(STEP_CHOICES):
        raise InputError("Choose one or more step counts.")
    samplers = [validate.choice(s, SAMPLERS, name="Sampler") for s in samplers]
    step_counts = sorted({validate.choice(s, STEP_CHOICES, name="Steps") for s in step_counts})
    passes = sum(PASSES_PER_STEP.get(s, 1) for s in samplers) * sum(step_counts)
    if passes > MAX_PASSES:
        raise InputError(f"That comparison needs {passes:,} network passes; choose fewer cells or steps "
                         f"(at most {MAX_PASSES:,}).")
    return samplers, step_counts, passes


def default_guidance(model_id):
    """The guidance scale the model's playground.json names (2 if it names none; 1 for an unconditional model)."""
    return family.default_guidance(settings(model_id))


def default_sampler(model_id):
    """(sampler, steps) the model's playground.json names, else DPM-Solver++ with 20 steps."""
    s = settings(model_id)
    return s.get("sampler", "DPM-Solver++"), int(s.get("steps", 20))


def _card_distances(metrics, record):
    """"FD-Fashion 1.328, KD-Fashion 0.0021 ± 0.0004" from a card's metrics (KD only where measured)."""
    text = f"{record.fd_short} {metrics[record.fd_metric]:.3f}"
    kd = scoring.metric_name(record.features_id, "kd")
    if kd in metrics:
        text += f", {record.kd_short} {metrics[kd]:.4f} ± {metrics.get(kd + '_se', float('nan')):.4f}"
    for second in record.features_ids[1:]:
        fd2 = scoring.metric_name(second)
        if fd2 in metrics:
            text += f"; on {second}: FD {metrics[fd2]:.3f}"
    return text


def against_gan(model_id):
    """One line: this model's card FD (and KD, and the second network's FD, where measured) beside the GAN
    card's of the same data, if both are measured."""
    card = registry.default().card(_model_id(model_id))
    record = datasets.DATASETS.get(card.dataset)
    metrics = card.metrics or {}
    if record is None or record.fd_metric not in metrics:
        return f"{card.id} has no measured FD yet (`{card.metrics_command}`)."
    sampler, steps = default_sampler(model_id)
    text = f"From the cards, on the same protocol: **{card.id}** with {sampler} {steps}, {_card_distances(metrics, record)}"
    gan = registry.default().measured("gan", card.dataset, record.fd_metric)
    if not gan:
        return text + "."
    return text + f"; **{gan[0]}**, {_card_distances(registry.default().card(gan[0]).metrics, record)} (lower is better)."


def compare_samplers(model_id, label, guidance, seed, samplers, step_counts, should_stop=None):
    """The same seed and class through every sampler x step count: yields (grid so far, table rows,
    progress text) after each cell. Rows: sampler, steps, seconds per image, and the cell's KD (N=100) where it is
    shipped or was measured before (measure_samplers measures the rest; looked up on every call, so a stored grid
    shows the cells measured since)."""
    kd = {}
    for grid, rows, text in _sampler_cells(model_id, label, guidance, seed, samplers, step_counts,
                                           should_stop=should_stop):
        for sampler, steps, _ in rows:
            if (sampler, steps) not in kd:
                kd[sampler, steps] = sampler_kd.text(sampler_kd.known(_model_id(model_id), sampler, steps, guidance))
        yield grid, [r + [kd[r[0], r[1]]] for r in rows], text


@results.cached("diffusion.compare_samplers")
def _sampler_cells(model_id, label, guidance, seed, samplers, step_counts, should_stop=None):
    """compare_samplers without the KD column (the part worth storing).
    should_stop (the tab's Stop) is asked after every cell: the grid keeps the cells done so far."""
    model_id = _model_id(model_id)
    y = _label(model_id, label)
    guidance = validate.number(guidance, name="Guidance scale", minimum=0, maximum=10, step=GUIDANCE_STEP)
    seed = validate.seed(seed)
    samplers, step_counts, passes = _cells(samplers, step_counts)
    cells, rows, total, begin, done_passes = [], [], len(samplers) * len(step_counts), time.perf_counter(), 0
    with registry.using(model_id) as model:
        blank = np.full((model.output_size, model.output_size), 255, np.uint8)
        tile = _zoom(blank, SAMPLER_TILE).shape[0]

        def table(images):  # rows: samplers, columns: step counts, both named on the picture
            return labelled_grid(make_grid([_zoom(c, SAMPLER_TILE) for c in images], nrow=len(step_counts)), samplers,
                                 [f"{n} steps" for n in step_counts], tile)
        yield table([blank] * total), [], f"0 of {total} cells: starting..."
        for sampler in samplers:
            for steps in step_counts:
                start = time.perf_counter()
                image = family.generate(model, seed, 1, y, sampler, steps, float(guidance))[0]
                seconds = time.perf_counter() - start
                done_passes += PASSES_PER_STEP.get(sampler, 1) * steps
                cells.append(image)
                rows.append([sampler, steps, round(seconds, 3)])
                grid = table(cells + [blank] * (total - len(cells)))
                elapsed = time.perf_counter() - begin
                if len(cells) == total:
                    yield grid, rows, f"Done: {total} cells in {elapsed:.1f} s."
                elif stopped_by(should_stop):
                    yield grid, rows, (f"Stopped at cell {len(cells)} of {total} after {elapsed:.1f} s: the grid "
                                       "keeps the cells done so far.")
                    return
                else:
                    left = elapsed / done_passes * (passes - done_passes)
                    yield grid, rows, (f"{len(cells)} of {total} cells ({sampler}, {steps} steps done), "
                                       f"{about(left)} left...")


def measure_samplers(model_id, guidance, samplers, step_counts, should_stop=None):
    """The KD (N=100 images per cell, seed 0, classes in turn) of every chosen cell: yields (table rows, progress
    text) after each cell; cells shipped or measured before answer at once. should_stop is asked after each cell."""
    model_id = _model_id(model_id)
    guidance = validate.number(guidance, name="Guidance scale", minimum=0, maximum=10, step=GUIDANCE_STEP)
    samplers, step_counts, _ = _cells(samplers, step_counts)
    cells = [(s, n) for s in samplers for n in step_counts]
    found = {cell: sampler_kd.known(model_id, *cell, guidance) for cell in cells}
    rows = lambda: [[s, n, round(found[s, n]["seconds_per_image"], 3) if found[s, n] else "",  # noqa: E731
                     sampler_kd.text(found[s, n])] for s, n in cells]
    missing = [cell for cell in cells if not found[cell]]
    begin, done = time.perf_counter(), 0
    total = sum(PASSES_PER_STEP.get(s, 1) * n for s, n in missing)
    if total > MAX_MEASURED_PASSES:
        raise InputError(f"Measuring those cells needs {total:,} network passes per image ({sampler_kd.N} images "
                         f"each); choose fewer cells or steps (at most {MAX_MEASURED_PASSES:,} at a time).")
    yield rows(), (f"{len(cells) - len(missing)} of {len(cells)} cells known; measuring {len(missing)} "
                   f"({sampler_kd.N} images each)..." if missing else f"All {len(cells)} cells were measured before.")
    for i, (sampler, steps) in enumerate(missing):
        found[sampler, steps] = dict(sampler_kd.measure(model_id, sampler, steps, sampler_kd.guidance_for(
            model_id, guidance)), source="measured")
        done += PASSES_PER_STEP.get(sampler, 1) * steps
        elapsed = time.perf_counter() - begin
        if i + 1 == len(missing):
            yield rows(), f"Done: {len(missing)} cells measured in {elapsed:.0f} s."
        elif stopped_by(should_stop):
            yield rows(), f"Stopped after {i + 1} of {len(missing)} cells ({elapsed:.0f} s); measured cells are kept."
            return
        else:
            yield rows(), (f"{i + 1} of {len(missing)} cells measured ({sampler}, {steps} steps), "
                           f"{about(elapsed / done * (total - done))} left...")


def bench_cases():
    """What `python -m playground.bench` times for this tab, for every installed diffusion model: 16
    images with its default sampler (20 DPM-Solver++ steps unless its playground.json says otherwise),
    unstreamed (the family's loop) and streamed (the tab's generator, every step rendered)."""
    cases = {}
    for model_id in diffusion_ids():
        names = classes(model_id)
        sampler, steps = default_sampler(model_id)
        guidance = 2.0 if names else 1.0

        def unstreamed(i, model_id=model_id, names=names, sampler=sampler, steps=steps, guidance=guidance):
            with registry.using(model_id) as model:
                return family.generate(model, i, 16, 0 if names else None, sampler, steps, guidance)

        def streamed(i, model_id=model_id, names=names, sampler=sampler, steps=steps, guidance=guidance):
            return list(generate(model_id, names[0] if names else NO_CLASS, guidance, sampler, steps, i, side=4))[-1]
        cases[f"Diffusion: 16 images, {sampler} {steps} steps ({model_id})"] = unstreamed
        cases[f"Diffusion: the same, streamed to the tab step by step ({model_id})"] = streamed
    return cases


# text to image (hub) --------------------------------------------------------------------------------
def text_to_image_ids():
    return family_ids(t2i)


def text_to_image(model_id, prompt, steps=1, size=512, seed=0):
    """One picture from a hub text-to-image model, and a line with its time. Offline, the registry's
    "needs network" message explains why nothing can be drawn."""
    ids = text_to_image_ids()
    if not ids:
        raise InputError("No text-to-image model card is installed.")
    model_id = validate.choice(model_id, ids, name="Model")
    prompt = t2i.check_prompt(prompt)
    steps = validate.number(steps, name="Steps", minimum=1, maximum=t2i.MAX_STEPS, step=1, integer=True)
    size = validate.choice(size, t2i.SIZES, name="Size")
    seed = validate.seed(seed)
    start = time.perf_counter()
    with registry.using(model_id) as model:
        image = t2i.generate(model, prompt, seed, steps, size)
    return image, f"{size}x{size}, {steps} step{'s' if steps > 1 else ''}, seed {seed}: {time.perf_counter() - start:.1f} s."


# What the tab shows: one call per event, the results chained and put into words here (the tab only wires).

def forward_shown(image, t, schedule, seed):
    """The forward process at t: (x_t, the blend in words, alpha-bar rows, log10 SNR rows) for the plots."""
    shown, n = forward(image, t, schedule, seed)
    rows, snr = schedule_rows(int(t))
    text = (f"At t = {int(t)} ({schedule}): x_t = {n['signal']:.3f} x0 + {n['noise']:.3f} noise "
            f"(alpha-bar {n['alpha_bar']:.4f}).")
    return shown, text, rows, snr


def edit_drawing_or_upload(model_id, drawing, upload, strength, label, guidance, seed):
    """SDEdit on the drawing (a grey array) when something is drawn on it, else on the upload."""
    drawn = drawing is not None and drawing.min() != drawing.max()
    if not drawn and upload is None:
        raise InputError("Draw something, or upload an image in the Forward process tab.")
    return edit(model_id, drawing if drawn else upload, strength, label, guidance, seed)
