"""What the VAE tab does, as plain functions: validated inputs in, images and numbers out.

Reconstruct (any VAE), the latent map (vae-fashion-2d), interpolation and prior samples, and two
anomaly views: a held-out class (vae-fashion-holdout) and out-of-distribution digits
(vae-fashion, through playground.ood, which the PixelCNN tab shares). Scores over test sets are
computed once per model and kept (they depend only on the weights and fixed seeds).
"""
import functools
import tempfile
from pathlib import Path
from statistics import NormalDist

import numpy as np

from .. import data, datasets, ood, quality, registry, results, validate
from ..errors import InputError
from ..families import autoencoder_kl, vae
from ..images import heatmap, make_grid, normalize_image, resize, save_gif
from ..images import zoom as images_zoom
from .common import family_ids, fit_upload

MAP_ID, HOLDOUT_ID, OOD_ID = "vae-fashion-2d", "vae-fashion-holdout", "vae-fashion"
SOURCES = ("test image", "upload", "drawing")
DECODES = ("mean", "sample")
TILE = 168          # pixels a 28x28 image is enlarged to for display (6x)
GRID_SIDE = 20      # the manifold figure: GRID_SIDE x GRID_SIDE decoded points
SCORE_N = 1000      # Fashion-MNIST gallery images (and digits) scored for the anomaly views
MAP_N = 2000
ERROR_MAX = 128     # grey levels of reconstruction error shown at the top of the heatmap's scale
BITS_MAX = 12       # bits per pixel shown at the top of the likelihood heatmap's scale
MAP_CLASSES = datasets.FASHION.classes  # the latent map's points are coloured by these (vae-fashion-2d's)


def vae_ids():
    return family_ids(vae)


def recon_ids():
    """The playground's VAEs, then the hub's photo autoencoders (usable when downloaded)."""
    return vae_ids() + family_ids(autoencoder_kl)


def _is_photo(model_id):
    return model_id in family_ids(autoencoder_kl)


def _photos():
    return sorted(data.natural_images())


def _model_id(model_id, options=None):
    options = recon_ids() if options is None else options
    if not options:
        raise InputError("No VAE is installed in this playground for this view.")
    return validate.choice(model_id, options, name="Model")


def _fixed(model_id):
    if model_id not in registry.default().cards():
        raise InputError(f"The model {model_id} is not installed in this playground.")
    return model_id


def zoom(image, size=TILE):
    """A small grey image enlarged (nearest neighbour) to about `size` pixels, for projectors."""
    return images_zoom(image, size)


def zoom_rgb(image, size=TILE):
    """zoom() for an (H,W,3) colour image."""
    return images_zoom(image, size, colour=True)


@functools.lru_cache(maxsize=4)
def _test_set(dataset, size):
    """(images, labels, class names) the tab picks from: the data set's shipped gallery (the 2,000
    Fashion-MNIST images that ship with the playground), else its test split (the 80 held-out ORL faces)."""
    record = datasets.get(dataset)
    images, labels = record.gallery() if record.gallery else record.load("test", size=size)
    return np.asarray(images), np.asarray(labels), record.names(int(np.max(labels)) + 1)


def _card_size(model_id):
    card = registry.default().card(model_id)
    return card.dataset, int(str(card.resolution).split("x")[0])


def test_count(model_id):
    """How many test images the model's picker offers (without loading the model)."""
    if _is_photo(_model_id(model_id)):
        return len(_photos())
    dataset, size = _card_size(model_id)
    return len(_test_set(dataset, size)[0])


def test_image(model_id, index):
    if _is_photo(_model_id(model_id)):
        names = _photos()
        index = validate.number(index, name="Test image", minimum=0, maximum=len(names) - 1, step=1, integer=True)
        return np.asarray(data.load_natural(names[index])), names[index]
    dataset, size = _card_size(model_id)
    images, labels, names = _test_set(dataset, size)
    index = validate.number(index, name="Test image", minimum=0, maximum=len(images) - 1, step=1, integer=True)
    return images[index], names[int(labels[index])]


