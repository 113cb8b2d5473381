"""A small data-efficient GAN for 64x64 grey faces (gan-faces, trained on the 400 ORL faces), and
the same networks made class-conditional for Fashion-MNIST (gan-fashion).

gan-fashion (config num_classes=10, image_size=32, output_size=28, dataset Fashion-MNIST): the
generator's BatchNorms are conditional (per-class gain and bias, learned embeddings of the label;
z alone enters the linear layer); the discriminator is a projection
discriminator (Miyato & Koyama 2018: score = head(h) + <embed(y), h>). The networks work at 32x32
(Fashion-MNIST padded with black from 28x28, so three clean stride-2 steps 4 -> 8 -> 16 -> 32);
generate/interpolate return the centre 28x28 crop and discriminate pads 28x28 input back, so callers
and the metrics only ever see Fashion-MNIST-shaped images. Conditional models take labels
(generate(..., labels=...), interpolate(..., label=...), discriminate(..., labels=...)); the
unconditional gan-faces takes none and its config and state-dict keys are unchanged.

- Generator: DCGAN-like. A latent z ~ N(0, I) (128-d) -> linear -> 4x4 -> four stride-2
  transposed convolutions (BatchNorm + ReLU) -> 64x64x1, tanh.
- Discriminator: stride-2 convolutions with spectral normalisation and LeakyReLU, no BatchNorm,
  a linear score. Trained with the hinge loss.
- DiffAugment (Zhao et al. 2020): the discriminator only ever sees augmented images, real and fake
  alike (same policy, independent draws), and the augmentations are differentiable so the
  generator learns through them: translation, cutout, brightness and contrast.
- The shipped generator is an exponential moving average of the trained one, with its BatchNorm
  statistics recomputed for the averaged weights ("standing statistics").

The registry loads one module per card, so `GAN` holds both networks: `model.generator` (EMA
weights) and `model.discriminator`, in one model.safetensors. Every random draw takes a seed or
a torch.Generator; the global RNG is never used.
"""
import logging

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .. import datasets, devices, ladder
from ..errors import InputError
from ..images import make_grid
from . import protocol, scoring
from .diffaugment import POLICY, diff_augment, hinge_d_loss, hinge_g_loss  # noqa: F401 (train.gan uses them)
from .features import fit

log = logging.getLogger(__name__)

MAX_IMAGES = 256


