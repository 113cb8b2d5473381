"""Make the style loss network and train the fast style networks.

    python -m playground.train.style --preset loss-random --threads 1     # -> weights/style-loss-random (no training)
    python -m playground.train.style --preset loss-random-wide --threads 1  # -> weights/style-loss-random-wide (idem)
    python -m playground.train.style --preset starry-night --threads 1    # -> weights/style-fast-starry-night

The loss network is random: it is built from a seed, its channel scales are calibrated on natural
photos, and it is saved. A fast network (Johnson et al. 2016) learns to minimise, in one pass, the
same loss the optimisation minimises (style weight x Gram loss + content loss + TV weight x TV) on
random 128x128 crops of natural photos, against one style image, with the same loss network.
Resumable; samples of the held-out photos go to runs/<id>/samples/.
"""
import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from .. import cards
from ..errors import PlaygroundError
from ..families import style
from ..images import make_grid
from ..registry import weights_file
from . import loop

LOSS_ID = "style-loss-random"
LOSS_CONFIG = dict(kind="loss", seed=0, scales=[1, 2, 4], kernels=[3, 7], filters=64, content_scales=[2, 4])
WIDE_CONFIG = dict(kind="loss", seed=1, scales=[1, 2, 4, 8], kernels=[3, 5, 9], filters=64, content_scales=[2, 4])
FAST = dict(steps=6000, lr_drop=4800, batch_size=4, lr=2e-3, crop=128, scale=288, ramps=[], ema=None, ema_from=0,
            config=dict(kind="transform", channels=[16, 32, 64], res_blocks=5, edge_kernel=9, size=256, detail=0.0),
            weights=dict(style_weight=1e3, content_weight=1.0, tv_weight=1e-2, structure_weight=20.0,
                         luminance_weight=5.0, distil_weight=0.0, ssim_weight=0.0), starts={}, note="", warm_starts=[])
# the textures' recipe (session 6): the photo's detail added back, the optimisation distilled, shorter runs
# (gravel's recipe, and brick's up to step 6000);
# ramps: [(weight, first step, last step, factor[, why])]: that loss weight rises linearly to factor times its
# value between the two steps (a step in the weight when they are equal; factor 0 switches the term off);
# `why` ends the card's words for it.
# starts: {weight: step}: that term is off before the step.
# warm_starts: [{step, source[, before]}]: how the shipped weights were trained in pieces (`--warm-start`), for the
# card; `before` holds the config values the network had until that step where they differ (only CHANGEABLE keys).
# The textures' style weight went up five times at once (the steps are where their checkpoints stood)
LEVELLED = ": the run had levelled off at about\nten times the optimisation's style loss on the held-out photos"
HELD = ": the SSIM term, on from step 7500,\nheld SSIM above the optimisation's as the style loss fell"
GRASS_NOTE = """Grass is trained on Starry Night's recipe, not on the one gravel and brick were trained on
(the photo's detail added back and the optimisation distilled), with a higher style weight, because a
texture's style loss is far smaller than a painting's. The network trained on the other recipe (session 8)
had about twice the style loss of this recipe's first 5,000 steps (session 9) at about the same SSIM, both
by `python -m playground.evaluate` (docs/NOTES.md at commit 8b51576, session 9). The detail, added at full strength, breaks
the texture statistics on the finest branch; the distillation pulls towards one picture of a texture whose
layout is random."""
GRAVEL_NOTE = """Gravel was trained on the textures' recipe (the photo's detail added back at full strength, the
optimisation distilled) up to step 12000, where the style loss on the held-out photos had settled at four to
five times the optimisation's: more style weight lowered SSIM, and more SSIM weight raised the style loss
again (docs/NOTES.md at commit 8b51576, session 11). The detail, added at full strength, keeps every fine edge of the photo,
which a fine texture such as gravel has to repaint; without it, from step 12000, the style loss fell again
and SSIM recovered."""
ROOM = ": without the detail, SSIM stayed above the optimisation's while the style\nloss was still above it"
MORE_STYLE = ": the style loss was still far above the optimisation's"
SSIM_DIP = ": SSIM had fallen below the optimisation's as the style weight rose"
SSIM_HOLD = ": SSIM had fallen to about the optimisation's as the style weight rose"
TEXTURE = dict(FAST, steps=4000, lr_drop=3200, config=dict(FAST["config"], detail=1.0),
               weights=dict(FAST["weights"], distil_weight=100.0))