def thumbnails(model_id, count=24):
    """The first `count` test images the picker offers, small, with captions "index: class"."""
    total = test_count(model_id)
    out = []
    for i in range(min(count, total)):
        image, name = test_image(model_id, i)
        image = np.asarray(image)
        side = max(image.shape[:2])
        out.append((zoom(image, 56) if side <= 64 else resize(image, (64, 64 * image.shape[0] // image.shape[1])),
                    f"{i}: {name}"))
    return out


def model_input(model_id, source, index=0, upload=None, drawing=None):
    """The image a model will see, from the chosen source, and a caption."""
    model_id = _model_id(model_id)
    source = validate.choice(source, SOURCES, name="Source")
    dataset, size = (None, None) if _is_photo(model_id) else _card_size(model_id)
    if source == "test image":
        image, name = test_image(model_id, index)
        return image, f"test image {int(index)} ({name})"
    src = upload if source == "upload" else drawing
    if src is None:
        raise InputError("The drawing is empty: draw something first." if source == "drawing"
                         else f"Choose an image for the {source} source first.")
    if source == "drawing":
        src = np.asarray(src)
        if src.size == 0 or src.ndim < 2 or (src.ndim == 3 and src.shape[-1] == 4 and not src[..., 3].any()) \
                or src.min() == src.max():
            raise InputError("The drawing is empty: draw something first.")
    if _is_photo(model_id):
        return normalize_image(src, mode="RGB"), f"your {source}"
    return fit_upload(src, size, invert_light=datasets.get(dataset).light_on_dark), f"your {source}"


@results.cached("vae.reconstruct")
def reconstruct(model_id, source="test image", index=0, upload=None, drawing=None, decode="mean", seed=0):
    """Input, reconstruction and error heatmap (display-sized), with PSNR, SSIM and bits/dim."""
    model_id = _model_id(model_id)
    decode = validate.choice(decode, DECODES, name="Decoding")
    seed = validate.seed(seed)
    image, caption = model_input(model_id, source, index, upload, drawing)
    if _is_photo(model_id):
        return _reconstruct_photo(model_id, image, caption, decode, seed)
    with registry.using(model_id) as model:
        recon = vae.reconstruct(model, image[None], decode, seed)[0]
        bits = float(vae.bound_bits(model, image[None], 1, seed)[0])
    error = np.abs(image.astype(np.float64) - recon.astype(np.float64))
    return {"input": zoom(image), "reconstruction": zoom(recon), "error": zoom_rgb(heatmap(error, vmax=ERROR_MAX)),
            "psnr": float(quality.psnr(image, recon)[0]), "ssim": float(quality.ssim(image, recon)[0]),
            "bits_per_dim": bits, "caption": caption, "raw": (image, recon)}


def _reconstruct_photo(model_id, image, caption, decode, seed):
    with registry.using(model_id) as model:
        image, recon = autoencoder_kl.reconstruct(model, image, decode, seed)
    y_in, y_out = quality.luminance(image), quality.luminance(recon)
    return {"input": image, "reconstruction": recon, "error": heatmap(np.abs(y_in - y_out), vmax=64),
            "psnr": float(quality.psnr(y_in, y_out)[0]), "ssim": float(quality.ssim(y_in, y_out)[0]),
            "bits_per_dim": None, "caption": caption, "raw": (image, recon)}


# latent map -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _latent_map(model_id):
    images, labels, names = _test_set(*_card_size(model_id))
    with registry.using(model_id) as model:
        if model.latent_dim != 2:
            raise InputError("The latent map needs a model with a 2-D latent space.")
        mu, _ = vae.encode(model, images[:MAP_N])
        q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, GRID_SIDE)], np.float32)
        z = np.stack(np.meshgrid(q, q[::-1]), -1).reshape(-1, 2)  # rows top to bottom: z2 high to low
        tiles = vae.decode_latents(model, z)
    return {"z": mu, "labels": labels[:MAP_N], "names": names,
            "manifold": make_grid(tiles, nrow=GRID_SIDE, pad=0), "extent": float(q[-1])}


def latent_map(model_id=MAP_ID):
    """2,000 gallery images' posterior means in the 2-D latent (with labels and class names), and
    the decoded manifold: a GRID_SIDE x GRID_SIDE grid at evenly spaced quantiles of the prior
    (5% to 95%, as in Kingma and Welling 2014, figure 4)."""
    return dict(_latent_map(_fixed(model_id)))


def decode_point(z1, z2, model_id=MAP_ID):
    """The decoder's mean image at one point of the 2-D latent plane."""
    z = [validate.number(v, name=n, minimum=-4, maximum=4, step=0.01) for v, n in ((z1, "z1"), (z2, "z2"))]
    with registry.using(_fixed(model_id)) as model:
        if model.latent_dim != 2:
            raise InputError("Decoding a point needs a model with a 2-D latent space.")
        return zoom(vae.decode_latents(model, np.array([z], np.float32))[0])


