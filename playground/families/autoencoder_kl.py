"""Pretrained image autoencoders from the Hugging Face hub (diffusers AutoencoderKL), such as
stabilityai/sd-vae-ft-mse, the autoencoder of Stable Diffusion: an RGB image is squeezed 8x in each
direction into 4 latent channels and decoded back. Hub cards pin a revision; the registry fetches
only json and safetensors files, and diffusers is asked for safetensors only.

It reconstructs photographs through the VAE tab's Reconstruct view, next to the playground's own
small VAEs, which work on 28x28 clothes and 64x64 faces.
"""
import logging

import numpy as np
import torch
from PIL import Image, ImageOps

from .. import data, devices, quality
from ..cards import where
from ..errors import InputError, ModelUnavailable, PlaygroundError
from ..images import resize

MAX_SIDE = 512   # larger inputs are scaled down first: the decoder's memory grows with the area

log = logging.getLogger(__name__)


def load(folder):
    try:
        from diffusers import AutoencoderKL  # lazy: diffusers takes seconds to import; only diffusion models need it
        return AutoencoderKL.from_pretrained(str(folder), use_safetensors=True)
    except (OSError, ValueError, EnvironmentError) as e:
        log.warning("autoencoder in %s: %s", folder, e)
        raise ModelUnavailable(f"The autoencoder in {where(folder)} cannot be loaded from safetensors.") from None


def fit(image, max_side=MAX_SIDE):
    """uint8 HxWx3 -> the same, scaled down to at most max_side and cropped to multiples of 8."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise InputError(f"The autoencoder takes uint8 RGB images (H,W,3), not {image.dtype} {image.shape}.")
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1:
        image = resize(image, (max(8, round(w * scale)), max(8, round(h * scale))), "lanczos")
    h, w = (image.shape[0] // 8) * 8, (image.shape[1] // 8) * 8
    if h < 8 or w < 8:
        raise InputError("The image is too small: it needs at least 8x8 pixels.")
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return np.ascontiguousarray(image[top:top + h, left:left + w])


@torch.no_grad()
def reconstruct(model, image, decode="mean", seed=0):
    """uint8 HxWx3 -> (the fitted input, its reconstruction), both uint8 HxWx3. "mean" decodes the
    posterior mode; "sample" a draw from q(z|x) made with `seed`."""
    if decode not in ("mean", "sample"):
        raise InputError(f"Decoding is 'mean' or 'sample', not {decode!r}.")
    image = fit(image)
    device = next(model.parameters()).device
    x = torch.from_numpy(np.array(image)).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1
    dist = model.encode(x).latent_dist
    z = dist.mode() if decode == "mean" else dist.mean + dist.std * torch.randn(
        dist.mean.shape, generator=devices.generator(seed, device), device=device)
    y = model.decode(z).sample
    out = ((y[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return image, out


def default_action(model, seed):
    """Reconstruct a 256x256 photograph (skimage's astronaut if installed, else a seeded pattern)."""
    try:
        image = np.asarray(data.load_natural("astronaut"))
    except PlaygroundError:  # scikit-image's photographs are not installed
        rng = np.random.default_rng(seed)
        image = rng.integers(0, 256, (256, 256, 3)).astype(np.uint8)
    return reconstruct(model, resize(image, 256, "lanczos"), "sample", seed)


def evaluate(model, card=None, quick=False):
    """Reconstruction PSNR and SSIM on the luminance (Y) of the bundled photographs, each scaled to
    cover 256x256 and centre-cropped (quick: the first three)."""
    names = sorted(data.natural_images())[:3 if quick else None]
    if not names:
        raise InputError("No bundled photographs are installed to evaluate on.")
    psnrs, ssims = [], []
    for name in names:
        photo = Image.fromarray(np.asarray(data.load_natural(name)))
        image, recon = reconstruct(model, np.asarray(ImageOps.fit(photo, (256, 256), Image.Resampling.LANCZOS)))
        y_in, y_out = quality.luminance(image), quality.luminance(recon)
        psnrs.append(quality.psnr(y_in, y_out)[0])
        ssims.append(quality.ssim(y_in, y_out)[0])
    return {"photo_psnr_y": round(float(np.mean(psnrs)), 3), "photo_ssim_y": round(float(np.mean(ssims)), 4)}