PRESETS = {
    "loss-random": dict(model_id=LOSS_ID, config=LOSS_CONFIG, title="Random multi-scale style loss network"),
    "loss-random-wide": dict(model_id="style-loss-random-wide", config=WIDE_CONFIG,
                             title="Wide random multi-scale style loss network"),
    # session 7: the session-5 run went on from step 6000 with an EMA of the weights and the luminance weight
    # ramped up (the shipped weights were trained so, resumed from the step-6000 checkpoint)
    # session 8: then on from step 7500 with an SSIM term (a 1,500-step trial: 1.91x / 0.398 -> 2.21x / 0.626)
    # session 9: then on from step 9500 with the style weight doubled over 500 steps (resumed at 9500)
    "starry-night": dict(FAST, model_id="style-fast-starry-night", style="starry_night", steps=13500,
                         ema=0.999, ema_from=6000,
                         ramps=[("luminance_weight", 6000, 7500, 2), ("style_weight", 9500, 10000, 2, HELD)],
                         weights=dict(FAST["weights"], ssim_weight=10.0), starts={"ssim_weight": 7500}),
    # session 8: the texture runs went on from step 4000 for 2000 steps with an EMA (gravel with the SSIM term too)
    # session 11: then on from step 6000 on brick's session-10 schedule, with more style and more SSIM after it,
    # and on from step 12000 without the photo's detail (a candidate, to step 14000)
    # session 12: then on from session 11's candidate at step 14000 with more style (scored every 500 steps)
    "gravel": dict(TEXTURE, model_id="style-fast-gravel", style="gravel", steps=17000, ema=0.999, ema_from=4000,
                   config=dict(TEXTURE["config"], detail=0.0),
                   ramps=[("style_weight", 2050, 2050, 5, LEVELLED), ("distil_weight", 6000, 6000, 0),
                          ("style_weight", 6000, 6500, 4, MORE_STYLE), ("ssim_weight", 7000, 7500, 2, SSIM_DIP),
                          ("style_weight", 8000, 8500, 2, MORE_STYLE), ("ssim_weight", 9000, 9500, 2, SSIM_DIP),
                          ("ssim_weight", 10000, 10500, 3, SSIM_DIP), ("style_weight", 14000, 14500, 1.5, ROOM),
                          ("style_weight", 14500, 15000, 1.5)],
                   weights=dict(TEXTURE["weights"], ssim_weight=10.0), starts={"ssim_weight": 4000}, note=GRAVEL_NOTE,
                   warm_starts=[dict(step=6000, source="the weights shipped at commit 80ca621"),
                                dict(step=12000, source="the weights shipped at commit e9690e9", before=dict(detail=1.0)),
                                dict(step=14000, source="session 11's candidate, docs/candidates/style-fast-gravel-"
                                                        "detail0-step14000-ema.safetensors at commit 9bd98e4")]),
    # session 10: then on from step 6000 without the distillation, with the SSIM term and more style
    "brick": dict(TEXTURE, model_id="style-fast-brick", style="brick", steps=8500, ema=0.999, ema_from=4000,
                  ramps=[("style_weight", 2000, 2000, 5, LEVELLED), ("distil_weight", 6000, 6000, 0),
                         ("style_weight", 6000, 6500, 4, MORE_STYLE), ("ssim_weight", 7000, 7500, 2, SSIM_DIP)],
                  weights=dict(TEXTURE["weights"], ssim_weight=10.0), starts={"ssim_weight": 6000},
                  warm_starts=[dict(step=6000, source="the weights shipped at commit 127ea55")]),
    # session 9: grass retrained on Starry Night's recipe (texture recipe, session 8: 16.1x / 0.520)
    # session 10: then on from step 5000 with more style and more SSIM, and again from step 7500
    "grass": dict(FAST, model_id="style-fast-grass", style="grass", steps=12000, lr_drop=4000, ema=0.999,
                  ema_from=3000, weights=dict(FAST["weights"], style_weight=5e3, ssim_weight=10.0),
                  ramps=[("style_weight", 5000, 5500, 4, MORE_STYLE), ("ssim_weight", 6000, 6500, 3, SSIM_DIP),
                         ("style_weight", 7500, 8000, 2, MORE_STYLE), ("ssim_weight", 8000, 8500, 2, SSIM_HOLD),
                         ("style_weight", 10000, 10500, 2, MORE_STYLE)],
                  starts={"ssim_weight": 2000}, note=GRASS_NOTE,
                  warm_starts=[dict(step=5000, source="the weights shipped at commit ec0121f"),
                               dict(step=7500, source="session 10's candidate, docs/candidates/"
                                                      "style-fast-grass-step7500-ema.safetensors at commit 2e5a4c0")]),
}
COMMAND = "python -m playground.train.style --preset {preset} --threads 1"
LOSS_CARD = """---
id: {model_id}
family: style
title: {title}
source: weights/{model_id}
revision: null
dataset: none (random weights; channel scales calibrated on CC0 / public-domain photos)
license: CC0-1.0
params: {params}
resolution: any (256x256 in the tab)
train_command: {command}
metrics: {{}}
metrics_command: python -m playground.evaluate {model_id} --write
---

# {title}

{intro} It is one layer of random convolutions (uniform weights from seed
{seed}, no bias, ReLU), {filters} filters of each size {kernels_text} on each level of an image pyramid
(average pooling by {scales_text}): {branches} branches of {filters} channels. Each
channel is divided by its root-mean-square response on crops of the bundled photos that are not held out
(the `rms` buffer), so that all channels weigh alike.

- **Style** is the Gram matrix (channel correlations, averaged over positions) of every branch, compared
  with the style image's by mean squared error (Gatys et al. 2016).
- **Content** is the feature maps of the coarser branches (pyramid levels {content_text}), so fine
  strokes may change while the layout stays.

Random filters carry texture statistics well (Ustyuzhaninov et al. 2017, *What does it take to generate
natural textures?*). The weights are random, yet they are saved as safetensors so that the registry
loads this network like any model and every run of the tab uses the same one.

{design}## Evaluation network

{evaluation}

## Data and licence

No training. The channel scales come from the bundled CC0 / public-domain photos of scikit-image
(`playground.data.natural_images`, kind "photo"), except the held-out evaluation photos ({held_out}).
Released as CC0-1.0.

## Limits

One layer of random filters sees at most a {reach_text} window at {coarsest_text} of the resolution ({reach} pixels): it
captures colour, local strokes and texture, not Van Gogh's long swirls or objects. A pretrained VGG-19
(the classic choice) comes from the hub when it is reachable (style-loss-vgg19).
"""

