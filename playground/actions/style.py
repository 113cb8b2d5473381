"""What the Style transfer tab does, as plain functions: validated inputs in, images and numbers out.

Content and style come from an upload (through playground.images.normalize_image) or by name from the
bundled images. Three kinds of method: the optimisation (a generator that yields the picture and the
losses every few iterations), a fast network (one pass) and the colour baselines.
"""
import time

import numpy as np
import torch

from .. import registry, results, style_images, validate
from ..errors import InputError
from ..families import style as family
from ..images import heatmap, normalize_image, zoom
from .common import about, family_ids, pick_model, stopped_by

RESOLUTIONS = (128, 192, 256, 384, 512)
INITS = ("content", "noise", "colour-transferred content")
BASELINES = ("Reinhard colour transfer", "histogram matching")
OPTIMISATION = "optimisation"
FAST = "fast network"
MAX_ITERATIONS = 500
MAX_SECONDS = 300  # an optimisation stops after this long, whatever the iterations
EVERY = 5
GRAM_SIZE = 192  # pixels a Gram heatmap is enlarged to


def _kind(model_id):
    """'loss' or 'transform', from the card id (style-loss-* or style-fast-*), without loading weights."""
    return "loss" if model_id.startswith("style-loss-") else "transform"


def loss_networks():
    return [i for i in family_ids(family) if _kind(i) == "loss"]


def fast_networks():
    return [i for i in family_ids(family) if _kind(i) == "transform"]


def default_fast(style_name):
    """The fast network trained on `style_name` if there is one, else the first: the tab's first pick."""
    ids = fast_networks()
    own = style_images.fast_id(style_name) if style_name else None
    return own if own in ids else (ids[0] if ids else None)


def style_names():
    return list(style_images.STYLES)


def first_fast():
    """The fast network the tab opens on: the one trained on the first style, else the first there is."""
    names = style_names()
    return default_fast(names[0] if names else None)


def content_names():
    return style_images.content_names()


def methods():
    """The compare mode's choices: the optimisation on each loss network, each fast network, the baselines."""
    return ([f"{OPTIMISATION} ({i})" for i in loss_networks()] + [f"{FAST} ({i})" for i in fast_networks()]
            + list(BASELINES))


def _resolution(value):
    return validate.choice(value, RESOLUTIONS, name="Resolution")


def _flag(value, name):
    return validate.choice(value, [True, False], name=name)


def picture(upload, name, names, what, resolution):
    """An upload (which wins) or a bundled image by name -> uint8 HxWx3, longer side `resolution`.
    An image so elongated that its shorter side would fall below the networks' least side is refused."""
    resolution = _resolution(resolution)
    if upload is not None:
        image = normalize_image(upload, mode="RGB")
    else:
        name = validate.choice(name, names, name=f"{what.capitalize()} image")
        image = style_images.style_image(name) if what == "style" else style_images.content_image(name)
    image = np.asarray(image)
    h, w = image.shape[:2]
    if min(family.fitted_shape(h, w, resolution)) < family.MIN_SIDE:
        larger = [r for r in RESOLUTIONS if min(family.fitted_shape(h, w, r)) >= family.MIN_SIDE]
        hint = f"choose a resolution of {larger[0]} or more, or " if larger else ""
        raise InputError(f"The {what} image is {w}x{h} pixels: at {resolution} pixels on its longer side its shorter "
                         f"side would be under {family.MIN_SIDE}, and style transfer needs at least "
                         f"{family.MIN_SIDE} pixels on each side. Please {hint}crop it closer to a square.")
    return family.fit(image, resolution)


def _big_enough(net, model_id, **images):
    """Images a network can take (families.style.min_side pixels on each side at least), else a clear message."""
    least = family.min_side(net)
    for what, image in images.items():
        h, w = np.shape(image)[:2]
        if min(h, w) < least:
            raise InputError(f"The {what} image is {w}x{h} pixels; {model_id} needs at least {least} pixels on "
                             "each side.")


def pair(content_upload, content_name, style_upload, style_name, resolution):
    """(content, style) pictures at the resolution (the style at the same longer side)."""
    return (picture(content_upload, content_name, content_names(), "content", resolution),
            picture(style_upload, style_name, style_names(), "style", resolution))


