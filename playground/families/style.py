"""Style transfer: a random-weight loss network, Gatys optimisation, Johnson fast networks, colour baselines.

No pretrained ImageNet network exists offline, so the loss network is a single layer of random
convolutions applied to an image pyramid (Ustyuzhaninov et al. 2017: random filters carry texture
statistics). Its "style" is the Gram matrix of each branch's channels (Gatys et al. 2016); its
"content" is the coarser branches' feature maps. The network is seeded, its per-channel scales are
calibrated on natural images, and it ships as safetensors like any model (model_cards/style-loss-random.md).

Three kinds of model share this family, told apart by config["kind"]:
  "loss"      LossNet: the loss network (used by the optimisation and to train fast networks)
  "vgg19"     style_vgg.VGG19Loss: the classic loss network, ImageNet VGG-19 from the hub (style-loss-vgg19)
  "transform" TransformNet: a Johnson et al. 2016 feed-forward network trained for one style
A loss network's forward returns a list of feature maps; names(), style_branches() and content_branches()
index that list.

Images are uint8 HxWx3 outside and float (N,3,H,W) in [0, 1] inside.

The loss network and its terms live in families/style_loss.py, the colour baselines in
families/style_colour.py, the hub VGG-19 in families/style_vgg.py; this module re-exports the first two.
"""
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .. import data, registry
from ..cards import REPO_ROOT
from ..errors import InputError
from ..images import make_grid
from ..quality import luminance, ssim
from ..registry import load_weights
from ..style_images import (HELD_OUT, STYLES, content_image, content_images, content_names, fast_id,  # noqa: F401
                            style_image)
from . import style_vgg
from .style_colour import histogram_match, keep_colours, luminance_only, match_luminance, reinhard  # noqa: F401
from .style_loss import (LossNet, content_loss, fit, fitted_shape, gram, grey, luminance_content_loss,  # noqa: F401
                         ssim_loss, structure_loss, style_loss, style_targets, to_float, to_image, tv_loss)

INITS = ("content", "noise", "colour-transferred content")
EVAL_SEED_OFFSET = 1000  # the evaluation network: the same design, another seed
DEFAULTS = dict(style_weight=1e3, content_weight=1.0, tv_weight=1e-2, iterations=100, init="content")
EVAL_SIZE = 256
SCORED_STYLES = ("starry_night",)  # the optimisation is measured against these (about 100 s per photo when loaded)
HUB_PATTERNS = ["config.json", "model.safetensors"]  # a hub loss network: timm's config and weights, nothing else
REFERENCE_LOSS = "style-loss-random"  # its evaluation network scores every style model
MIN_SIDE = 40  # pixels on each side every shipped network takes (min_side: style-loss-random-wide's is 40)


# ---------------------------------------------------------------------------------------------------
# optimisation (Gatys et al. 2016)
def initial_image(content, style, init, seed):
    if init == "content":
        return to_float(content)
    if init == "colour-transferred content":
        return to_float(reinhard(content, style))
    if init == "noise":
        g = torch.Generator().manual_seed(int(seed))
        return 0.5 + 0.1 * torch.randn((1, 3) + content.shape[:2], generator=g)
    raise InputError(f"Initialisation must be one of {', '.join(INITS)}; got {init!r}.")