INTRO = {
    "loss-random": 'The network that defines "style" and "content" for the Style transfer tab when no pretrained '
                   "ImageNet\nnetwork is available (offline).",
    "loss-random-wide": "A second random loss network for the Style transfer tab's Two methods view, to set "
                        "beside\nstyle-loss-random.",
}
DESIGN = {"loss-random": """## Why this design

Compared while building it (astronaut against Starry Night, 128x128, 40 L-BFGS iterations, one thread
on a shared, loaded 2-core machine; the pictures side by side in runs/style-explore/, not shipped):

| variant | branches | cost | by eye |
|---|---|---|---|
| A: scales 1, 2; kernels 3, 7, 11; 128 filters | 6 | several times B's | strokes and colours, smooth |
| B: scales 1, 2, 4; kernels 3, 7; 64 filters (**chosen**) | 6 | the measured seconds_per_loss_evaluation_256 below | strokes and colours as A, slightly coarser |
| C: scales 1, 2, 4, 8; kernels 3, 5; 64 filters | 8 | a little below B's | blocky 8x8 artefacts from the coarsest level |

B looks about as painterly as A at a fraction of the cost, which the optimisation's time target and the
fast networks' training need. (Those exploratory timings were taken under load and are not quoted; the
numbers below are measured by `python -m playground.evaluate`.) A first version with random biases left
some channels nearly dead on photos; dividing by their tiny rms blew the losses up, hence no bias and a
floor of a tenth of the median rms.

**Known weakness.** Its content term is dominated by colour: a Reinhard-recoloured photo and a plain
grey image score about alike. The optimisation keeps the layout mostly because it starts from the
photo; the fast networks add a luminance structure term (their card says why).

""",
          "loss-random-wide": """## Why this design

The same design as style-loss-random (seed 0; pyramid levels 1, 2, 4; kernels 3x3 and 7x7), made wider so
that the Two methods view shows what the loss network's choice does to the same optimisation: seed
{seed}, one more pyramid level (1/8) and kernels {kernels_text}, so that the coarsest filters see {reach}
pixels instead of 28 and the style term asks for larger strokes and blotches. In a first look (astronaut
against Starry Night, 128 px, 30 L-BFGS iterations with the tab's weights) it painted larger, blotchier
strokes than style-loss-random and, in flat parts such as the background, the blocky 8x8 artefacts
that variant C printed when style-loss-random was chosen (its card). It needs no training, only the
calibration of its channel scales; its arithmetic is about twice style-loss-random's. The content
branches are the same levels (1/2, 1/4), so that the two differ in what they call style.

**Known weakness.** As style-loss-random's, its content term is dominated by colour.

""",
          }