def settings(style_weight, content_weight, tv_weight, iterations, init, preserve_colour, seed):
    """The optimisation's validated settings, as keyword arguments of families.style.optimise."""
    return dict(
        style_weight=validate.number(style_weight, name="Style weight", minimum=0, maximum=1e5),
        content_weight=validate.number(content_weight, name="Content weight", minimum=0, maximum=100),
        tv_weight=validate.number(tv_weight, name="Total variation weight", minimum=0, maximum=10),
        iterations=validate.number(iterations, name="Iterations", minimum=1, maximum=MAX_ITERATIONS, step=1,
                                   integer=True),
        init=validate.choice(init, INITS, name="Initialisation"),
        preserve_colour=_flag(preserve_colour, "Preserve colour"), seed=validate.seed(seed))


def _finished(rows, kwargs):
    """Whether an optimisation ran all its iterations (not cut short by MAX_SECONDS): only then is it cached."""
    return bool(rows) and rows[-1]["iteration"] >= int(kwargs.get("iterations", 0))


@results.cached("style.optimise", keep_if=lambda value, args, kwargs: _finished(value[1], kwargs))
def optimise(content, style, loss_id, should_stop=None, **kwargs):
    """Stream the optimisation: yields (uint8 image, loss rows so far) every few iterations. Each row is
    {iteration, seconds, term, weighted} for the style, content and TV terms (weighted by their weights).
    should_stop (the tab's Stop) is asked after every yield: the run ends there, its last picture kept."""
    loss_id = pick_model(loss_id, loss_networks(), "loss network")
    kwargs = settings(**kwargs)
    rows = []
    with registry.using(loss_id) as net:
        _big_enough(net, loss_id, content=content, style=style)
        steps = family.optimise(net, content, style, every=EVERY, deadline=time.monotonic() + MAX_SECONDS, **kwargs)
        for image, losses in steps:
            for term, weight in (("style", "style_weight"), ("content", "content_weight"), ("tv", "tv_weight")):
                rows.append({"iteration": losses["iteration"], "seconds": round(losses["seconds"], 2),
                             "term": term, "weighted": losses[term] * kwargs[weight]})
            yield image, rows
            if stopped_by(should_stop):
                steps.close()
                return


@results.cached("style.fast")
def fast(content, model_id, strength=1.0, preserve_colour=False):
    """One pass of a fast network, blended with the content by `strength` (0: the photo, 1: the network's)."""
    model_id = pick_model(model_id, fast_networks(), "fast style network")
    strength = validate.number(strength, name="Strength", minimum=0, maximum=1, step=0.05)
    preserve_colour = _flag(preserve_colour, "Preserve colour")
    with registry.using(model_id) as net:
        _big_enough(net, model_id, content=content)
        return family.stylise(net, content, strength, preserve_colour)


def _trained_on(model_id):
    model_id = pick_model(model_id, fast_networks(), "fast style network")
    with registry.using(model_id) as net:
        return net.style


def network_style(model_id, resolution):
    """The style a fast network was trained on, as a picture at the resolution (None for an unknown style)."""
    name = _trained_on(model_id)
    return (name, picture(None, name, style_names(), "style", resolution)) if name in style_names() else (name, None)


def network_style_name(model_id):
    """The bundled style a fast network was trained on, for the tab's Style image list (None for another)."""
    name = _trained_on(model_id)
    return name if name in style_names() else None


def baseline(content, style, method):
    """Reinhard colour transfer or histogram matching: colour statistics only, no strokes."""
    method = validate.choice(method, BASELINES, name="Baseline")
    return family.reinhard(content, style) if method == BASELINES[0] else family.histogram_match(content, style)


def run_method(method, content, style, settings_kwargs):
    """One of methods() to completion -> (uint8 image, seconds)."""
    method = validate.choice(method, methods(), name="Method")
    start = time.perf_counter()
    if method in BASELINES:
        image = baseline(content, style, method)
    elif method.startswith(FAST):
        image = fast(content, method[len(FAST) + 2:-1])
    else:
        image = None
        for image, _ in optimise(content, style, method[len(OPTIMISATION) + 2:-1], **settings_kwargs):
            pass
    return image, time.perf_counter() - start


_evaluators = {}