def optimise(net, content, style, *, style_weight=1e3, content_weight=1.0, tv_weight=1e-2, iterations=100,
             init="content", preserve_colour=False, seed=0, every=5, deadline=None):
    """Gatys optimisation with L-BFGS. Yields (uint8 image, losses dict) every `every` iterations and
    at the end. content and style are uint8 HxWx3 at the working resolution; `deadline` (a
    time.monotonic() value) stops early. losses: iteration, style, content, tv, total, seconds."""
    original = content
    if preserve_colour:
        content, style = luminance_only(content), match_luminance(style, content)
    targets = style_targets(net, to_float(style))
    c = to_float(content)
    with torch.no_grad():
        c_feats = net(c)
    branches = net.content_branches()
    x = initial_image(content, style, init, seed).clone().requires_grad_(True)
    lbfgs = lambda: torch.optim.LBFGS([x], lr=1, max_iter=every, history_size=20, line_search_fn="strong_wolfe")  # noqa: E731
    opt, state, start = lbfgs(), {}, time.perf_counter()
    good, good_state = x.detach().clone(), {}

    def closure():
        opt.zero_grad()
        feats = net(x)
        s, cl, tv = style_loss(feats, targets), content_loss(feats, c_feats, branches), tv_loss(x)
        total = style_weight * s + content_weight * cl + tv_weight * tv
        total.backward()
        state.update(style=s.item(), content=cl.item(), tv=tv.item(), total=total.item())
        return total

    done = 0
    while done < iterations:
        opt.param_groups[0]["max_iter"] = min(every, iterations - done)
        opt.step(closure)
        done += opt.param_groups[0]["max_iter"]
        with torch.no_grad():
            if not (torch.isfinite(x).all() and math.isfinite(state["total"])):
                # L-BFGS can blow up to NaN once the loss is flat (a near-zero curvature pair): go back to the
                # last finite image and start a fresh L-BFGS history from there
                x.copy_(good)
                state, opt = dict(good_state), lbfgs()
                if not state:  # the first step failed: the losses of the starting image
                    with torch.enable_grad():
                        closure()
            x.clamp_(0, 1)
            good, good_state = x.detach().clone(), dict(state)
        image = to_image(x)
        if preserve_colour:
            image = keep_colours(image, original)
        yield image, dict(state, iteration=done, seconds=time.perf_counter() - start)
        if deadline is not None and time.monotonic() > deadline:
            return


def run(net, content, style, **kwargs):
    """The last image and losses of optimise()."""
    image = losses = None
    for image, losses in optimise(net, content, style, **kwargs):
        pass
    return image, losses


# ---------------------------------------------------------------------------------------------------
# fast networks (Johnson et al. 2016)
class _Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"), nn.InstanceNorm2d(c, affine=True),
                                  nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"),
                                  nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


def _conv(c_in, c_out, k, stride=1):
    return [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, padding_mode="reflect"),
            nn.InstanceNorm2d(c_out, affine=True), nn.ReLU()]