FAST_CARD = """---
id: {model_id}
family: style
title: Fast style network ({style_title})
source: weights/{model_id}
revision: null
dataset: CC0 / public-domain photos (skimage, OpenCV samples, scikit-learn, gradio media) and {style_title}
license: '{license}'
params: {params}
resolution: any (256x256 and 512x512 measured)
train_command: {command}
metrics: {{}}
metrics_command: python -m playground.evaluate {model_id} --write
---

# Fast style network ({style_title})

A feed-forward network (Johnson et al. 2016, *Perceptual Losses for Real-Time Style Transfer*) that
repaints any photo in the style of {style_title} in one pass: a {edge}x{edge} convolution, two stride-2
convolutions, {res_blocks} residual blocks, two nearest-neighbour upsamplings each followed by a
convolution, and a {edge}x{edge} convolution, with instance normalisation (Ulyanov et al. 2016) and a sigmoid;
channels {channels_text}.{detail_text} The tab's strength
slider blends photo and result.

## Training

`{command}`: Adam (the learning rate x0.3 from step {lr_drop}) on
random {crop}x{crop} crops (with flips) of photos scaled to {scale} px on the longer side. The loss has
the optimisation's terms on the same loss network (style-loss-random), {style_weight:g} x
style (Gram) + {content_weight:g} x content + {tv_weight:g} x total variation{ramp_text}, and {n_terms} terms of
its own:

{terms_text}

The style's Gram matrices come from the style image at 256 px. Why the extra terms: the loss network's
content term is dominated by colour (a Reinhard-recoloured photo scores as badly as a plain grey image),
so the optimisation keeps the layout mostly because it starts from the photo. A network has no such
start: runs with the optimisation's loss alone (against Starry Night) painted content-free swirls over the
held-out photos; with the structure and luminance terms alone the Starry Night network laid a regular stroke
texture over everything, at an SSIM far below the optimisation's, until the SSIM term (session 8) lifted it
above. Short trials
chose the terms (scratch runs, not shipped; docs/NOTES.md at commit 8b51576, sessions 5 and 6): the luminance term lowered both
the style loss and the loss of SSIM against the structure term alone; adding the photo's detail raised SSIM
by about 0.2 at the same style loss after 400 steps, and the distillation term lowered the style loss further. A first version computed sigmoid(logit(photo) + network output), so that it started as the
identity; it learned about ten times more slowly and was dropped.{note_text}{ema_text}

{run_start}
{run_end}

The evaluation photos ({held_out}) are never trained on.

## Data and licence

Style: {style_credit} ({style_license}). Photos: scikit-image's CC0 / public-domain photos; OpenCV's
sample images (Debian opencv-doc), scikit-learn's sample images and gradio's media images were used as
training crops only. The weights are released as {license}.

## Limits

A fast network learns one style, at the stroke scale of its training (photos of about 256-300 px): at
512 px the strokes are relatively finer. It is trained on a CPU for far fewer steps than Johnson et al.'s
40,000 steps of batch 4 on a GPU, from only the few photos listed under Training. Measured below against the
optimisation of the same held-out photos: style_loss_vs_optimisation (target at most 1.5) and
ssim_minus_optimisation (target 0 or more).{detail_limit}
"""


EVALUATION = {
    "loss-random": "Scores in the cards (style and content loss) are measured with an evaluation network of the same\n"
                   "design but seed {eval_seed}, calibrated the same way, so that the optimiser, which sees only seed\n"
                   "{seed}, cannot game the score.",
    "loss-random-wide": "Scores in the cards (style and content loss) are measured with style-loss-random's evaluation\n"
                        "network (its design, seed {eval_seed}), as for every style model, so that this card's numbers\n"
                        "compare with style-loss-random's; the optimiser sees only this network (seed {seed}).",
}
FRACTION = {1: "the full", 2: "half", 4: "a quarter", 8: "an eighth"}


FAST_RUN = """The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}.{warm_text}
{time_text} took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine{targets_time}.

The {n_photos} training photos (not shipped; absent ones are skipped): {photos}."""


def run_text(minutes, threads, photos, warm_starts, config, distilled, **training):
    """A fast card's training-run section: what this run was (training: lr, batch_size, steps, seed), the
    warm starts it was trained in, its minutes and the photos it found installed."""
    return FAST_RUN.format(
        warm_text=warm_text(warm_starts, config), minutes=minutes, threads=threads, photos=", ".join(photos),
        n_photos=len(photos),
        time_text=f"Training from step {warm_starts[-1]['step']}" if warm_starts else "Training",
        targets_time=" (the optimisation of the training photos not included)" if distilled else "", **training)


