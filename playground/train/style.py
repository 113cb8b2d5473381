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
from . import files, loop

PRESETS = files.presets("style")  # presets/style/<name>.json: a loss network's config, or a fast network's recipe
LOSS_CONFIG = PRESETS["loss-random"]["config"]
WIDE_CONFIG = PRESETS["loss-random-wide"]["config"]
# A fast preset's schedule, beside its loss weights:
# ramps: [[weight, first step, last step, factor]]: that loss weight rises linearly to factor times its value
# between the two steps (a step in the weight when they are equal; factor 0 switches the term off); a fifth
# element, if any, ends the draft's words for it.
# starts: {weight: step}: that term is off before the step.
# warm_starts: [{step, source[, before]}]: how the shipped weights were trained in pieces (`--warm-start`), for the
# card; `before` holds the config values the network had until that step where they differ (only CHANGEABLE keys).
COMMAND = "python -m playground.train.style --preset {preset} --threads 1"
FRACTION = {1: "the full", 2: "half", 4: "a quarter", 8: "an eighth"}


def is_loss(preset):
    """Whether a preset (its name) makes a loss network, which is built and calibrated, not trained."""
    return PRESETS[preset]["config"]["kind"] == "loss"


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
    template = files.draft(PRESETS[preset]["draft"])
    if is_loss(preset):
        reach = max(config["kernels"]) * max(config["scales"])
        values = dict(seed=config["seed"], eval_seed=LOSS_CONFIG["seed"] + style.EVAL_SEED_OFFSET, reach=reach,
                      kernels_text=" and ".join(", ".join(f"{k}x{k}" for k in config["kernels"]).rsplit(", ", 1)))
        return template.format(
            model_id=PRESETS[preset]["model_id"], title=PRESETS[preset]["title"], params=params, filters=config["filters"], reach_text=f"{max(config['kernels'])}x{max(config['kernels'])}",
            coarsest_text=FRACTION[max(config["scales"])],
            scales_text=", ".join(str(s) for s in config["scales"]), branches=len(config["scales"]) * len(config["kernels"]),
            content_text=", ".join(f"1/{s}" for s in config["content_scales"]), held_out=held_out, **values, **kw)
    name = config["style"]
    _, style_license, credit = style.STYLES[name]
    return template.format(**_recipe_text(config, kw),
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
        if is_loss(args.preset):
            ap.error("--score takes a fast network's preset: a loss network has no checkpoints")
        step, metrics = score(preset, args.score)
        where = "weights" if step is None else f"step {step}"
        print(f"{args.score} ({where}): " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
        return
    if is_loss(args.preset):
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
                              starts=preset["starts"], note=preset.get("note", ""), **w)
        run = run_text(trainer.elapsed / 60, torch.get_num_threads(), names,
                       pieces(preset, trainer.started_at), trained, bool(w["distil_weight"]), lr=lr,
                       batch_size=batch_size, steps=steps, seed=args.seed)
        card = loop.finish(final, trained, preset["model_id"], {}, draft, run=run)
        print(f"wrote weights/{preset['model_id']}/ and {card} {loop.trained_for(trainer, start)}; now run "
              f"python -m playground.evaluate {preset['model_id']} --write", flush=True)
    trainer.close()


if __name__ == "__main__":
    main()