# interpolation and samples ------------------------------------------------------------------------
def interpolate(model_id, index_a, index_b, steps=8, decode="mean"):
    """Two test images' posterior means joined by a line: a strip and the path of a GIF."""
    model_id = _model_id(model_id, vae_ids())
    steps = validate.number(steps, name="Steps", minimum=2, maximum=32, step=1, integer=True)
    decode = validate.choice(decode, DECODES, name="Decoding")
    a, _ = test_image(model_id, index_a)
    b, _ = test_image(model_id, index_b)
    with registry.using(model_id) as model:
        frames = vae.interpolate(model, a, b, steps, decode)
    big = [zoom(f, 192) for f in frames]
    path = Path(tempfile.mkdtemp(prefix="vae-walk-")) / f"interpolation-{int(index_a)}-{int(index_b)}.gif"
    save_gif(big + big[-2:0:-1], path, duration_ms=120)
    return make_grid([zoom(f, 96) for f in frames], nrow=steps), str(path)


PRIORS = ("Gaussian fitted to real images' codes", "N(0, I), the VAE's own prior")


@functools.lru_cache(maxsize=4)
def _fitted(model_id):
    dataset, size = _card_size(model_id)
    with registry.using(model_id) as model:
        return vae.fit_codes(model, _test_set(dataset, size)[0])


def sample(model_id, seed, temperature=1.0, side=4, decode="mean", prior=PRIORS[0]):
    """A side x side grid of images decoded from latents drawn with `seed`: from the VAE's prior
    N(0, T^2 I), or from a Gaussian fitted to the codes of the test images the tab offers (scaled by T)."""
    model_id = _model_id(model_id, vae_ids())
    seed = validate.seed(seed)
    temperature = validate.number(temperature, name="Temperature", minimum=0, maximum=2, step=0.05)
    side = validate.number(side, name="Grid size", minimum=1, maximum=8, step=1, integer=True)
    decode = validate.choice(decode, DECODES, name="Decoding")
    prior = validate.choice(prior, PRIORS, name="Sample from")
    fitted = _fitted(model_id) if prior == PRIORS[0] else None
    with registry.using(model_id) as model:
        images = vae.sample_prior(model, seed, side * side, float(temperature), decode, fitted)
    return make_grid([zoom(im, 96) for im in images], nrow=side)


# anomaly views ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _scores(model_id, against):
    """Negative ELBO (bits/dim, seed 0) and complexity-corrected scores of the normal images and of
    the anomalies: the held-out class of the gallery (against="holdout") or MNIST digits ("digits")."""
    images, labels, names = _test_set(*_card_size(model_id))
    with registry.using(model_id) as model:
        if against == "holdout":
            if model.holdout_class is None:
                raise InputError(f"{model_id} was trained on every class; it has no held-out class.")
            normal, anomal = images[labels != model.holdout_class], images[labels == model.holdout_class]
            anomal_name = names[model.holdout_class]
        else:
            normal, anomal, anomal_name = images[:SCORE_N], vae.ood_images(quick=True)[:SCORE_N], "MNIST digits"
        raw_n, raw_a = vae.bound_bits(model, normal, 1, 0), vae.bound_bits(model, anomal, 1, 0)
    return {"normal": normal, "anomal": anomal, "anomal_name": anomal_name,
            "raw": (raw_n, raw_a), "corrected": (ood.corrected_scores(raw_n, normal),
                                                 ood.corrected_scores(raw_a, anomal))}


HOLDOUT_SETS = ("other nine classes", "held-out class")
KINDS = {"likelihood (bits/dim)": "raw", "complexity-corrected": "corrected"}


def anomaly(kind="likelihood (bits/dim)", percentile=95, model_id=HOLDOUT_ID):
    """The held-out-class view: histogram rows, ROC points, AUROC, the confusion counts when images
    above the `percentile`-th percentile of normal scores are flagged, and the most anomalous images."""
    kind = KINDS[validate.choice(kind, KINDS, name="Score")]
    percentile = validate.number(percentile, name="Threshold percentile", minimum=50, maximum=99.9, step=0.1)
    s = _scores(_fixed(model_id), "holdout")
    normal, anomal = s[kind]
    threshold = float(np.percentile(normal, percentile))
    fpr, tpr = ood.roc_curve(normal, anomal)
    both = np.concatenate([normal, anomal])
    images = np.concatenate([s["normal"], s["anomal"]])
    top = np.argsort(-both, kind="stable")[:16]
    return {"histogram": ood.histogram_rows(normal, anomal, HOLDOUT_SETS),
            "roc": [{"false positive rate": float(f), "true positive rate": float(t)} for f, t in zip(fpr, tpr)],
            "auroc": ood.auroc(normal, anomal), "threshold": threshold,
            "confusion": ood.confusion(normal, anomal, threshold), "anomal_name": s["anomal_name"],
            "most_anomalous": make_grid([zoom(im, 84) for im in images[top]], nrow=8),
            "most_anomalous_held_out": int((top >= len(normal)).sum())}