def card_template(preset, config, params, **kw):
    """A new card's first draft (a card that exists keeps its prose; a fast network's run goes to run_text).
    kw: the command and, for a fast network, its recipe (lr_drop, crop, scale, ramps, ema, ema_from, starts,
    note and the loss weights)."""
    held_out = ", ".join(style.HELD_OUT)
    if preset in DESIGN:
        reach = max(config["kernels"]) * max(config["scales"])
        values = dict(seed=config["seed"], eval_seed=LOSS_CONFIG["seed"] + style.EVAL_SEED_OFFSET, reach=reach,
                      kernels_text=" and ".join(", ".join(f"{k}x{k}" for k in config["kernels"]).rsplit(", ", 1)))
        return LOSS_CARD.format(
            model_id=PRESETS[preset]["model_id"], title=PRESETS[preset]["title"], intro=INTRO[preset],
            design=DESIGN[preset].format(**values), evaluation=EVALUATION[preset].format(**values),
            params=params, filters=config["filters"], reach_text=f"{max(config['kernels'])}x{max(config['kernels'])}",
            coarsest_text=FRACTION[max(config["scales"])],
            scales_text=", ".join(str(s) for s in config["scales"]), branches=len(config["scales"]) * len(config["kernels"]),
            content_text=", ".join(f"1/{s}" for s in config["content_scales"]), held_out=held_out, **values, **kw)
    name = config["style"]
    _, style_license, credit = style.STYLES[name]
    return FAST_CARD.format(**_recipe_text(config, kw),
        model_id=style.fast_id(name), style_title=name.replace("_", " ").title(),
        license=style_license, style_license=style_license, style_credit=credit, params=params,
        edge=config["edge_kernel"], res_blocks=config["res_blocks"],
        channels_text=", ".join(str(c) for c in config["channels"]), detail=config.get("detail", 0.0),
        held_out=held_out, run_start=cards.RUN_START, run_end=cards.RUN_END, **kw)


DISTIL_TERM = """- {distil_weight:g} x a distillation term: the mean absolute difference from the same crop of the
  optimisation's result. Before training, the command runs the optimisation (the tab's defaults, 100 L-BFGS
  iterations) on every training photo against the style and keeps the pictures (runs/{model_id}/targets/),
  so the network learns to give in one pass what the optimisation gives in half a minute."""
OWN_TERMS = """- {structure_weight:g} x a structure term: the squared difference of the standardised, 5x5-blurred
  luminance of photo and result.
- {luminance_weight:g} x a luminance content term: the loss network's content loss between the grey
  versions of photo and result on every branch (edges and shading at every scale, no colour)."""
SSIM_TERM = """- {ssim_weight:g} x an SSIM term{ssim_start}: 1 minus the SSIM of the luminance of result and photo
  (`families.style.ssim_loss`, the SSIM that the evaluation measures, on the training crops)."""


def weights_at(weights, ramps, step, starts=None):
    """The loss weights at `step`: each ramped weight rises linearly from its value at the ramp's first step
    to factor times it at the last (at once when they are equal), and stays there; ramps of one weight
    multiply, in order; a weight in `starts` is 0 before its step."""
    now = {k: 0.0 if step < (starts or {}).get(k, 0) else v for k, v in weights.items()}
    for name, first, last, factor, *_ in ramps:
        done = 1.0 if step >= last else max(0.0, (step - first) / (last - first)) if last > first else 0.0
        now[name] = now[name] * (1 + (factor - 1) * done)
    return now


def term_on(weights, ramps, starts, name, first, end):
    """Whether the `name` term is on at any step from `first` up to `end` (so that a run resumed after a
    term was switched off need not prepare for it). The weights are linear between ramp ends and starts."""
    edges = {first} | {s for _, a, b, *_ in ramps for s in (a, b)} | set(starts.values())
    return any(weights_at(weights, ramps, s, starts)[name] for s in edges if first <= s < end)


RAMP_NAMES = {"style_weight": "style", "luminance_weight": "luminance content", "structure_weight": "structure",
              "distil_weight": "distillation", "content_weight": "content", "tv_weight": "total-variation",
              "ssim_weight": "SSIM"}


def ramp_text(ramps):
    """The card's words for a preset's ramps ("" without any)."""
    parts, said = [], set()
    for name, first, last, factor, *why in ramps:
        why = [w for w in why if w not in said]  # a reason is given once
        said.update(why)
        words = (f"from step {first} the {RAMP_NAMES[name]} term is off" if first == last and factor == 0 else
                 f"from step {first} the {RAMP_NAMES[name]} weight is {factor:g} times higher" if first == last else
                 f"the {RAMP_NAMES[name]} weight rises linearly to {factor:g} times its value from step {first} to "
                 f"step {last}")
        parts.append(f"{words}{''.join(why)}")
    return f" ({'; '.join(parts)})" if parts else ""


def warm_text(warm_starts, config):
    """The card's words for the warm starts the shipped weights were trained with ("" without any)."""
    if not warm_starts:
        return ""
    pieces = "; ".join(f"at step {w['step']} from {w['source']}" + "".join(
        f", trained until then with {CHANGEABLE[k]} at {v:g} x ({config_at(config, warm_starts, w['step'])[k]:g} x "
        "from this step on)" for k, v in w.get("before", {}).items()) for w in warm_starts)
    return ("\nThe shipped weights were trained in pieces, each begun with a fresh Adam by `--warm-start WEIGHTS "
            f"--from-step STEP`:\n{pieces}. The ramps and the learning-rate drop count steps from 0 as in one run, "
            "so the\ncommand, run from scratch, trains the same schedule in one go.")


