"""A small data-efficient GAN for 64x64 grey faces (gan-faces, trained on the 400 ORL faces).

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

from .. import devices
from ..errors import InputError, ModelUnavailable

log = logging.getLogger(__name__)

MAX_IMAGES = 256
POLICY = "translation,cutout,color"
CROP_TOP = 0.4  # of the spare height above the square crop: ORL faces sit slightly above the middle


class Generator(nn.Module):
    def __init__(self, latent_dim=128, width=16, image_size=64, channels=1):
        super().__init__()
        ups = int(np.log2(image_size // 4))
        c = width * 2 ** (ups - 1)
        self.fc = nn.Sequential(nn.Linear(latent_dim, c * 16, bias=False), nn.BatchNorm1d(c * 16), nn.ReLU(True))
        layers = []
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.latent_dim, self.c0 = latent_dim, width * 2 ** (ups - 1)

    def forward(self, z):
        return self.body(self.fc(z).view(len(z), self.c0, 4, 4))


class Discriminator(nn.Module):
    def __init__(self, width=32, image_size=64, channels=1):
        super().__init__()
        layers, c = [], channels
        for i in range(int(np.log2(image_size // 4))):
            layers += [spectral_norm(nn.Conv2d(c, width * 2 ** i, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            c = width * 2 ** i
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.head = spectral_norm(nn.Linear(c * 16, 1))

    def forward(self, x):
        """One realness score per image (x in [-1, 1], N x C x H x W); higher is more real."""
        return self.head(self.body(x)).squeeze(1)


class GAN(nn.Module):
    """Both networks in one module, so one safetensors file carries them."""

    def __init__(self, latent_dim=128, g_width=16, d_width=32, image_size=64, channels=1):
        super().__init__()
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.generator = Generator(latent_dim, g_width, image_size, channels)
        self.discriminator = Discriminator(d_width, image_size, channels)


def build(config):
    return GAN(**config)


# DiffAugment ------------------------------------------------------------------------------------
def diff_augment(x, generator, policy=POLICY):
    """Differentiable augmentation of images in [-1, 1] (N x C x H x W), drawn from `generator`.

    color: brightness +-0.5 and contrast x0.5..1.5 (grey images: no saturation);
    translation: shift by up to 1/8 of the side, zero padding; cutout: a zeroed square of half the side.
    """
    n, _, h, w = x.shape
    rand = lambda *shape: torch.rand(*shape, generator=generator).to(x.device)  # noqa: E731
    for p in policy.split(","):
        if p == "color":
            x = x + (rand(n, 1, 1, 1) - 0.5)
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * (rand(n, 1, 1, 1) + 0.5) + mean
        elif p == "translation":
            sh, sw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            ty = (rand(n) * (2 * sh + 1)).long() - sh
            tx = (rand(n) * (2 * sw + 1)).long() - sw
            rows = (torch.arange(h, device=x.device)[None] + ty[:, None] + sh)[:, :, None]   # n x h x 1
            cols = (torch.arange(w, device=x.device)[None] + tx[:, None] + sw)[:, None, :]   # n x 1 x w
            padded = F.pad(x, (sw, sw, sh, sh))
            x = padded[torch.arange(n, device=x.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
        elif p == "cutout":
            ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
            oy = (rand(n) * (h + 1 - ch % 2)).long() - ch // 2
            ox = (rand(n) * (w + 1 - cw % 2)).long() - cw // 2
            ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
            in_y = (ys[None] >= oy[:, None]) & (ys[None] < oy[:, None] + ch)
            in_x = (xs[None] >= ox[:, None]) & (xs[None] < ox[:, None] + cw)
            x = x * ~(in_y[:, :, None] & in_x[:, None, :])[:, None]
        elif p:
            raise InputError(f"Unknown DiffAugment policy {p!r}: use translation, cutout and color.")
    return x


def hinge_d_loss(real_scores, fake_scores):
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def hinge_g_loss(fake_scores):
    return -fake_scores.mean()


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
    for _ in range(batches):
        generator(torch.randn(batch_size, generator.latent_dim, generator=gen).to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    generator.train(was_training)
    return generator


# images ------------------------------------------------------------------------------------------
def prepare_faces(images, size=64, crop_top=CROP_TOP):
    """uint8 grey images (N,H,W) -> uint8 (N,size,size): a square crop (full width, taken
    `crop_top` of the way down the spare height) resized with Lanczos. ORL's 92x112 faces are
    cropped to 92x92 from rows 8-100."""
    out = []
    for im in np.asarray(images):
        h, w = im.shape[:2]
        s = min(h, w)
        top, left = int(round((h - s) * crop_top)), (w - s) // 2
        square = Image.fromarray(np.ascontiguousarray(im[top:top + s, left:left + s]))
        out.append(np.asarray(square.resize((size, size), Image.Resampling.LANCZOS)))
    return np.stack(out) if out else np.zeros((0, size, size), np.uint8)


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


@torch.no_grad()
def _decode(model, z):
    g = model.generator
    was_training = g.training
    g.eval()
    device = next(g.parameters()).device
    try:
        return to_uint8(g(z.to(device)))
    finally:
        g.train(was_training)


def generate(model, seed, n=16, truncation=1.0):
    """n faces, uint8 [n, 64, 64, 1], from latents drawn with `seed`.

    Truncation psi pulls each latent toward the mean latent: z' = mean + psi * (z - mean). For
    the Gaussian prior the mean is 0, so z' = psi * z. psi = 1 is the model as trained; smaller
    psi gives more typical, less varied faces; psi = 0 gives the same "average" face for every seed.
    """
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not 0 <= truncation <= 2:
        raise InputError(f"Truncation must be a number from 0 to 2, not {truncation!r}.")
    return _decode(model, latents(seed, n, model.latent_dim) * float(truncation))


def interpolate(model, seed_a, seed_b, steps=8):
    """Frames uint8 [steps, 64, 64, 1] walking (slerp) from seed_a's face to seed_b's."""
    steps = _count(steps, "steps")
    za, zb = latents(seed_a, 1, model.latent_dim), latents(seed_b, 1, model.latent_dim)
    t = torch.linspace(0, 1, steps)[:, None] if steps > 1 else torch.zeros(1, 1)
    return _decode(model, slerp(za, zb, t))


@torch.no_grad()
def discriminate(model, images_uint8):
    """The discriminator's realness scores (float32 [N], higher = more real; 0 is its hinge
    boundary) for uint8 grey images (N,H,W) or (N,H,W,1); non-64x64 images are cropped and resized."""
    x = np.asarray(images_uint8)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.dtype != np.uint8:
        raise InputError(f"Expected uint8 grey images (N,H,W), not {x.dtype} {x.shape}.")
    if x.shape[1:] != (model.image_size, model.image_size):
        x = prepare_faces(x, model.image_size)
    d = model.discriminator
    was_training = d.training
    d.eval()
    try:
        t = torch.from_numpy(np.ascontiguousarray(x)).float().div(127.5).sub(1).unsqueeze(1)
        return d(t.to(next(d.parameters()).device)).float().cpu().numpy()
    finally:
        d.train(was_training)


def default_action(model, seed):
    """16 faces from `seed`."""
    return generate(model, seed, 16)


# metrics -------------------------------------------------------------------------------------------
def real_faces(dataset="orl-faces", size=64):
    """The training faces as the GAN saw them: uint8 [N, size, size]."""
    from .. import data
    images, _ = data.load(dataset, split="all")
    return prepare_faces(images, size)


def nn_distances(queries, references, exclude_self=False):
    """Euclidean distance (pixels scaled to 0..1) from each query image to its nearest reference."""
    q = np.asarray(queries, np.float64).reshape(len(queries), -1) / 255
    r = np.asarray(references, np.float64).reshape(len(references), -1) / 255
    d2 = (q ** 2).sum(1)[:, None] + (r ** 2).sum(1)[None] - 2 * q @ r.T
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    return np.sqrt(np.maximum(d2.min(1), 0))


def evaluate(model, card=None, quick=False, seed=0):
    """fd_orl: Frechet distance between features-orl features of generated and real faces (400 each;
    100 generated when quick). nn_ratio_median / nn_ratio_min: each generated face's pixel distance
    to its nearest training face over the median nearest-neighbour distance among training faces
    (about 1 or more: no closer to the data than the data is to itself; near 0: copies)."""
    from .. import registry
    from ..metrics import frechet_distance
    from . import features
    real = real_faces(getattr(card, "dataset", None) or "orl-faces", model.image_size)
    n = 100 if quick else len(real)
    fake = np.concatenate([generate(model, seed + i, min(MAX_IMAGES, n - i))[..., 0]
                           for i in range(0, n, MAX_IMAGES)])
    scale = np.median(nn_distances(real, real, exclude_self=True))
    ratios = nn_distances(fake, real) / scale
    metrics = {"nn_ratio_median": float(np.median(ratios)), "nn_ratio_min": float(ratios.min())}
    try:
        feats = registry.get_model("features-orl")
    except ModelUnavailable as e:  # the feature network is not trained yet: pixel metrics only
        log.warning("fd_orl not computed: %s", e)
        return metrics
    metrics["fd_orl"] = float(frechet_distance(features.features(feats, fake), features.features(feats, real)))
    return metrics