def score_image(source, index=0, upload=None, drawing=None, model_id=HOLDOUT_ID):
    """One image's score under the held-out-class model, where it falls among normal test images,
    and a heatmap of its per-pixel code length (bits) under the decoder."""
    model_id = _fixed(model_id)
    image, caption = model_input(model_id, source, index, upload, drawing)
    with registry.using(model_id) as model:
        bits = float(vae.bound_bits(model, image[None], 1, 0)[0])
        pixel = vae.pixel_bits(model, image[None])[0]
    corrected = float(ood.corrected_scores([bits], image[None])[0])
    s = _scores(model_id, "holdout")
    return {"input": zoom(image), "heatmap": zoom_rgb(heatmap(pixel, vmax=BITS_MAX)),
            "bits_per_dim": bits, "corrected": corrected, "caption": caption,
            "percentile_raw": float((s["raw"][0] < bits).mean() * 100),
            "percentile_corrected": float((s["corrected"][0] < corrected).mean() * 100)}


def out_of_distribution(model_id=OOD_ID):
    """Fashion-MNIST gallery images against MNIST digits: raw and corrected histograms and AUROCs
    (playground.ood.in_out_view, which the PixelCNN tab shares)."""
    s = _scores(_fixed(model_id), "digits")
    return ood.in_out_view(s["raw"][0], s["normal"], s["raw"][1], s["anomal"])


def bench_cases():
    """What `python -m playground.bench` times for this tab (the issue's latency targets)."""
    def latent_map_afresh(i):
        _latent_map.cache_clear()
        return latent_map()
    return {"VAE: reconstruct and score one test image (vae-fashion)":
            lambda i: reconstruct(OOD_ID, "test image", i),
            "VAE: draw the latent map afresh (encode 2,000 images, decode a 20x20 manifold)": latent_map_afresh}


# What the tab shows: one call per event, the results chained and put into words here (the tab only wires).

def recon_text(r):
    """reconstruct()'s numbers as the sentence under the three images."""
    if r["bits_per_dim"] is None:  # a hub photo autoencoder: no pixel likelihood, colour PSNR/SSIM on Y
        return (f"**{r['caption']}**: PSNR {r['psnr']:.1f} dB, SSIM {r['ssim']:.3f} on the luminance. The heatmap "
                "shows the luminance error per pixel: bright where the autoencoder changed the picture.")
    return (f"**{r['caption']}**: PSNR {r['psnr']:.1f} dB, SSIM {r['ssim']:.3f}, "
            f"-ELBO {r['bits_per_dim']:.3f} bits/dim (lower: the model finds the image more typical). The heatmap "
            "shows |input - reconstruction| per pixel: bright where the VAE lost detail.")


def reconstruct_shown(model_id, source, index, upload, drawing, decode, seed):
    """Reconstruct: (input, reconstruction, error heatmap, sentence)."""
    r = reconstruct(model_id, source, index, upload, drawing, decode, seed)
    return r["input"], r["reconstruction"], r["error"], recon_text(r)


def latent_map_view(z1, z2):
    """The latent map: (the test images' codes as plot columns z1, z2, class; the manifold; the point z1, z2 decoded)."""
    m = latent_map()
    points = {"z1": m["z"][:, 0], "z2": m["z"][:, 1], "class": [m["names"][i] for i in m["labels"]]}
    return points, m["manifold"], decode_point(z1, z2)


def anomaly_text(r, percentile):
    """anomaly()'s AUROC and confusion counts at the threshold, in words."""
    c = r["confusion"]
    return (f"**AUROC {r['auroc']:.3f}** for {r['anomal_name']} against the other nine classes "
            f"(0.5 is chance, 1 is perfect). At the {float(percentile):g}th percentile (score {r['threshold']:.3f}): "
            f"{c['true_positives']} {r['anomal_name']} images caught, {c['false_negatives']} missed; "
            f"{c['false_positives']} normal images wrongly flagged, {c['true_negatives']} passed. "
            f"{r['most_anomalous_held_out']} of the 16 highest scores are {r['anomal_name']} images.")


def anomaly_shown(kind, percentile):
    """The held-out-class view: (sentence, histogram rows, ROC rows, the 16 highest-scoring images)."""
    r = anomaly(kind, percentile)
    return anomaly_text(r, percentile), r["histogram"], r["roc"], r["most_anomalous"]


def score_shown(source, index, upload, drawing):
    """One image scored under the held-out-class model: (image, bits heatmap, sentence)."""
    r = score_image(source, index, upload, drawing)
    text = (f"**{r['caption']}**: -ELBO {r['bits_per_dim']:.3f} bits/dim, higher than "
            f"{r['percentile_raw']:.0f}% of normal test images; complexity-corrected {r['corrected']:+.3f}, "
            f"higher than {r['percentile_corrected']:.0f}% of them.")
    return r["input"], r["heatmap"], text