def _recipe_text(config, kw):
    """The parts of a fast card that differ between the recipes (photo detail, distillation, ramps, EMA)."""
    model_id = style.fast_id(config["style"])
    detail, distil = config.get("detail", 0.0), kw.get("distil_weight", 0.0)
    start = kw.get("starts", {}).get("ssim_weight")
    terms = ([DISTIL_TERM.format(model_id=model_id, **kw)] if distil else []) + [OWN_TERMS.format(**kw)] + (
        [SSIM_TERM.format(ssim_start=f" from step {start}" if start else "", **kw)] if kw.get("ssim_weight") else [])
    return dict(
        detail_text=f" To that output it adds {detail:g} x the photo's fine luminance structure (its grey image minus "
                    "a 5x5 box blur;\n`families.style.photo_detail`), so that the network paints colour, shading and "
                    "strokes but need not\nredraw every edge of the photo." if detail else "",
        ramp_text=ramp_text(kw.get("ramps", [])),
        note_text=f" {kw['note']}" if kw.get("note") else "",  # a fast preset's own paragraph
        ema_text=f" The shipped weights are an exponential moving average (decay {kw['ema']:g}) of the trained ones"
                 + (f" from step {kw['ema_from']}" if kw.get("ema_from") else "") + "." if kw.get("ema") else "",
        n_terms=["two", "three", "four"][bool(distil) + bool(kw.get("ssim_weight"))], terms_text="\n".join(terms),
        detail_limit=" The photo's detail is added back at full strength, so fine edges stay photographic rather\n"
                     "than painted." if detail else "")


# extra training photos beside skimage's (not shipped; absent ones are skipped)
EXTRA = [Path("/usr/share/doc/opencv-doc/examples/data") / f for f in (
    "baboon.jpg", "fruits.jpg", "home.jpg", "building.jpg", "butterfly.jpg", "orange.jpg", "apple.jpg",
    "squirrel_cls.jpg", "aero1.jpg", "aero3.jpg", "HappyFish.jpg", "leuvenA.jpg", "stuff.jpg")]


def _package_images():
    """scikit-learn's and gradio's sample pictures, found without importing either package."""
    out = []
    for package, names in (("sklearn", ("datasets/images/china.jpg", "datasets/images/flower.jpg")),
                           ("gradio", ("media_assets/images/bus.png", "media_assets/images/cheetah.jpg",
                                       "media_assets/images/lion.jpg", "media_assets/images/tower.jpg"))):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            out += [Path(list(spec.submodule_search_locations)[0]) / n for n in names]
    return out


def training_photos(scale):
    """uint8 photos (longer side `scale`), the held-out evaluation photos excluded, and their names."""
    photos, names = [], []
    for name, image in style.content_images().items():
        if name not in style.HELD_OUT:
            photos.append(style.fit(image, scale))
            names.append(f"skimage:{name}")
    for path in EXTRA + _package_images():
        if path.is_file():
            with Image.open(path) as im:
                photos.append(style.fit(np.asarray(im.convert("RGB")), scale))
            names.append(f"{path.parent.name}/{path.name}")
    return photos, names


def crops(photos, crop, seed, targets=None):
    """A Batches transform: indices -> random crops (with flips) as float (N,3,crop,crop); with `targets`
    (one image per photo, the same size), the same crops of the targets too."""
    def transform(batch, gen):
        (idx,) = batch
        out, aligned = [], []
        for i in idx.tolist():
            p = photos[i % len(photos)]
            y = int(torch.randint(0, p.shape[0] - crop + 1, (1,), generator=gen))
            x = int(torch.randint(0, p.shape[1] - crop + 1, (1,), generator=gen))
            flip = bool(torch.rand(1, generator=gen) < 0.5)
            for images, dest in ((photos, out), (targets, aligned)) if targets is not None else ((photos, out),):
                c = style.to_float(images[i % len(photos)][y:y + crop, x:x + crop])
                dest.append(c.flip(-1) if flip else c)
        return (torch.cat(out), torch.cat(aligned)) if targets is not None else (torch.cat(out),)
    return transform


