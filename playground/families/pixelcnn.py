"""Autoregressive pixel models: p(x) = prod_i p(x_i | x_1 .. x_{i-1}), one pixel at a time in raster order.

Two kinds, both giving each grey pixel's value a mixture of discretised logistics over its 256 values
(Salimans et al. 2017, PixelCNN++; the same distribution as the VAE decoder's, `vae.log_likelihood`),
so that -log2 p(x) / pixels is an exact code length in bits/dim, comparable with the VAE's bounds:

- "gated" (van den Oord et al. 2016, *Conditional Image Generation with PixelCNN Decoders*): a
  vertical stack sees the rows above, a horizontal stack the pixels to the left in the same row, with
  gated activations tanh(a) * sigmoid(b) and an optional class embedding in every gate. Its receptive
  field has no blind spot. pixelcnn-fashion is this kind, class-conditional.
- "masked" (van den Oord et al. 2016, *Pixel Recurrent Neural Networks*): a 7x7 convolution with mask
  A then 3x3 convolutions with mask B. Stacked masks leave a blind spot up and to the right of each
  pixel, which the Receptive field view shows. pixelcnn-masked-small is this kind.

A class-conditional model also learns "no class" (label dropout in training, as for classifier-free
guidance): label NULL gives its unconditional p(x) in one pass. Without a label, pixel_bits gives the
exact marginal over the classes (uniform prior), logsumexp_y log p(x | y) - log C, in C passes.

Sampling: `sample(..., fast=False)` runs the whole network once per pixel (784 passes for 28x28).
`fast=True` (gated models) runs the vertical stack once per row on the rows its output can see
(rows_seen above it), and then, pixel by pixel, each layer's horizontal stack (kernels one row high,
looking left only) at the current column alone, from the last few columns of its input, cached as
they are written (the caching idea of Ramachandran et al. 2017, *Fast Generation for Convolutional
Autoregressive Models*): the same sums for every output it uses, so the same seed gives the same
pixels. Both draw each pixel by inverting the softmax's CDF at a uniform number drawn for every
pixel up front from the seed.

Images are (N,H,W) uint8; networks see x / 127.5 - 1. Every random draw takes a seed.
"""
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .. import data, datasets, devices, ood
from ..errors import InputError
from ..images import make_grid
from . import vae
from .vae import log_likelihood
from . import protocol

LN2 = math.log(2)
NULL = -1  # the "no class" label of a class-conditional model
MAX_IMAGES = 64
EVAL_BATCH = 200
KINDS = ("gated", "masked")