def evaluator():
    """(id, network) of the evaluation network that scores every method alike: the reference loss network's
    design with another seed (families.style.eval_net), which no optimisation sees; (None, None) when no
    random loss network is installed. Built once per registry folder (its calibration reads the photos)."""
    ids = loss_networks()
    ref = family.REFERENCE_LOSS if family.REFERENCE_LOSS in ids else next(
        (i for i in ids if not registry.default().card(i).is_hub), None)
    if ref is None:
        return None, None
    key = (ref, str(registry.default().folder(ref)))
    if key not in _evaluators:
        with registry.using(ref) as net:
            if not isinstance(net, family.LossNet):
                return None, None
            _evaluators[key] = family.eval_net(net)
    return ref, _evaluators[key]


def compare(method_a, method_b, content, style, settings_kwargs):
    """Two methods (or one method on two loss networks) on the same pair -> [(image, seconds, scores)] * 2,
    scores being the evaluation network's style and content loss and the SSIM to the content (or None)."""
    settings(**settings_kwargs)  # checked before either method runs, whichever they are
    runs = [run_method(m, content, style, settings_kwargs) for m in (method_a, method_b)]
    _, net = evaluator()
    return [(image, seconds, None if net is None else family.scores(net, image, content, style))
            for image, seconds in runs]


def compare_text(method_a, method_b, results):
    """Markdown for the two results of compare(): each one's seconds and scores, then right minus left."""
    ref, _ = evaluator()
    lines = []
    for side, method, (_, seconds, score) in zip(("Left", "Right"), (method_a, method_b), results):
        numbers = f": eval style loss {score['style']:.4g}, SSIM {score['ssim']:.3f}" if score else ""
        lines.append(f"**{side}:** {method}, {seconds:.2f} s{numbers}.")
    (_, _, a), (_, _, b) = results
    if a and b:
        ratio = f" (x{b['style'] / a['style']:.2f})" if a["style"] > 0 else ""
        lines.append(f"**Right - left:** eval style loss {b['style'] - a['style']:+.4g}{ratio}, SSIM "
                     f"{b['ssim'] - a['ssim']:+.3f}. Scored on an evaluation network ({ref}'s design with another "
                     "seed, which no optimisation sees): a lower style loss is closer to the style image's Gram "
                     "matrices, a higher SSIM (of the luminance) keeps more of the photo's layout.")
    return "\n\n".join(lines)


def signed_sqrt(values):
    """sign(x) * sqrt(|x|): a colour scale on which a few large Gram entries no longer hide the rest."""
    v = np.asarray(values, np.float64)
    return np.sign(v) * np.sqrt(np.abs(v))


def grams(content, style, result, loss_id):
    """What style is to the network: Gram matrices of style, content and result at the finest and the
    coarsest style branch, as heatmaps of the signed square root of each entry, on one scale per branch
    -> [(uint8 image, caption)]."""
    loss_id = pick_model(loss_id, loss_networks(), "loss network")
    pictures = [("style", style), ("content", content)] + ([("result", result)] if result is not None else [])
    out = []
    with registry.using(loss_id) as net, torch.no_grad():
        _big_enough(net, loss_id, **dict(pictures))
        names, branches = net.names(), net.style_branches()
        feats = {who: net(family.to_float(np.asarray(img))) for who, img in pictures}
        for branch in (branches[0], branches[-1]):
            mats = {who: signed_sqrt(family.gram(f[branch])[0].numpy()) for who, f in feats.items()}
            top = max(float(np.abs(m).max()) for m in mats.values())
            low = min(0.0, min(float(m.min()) for m in mats.values()))
            for who, m in mats.items():
                out.append((zoom(heatmap(m, vmax=top, vmin=low), GRAM_SIZE, colour=True), f"{who}: {names[branch]}"))
    return out


def bench_cases():
    """The first click's fast network at 256 and 512, and ten optimisation iterations at 256 (for
    playground.bench)."""
    photo = style_images.content_image("astronaut")
    cases = {}
    first = first_fast()
    for size in (256, 512):
        for model_id in [first] if first else []:
            image = family.fit(photo, size)
            cases[f"{model_id} {size}px"] = lambda i, m=model_id, im=image: fast(im, m)
    loss = loss_networks()[:1]
    if loss:
        c, s = family.fit(photo, 256), family.fit(family.style_image("starry_night"), 256)

        def ten_iterations(i):
            for _ in optimise(c, s, loss[0], style_weight=1e3, content_weight=1.0, tv_weight=1e-2, iterations=10,
                              init="content", preserve_colour=False, seed=i):
                pass
        ten_iterations.max_runs = 3
        cases[f"{loss[0]} 10 iterations 256px"] = ten_iterations
    return cases