def optimised_targets(loss_net, photos, names, style_image, folder):
    """The optimisation (the tab's DEFAULTS) of every training photo against the style: what the fast network
    learns to reproduce in one pass. Cached as PNG in `folder`, so that a resumed run does not redo them."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (photo, name) in enumerate(zip(photos, names)):
        path = folder / f"{i:02d}-{name.replace('/', '-').replace(':', '-')}.png"
        if path.is_file():
            with Image.open(path) as im:
                out.append(np.asarray(im.convert("RGB")))
            continue
        start = time.perf_counter()
        image, _ = style.run(loss_net, photo, style_image, **style.DEFAULTS)
        Image.fromarray(image).save(path)
        out.append(image)
        print(f"optimised training photo {i + 1}/{len(photos)} ({name}) in {time.perf_counter() - start:.0f} s",
              flush=True)
    return out


def make_loss_network(config=LOSS_CONFIG):
    net = style.build(config)
    net.calibrate(style.calibration_images())
    return net.eval()


CHANGEABLE = {"detail": "the photo's detail (its grey image minus a 5x5 box blur, `families.style.photo_detail`)"}


def config_at(config, warm_starts, step):
    """The network's config at `step`: `config` (the shipped one), with the `before` values of every warm start
    after `step`, the earliest last. Only CHANGEABLE keys may change: they scale a term, not a tensor."""
    out = dict(config)
    for w in sorted(warm_starts, key=lambda w: -w["step"]):
        if set(w.get("before", {})) - set(CHANGEABLE):
            raise PlaygroundError(f"a warm start may change only {', '.join(CHANGEABLE)}: {w['before']}")
        if step < w["step"]:
            out.update(w.get("before", {}))
    return out


def score(preset, checkpoint):
    """A fast preset's checkpoint -> (its step, evaluate's metrics of the network it would ship: the EMA
    when the preset keeps one), so that a run can be followed on the figures its card will carry. Weights
    (a model.safetensors, or a folder holding one) are scored as they are, with the step None."""
    config = dict(preset["config"], style=preset["style"])
    path = Path(checkpoint)
    if path.is_dir() or path.suffix == ".safetensors":
        step, state = None, warm_weights(path, config)
    else:
        ckpt = loop.load_checkpoint(path)
        step, state = ckpt["step"], ckpt["ema" if preset["ema"] else "modules"]["net"]
        config = config_at(config, preset["warm_starts"], step - 1)  # as trained up to `step`
    net = style.build(config)
    net.load_state_dict(state)
    return step, style.evaluate(net.eval())


def warm_weights(path, config):
    """The state dict in `path` (a model.safetensors or a folder holding one) for a network of `config`;
    a folder's config.json must agree, and the tensors must fit the network exactly."""
    path = Path(path)
    folder, weights = (path, weights_file(path)) if path.is_dir() else (path.parent, path)
    if not weights.is_file():
        raise PlaygroundError(f"No weights at {weights}")
    beside = folder / "config.json"
    if path.is_dir() and beside.is_file() and json.loads(beside.read_text()) != config:
        raise PlaygroundError(f"{beside} describes another network than this preset's: {config}")
    state = load_file(str(weights))
    style.build(config).load_state_dict(state, strict=True)  # refuses tensors of another network, with names
    return state