# the masked PixelCNN ------------------------------------------------------------------------------
class MaskedConv2d(nn.Conv2d):
    """A k x k convolution that sees only the rows above and the pixels to the left (mask "A"),
    or those and the centre pixel (mask "B")."""

    def __init__(self, cin, cout, k, mask_type):
        super().__init__(cin, cout, k, padding=k // 2)
        mask = torch.ones_like(self.weight)
        mask[:, :, k // 2, k // 2 + (mask_type == "B"):] = 0
        mask[:, :, k // 2 + 1:] = 0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class MaskedPixelCNN(nn.Module):
    kind = "masked"

    def __init__(self, channels=32, layers=5, num_classes=0, image_size=28, mixtures=5, dataset=datasets.FASHION.key, **_):
        super().__init__()
        self.num_classes, self.image_size, self.dataset = num_classes, image_size, dataset
        self.first = MaskedConv2d(1, channels, 7, "A")
        self.convs = nn.ModuleList(MaskedConv2d(channels, channels, 3, "B") for _ in range(layers - 1))
        self.cond = nn.Embedding(num_classes + 1, channels) if num_classes else None
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(),
                                  nn.Conv2d(channels, 3 * mixtures, 1))

    def forward(self, x, y=None):
        h = self.first(x)
        if self.cond is not None:
            h = h + self.cond(y)[:, :, None, None]
        for conv in self.convs:
            h = h + conv(F.relu(h))
        return self.head(h)


# the gated PixelCNN -------------------------------------------------------------------------------
def _gate(a):
    x, g = a.chunk(2, 1)
    return torch.tanh(x) * torch.sigmoid(g)


class GatedLayer(nn.Module):
    """One gated layer. The first one (first=True) excludes the current row from the vertical stack
    and the current pixel from the horizontal one; later ones include them (of the layer below)."""

    def __init__(self, cin, c, k, first, num_classes):
        super().__init__()
        self.k, self.first = k, first
        self.v = nn.Conv2d(cin, 2 * c, (k // 2 + (not first), k))
        self.h = nn.Conv2d(cin, 2 * c, (1, k // 2 + (not first)))
        self.v2h = nn.Conv2d(2 * c, 2 * c, 1)
        self.out = nn.Conv2d(c, c, 1)
        self.cond_v = nn.Embedding(num_classes + 1, 2 * c) if num_classes else None  # the last: no class
        self.cond_h = nn.Embedding(num_classes + 1, 2 * c) if num_classes else None

    def vertical(self, v_in, y):
        """(the vertical pre-activation, which row r of the horizontal stack adds; the gated output)."""
        rows = v_in.shape[2]
        pre = self.v(F.pad(v_in, (self.k // 2, self.k // 2, self.k // 2, 0)))[:, :, :rows]
        gated = pre if self.cond_v is None else pre + self.cond_v(y)[:, :, None, None]
        return pre, _gate(gated)

    def row_base(self, v_pre, y):
        """What the horizontal stack adds at every column: v2h(the vertical pre-activation) (+ the class)."""
        base = self.v2h(v_pre)
        return base if self.cond_h is None else base + self.cond_h(y)[:, :, None, None]

    def horizontal(self, h_in, v_pre, y):
        cols = h_in.shape[3]
        a = self.h(F.pad(h_in, (self.k // 2, 0, 0, 0)))[..., :cols] + self.row_base(v_pre, y)
        out = self.out(_gate(a))
        return out if self.first else out + h_in

    def horizontal_at(self, window, base, h_in):
        """`horizontal` at one column: `window` is the h kernel's inputs there (N,Cin,1,width), `base` that
        column's row_base, `h_in` this layer's input at that column (the residual; unused by the first)."""
        out = self.out(_gate(self.h(window) + base))
        return out if self.first else out + h_in


class GatedPixelCNN(nn.Module):
    kind = "gated"

    def __init__(self, channels=64, layers=10, num_classes=10, image_size=28, first_kernel=7, kernel=3,
                 mixtures=5, dataset=datasets.FASHION.key, **_):
        super().__init__()
        self.num_classes, self.image_size, self.dataset = num_classes, image_size, dataset
        self.layers = nn.ModuleList(
            GatedLayer(1 if i == 0 else channels, channels, first_kernel if i == 0 else kernel, i == 0, num_classes)
            for i in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, 2 * channels, 1), nn.ReLU(),
                                  nn.Conv2d(2 * channels, 3 * mixtures, 1))

    def vertical_stack(self, x, y=None):
        """Every layer's vertical pre-activation: row r depends on the input's rows above r only."""
        pres, v = [], x
        for layer in self.layers:
            pre, v = layer.vertical(v, y)
            pres.append(pre)
        return pres

    def horizontal_stack(self, x, pres, y=None):
        """Mixture parameters (N,3K,rows,W) for the rows of x, given the vertical pre-activations of those rows."""
        h = x
        for layer, pre in zip(self.layers, pres):
            h = layer.horizontal(h, pre, y)
        return self.head(h)

    def forward(self, x, y=None):
        return self.horizontal_stack(x, self.vertical_stack(x, y), y)


def build(config):
    config = dict(config)
    kind = config.pop("kind", "gated")
    if kind not in KINDS:
        raise InputError(f"A PixelCNN is one of {', '.join(KINDS)}, not {kind!r}.")
    return (GatedPixelCNN if kind == "gated" else MaskedPixelCNN)(**config)


# inputs ------------------------------------------------------------------------------------------
def _device(model):
    return next(model.parameters()).device


def to_input(images, device):
    """uint8 (N,H,W) -> float (N,1,H,W) in [-1, 1]."""
    return torch.tensor(np.asarray(images), device=device).float().div(127.5).sub(1).unsqueeze(1)


def _images(model, images):
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    size = model.image_size
    if images.ndim != 3 or images.shape[1:] != (size, size) or len(images) == 0:
        raise InputError(f"This PixelCNN takes grey {size}x{size} images, not shape {images.shape}.")
    return images.astype(np.uint8, copy=False)


def _labels(model, labels, n):
    """A LongTensor of n labels (one label repeats, a list cycles; NULL is "no class"), or None for an
    unconditional model."""
    if not model.num_classes:
        if labels is not None:
            raise InputError("This PixelCNN is unconditional: it takes no class label.")
        return None
    seq = [labels] if isinstance(labels, (int, np.integer)) else list(labels if labels is not None else [])
    if not seq or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or
                      not (0 <= v < model.num_classes or v == NULL) for v in seq):
        raise InputError(f"Choose a class from 0 to {model.num_classes - 1} (or no class); got {labels!r}.")
    seq = [model.num_classes if v == NULL else int(v) for v in seq]
    return torch.tensor([seq[i % len(seq)] for i in range(n)], dtype=torch.long, device=_device(model))


def _count(n, maximum=MAX_IMAGES):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= maximum:
        raise InputError(f"The number of images must be a whole number from 1 to {maximum}, not {n!r}.")
    return int(n)


# likelihood --------------------------------------------------------------------------------------
@torch.no_grad()
def _pixel_nats(model, images, y):
    """-log p(x_i | x_<i [, y]) per pixel in nats, float64 (N,H,W)."""
    x = to_input(images, _device(model))
    return -log_likelihood(x.double(), model(x, y).double()).squeeze(1).cpu().numpy()


def pixel_bits(model, images, labels=None):
    """-log2 p(x_i | x_<i) per pixel, float64 (N,H,W); sums to -log2 p(x).

    Unconditional models: as they are. Conditional models given labels: p(x_i | x_<i, y) (label NULL:
    the model's own unconditional p(x_i | x_<i)). Conditional models without labels: the exact marginal p(x_i | x_<i) = sum_y p(y | x_<i) p(x_i | x_<i, y), from
    the running log p(x_<=i | y) of every class (uniform prior over classes)."""
    images = _images(model, images)
    n_all = len(images)
    given = None
    if model.num_classes and labels is not None:
        given = np.asarray(labels)
        if given.ndim not in (0, 1) or (given.ndim == 1 and len(given) != n_all):
            raise InputError(f"Give one label, or one label per image ({n_all}).")
        given = np.broadcast_to(given, (n_all,))
    out = []
    for i in range(0, n_all, EVAL_BATCH):
        chunk = images[i:i + EVAL_BATCH]
        n = len(chunk)
        if not model.num_classes:
            if labels is not None:
                raise InputError("This PixelCNN is unconditional: it takes no class label.")
            out.append(_pixel_nats(model, chunk, None) / LN2)
        elif given is not None:
            out.append(_pixel_nats(model, chunk, _labels(model, given[i:i + n].tolist(), n)) / LN2)
        else:
            per_class = np.stack([_pixel_nats(model, chunk, _labels(model, c, n)) for c in range(model.num_classes)])
            running = -np.cumsum(per_class.reshape(model.num_classes, n, -1), axis=2)  # log p(x_<=i | y)
            log_joint = np.logaddexp.reduce(running, axis=0) - math.log(model.num_classes)
            before = np.concatenate([np.zeros((n, 1)), log_joint[:, :-1]], axis=1)
            out.append((before - log_joint).reshape(chunk.shape) / LN2)
    return np.concatenate(out)


def bits_per_dim(model, images, labels=None):
    """-log2 p(x) / pixels per image, float64 (N,) (see pixel_bits for labels)."""
    bits = pixel_bits(model, images, labels)
    return bits.reshape(len(bits), -1).mean(1)


# sampling ----------------------------------------------------------------------------------------
VALUES = torch.linspace(-1, 1, 256, dtype=torch.float64)  # the 256 pixel values as the network sees them


def value_log_probs(params):
    """log p(value) of all 256 values for mixture parameters (N,3K): float64 (N,256); sums to 1."""
    return log_likelihood(VALUES.view(1, 1, 256, 1), params.double()[:, :, None, None])[:, 0, :, 0]


def with_temperature(params, temperature):
    """Mixture parameters (N,3K) with each logistic's scale times the temperature, the mixture's odds kept:
    below 1 a pixel keeps nearer its component's centre, and background or garment is still the model's
    call. (p^(1/T) let the background's spike at 0 win every early decision: black samples at T = 0.5.)
    Cost: broad dark components stop reaching mid-grey, so faint garments fade at low temperatures
    (tests/unit/test_pixelcnn_temperature.py)."""
    k = params.shape[1] // 3
    return torch.cat([params[:, :2 * k], params[:, 2 * k:] + math.log(temperature)], 1)


def _draw(params, u, temperature):
    """Invert the CDF of p(value) (with_temperature) at u: (N,3K), (N,) float64 -> (N,) long."""
    cdf = torch.softmax(value_log_probs(with_temperature(params, temperature)), 1).cumsum(1)
    return torch.searchsorted(cdf, u[:, None].contiguous()).clamp(max=255).squeeze(1)


def rows_seen(model):
    """How many rows above its own a gated model's output can see: the first layer's k // 2, then one
    more per layer."""
    return sum(layer.k // 2 for layer in model.layers)


def sample_pixels(model, seed, n=16, labels=None, temperature=1.0, fast=True, start=None, rows_from=0):
    """Write images pixel by pixel; yields (row, pixels of it written, uint8 (n,H,W) so far) after every row of
    the fast sampler and after every pixel of the whole network (a row of it takes seconds, so views show it
    coming). A consumer that stops early closes the generator: the last state it got is the run so far.

    start / rows_from: keep start's rows above rows_from and write the rest (image completion).
    fast: the exact sampler with cached columns (gated models only; masked ones always run the whole network)."""
    n = _count(n)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not \
            0.05 <= temperature <= 3 or not math.isfinite(temperature):
        raise InputError(f"The temperature must be from 0.05 to 3, not {temperature!r}.")
    size = model.image_size
    if isinstance(rows_from, bool) or not isinstance(rows_from, (int, np.integer)) or not 0 <= rows_from <= size:
        raise InputError(f"The first row to write must be from 0 to {size}, not {rows_from!r}.")
    device = _device(model)
    y = _labels(model, labels, n)
    gen = devices.generator(seed, "cpu")
    u = torch.rand((n, size, size), generator=gen, dtype=torch.float64)
    canvas = torch.zeros((n, size, size), dtype=torch.long)
    if start is not None:
        given = _images(model, start)
        if len(given) not in (1, n):
            raise InputError(f"Give one image to complete, or {n}.")
        canvas[:, :rows_from] = torch.tensor(given[:, :rows_from]).long().expand(n, -1, -1)
    fast = fast and model.kind == "gated"
    with torch.no_grad():
        for r in range(rows_from, size):
            if not fast:
                for c in range(size):
                    params = model(to_input(canvas.numpy().astype(np.uint8), device), y)[:, :, r, c]
                    canvas[:, r, c] = _draw(params.cpu(), u[:, r, c], temperature)
                    yield r, c + 1, canvas.numpy().astype(np.uint8)
            else:
                _fast_row(model, canvas, r, y, u, temperature, device)
                yield r, size, canvas.numpy().astype(np.uint8)


def _fast_row(model, canvas, r, y, u, temperature, device):
    """Write row r of canvas (n,H,W) in place, one column of every layer per pixel.

    The vertical stack runs once on the rows_seen rows above (and the row itself, which its first layer
    does not see); each layer's row_base is computed once for the row. Then, pixel by pixel, each
    layer's horizontal output at the current column is computed from its input's last few columns,
    kept in a left-zero-padded buffer per layer (the zeros F.pad gives the whole-row convolution)."""
    n, size = canvas.shape[0], canvas.shape[2]
    top = max(0, r - rows_seen(model))
    above = to_input(canvas[:, top:r + 1].numpy().astype(np.uint8), device)
    bases = [layer.row_base(pre[:, :, -1:], y) for layer, pre in zip(model.layers, model.vertical_stack(above, y))]
    bufs = [torch.zeros((n, layer.h.in_channels, 1, layer.k // 2 + size), device=device) for layer in model.layers]
    for c in range(size):
        h = None
        for i, layer in enumerate(model.layers):
            pad, width = layer.k // 2, layer.h.kernel_size[1]
            h_in = bufs[i][..., c + pad:c + pad + 1]
            h = layer.horizontal_at(bufs[i][..., c:c + width], bases[i][..., c:c + 1], h_in)
            if i + 1 < len(model.layers):
                bufs[i + 1][..., model.layers[i + 1].k // 2 + c] = h[..., 0]
        params = model.head(h)[:, :, 0, 0]
        canvas[:, r, c] = _draw(params.cpu(), u[:, r, c], temperature)
        bufs[0][:, 0, 0, model.layers[0].k // 2 + c] = canvas[:, r, c].to(device).float().div(127.5).sub(1)


def sample(model, seed, n=16, labels=None, temperature=1.0, fast=True):
    """uint8 (n,H,W) samples (see sample_pixels)."""
    for _, _, out in sample_pixels(model, seed, n, labels, temperature, fast):
        pass  # the last state; keeping every pixel's would hold hundreds of copies
    return out


def receptive_field(model, image, row, col, label=None):
    """Which input pixels influence pixel (row, col)'s distribution: |d log p(x_rc | ...) / d x|, float64 (H,W),
    for one uint8 image, with the causal region (pixels before it in raster order) as a bool (H,W)."""
    size = model.image_size
    for name, v in (("row", row), ("column", col)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < size:
            raise InputError(f"The {name} must be a whole number from 0 to {size - 1}, not {v!r}.")
    image = _images(model, image)[:1]
    y = _labels(model, 0 if label is None and model.num_classes else label, 1)
    x = to_input(image, _device(model)).requires_grad_(True)
    with torch.enable_grad():
        params = model(x, y)
        log_likelihood(x.detach()[:, :, row:row + 1, col:col + 1], params[:, :, row:row + 1, col:col + 1]).sum().backward()
    grad = x.grad[0, 0].abs().double().cpu().numpy()
    causal = np.zeros((size, size), bool)
    causal[:row] = True
    causal[row, :col] = True
    return grad, causal


# metrics ----------------------------------------------------------------------------------------
QUICK = 1000
OOD_N = 1000
METRIC_TEXT = {
    "test_bpd": "-log2 p(x) per pixel on the test images: the exact marginal over the classes for a conditional model",
    "test_bpd_no_class": "the same with the \"no class\" label: the model's own unconditional p(x), one pass",
    "test_bpd_true_class": "-log2 p(x | its true class) per pixel",
    "seconds_16_naive": "16 samples, the whole network once per pixel (784 passes)",
    "seconds_16_fast": "16 samples, the fast exact sampler (cached columns; the same pixels)",
    "ood_auroc_raw": "1,000 MNIST digits against 1,000 test images, scored by bits/dim (below 0.5: the digits look "
                     "more likely)",
    "ood_auroc_corrected": "the same, scored by bits/dim minus the PNG length (Serra et al. 2020)",
}


def evaluate(model, card=None, quick=False, seed=0):
    """Test bits/dim on Fashion-MNIST's 10,000 test images (quick: QUICK), the same without a class
    and with the true class for a conditional model, seconds for 16 samples naive and (gated) fast, and the
    out-of-distribution AUROCs (MNIST digits) with the model's own p(x)."""
    images, labels = data.fashion_mnist("test")
    images, labels = np.asarray(images), np.asarray(labels)
    if quick:
        images, labels = images[:QUICK], labels[:QUICK]
    metrics = {"test_bpd": float(bits_per_dim(model, images).mean())}
    own = NULL if model.num_classes else None
    if model.num_classes:
        metrics["test_bpd_no_class"] = float(bits_per_dim(model, images, NULL).mean())
        metrics["test_bpd_true_class"] = float(bits_per_dim(model, images, labels).mean())
    classes = list(range(model.num_classes)) if model.num_classes else None
    for name, fast in (("naive", False), ("fast", True))[:2 if model.kind == "gated" else 1]:  # masked: no fast
        start = time.perf_counter()
        sample(model, seed, 16, classes, 1.0, fast=fast)
        metrics[f"seconds_16_{name}"] = time.perf_counter() - start
    clothes, digits = images[:OOD_N], vae.ood_images(quick=True)[:OOD_N]
    s = ood.ood_summary(bits_per_dim(model, clothes, own), clothes, bits_per_dim(model, digits, own), digits)
    metrics["ood_auroc_raw"], metrics["ood_auroc_corrected"] = s["auroc_raw"], s["auroc_corrected"]
    return metrics


def default_action(model, seed):
    """16 samples with the fast sampler (classes in turn for a conditional model); 4 for a masked
    model, which has no fast sampler (784 whole-network passes)."""
    n = 16 if model.kind == "gated" else 4
    return sample(model, seed, n, [i % model.num_classes for i in range(n)] if model.num_classes else None)


def report(model, card, metrics, folder):
    """samples.png (64 samples, seed 0, one row per class pair for a conditional model, enlarged 2x)
    beside the weights, and the card's Measured section."""
    labels = [i // 8 % model.num_classes for i in range(64)] if model.num_classes else None
    grid = make_grid(sample(model, 0, 64, labels), nrow=8)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.Resampling.NEAREST).save(
        folder / "samples.png")
    rows = [f"| {key} | {value:.4g} | {METRIC_TEXT.get(key, '')} |" for key, value in metrics.items()]
    return "\n".join([f"Measured by `{card.metrics_command}` (seed 0) on the test images described above.", "",
                      "| metric | value | what it is |", "|---|---|---|", *rows, "",
                      f"![64 samples, temperature 1, seed 0](../weights/{card.id}/samples.png)"])


def draw_for_views(model, n, seed, knob=None, sampler=None):
    """n samples (fast sampler) for the shared views (protocol.Generator): knob is the temperature (1.0 as trained)."""
    return protocol.in_batches(model, n, seed, MAX_IMAGES,
                               lambda s, m, y: sample(model, s, m, y, 1.0 if knob is None else knob))


GENERATOR = protocol.Generator(draw=draw_for_views, rank=3,
                               knob=protocol.Knob("Temperature", 0.1, 2.0, 0.05, 1.0, 0.8),
                               bits=(("test_bpd", "exact"),))