# What the tab shows: one call per event, the results chained and put into words here (the tab only wires).

def status_text(rows, iterations, left=False):
    """The optimisation's last loss rows as one status line ("" before the first); left=True adds an estimate
    of the time left, from the seconds per iteration so far."""
    if not rows:
        return ""
    last = rows[-1]
    terms = {r["term"]: r["weighted"] for r in rows[-3:]}
    done, total = last["iteration"], int(iterations)
    estimate = f", {about(last['seconds'] / done * (total - done))} left" if left and 0 < done < total else ""
    return (f"Iteration {done} of {total} after {last['seconds']:.1f} s{estimate}: weighted style "
            f"{terms['style']:.3g}, content {terms['content']:.3g}, TV {terms['tv']:.3g}.")


def optimise_shown(content_upload, content_name, style_upload, style_name, resolution, loss_id, preserve_colour,
                   style_weight, content_weight, tv_weight, iterations, init, seed, should_stop=None):
    """Stream the optimisation on the pair: yields (content, style, image or None, loss rows, status line).
    A run that Stop (should_stop) ended says "Stopped at iteration k of N" and keeps its last picture."""
    content, style = pair(content_upload, content_name, style_upload, style_name, resolution)
    yield content, style, None, [], "Starting..."
    image, rows = None, []
    for image, rows in optimise(content, style, loss_id, style_weight=style_weight, content_weight=content_weight,
                                tv_weight=tv_weight, iterations=iterations, init=init,
                                preserve_colour=preserve_colour, seed=seed, should_stop=should_stop):
        yield content, style, image, rows, status_text(rows, iterations, left=True)
    if stopped_by(should_stop) and rows and rows[-1]["iteration"] < int(iterations):
        text = status_text(rows, iterations)
        yield content, style, image, rows, f"Stopped at {text[0].lower()}{text[1:]}"
        return
    yield content, style, image, rows, "Done. " + status_text(rows, iterations)


def fast_shown(content_upload, content_name, style_upload, style_name, resolution, preserve_colour, model_id,
               strength):
    """A fast network on the pair: (content, the style it paints, result, sentence, result)."""
    content, style = pair(content_upload, content_name, style_upload, style_name, resolution)
    image = fast(content, model_id, strength, preserve_colour)
    trained_on, picture_ = network_style(model_id, resolution)
    text = f"{model_id}, strength {strength:g}."
    if picture_ is None:
        return content, style, image, text, image
    return content, picture_, image, f"{text} It paints the style it was trained on: {trained_on}.", image


def baseline_shown(content_upload, content_name, style_upload, style_name, resolution, method):
    """A colour baseline on the pair: (content, style, result, sentence, result)."""
    content, style = pair(content_upload, content_name, style_upload, style_name, resolution)
    image = baseline(content, style, method)
    return content, style, image, f"{method}: colour statistics only.", image


def compare_shown(content_upload, content_name, style_upload, style_name, resolution, method_a, method_b,
                  preserve_colour, style_weight, content_weight, tv_weight, iterations, init, seed):
    """Two methods on the pair: (content, style, left result, right result, the comparison in words)."""
    content, style = pair(content_upload, content_name, style_upload, style_name, resolution)
    opts = dict(style_weight=style_weight, content_weight=content_weight, tv_weight=tv_weight, iterations=iterations,
                init=init, preserve_colour=preserve_colour, seed=seed)
    results = compare(method_a, method_b, content, style, opts)
    return content, style, results[0][0], results[1][0], compare_text(method_a, method_b, results)


def grams_shown(content_upload, content_name, style_upload, style_name, resolution, loss_id, last):
    """The Gram matrices of the pair and of the last result (dropped when made from another pair or resolution)."""
    content, style = pair(content_upload, content_name, style_upload, style_name, resolution)
    if last is not None and last.shape != content.shape:
        last = None  # made from another pair or resolution
    return grams(content, style, last, loss_id)