def pieces(preset, started_at):
    """The warm starts a run that began at `started_at` was trained with, for its card: the preset's up to
    that step (the last one being this run's own start)."""
    if not started_at:
        return []
    known = [w for w in preset["warm_starts"] if w["step"] < started_at]
    return known + [next((w for w in preset["warm_starts"] if w["step"] == started_at),
                         dict(step=started_at, source="weights given on the command line"))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 parents=[loop.common_parser(seed=0)])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="starry-night")
    ap.add_argument("--no-finish", action="store_true", help="train only; do not write weights/ or the card")
    ap.add_argument("--warm-start", type=Path, metavar="WEIGHTS", help="fine-tune: start a fresh run at --from-step "
                    "from these weights (a model.safetensors, or a folder holding one) with a fresh optimiser")
    ap.add_argument("--from-step", type=int, help="the step a warm start starts at (default: the preset's last "
                    "warm start)")
    ap.add_argument("--score", type=Path, metavar="CHECKPOINT", help="score a run's checkpoint (or weights: a "
                    "model.safetensors or its folder) as `python -m playground.evaluate` scores the shipped network, "
                    "and print the figures; no training")
    args = ap.parse_args(argv)
    preset = PRESETS[args.preset]
    loop.setup(args)
    if args.score:
        if args.preset in DESIGN:
            ap.error("--score takes a fast network's preset: a loss network has no checkpoints")
        step, metrics = score(preset, args.score)
        where = "weights" if step is None else f"step {step}"
        print(f"{args.score} ({where}): " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
        return
    if args.preset in DESIGN:
        model_id, config = preset["model_id"], preset["config"]
        net = make_loss_network(config)
        draft = card_template(args.preset, config, loop.count_params(net), command=COMMAND.format(preset=args.preset))
        card = loop.finish(net, config, model_id, {}, draft)
        print(f"wrote weights/{model_id}/ and {card}; now run python -m playground.evaluate {model_id} --write")
        return
    steps, batch_size, lr, run_dir = loop.run_settings(args, preset, preset["model_id"])
    config = dict(preset["config"], style=preset["style"])
    net = style.build(config)
    loss_net = make_loss_network().requires_grad_(False)
    targets = style.style_targets(loss_net, style.to_float(style.fit(style.style_image(preset["style"]),
                                                                     config["size"])))
    photos, names = training_photos(preset["scale"])
    print(f"{len(photos)} training photos: {', '.join(names)}", flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 if s < preset["lr_drop"] else 0.3)
    trainer = loop.Loop(run_dir, {"net": net}, {"net": opt}, schedulers={"net": sched}, steps=steps,
                        ema={"net": preset["ema"]} if preset["ema"] else None, ema_from={"net": preset["ema_from"]},
                        seed=args.seed, log_every=25, sample_every=250, checkpoint_every=50, resume=args.resume)
    if args.warm_start and trainer.step:
        print(f"resuming {run_dir} at step {trainer.step}: --warm-start applies to a fresh run only", flush=True)
    elif args.warm_start:
        first = args.from_step if args.from_step is not None else (preset["warm_starts"] or [{}])[-1].get("step")
        if first is None:
            ap.error("--warm-start needs --from-step: this preset names no warm start")
        trainer.warm_start({"net": warm_weights(args.warm_start, config_at(config, preset["warm_starts"], first - 1))},
                           first)
        print(f"warm start at step {first} from {args.warm_start}", flush=True)
    w = preset["weights"]
    aligned = None
    if term_on(w, preset["ramps"], preset["starts"], "distil_weight", trainer.step, steps):
        aligned = optimised_targets(loss_net, photos, names, style.fit(style.style_image(preset["style"]), config["size"]),
                                    run_dir / "targets")
    batches = loop.Batches(torch.arange(len(photos) * 16), batch_size, args.seed,
                           crops(photos, preset["crop"], args.seed, aligned))
    branches = loss_net.content_branches()
    held = [style.fit(im, 256) for n, im in style.content_images().items() if n in style.HELD_OUT]

    def follow(step):
        """Put the network's changeable settings at `step` (a warm start may have changed them) on both networks;
        -> the config at `step`."""
        now = config_at(config, preset["warm_starts"], step)
        for key in CHANGEABLE.keys() & now.keys():
            for module in (net, shipped()):
                setattr(module, key, float(now[key]))
        return now

    def step_fn(batch, step):
        follow(step)
        x, target = batch if aligned is not None else (batch, None)
        out = trainer.modules["net"](x)
        feats = loss_net(out)
        with torch.no_grad():
            c_feats = loss_net(x)
        s, c, tv = style.style_loss(feats, targets), style.content_loss(feats, c_feats, branches), style.tv_loss(out)
        structure, lum = style.structure_loss(out, x), style.luminance_content_loss(loss_net, out, x)
        now = weights_at(w, preset["ramps"], step, preset["starts"])
        loss = (now["style_weight"] * s + now["content_weight"] * c + now["tv_weight"] * tv
                + now["structure_weight"] * structure + now["luminance_weight"] * lum)
        distil = (out - target).abs().mean() if target is not None else torch.zeros(())
        ssim = style.ssim_loss(out, x) if now["ssim_weight"] else torch.zeros(())
        loss = loss + now["distil_weight"] * distil + now["ssim_weight"] * ssim
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), "style": s.detach(), "content": c.detach(), "structure": structure.detach(),
                "luminance": lum.detach(), "distil": distil.detach(),
                "ssim": ssim.detach()}

    def shipped():
        """The network that is sampled and shipped: the EMA of the weights when the preset keeps one."""
        return trainer.ema["net"] if preset["ema"] else net

    def sample_fn(step):
        follow(step - 1)  # the network as trained up to `step`
        return make_grid([style.stylise(shipped(), h) for h in held], nrow=len(held))

    start = time.perf_counter()
    trainer.run(step_fn, batches, sample_fn)
    if loop.is_main() and not args.no_finish:
        trained = follow(trainer.step - 1)
        final = shipped().eval()
        draft = card_template(args.preset, trained, loop.count_params(net), command=COMMAND.format(preset=args.preset),
                              lr_drop=preset["lr_drop"], crop=preset["crop"], scale=preset["scale"],
                              ramps=preset["ramps"], ema=preset["ema"], ema_from=preset["ema_from"],
                              starts=preset["starts"], note=preset["note"], **w)
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), names,
                       pieces(preset, trainer.started_at), trained, bool(w["distil_weight"]), lr=lr,
                       batch_size=batch_size, steps=steps, seed=args.seed)
        card = loop.finish(final, trained, preset["model_id"], {}, draft, run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card} {loop.trained_for(trainer, start)}; now run "
              f"python -m playground.evaluate {preset['model_id']} --write", flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
