"""What the Denoising tab does, as plain functions: validated inputs in, images and numbers out, method by method.

    for state in denoise_all("camera", None, GROUND_TRUTH, 25, 0, "grey"):   # streams: noisy first, then
        rows(state), gallery(state), state["note"]                            # one state per finished method
    sweep_chart()                                                             # the noise-level sweep, drawn

The picture is a bundled photo (scikit-image's, CC0 / public domain) or an upload through
images.normalize_image; it is shrunk to denoise.MAX_SIDE on its long side first, and the note says so.
"""
import json

import numpy as np

from .. import charts, data, denoise, validate
from ..errors import InputError
from ..images import normalize_image

GROUND_TRUTH, ALREADY_NOISY = "add noise (ground truth)", "my image is already noisy"
MODES = (GROUND_TRUTH, ALREADY_NOISY)
UPLOAD = "my upload"
PICKS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "brick")
COLOURS = ("grey", "colour")
SIGMA_RANGE = (5, 100)
MAX_SIDE = denoise.MAX_SIDE  # larger pictures are shrunk to this long side first
MIN_SIDE = 16  # SSIM's 11x11 window, and a few patches for non-local means
NOISY = "noisy input"
COLOURS_OF = {NOISY: "#9ca3af", "Gaussian blur": "#2563eb", "median": "#16a34a", "bilateral": "#f59e0b", "wavelet": "#0891b2",
              "total variation": "#9333ea", "non-local means": "#dc2626"}


def photos():
    """The picker's choices: the installed bundled photos, then UPLOAD."""
    installed = data.natural_images()
    return [n for n in PICKS if n in installed] + [UPLOAD]


def _picture(photo, image, colour):
    mode = "RGB" if colour == "colour" else "L"
    if photo == UPLOAD:
        if image is None:
            raise InputError("No image was given. Please upload one, or pick a photo.")
        picture = normalize_image(image, mode=mode)
    else:
        picture = np.array(data.load_natural(photo, mode))
    picture = picture[..., 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture
    h, w = picture.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"The image is {w}x{h}; it needs at least {MIN_SIDE} pixels on each side here.")
    return denoise.capped(np.ascontiguousarray(picture))


def denoise_all(photo, image, mode, sigma, seed, colour):
    """Yield the view's state after the noisy input and after each method:
    {"noisy", "clean" (None for an already noisy image), "sigma" (used), "outputs": {method: image},
    "rows": [[name, PSNR or None, SSIM or None, ms or None]], "note"}."""
    photo = validate.choice(photo, photos(), name="Photo")
    mode = validate.choice(mode, MODES, name="Mode")
    colour = validate.choice(colour, COLOURS, name="Colour")
    sigma = validate.number(sigma, name="Noise sigma", minimum=SIGMA_RANGE[0], maximum=SIGMA_RANGE[1])
    seed = validate.seed(seed)
    picture, note = _picture(photo, image, colour)
    notes = [note] if note else []
    if mode == GROUND_TRUTH:
        clean, noisy = picture, denoise.add_noise(picture, sigma, seed)
        notes.append(f"Gaussian noise of sigma {sigma:g} (0-255 scale, seed {seed}) was added; PSNR and SSIM "
                     "compare each output with the clean picture.")
    else:
        clean, noisy = None, picture
        estimate = denoise.estimate_sigma(picture)
        sigma = max(estimate, 1.0)
        notes.append(f"Estimated noise sigma: **{estimate:.1f}** (0-255 scale); every method is set from it. "
                     "With no clean picture there is no PSNR or SSIM: judge by eye."
                     + (" The picture looks nearly noise-free." if estimate < 2 else ""))
    state = {"noisy": noisy, "clean": clean, "sigma": sigma, "outputs": {}, "note": " ".join(notes),
             "rows": [[NOISY, *_scores(noisy, clean), None]]}
    yield state
    for name, out, ms in denoise.denoise_all(noisy, sigma):
        state = dict(state, outputs={**state["outputs"], name: out},
                     rows=state["rows"] + [[name, *_scores(out, clean), round(ms, 1)]])
        yield state


def _scores(image, clean):
    if clean is None:
        return None, None
    s = denoise.scores(image, clean)
    return round(s["psnr"], 2), round(s["ssim"], 4)


def gallery(state):
    """[(image, caption)]: the clean picture (ground-truth mode), the noisy one, then each method's output."""
    shown = ([(state["clean"], "clean")] if state["clean"] is not None else []) + [(state["noisy"], NOISY)]
    by_name = {r[0]: r for r in state["rows"]}
    for name, out in state["outputs"].items():
        _, psnr, _, ms = by_name[name]
        shown.append((out, name + (f" ({psnr:.2f} dB" if psnr is not None else " (") + f", {ms:.0f} ms)"))
    return shown


def rows(state):
    """The table's rows: method, PSNR (dB), gain over the noisy input (dB), SSIM, ms."""
    base = state["rows"][0][1]
    return [[name, psnr, None if psnr is None else round(psnr - base, 2), ssim, ms]
            for name, psnr, ssim, ms in state["rows"]]


def sweep():
    """The stored noise-level sweep (python -m playground.denoise_bench), or None if it was never run."""
    return json.loads(denoise.SWEEP.read_text()) if denoise.SWEEP.is_file() else None


def sweep_chart(result=None):
    """PSNR against sigma for each method, error bars the standard deviation over the photos (an RGB array),
    and a sentence on how it was measured; (None, a sentence) when no sweep is stored."""
    result = result or sweep()
    if result is None:
        return None, f"No sweep is stored here: run `{denoise.SWEEP_COMMAND}`."
    series = [{"name": name, "colour": COLOURS_OF.get(name, "#000000"),
               "points": [(i, m, e) for i, (m, e) in enumerate(zip(v["psnr_mean"], v["psnr_std"]))]}
              for name, v in result["methods"].items()]
    image = charts.line_chart(series, result["sigmas"], "PSNR (dB)", "noise sigma (0-255 scale)")
    text = (f"Measured by `{result['command']}` on {len(result['photos'])} grey photos ({', '.join(result['photos'])}), "
            f"each shrunk to {result['max_side']} px on its long side, noise seed {result['seed']}; error bars: the "
            f"standard deviation over the photos. Median ms per photo: " +
            ", ".join(f"{m} {v:g}" for m, v in result["median_ms"].items()) + ".")
    return image, text
