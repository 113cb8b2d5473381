"""Text-to-image latent diffusion from the Hugging Face hub (diffusers' Stable Diffusion layout), such
as stabilityai/sd-turbo: a CLIP text encoder reads the prompt, a U-Net denoises a 4-channel latent
8 times smaller than the picture in one to four steps (adversarial diffusion distillation, Sauer et
al. 2023), and the VAE decoder turns the latent into pixels.

Hub cards pin a revision; the registry fetches only the files in HUB_PATTERNS (json, txt and the
full-precision safetensors of each part: no pickles, no single-file checkpoints, no code). It needs
the `transformers` package for the text encoder. Offline it shows as needing the network.
"""
import json
import logging
import math
import time

import numpy as np
import torch
from torch import nn

from .. import devices
from ..cards import where
from ..errors import InputError, ModelUnavailable

HUB_PATTERNS = ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/*.json", "tokenizer/*.txt",
                "text_encoder/config.json", "text_encoder/model.safetensors", "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors"]
SCHEDULERS = ("EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "DDIMScheduler", "LCMScheduler",
              "DPMSolverMultistepScheduler")
SIZES = (256, 384, 512)
MAX_STEPS = 4
MAX_PROMPT = 300
# A classroom guard, not a safety checker: prompts with these words are refused (see the card's limits).
BLOCKED = ("nude", "naked", "nsfw", "porn", "sex", "gore", "corpse", "beheaded")

log = logging.getLogger(__name__)


class TextToImage(nn.Module):
    """The parts of a Stable Diffusion pipeline as one module, so the registry can move and count it."""

    def __init__(self, unet, vae, text_encoder, tokenizer, scheduler_config):
        super().__init__()
        self.unet, self.vae, self.text_encoder = unet, vae, text_encoder
        self.tokenizer, self.scheduler_config = tokenizer, dict(scheduler_config)


def load(folder):
    try:
        # lazy: diffusers and transformers take seconds to import, and only this hub model needs them
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer
    except ImportError as e:
        raise ModelUnavailable(f"Text-to-image models need the transformers package ({e.name} is missing): "
                               "pip install -r requirements.txt") from None
    try:
        unet = UNet2DConditionModel.from_pretrained(str(folder / "unet"), use_safetensors=True)
        vae = AutoencoderKL.from_pretrained(str(folder / "vae"), use_safetensors=True)
        text_encoder = CLIPTextModel.from_pretrained(str(folder / "text_encoder"), use_safetensors=True)
        tokenizer = CLIPTokenizer.from_pretrained(str(folder / "tokenizer"))
        config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    except (OSError, ValueError) as e:
        log.warning("text-to-image pipeline in %s: %s", folder, e)
        raise ModelUnavailable(f"The text-to-image pipeline in {where(folder)} cannot be loaded from safetensors.") \
            from None
    if config.get("_class_name") not in SCHEDULERS:
        raise ModelUnavailable(f"Unknown scheduler {config.get('_class_name')!r} in {where(folder)}.")
    return TextToImage(unet, vae, text_encoder, tokenizer, config)


def check_prompt(prompt):
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError("Write a prompt: a short description of the picture.")
    if len(prompt) > MAX_PROMPT:
        raise InputError(f"The prompt is {len(prompt)} characters long; at most {MAX_PROMPT}.")
    words = set("".join(ch if ch.isalnum() else " " for ch in prompt.lower()).split())
    if words & set(BLOCKED):
        raise InputError("This classroom playground does not draw that. Try another prompt.")
    return prompt.strip()


@torch.no_grad()
def generate(model, prompt, seed, steps=1, size=512):
    """One uint8 (size, size, 3) picture for the prompt, without classifier-free guidance (as sd-turbo
    is meant to be run), seeded."""
    import diffusers  # lazy: diffusers takes seconds to import; only diffusion models need it
    from diffusers import StableDiffusionPipeline
    prompt = check_prompt(prompt)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise InputError(f"Steps must be a whole number from 1 to {MAX_STEPS}, not {steps!r}.")
    if size not in SIZES:
        raise InputError(f"The size must be one of {', '.join(map(str, SIZES))}, not {size!r}.")
    scheduler = getattr(diffusers, model.scheduler_config["_class_name"]).from_config(model.scheduler_config)
    pipe = StableDiffusionPipeline(vae=model.vae, text_encoder=model.text_encoder, tokenizer=model.tokenizer,
                                   unet=model.unet, scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    device = next(model.parameters()).device
    out = pipe(prompt, num_inference_steps=int(steps), guidance_scale=0.0, height=size, width=size,
               generator=devices.generator(seed, device), output_type="np")
    image = np.asarray(out.images[0])
    if not np.isfinite(image).all():
        raise InputError("The model produced an invalid picture for this prompt; try another seed.")
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def default_action(model, seed):
    return generate(model, "a photograph of a red fox in the snow", seed, 1, 512)


def evaluate(model, card=None, quick=False):
    """Seconds per 512x512 picture at one step (the first run warms up and is not counted)."""
    generate(model, "a lighthouse at dusk", 0, 1, 256)
    runs = 1 if quick else 3
    start = time.perf_counter()
    for seed in range(runs):
        generate(model, "a lighthouse at dusk", seed, 1, 512)
    seconds = (time.perf_counter() - start) / runs
    if not math.isfinite(seconds):
        raise InputError("Timing failed.")
    return {"seconds_per_image_1step_512": seconds}