class TransformNet(nn.Module):
    """conv k x k, two stride-2 convs, residual blocks, two (nearest upsample + conv), conv k x k, sigmoid;
    with `detail`, plus that much of the photo's fine luminance structure (photo_detail).

    (A first version added the network's output to logit(content) so that it started as the identity;
    it learned about ten times more slowly: runs/style-explore, noted in the card.)
    """

    def __init__(self, channels=(16, 32, 64), res_blocks=3, edge_kernel=9, style="", size=256, detail=0.0):
        super().__init__()
        a, b, c = channels
        self.style, self.size, self.detail = style, int(size), float(detail)
        layers = _conv(3, a, edge_kernel) + _conv(a, b, 3, 2) + _conv(b, c, 3, 2)
        layers += [_Res(c) for _ in range(res_blocks)]
        layers += [nn.Upsample(scale_factor=2)] + _conv(c, b, 3) + [nn.Upsample(scale_factor=2)] + _conv(b, a, 3)
        last = nn.Conv2d(a, 3, edge_kernel, padding=edge_kernel // 2, padding_mode="reflect")
        nn.init.normal_(last.weight, std=0.01)
        self.body = nn.Sequential(*layers, last)

    def forward(self, x):
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        y = torch.sigmoid(self.body(F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x)[..., :h, :w])
        if not self.detail:
            return y
        y = y + self.detail * photo_detail(x)  # the photo's fine luminance structure, which the body need not redraw
        return y if self.training else y.clamp(0, 1)


def photo_detail(x):
    """The fine luminance structure of (N,3,H,W) images: luminance minus its 5x5 box blur, on three channels."""
    g = grey(x)[:, :1]
    return (g - F.avg_pool2d(F.pad(g, (2, 2, 2, 2), mode="reflect"), 5, 1)).expand(-1, 3, -1, -1)


@torch.no_grad()
def stylise(model, content, strength=1.0, preserve_colour=False):
    """One pass of a fast network over uint8 HxWx3; strength blends content (0) and result (1)."""
    x = to_float(content)
    out = to_image(model(x))
    if preserve_colour:
        out = keep_colours(out, content)
    if strength < 1:
        out = np.clip(np.rint(content * (1 - strength) + out * strength), 0, 255).astype(np.uint8)
    return out


def min_side(net):
    """The fewest pixels on each side of an image that a style network can take: reflect padding needs more
    rows than it pads (at every pyramid scale, and at a quarter size inside a fast network), and VGG-19's
    2x2 max-pools must leave a pixel at its deepest layer."""
    if isinstance(net, LossNet):
        return max(s * (k // 2 + 1) for s in net.scales for k in net.kernels)
    if isinstance(net, TransformNet):
        return max(8, net.body[0].kernel_size[0] // 2 + 1)
    return 2 ** sum(isinstance(m, nn.MaxPool2d) for m in net.features)  # style_vgg.VGG19Loss


# ---------------------------------------------------------------------------------------------------
# registry hooks
def build(config):
    config = dict(config)
    kind = config.pop("kind", "loss")
    if kind == "loss":
        return LossNet(**config)
    if kind == "vgg19":
        return style_vgg.VGG19Loss(**config)
    if kind == "transform":
        return TransformNet(**config)
    raise ValueError(f"unknown style model kind {kind!r}")


def load(folder):
    """Our folders (config.json with a kind, model.safetensors) as any model; a hub snapshot of timm's
    VGG-19 (its own config.json) through style_vgg, which reads only the convolutions it needs."""
    if style_vgg.is_timm_vgg19(folder):
        net = style_vgg.load_timm(folder)
        net.calibrate(calibration_images(style_vgg.CALIBRATION_SIZE))  # the channel scales, on the bundled photos
        return net
    return load_weights(folder, build)


def loss_config(net):
    return {"kind": "loss", "seed": net.seed, "scales": list(net.scales), "kernels": list(net.kernels),
            "filters": net.filters, "content_scales": list(net.content_scales)}


def eval_net(net):
    """The evaluation network: the same design as `net`, another seed, calibrated on the same images."""
    config = loss_config(net)
    config["seed"] = net.seed + EVAL_SEED_OFFSET
    other = build(config)
    other.calibrate(calibration_images())
    return other.eval().requires_grad_(False)


def calibration_images(size=128):
    """[0, 1] crops of the natural photos (not the held-out ones) for calibrating channel scales."""
    crops = []
    for name, image in sorted(data.natural_images().items()):
        if image.kind != "photo" or name in HELD_OUT:
            continue
        crops.append(to_float(_centre(fit(np.asarray(data.load_natural(name)), size * 2), size)))
    return torch.cat(crops)


def _centre(image, size):
    h, w = image.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return image[y:y + size, x:x + size]


def default_action(model, seed):
    """Stylise a 128x128 seeded noise picture (fast network) or compute its Gram matrices (loss network)."""
    g = torch.Generator().manual_seed(int(seed))
    x = torch.rand((1, 3, 128, 128), generator=g)
    with torch.no_grad():
        if isinstance(model, TransformNet):
            return model(x)
        return [gram(f) for f in model(x)]


# ---------------------------------------------------------------------------------------------------
# measuring (python -m playground.evaluate)
def scores(evaluator, result, content, style):
    """Style and content loss of `result` on the evaluation network, and SSIM (luminance) to the content."""
    with torch.no_grad():
        targets = style_targets(evaluator, to_float(style))
        feats, c_feats = evaluator(to_float(result)), evaluator(to_float(content))
        s = float(style_loss(feats, targets))
        c = float(content_loss(feats, c_feats, evaluator.content_branches()))
    return {"style": s, "content": c, "ssim": float(ssim(luminance(result), luminance(content))[0])}


def _pairs(quick):
    names = [n for n in content_names() if n in HELD_OUT][:2 if quick else None]
    return [(n, fit(content_image(n), EVAL_SIZE)) for n in names]


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows]))


def _loss_network():
    """The loss network the fast networks were trained with (the registry's style-loss-random); its
    evaluation network scores every style model, so that the cards' numbers compare across loss networks."""
    return registry.get_model(REFERENCE_LOSS)


def _is_loss(model):
    return not isinstance(model, TransformNet)


def _tag(net):
    """A name for a loss network's cached optimisations: seed<n> for style-loss-random's design."""
    if not isinstance(net, LossNet):
        return type(net).__name__.lower()
    design = (net.scales, net.kernels, (net.filters,), net.content_scales)
    if design == ((1, 2, 4), (3, 7), (64,), (2, 4)):
        return f"seed{net.seed}"
    return f"seed{net.seed}-" + "-".join("x".join(map(str, d)) for d in design)


def evaluate(model, card=None, quick=False):
    """Loss network: the optimisation (DEFAULTS) on the held-out photos against each style it is scored on.
    Fast network: one pass over the same photos, timed at 256 and 512, against the optimisation's numbers.
    Losses are measured on the evaluation network (another seed)."""
    evaluator = eval_net(_loss_network())
    out = {}
    if _is_loss(model):
        for style_name in SCORED_STYLES:
            sty = fit(style_image(style_name), EVAL_SIZE)
            rows, base = [], []
            for name, photo in _pairs(quick):
                image, seconds = optimised(model, name, style_name, 20 if quick else DEFAULTS["iterations"])
                rows.append(dict(scores(evaluator, image, photo, sty), seconds=seconds[-1], early=seconds[0]))
                base.append(scores(evaluator, reinhard(photo, sty), photo, sty))
            key = style_name.replace("_", "")
            out.update({f"opt_{key}_eval_style_loss": _mean(rows, "style"), f"opt_{key}_eval_content_loss":
                        _mean(rows, "content"), f"opt_{key}_ssim": _mean(rows, "ssim"),
                        f"opt_{key}_seconds_256": _mean(rows, "seconds"), f"opt_{key}_seconds_20_iterations_256":
                        _mean(rows, "early"), f"reinhard_{key}_eval_style_loss": _mean(base, "style"),
                        f"reinhard_{key}_ssim": _mean(base, "ssim")})
        x = torch.rand(1, 3, 256, 256, requires_grad=True)
        start = time.perf_counter()
        for _ in range(5):
            sum(f.mean() for f in model(x)).backward()
        out["seconds_per_loss_evaluation_256"] = (time.perf_counter() - start) / 5
        return out
    sty = fit(style_image(model.style), EVAL_SIZE)
    rows = [scores(evaluator, stylise(model, photo), photo, sty) for _, photo in _pairs(quick)]
    out.update(eval_style_loss=_mean(rows, "style"), eval_content_loss=_mean(rows, "content"), ssim=_mean(rows, "ssim"))
    for size in (256, 512):
        x = torch.rand(1, 3, size, size)
        with torch.no_grad():
            model(x)
            times = []
            for _ in range(3 if quick else 7):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
        out[f"seconds_{size}"] = float(np.median(times))
    if not quick:  # against the optimisation of the same photos on the loss network it was trained with
        loss_net = _loss_network()
        base = [scores(evaluator, optimised(loss_net, name, model.style, DEFAULTS["iterations"])[0], photo, sty)
                for name, photo in _pairs(quick)]
        out.update(optimisation_eval_style_loss=_mean(base, "style"), optimisation_ssim=_mean(base, "ssim"))
        out["style_loss_vs_optimisation"] = out["eval_style_loss"] / out["optimisation_eval_style_loss"]
        out["ssim_minus_optimisation"] = out["ssim"] - out["optimisation_ssim"]
    return out


METRIC_TEXT = {
    "eval_style_loss": "Gram (style) loss on the evaluation network, mean over the held-out photos",
    "eval_content_loss": "content loss on the evaluation network",
    "ssim": "SSIM of the luminance to the content photo (1 = unchanged)",
    "seconds_256": "seconds per 256x256 image (median, this machine's threads)",
    "seconds_512": "seconds per 512x512 image",
    "optimisation_eval_style_loss": "the optimisation's (style-loss-random, the tab's defaults, 1 thread) eval style loss"
                                    " on the same photos",
    "optimisation_ssim": "the optimisation's SSIM to the content",
    "style_loss_vs_optimisation": "eval style loss / the optimisation's (target: at most 1.5)",
    "ssim_minus_optimisation": "SSIM minus the optimisation's (target: 0 or more)",
    "seconds_per_loss_evaluation_256": "seconds for one forward and backward pass at 256x256",
}


def optimised(net, photo_name, style_name, iterations):
    """The optimisation (DEFAULTS) of a held-out photo at EVAL_SIZE on one thread -> (uint8 image, [seconds at
    iteration 20, seconds at the end]). Kept under runs/style-eval/ so that the fast networks' sheets reuse it."""
    folder = REPO_ROOT / "runs" / "style-eval"
    stem = folder / f"{_tag(net)}-{photo_name}-{style_name}-{iterations}"
    if stem.with_suffix(".png").is_file() and stem.with_suffix(".json").is_file():
        with Image.open(stem.with_suffix(".png")) as im:
            return np.asarray(im.convert("RGB")), json.loads(stem.with_suffix(".json").read_text())
    photo, sty = fit(content_image(photo_name), EVAL_SIZE), fit(style_image(style_name), EVAL_SIZE)
    early, threads = None, torch.get_num_threads()
    torch.set_num_threads(1)  # L-BFGS amplifies the last bits of float sums: 1 and 2 threads end in other pictures
    try:
        for image, losses in optimise(net, photo, sty, every=5, **dict(DEFAULTS, iterations=iterations)):
            early = losses["seconds"] if early is None and losses["iteration"] >= 20 else early
    finally:
        torch.set_num_threads(threads)
    seconds = [early if early is not None else losses["seconds"], losses["seconds"]]
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(stem.with_suffix(".png"))
    stem.with_suffix(".json").write_text(json.dumps(seconds))
    return image, seconds


def sheet(fast_model, loss_model, names, style_name, iterations=100):
    """Rows of content | style | optimisation | fast network | Reinhard, 256 px tiles (uint8)."""
    tiles = []
    sty = fit(style_image(style_name), EVAL_SIZE)
    for name in names:
        photo = fit(content_image(name), EVAL_SIZE)
        opt, _ = optimised(loss_model, name, style_name, iterations)
        row = [photo, sty, opt, stylise(fast_model, photo), reinhard(photo, sty)]
        tiles += [_square(t, EVAL_SIZE) for t in row]
    return make_grid(tiles, nrow=5)


def _square(image, size):
    """Centred on a white size x size tile."""
    out = np.full((size, size, 3), 255, np.uint8)
    h, w = image.shape[:2]
    y, x = (size - h) // 2, (size - w) // 2
    out[y:y + h, x:x + w] = image
    return out


def report(model, card, metrics, folder):
    """The card's Measured section; for a fast network also sheet.jpg (three held-out photos)."""
    rows = [f"| {k} | {v:.4g} | {METRIC_TEXT[k] if k in METRIC_TEXT else _metric_text(k)} |"
            for k, v in metrics.items()]
    text = [f"Measured by `python -m playground.evaluate {card.id} --write` on the held-out photos "
            f"({', '.join(HELD_OUT)}) at {EVAL_SIZE} px on the longer side, with the evaluation network "
            f"({REFERENCE_LOSS}'s design, seed +{EVAL_SEED_OFFSET}); seconds on the machine and threads of that run "
            "(a shared, loaded 2-core machine unless said otherwise).", "", "| metric | value | what it is |", "|---|---|---|", *rows]
    if isinstance(model, TransformNet):
        grid = sheet(model, _loss_network(), [n for n, _ in _pairs(False)][:3], model.style)
        Image.fromarray(grid).save(folder / "sheet.jpg", quality=88)
        text += ["", "Columns: content | style | optimisation (100 L-BFGS iterations, the tab's defaults) | this fast "
                 "network | Reinhard colour transfer.", "", f"![sheet](../weights/{card.id}/sheet.jpg)"]
    return "\n".join(text)


def _metric_text(key):
    what = {"opt": "optimisation (100 L-BFGS iterations)", "reinhard": "Reinhard colour transfer"}[key.split("_")[0]]
    measure = {"eval_style_loss": "eval-network style loss", "eval_content_loss": "eval-network content loss",
               "ssim": "SSIM to the content", "seconds_20_iterations_256": "seconds to the 20th iteration at 256 px (1 thread)",
               "seconds_256": "seconds per 256 px image (1 thread)"}
    tail = next(v for k, v in measure.items() if key.endswith(k))
    return f"{what} against {key.split('_')[1]}: {tail}"