def _upsamplings(image_size):
    ups = int(np.log2(image_size // 4)) if isinstance(image_size, int) and image_size >= 8 else 0
    if ups < 1 or 4 * 2 ** ups != image_size:
        raise InputError(f"The GAN's image_size must be 4 times a power of two (8, 16, 32, 64 ...), "
                         f"not {image_size!r}.")
    return ups


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine parameters, then a per-class gain and bias (learned
    embeddings of the label): the class decides the statistics of the features, z their content."""

    def __init__(self, num_features, num_classes, dims=2):
        super().__init__()
        self.bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(num_features, affine=False)
        self.gain, self.bias = nn.Embedding(num_classes, num_features), nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x, y):
        shape = (len(x), -1) + (1,) * (x.dim() - 2)
        return self.bn(x) * self.gain(y).view(shape) + self.bias(y).view(shape)


class Generator(nn.Module):
    """num_classes > 0 makes it class-conditional through conditional BatchNorm (every BatchNorm's
    gain and bias are learned embeddings of the class label, as in the projection-discriminator
    cGANs): z alone enters the first linear layer, so the class cannot crowd it out. num_classes = 0
    keeps the unconditional layout (and state-dict keys) of gan-faces."""

    def __init__(self, latent_dim=128, width=16, image_size=64, channels=1, num_classes=0):
        super().__init__()
        ups = _upsamplings(image_size)
        c = width * 2 ** (ups - 1)
        self.num_classes = num_classes

        def norm(features, dims=2):
            if num_classes:
                return ConditionalBatchNorm(features, num_classes, dims)
            return nn.BatchNorm1d(features) if dims == 1 else nn.BatchNorm2d(features)

        self.fc = nn.Sequential(nn.Linear(latent_dim, c * 16, bias=False), norm(c * 16, 1), nn.ReLU(True))
        layers = []
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), norm(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.latent_dim, self.c0 = latent_dim, width * 2 ** (ups - 1)

    def forward(self, z, y=None):
        if not self.num_classes:
            return self.body(self.fc(z).view(len(z), self.c0, 4, 4))
        if y is None:
            raise InputError("This generator is class-conditional: it needs a class label per latent.")
        x = z
        for i, layer in enumerate(list(self.fc) + [None] + list(self.body)):
            if layer is None:
                x = x.view(len(z), self.c0, 4, 4)
            else:
                x = layer(x, y) if isinstance(layer, ConditionalBatchNorm) else layer(x)
        return x


class Discriminator(nn.Module):
    """num_classes > 0 makes it a projection discriminator (Miyato & Koyama 2018): the score is
    head(h) + <embed(y), h>, h the flattened 4x4 features, embed spectrally normalised."""

    def __init__(self, width=32, image_size=64, channels=1, num_classes=0):
        super().__init__()
        layers, c = [], channels
        for i in range(_upsamplings(image_size)):
            layers += [spectral_norm(nn.Conv2d(c, width * 2 ** i, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            c = width * 2 ** i
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.head = spectral_norm(nn.Linear(c * 16, 1))
        self.num_classes = num_classes
        if num_classes:
            self.embed = spectral_norm(nn.Embedding(num_classes, c * 16))

    def forward(self, x, y=None):
        """One realness score per image (x in [-1, 1], N x C x H x W); higher is more real.
        A conditional discriminator scores how real the image is *as an example of class y*."""
        h = self.body(x)
        score = self.head(h).squeeze(1)
        if self.num_classes:
            if y is None:
                raise InputError("This discriminator is class-conditional: it needs a class label per image.")
            score = score + (self.embed(y) * h).sum(1)
        return score


class GAN(nn.Module):
    """Both networks in one module, so one safetensors file carries them."""

    def __init__(self, latent_dim=128, g_width=16, d_width=32, image_size=64, channels=1, num_classes=0,
                 output_size=None, dataset=datasets.ORL.key):
        super().__init__()
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.num_classes, self.dataset = int(num_classes), dataset
        # the networks work at image_size; callers get the centre output_size crop (gan-fashion:
        # 28x28 Fashion-MNIST padded with black to 32x32 for training, cropped back on the way out)
        self.output_size = int(output_size or image_size)
        if not 0 < self.output_size <= image_size or (image_size - self.output_size) % 2:
            raise InputError(f"output_size must be at most image_size ({image_size}) and differ from it by an "
                             f"even number of pixels, not {output_size!r}.")
        self.pad = (image_size - self.output_size) // 2
        self.generator = Generator(latent_dim, g_width, image_size, channels, self.num_classes)
        self.discriminator = Discriminator(d_width, image_size, channels, self.num_classes)


def build(config):
    return GAN(**config)


@torch.no_grad()
def recalibrate_bn(generator, seed=0, batches=8, batch_size=64):
    """Recompute a generator's BatchNorm running statistics from its own outputs (for EMA weights)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    was_training = generator.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    gen = devices.generator(seed)
    generator.train()
    device = next(generator.parameters()).device
    classes = getattr(generator, "num_classes", 0)
    for _ in range(batches):
        z = torch.randn(batch_size, generator.latent_dim, generator=gen).to(device)
        y = torch.randint(0, classes, (batch_size,), generator=gen).to(device) if classes else None
        generator(z, y)
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    generator.train(was_training)
    return generator


# images ------------------------------------------------------------------------------------------
def to_uint8(x):
    """Generator output in [-1, 1], N x 1 x H x W -> uint8 N x H x W x 1."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _count(n, name="n"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_IMAGES:
        raise InputError(f"The number of images ({name}) must be a whole number from 1 to {MAX_IMAGES}, not {n!r}.")
    return int(n)


# the playground's actions ------------------------------------------------------------------------
def latents(seed, n, dim=128):
    """n latent vectors z ~ N(0, I) drawn from `seed` (float32 n x dim)."""
    return torch.randn(_count(n), dim, generator=devices.generator(seed))


def slerp(z0, z1, t):
    """Spherical interpolation between latents (t in [0, 1]); follows the great circle, so the
    interpolated vectors keep a typical Gaussian norm, unlike a straight line through the middle."""
    z0, z1 = torch.as_tensor(z0, dtype=torch.float32), torch.as_tensor(z1, dtype=torch.float32)
    t = torch.as_tensor(t, dtype=torch.float32)
    u0, u1 = z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True)
    omega = torch.acos((u0 * u1).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    if bool((so.abs() < 1e-6).any()):  # (anti)parallel: fall back to a straight line
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) / so) * z0 + (torch.sin(t * omega) / so) * z1


def class_names(model):
    """The names of a conditional model's classes (label i -> name); [] for an unconditional one."""
    if not getattr(model, "num_classes", 0):
        return []
    record = datasets.find(model.dataset)  # None for a folder or hub data set
    return list(record.classes) if record and record.classes else [f"class {i}" for i in range(model.num_classes)]


def labels_for(model, labels, n):
    """Validated class labels for n images -> int64 tensor [n] (None for an unconditional model).

    An unconditional model takes labels=None only. A conditional one needs an int or a sequence of
    ints (cycled to n: [0, 1] for 5 images gives 0, 1, 0, 1, 0), each from 0 to num_classes - 1."""
    classes = getattr(model, "num_classes", 0)
    if not classes:
        if labels is not None:
            raise InputError("This GAN is unconditional: it takes no class labels.")
        return None
    names = class_names(model)
    hint = f"a class from 0 to {classes - 1}" + (f" ({', '.join(f'{i} {c}' for i, c in enumerate(names))})"
                                                 if names else "")
    if labels is None:
        raise InputError(f"This GAN is class-conditional: choose {hint}.")
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        seq = [labels]
    elif isinstance(labels, (np.ndarray, torch.Tensor)):
        seq = labels.reshape(-1).tolist()
    elif isinstance(labels, (list, tuple, range)):
        seq = list(labels)
    else:
        seq = None
    if not seq or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < classes
                      for v in seq):
        raise InputError(f"Class labels must each be {hint}; got {labels!r}.")
    return torch.tensor([int(seq[i % len(seq)]) for i in range(n)], dtype=torch.int64)


def crop(model, images):
    """Network-size images (N x C x S x S) -> the centre output_size crop callers get."""
    p = getattr(model, "pad", 0)
    return images[..., p:images.shape[-2] - p, p:images.shape[-1] - p] if p else images


@torch.no_grad()
def _decode(model, z, y=None):
    g = model.generator
    was_training = g.training
    g.eval()
    device = next(g.parameters()).device
    try:
        return to_uint8(crop(model, g(z.to(device), None if y is None else y.to(device))))
    finally:
        g.train(was_training)


def generate(model, seed, n=16, truncation=1.0, labels=None):
    """n images, uint8 [n, S, S, 1] (S = the model's output_size: 64 for gan-faces, 28 for
    gan-fashion), from latents drawn with `seed`.

    labels: None for an unconditional model; for a conditional one an int (every image of that
    class) or a sequence of ints cycled to n. The latents depend on the seed only, so the same
    seed with another label draws "the same" noise as another class.

    Truncation psi pulls each latent toward the mean latent: z' = mean + psi * (z - mean). For
    the Gaussian prior the mean is 0, so z' = psi * z. psi = 1 is the model as trained; smaller
    psi gives more typical, less varied faces; psi = 0 gives the same "average" face for every seed.
    """
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not 0 <= truncation <= 2:
        raise InputError(f"Truncation must be a number from 0 to 2, not {truncation!r}.")
    z = latents(seed, n, model.latent_dim) * float(truncation)
    return _decode(model, z, labels_for(model, labels, len(z)))


def interpolate(model, seed_a, seed_b, steps=8, label=None):
    """Frames uint8 [steps, S, S, 1] walking (slerp) from seed_a's image to seed_b's; a conditional
    model needs one class `label` (an int), held fixed along the walk."""
    steps = _count(steps, "steps")
    if getattr(model, "num_classes", 0) and label is not None and not isinstance(label, (int, np.integer)):
        raise InputError(f"The walk takes one class label (a whole number), not {label!r}.")
    y = labels_for(model, label, steps)
    za, zb = latents(seed_a, 1, model.latent_dim), latents(seed_b, 1, model.latent_dim)
    t = torch.linspace(0, 1, steps)[:, None] if steps > 1 else torch.zeros(1, 1)
    return _decode(model, slerp(za, zb, t), y)


@torch.no_grad()
def discriminate(model, images_uint8, labels=None):
    """The discriminator's realness scores (float32 [N], higher = more real; 0 is its hinge
    boundary) for uint8 grey images (N,H,W) or (N,H,W,1). Images of another size than the model's
    output are cropped to a square and resized (faces: their record's `prepare`; others: centre crop); images
    of output_size are padded with black to the network's size, as in training. A conditional
    model needs labels (as for generate): the score is "real, as this class"."""
    x = np.asarray(images_uint8)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.dtype != np.uint8:
        raise InputError(f"Expected uint8 grey images (N,H,W), not {x.dtype} {x.shape}.")
    y = labels_for(model, labels, len(x))
    size = getattr(model, "output_size", model.image_size)
    if x.shape[1:] != (size, size):
        record = datasets.find(getattr(model, "dataset", datasets.ORL.key))
        x = record.prepare(x, size) if record and record.prepare else fit(x, size)
    d = model.discriminator
    was_training = d.training
    d.eval()
    try:
        t = torch.from_numpy(np.ascontiguousarray(x)).float().div(127.5).sub(1).unsqueeze(1)
        p = getattr(model, "pad", 0)
        if p:
            t = F.pad(t, (p, p, p, p), value=-1.0)
        device = next(d.parameters()).device
        return d(t.to(device), None if y is None else y.to(device)).float().cpu().numpy()
    finally:
        d.train(was_training)


def default_action(model, seed):
    """64 images from `seed` (a conditional model: over its classes in turn, 0, 1, ... 9, 0, ...):
    the benchmark times this against the target of 64 faces in at most 0.5 s on 2 cores."""
    classes = getattr(model, "num_classes", 0)
    return generate(model, seed, 64, labels=list(range(classes)) if classes else None)


# metrics -------------------------------------------------------------------------------------------
def real_faces(dataset=datasets.ORL.key, size=64):
    """The training faces as the GAN saw them: uint8 [N, size, size] (the record's real_images)."""
    return datasets.get(dataset).real_images(size)[0]


def evaluate(model, card=None, quick=False, seed=0):
    """The card's metrics on playground.ladder's protocol (read its docstring):

    - fd_orl / fd_fashion: Frechet distance on the project's feature network (features-orl,
      features-fashion; NOT FID) between N generated images and N training images; N = 200 faces
      (against half of the ORL faces) or 5,000 Fashion-MNIST images (500 per class).
    - <fd>_floor, <fd>_blur1, <fd>_blur2, <fd>_noise0.1, <fd>_noise0.2: the ladder, measured in the
      same run on the same N training images: real held-out images, blurred, and noisy.
    - precision / recall (k=3, Kynkaanniemi et al. 2019) on the same features.
    - memorisation_rate: the share of generated images closer (pixels) to a training image than the
      median train-to-train nearest-neighbour distance (real held-out data scores about 0.5);
      nn_ratio_median: the median of that ratio.
    - label_accuracy (conditional models): the share features-fashion classifies as the class asked for.
    quick: N / 5, for a smoke run; such numbers are not for cards.
    """
    dataset = getattr(card, "dataset", None) or getattr(model, "dataset", None) or datasets.ORL.key
    scorer = scoring.CardScorer(dataset, seed, getattr(model, "output_size", model.image_size), quick)
    fake, labels = generate_balanced(model, scorer.n, seed)
    return scorer.all(fake, labels if getattr(model, "num_classes", 0) else None)


def draw_for_views(model, n, seed, knob=None, sampler=None):
    """n images for the shared views (protocol.Generator): knob is the truncation psi (1.0 as trained)."""
    return protocol.in_batches(model, n, seed, MAX_IMAGES,
                      lambda s, m, y: generate(model, s, m, 1.0 if knob is None else knob, y)[..., 0])


GENERATOR = protocol.Generator(draw=draw_for_views, rank=0,
                               knob=protocol.Knob("Truncation", 0.0, 1.5, 0.05, 1.0, 0.6))


def report(model, card, metrics, folder):
    """An 8x8 sample grid (samples.png beside the weights) and the FD ladder, as card markdown."""
    classes = getattr(model, "num_classes", 0)
    images = generate(model, 0, 64, labels=[i // 8 % classes for i in range(64)] if classes else None)
    Image.fromarray(make_grid(images[..., 0], nrow=8)).save(folder / "samples.png")
    record = datasets.get(getattr(card, "dataset", None) or model.dataset)
    fd_name, label = record.fd_metric, record.fd_short
    rungs = {name: metrics[f"{fd_name}_{key}"] for name, key in scoring.RUNGS.items() if f"{fd_name}_{key}" in metrics}
    lines = [f"![64 samples, seed 0{', one row per class (the first eight)' if classes else ''}](../weights/{card.id}/samples.png)", "",
             ladder.ladder_markdown(metrics[fd_name], rungs, model=card.id, metric=label), "",
             f"Precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f} (k=3, on {record.neighbours_id}). "
             f"Memorisation rate {metrics['memorisation_rate']:.3f} (real held-out images score about 0.5), "
             f"median nearest-training-image ratio {metrics['nn_ratio_median']:.3f}."]
    extra = scoring.distances_markdown(metrics, record)
    lines += ["", extra] if extra else []
    if "label_accuracy" in metrics:
        lines.append(f"\nfeatures-fashion classifies {metrics['label_accuracy']:.1%} of the samples as the "
                     "class they were asked for.")
    lines.append(f"\nWritten by `{card.metrics_command}`.")
    return "\n".join(lines)


def generate_balanced(model, n, seed=0):
    """n images cycling through the classes (n / num_classes of each), in MAX_IMAGES batches, and
    their labels: (uint8 [n, S, S], int64 [n])."""
    classes = max(getattr(model, "num_classes", 0), 1)
    labels = np.arange(n) % classes
    images = [generate(model, seed + i, min(MAX_IMAGES, n - i),
                       labels=labels[i:i + MAX_IMAGES].tolist() if model.num_classes else None)[..., 0]
              for i in range(0, n, MAX_IMAGES)]
    return np.concatenate(images), labels.astype(np.int64)
