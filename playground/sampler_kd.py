"""The kernel distance of every cell of the diffusion tab's sampler grid, so that no cell says "not measured".

A Frechet distance at N=100 is biased upward (by an amount that depends on N and on the features), so the grid
cannot measure FD live; the kernel distance (metrics.kernel_inception_distance, KID on the playground's own
features: KD-Fashion / KD-ORL) is unbiased at any N, so N=100 generated images per cell are enough and every
cell can be measured on a CPU, with its standard error.

    measure(model_id, sampler, steps, guidance)     {"kd", "kd_se", "seconds_per_image"} of one cell (cached)
    known(model_id, sampler, steps, guidance)       that, if shipped or already measured, else None
    python -m playground.sampler_kd [MODEL_ID ...]  measures the default grid's cells into ASSET

A cell: N images with that sampler and step count, seed SEED, classes in turn (generate_balanced, as the card's
sampler table draws them), against the data set's real images as Compare holds them at run time (the reference
half of the shipped Fashion-MNIST test images; all 400 ORL faces, which the face models learn whole). The shipped
figures in ASSET are used only while the model's weights are the ones they were measured on (SHA-256).
"""
import argparse
import functools
import json
import time
from pathlib import Path

from . import compare, datasets, registry, results
from .families import diffusion as family
from .families import features, protocol
from .metrics import kernel_inception_distance

N, SEED = 100, 0
ASSET = Path(__file__).parent / "assets" / "sampler_kd.json"
DEFAULT_SAMPLERS = ("DDPM", "DDIM", "DPM-Solver++", "Euler ancestral")  # the tab's default grid
DEFAULT_STEPS = (5, 10, 20, 50)


def guidance_for(model_id, guidance):
    """The guidance a cell is measured at: the user's for a conditional model, 1 (none) for an unconditional one."""
    return float(guidance) if registry.default().card(model_id).dataset == datasets.FASHION.key else 1.0


@functools.lru_cache(maxsize=4)
def _reference(dataset, features_id):
    reference, _, seen = compare.real_images(dataset)
    images = seen if datasets.get(dataset).generator_split == "all" else reference
    with registry.using(features_id) as net:
        return features.features(net, images)


def cell_name(sampler, steps):
    return f"{sampler} {int(steps)}"


@results.cached("sampler_kd.measure")
def measure(model_id, sampler, steps, guidance):
    """KD of one cell: {"kd", "kd_se", "seconds_per_image", "n"} (N images against the real reference)."""
    record = datasets.get(registry.default().card(model_id).dataset)
    ref = _reference(record.key, record.features_id)
    with registry.using(model_id) as model:
        images, _, seconds = family.generate_balanced(model, N, SEED, sampler, int(steps), float(guidance))
    with registry.using(record.features_id) as net:
        kd = kernel_inception_distance(features.features(net, images), ref)
    return {"kd": kd["kid"], "kd_se": kd["kid_se"], "seconds_per_image": seconds / N, "n": N}


def _shipped():
    try:
        return json.loads(ASSET.read_text())
    except (OSError, ValueError):
        return {}


def shipped(model_id, guidance):
    """{cell name: figures} measured by `python -m playground.sampler_kd` on these very weights, else {}."""
    entry = _shipped().get(model_id) or {}
    if entry.get("weights_sha256") != registry.default().weights_sha256(model_id) or entry.get("guidance") != guidance:
        return {}
    return entry.get("cells", {})


def known(model_id, sampler, steps, guidance):
    """The cell's figures if shipped or measured before (never computes), else None."""
    guidance = guidance_for(model_id, guidance)
    found = shipped(model_id, guidance).get(cell_name(sampler, steps))
    if found:
        return dict(found, source="shipped")
    try:
        with results.cache_only():
            return dict(measure(model_id, sampler, int(steps), guidance), source="measured")
    except results.NotCached:
        return None


def text(figures):
    """"0.0123 ± 0.0021" for a table cell, or "not measured yet"."""
    if not figures:
        return "not measured yet"
    return f"{figures['kd']:.4f} ± {figures['kd_se']:.4f}"


def write(model_ids, samplers=DEFAULT_SAMPLERS, step_counts=DEFAULT_STEPS, path=ASSET, log=print):
    """Measure every cell of each model's grid (at its default guidance) into the JSON asset."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    for model_id in model_ids:
        settings = json.loads((registry.default().folder(model_id) / "playground.json").read_text())
        guidance = guidance_for(model_id, family.default_guidance(settings))
        cells = {}
        for sampler in samplers:
            for steps in step_counts:
                start = time.perf_counter()
                cells[cell_name(sampler, steps)] = {k: round(v, 6) if isinstance(v, float) else v
                                                    for k, v in measure(model_id, sampler, steps, guidance).items()}
                log(f"{model_id} {cell_name(sampler, steps)}: {text(cells[cell_name(sampler, steps)])} "
                    f"({time.perf_counter() - start:.0f} s)")
        data[model_id] = {"weights_sha256": registry.default().weights_sha256(model_id), "guidance": guidance,
                          "n": N, "seed": SEED, "command": "python -m playground.sampler_kd " + model_id,
                          "cells": cells}
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_ids", nargs="*", help="diffusion models (default: every installed one)")
    args = ap.parse_args(argv)
    reg = registry.default()
    ids = args.model_ids or sorted(i for i, c in reg.cards().items() if c.family == protocol.family_of(family)
                                   and c.dataset in datasets.DATASETS and reg.availability(i) == "local")
    write(ids)


if __name__ == "__main__":
    main()
