"""Card templates for the super-resolution models (trained here, and the ESRGAN-slim port): first drafts of
a new card only (a card that exists keeps its prose), and the training-run section a run writes."""
from .. import cards

HEAD = """---
id: {model_id}
family: superres
title: {title}
source: weights/{model_id}
revision: null
dataset: {dataset}
license: {license}
params: {params}
resolution: x{scale}
train_command: {train_command}
metrics: {{}}
metrics_command: python -m playground.evaluate {model_id} --write
---

# {title}

"""
HELD = ("Held out, never trained on (the card's metrics): scikit-image's astronaut, chelsea and coffee and "
        "scikit-learn's flower.jpg (`families.superres.HELD_OUT`). Protocol: the ground truth is cropped to a "
        "multiple of the scale, downscaled with PIL's antialiased bicubic filter, upscaled back by each method, "
        "and compared on the luminance Y (BT.601) with `scale` pixels cropped from every border; PSNR and SSIM "
        "are averaged over the images.")
ARCH = {
    "fast": "an ESPCN / FSRCNN-class network (Shi et al. 2016; Dong et al. 2016): a 5x5 convolution to {features} "
            "maps, two 3x3 convolutions of {mid} maps (PReLU), a 3x3 convolution to 3 x {scale}^2 maps and a pixel "
            "shuffle, all at the low resolution, added to a bicubic upscale of the input (the network learns only "
            "the residual, as VDSR does)",
    "edsr": "an EDSR-baseline-class residual network (Lim et al. 2017): a 3x3 head convolution to {channels} maps, "
            "{blocks} residual blocks without batch normalisation, a convolution and the global skip, one 3x3 "
            "convolution and pixel shuffle per factor of two, a convolution to RGB, added to a bicubic upscale of "
            "the input",
}
TRAINED = HEAD + """A learned x{scale} upscaler: {arch}. Inputs and outputs are RGB in 0..1; it is fully convolutional,
and the Super-resolution tab runs it in overlapping tiles so that memory stays bounded on large images.

## Data

Training pairs are random {patch}x{patch} crops of the natural images installed offline (the run's list
is under Training), flipped and rotated by multiples of 90 degrees, each paired with its bicubic
(antialiased, PIL) downscale by {scale}. The scikit-image files are CC0 or public domain, scikit-learn's china.jpg is from its
sample images, the opencv-doc files are OpenCV's sample data (used only for training; the app never
reads them), and gradio's are its bundled media. {held}

## Training

`{command}`: L1 loss, Adam with cosine decay of the learning rate to a tenth{init}. Compare: EDSR
trains for 300,000 steps on DIV2K's 800 2K images; this is a classroom model trained for minutes on the
few pictures listed below, and its card says how far that gets.

{run_start}
{run_end}

## Limits and ethics

Trained for bicubic downscaling only: real photographs (camera blur, noise, JPEG) are a different
degradation and the gains shrink. An upscaler invents plausible detail: never treat an upscaled face,
number plate or text as evidence of what was there.
"""
PORT = HEAD + """A port of the pretrained x{scale} model of the npm package
[@upscalerjs/esrgan-slim](https://www.npmjs.com/package/@upscalerjs/esrgan-slim) {version} (MIT licence,
copyright 2022 Kevin Scott; part of [UpscalerJS](https://upscalerjs.com)). Its Keras "layers model" is
a slim residual dense network (RDN; Zhang et al. 2018): two 3x3 convolutions of 64 maps, 2 residual
dense blocks of one 3x3 convolution of 4 maps each (concatenated, fused by a 1x1 convolution, added),
global feature fusion (1x1 then 3x3) added to the first features, then convolutions of 5x5 (64 maps),
3x3 (32) and 3x3 (3 x {scale}^2), nearest-neighbour upsampling by {scale} and a 3x3 convolution to RGB.
The package's metadata names DIV2K as the training data; it reads and writes pixel values in 0..255.

## Conversion

`python -m playground.convert_esrgan_slim upscalerjs-esrgan-slim-{version}.tgz --scale {scale}` reads
models/x{scale}/model.json and its weight shard from the tarball `npm pack @upscalerjs/esrgan-slim@{version}`
downloads (sha256 {sha256}), maps each Keras kernel to the torch module
`families.superres.ESRGANSlim` and writes model.safetensors, config.json and keras_model.json (the
Keras topology). The app reads only the safetensors. Faithfulness (tests/unit/test_esrgan_slim.py): a
plain-numpy interpreter of the Keras layers (Conv2D with 'same' padding, Concatenate, Add, ReLU,
UpSampling2D) runs the original graph on the committed weights and matches the torch module; with
the tarball at hand, the conversion reproduces the committed weights bit for bit and the package's own
x{scale} sample output (assets/samples) to within one grey level.

{held}

## Limits and ethics

Trained by its author on DIV2K with its own degradation, which is not necessarily this tab's bicubic
downscale, so its PSNR here may be no better than bicubic's even where it looks sharper. Its nearest-
neighbour upsampling followed by a single 3x3 convolution leaves visible {scale}x{scale} blocks on smooth
areas; the package's own sample output shows the same (the port matches it). An upscaler
invents plausible detail: never treat an upscaled face, number plate or text as evidence of what was there.
"""
TITLES = {"fast": "Fast learned upscaler (ESPCN class)", "edsr": "Residual learned upscaler (EDSR-baseline class)"}


RUN = ("The run that wrote these weights: learning rate {lr}, batch {batch_size}, {steps} steps, seed {seed}. Training "
       "took {minutes:.1f} minutes on {threads} CPU thread(s) of a shared 2-core machine, on {count} pictures: "
       "{images}.")


def run_text(minutes, threads, image_names, **training):
    """The card's training-run section: what this run was (training: lr, batch_size, steps, seed) and the
    pictures it found installed."""
    return RUN.format(minutes=minutes, threads=threads, count=len(image_names), images=", ".join(image_names),
                      **training)


def card_template(model_id, preset, config, params, command):
    """A new card's first draft."""
    arch = ARCH[config["arch"]].format(**config)
    init = (f", starting from {preset['init_from']}'s head and residual body (EDSR's trick, here from the x4 "
            "model to the x2 one)") if preset.get("init_from") else ""
    return TRAINED.format(model_id=model_id, title=f"{TITLES[config['arch']]} x{config['scale']}",
                          dataset="natural-images (scikit-image, scikit-learn, opencv-doc, gradio media)",
                          license="MIT", params=params, scale=config["scale"], train_command=command, command=command,
                          arch=arch, patch=preset["patch"], held=HELD, init=init, run_start=cards.RUN_START,
                          run_end=cards.RUN_END)


def port_template(scale, params, version, sha256):
    model_id = f"esrgan-slim-x{scale}"
    return PORT.format(model_id=model_id, title=f"ESRGAN-slim x{scale} (port of @upscalerjs/esrgan-slim)",
                       dataset="DIV2K (per the package's metadata)", license="MIT (Kevin Scott, @upscalerjs/esrgan-slim)",
                       params=params, scale=scale, train_command="null", version=version, sha256=sha256,
                       held=HELD)
