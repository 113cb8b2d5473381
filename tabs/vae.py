"""VAE tab: reconstruction, the latent map, interpolation, and anomaly detection where likelihood fails."""
import gradio as gr
import pandas as pd

from playground.actions import vae as actions
from playground.actions.common import network_note, usable_now
from tabs import links, ood_panel, two_settings
from tabs.common import (drawing_input, guarded, image_input, image_output, intro, launch_alone, model_event,
                         raw)

DETAILS = """A **variational autoencoder** (Kingma and Welling 2014) has two networks. The **encoder** maps an
image x to a distribution q(z|x) over a short latent vector z (here 32 numbers, or 2 for the map); the
**decoder** maps z back to a distribution p(x|z) over images. Training maximises the **ELBO**,
log p(x|z) on average over q minus KL(q(z|x) || N(0, I)): reconstruct well, but keep the codes close
to a standard normal, so that decoding z ~ N(0, I) gives new images.

Here the decoder gives every pixel a mixture of discretised logistic distributions over its 256
values (as PixelCNN++ does), so -ELBO is a real code length: **bits per dimension** (per pixel),
an upper bound on -log2 p(x) that the importance-weighted bound (Burda et al. 2016) tightens. The
same unit is used by the PixelCNN tab. "Mean" decoding shows the decoder's expected image; "sample"
draws every pixel independently, which looks grainy: the decoder's pixels are independent given z.

**Anomaly detection.** A model of "normal" images should give unusual images a low likelihood. It
does not, reliably: Nalisnick et al. 2019 showed that likelihood models trained on Fashion-MNIST give
MNIST digits a *higher* likelihood (Ren et al. 2019 report an AUROC of 0.089 for PixelCNN++ on this
pair). Serra et al. 2020 explain it by complexity: simple images are cheap to code for any model.
Subtracting the image's length under a generic compressor (PNG) corrects for it.

References: Kingma and Welling 2014, *Auto-Encoding Variational Bayes*; Burda et al. 2016,
*Importance Weighted Autoencoders*; Salimans et al. 2017, *PixelCNN++*; Nalisnick et al. 2019, *Do
Deep Generative Models Know What They Don't Know?*; Serra et al. 2020, *Input Complexity and
Out-of-distribution Detection with Likelihood-based Generative Models*."""


CLASS_COLOURS = dict(zip(actions.MAP_CLASSES, (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")))


def _source_inputs(prefix, model_id):
    with gr.Row():
        source = raw(gr.Radio(list(actions.SOURCES), value="test image", label=f"{prefix}source"))
        top = actions.test_count(model_id) - 1 if model_id else 1
        index = raw(gr.Slider(0, top, value=0, step=1, label="Test image"))
    gallery = gr.Gallery(actions.thumbnails(model_id) if model_id else None, label="Click a test image to pick it",
                         columns=12, height=150, allow_preview=False, format="png")

    def on_pick(evt: gr.SelectData):
        return "test image", evt.index

    gallery.select(guarded(on_pick), None, [source, index])
    with gr.Row():
        upload = image_input("Upload (any size; made grey, light backgrounds inverted)", height=200)
        drawing = drawing_input("Drawing", source)
    return source, index, upload, drawing, gallery


def _reconstruct_view(ids, recon_ids, first, needs_network):
    with gr.Row():
        model = raw(gr.Dropdown(recon_ids, value=first, label="Model (hub autoencoders need the network)"))
        decode = raw(gr.Radio(list(actions.DECODES), value="mean", label="Decoding"))
        seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed (sampled decoding)"))
        go = gr.Button("Reconstruct", variant="primary")
    if needs_network:
        gr.Markdown(network_note(needs_network), elem_id="vae-needs-network")
    # the button and the results first, the image to reconstruct (picked below) after: on a 1280x720 projector the
    # pickers pushed the button and every result below the fold
    with gr.Row():
        shown = image_output("Input, as the model sees it", height=220)
        recon = image_output("Reconstruction", height=220)
        error = image_output(f"Error |input - reconstruction| (black 0, yellow {actions.ERROR_MAX}+ grey "
                             "levels)", height=220)
    recon_md = gr.Markdown()
    source, index, upload, drawing, gallery = _source_inputs("Image ", first)

    def on_model(model_id):
        return gr.update(maximum=actions.test_count(model_id) - 1, value=0), actions.thumbnails(model_id)

    links.follows(model, on_model, [index, gallery])

    def on_reconstruct(model_id, src, i, up, draw, dec, s):  # the API's parameter names
        return actions.reconstruct_shown(model_id, src, i, up, draw, dec, s)

    go.click(model_event(on_reconstruct), [model, source, index, upload, drawing, decode, seed],
             [shown, recon, error, recon_md], api_name="reconstruct")


def _latent_map_view():
    gr.Markdown(f"**{actions.MAP_ID}** squeezes every image into just two numbers. Left: 2,000 test images "
                "placed at their codes, coloured by class. Right: what the decoder draws at evenly spaced "
                "points of the plane (Kingma and Welling's figure). Move the sliders to decode any point.")
    map_btn = gr.Button("Draw the latent map", variant="primary")
    gr.Markdown("Colours: " + ", ".join(f'<span style="color:{c}">&#9632;</span> {n}' for n, c in CLASS_COLOURS.items()))
    with gr.Row():
        scatter = gr.ScatterPlot(x="z1", y="z2", color="class", label="Test images in the latent plane",
                                 height=420, color_map=CLASS_COLOURS)
        manifold = image_output("Decoded manifold: z1 left to right, z2 bottom to top, each from the 5th to "
                                "the 95th percentile of the prior N(0, 1)", height=420)
    with gr.Row():
        z1 = raw(gr.Slider(-3, 3, value=0, step=0.01, label="z1"))
        z2 = raw(gr.Slider(-3, 3, value=0, step=0.01, label="z2"))
        point = image_output("Decoded point", height=200)

    def on_map(a, b):
        points, manifold_image, point_image = actions.latent_map_view(a, b)
        return pd.DataFrame(points), manifold_image, point_image

    map_btn.click(model_event(on_map), [z1, z2], [scatter, manifold, point], api_name="latent_map")
    for slider in (z1, z2):
        slider.release(model_event(actions.decode_point), [z1, z2], point, api_name=False)


def _interpolate_view(ids, first):
    with gr.Row():
        walk_model = raw(gr.Dropdown(ids, value=first, label="Model"))
        index_a = raw(gr.Slider(0, actions.test_count(first) - 1 if first else 1, value=0, step=1,
                                label="First test image"))
        index_b = raw(gr.Slider(0, actions.test_count(first) - 1 if first else 1, value=1, step=1,
                                label="Second test image"))
        steps = raw(gr.Slider(2, 32, value=10, step=1, label="Steps"))
    walk_btn = gr.Button("Interpolate")
    strip = image_output("From the first image's code to the second's")
    gif = gr.Image(label="Animated", type="filepath", interactive=False, height=220)
    with gr.Row():
        sample_seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
        temperature = raw(gr.Slider(0, 2, value=1, step=0.05, label="Temperature (scales z)"))
        side = raw(gr.Slider(1, 8, value=6, step=1, label="Grid size (n x n)"))
        sample_decode = raw(gr.Radio(list(actions.DECODES), value="mean", label="Decoding"))
    prior = raw(gr.Radio(list(actions.PRIORS), value=actions.PRIORS[0], label="Sample from"))
    gr.Markdown("Decoding codes drawn from the VAE's own prior N(0, I) often gives blobs: the codes of real "
                "images are correlated and leave holes in N(0, I) where the decoder never learned anything. "
                "A Gaussian fitted to real images' codes (ex-post density estimation, Ghosh et al. 2020) "
                "avoids them. Switch between the two with the same seed.")
    sample_btn = gr.Button("Sample")
    samples = image_output("Decoded samples")

    def on_walk_model(model_id):
        top = actions.test_count(model_id) - 1
        return gr.update(maximum=top, value=0), gr.update(maximum=top, value=1)

    links.follows(walk_model, on_walk_model, [index_a, index_b])
    walk_btn.click(model_event(actions.interpolate), [walk_model, index_a, index_b, steps], [strip, gif],
                   api_name="interpolate")
    sample_btn.click(model_event(actions.sample),
                     [walk_model, sample_seed, temperature, side, sample_decode, prior], samples,
                     api_name="sample")


def _holdout_view(ids, first):
    gr.Markdown(f"**{actions.HOLDOUT_ID}** never saw one class in training. Can its likelihood pick that "
                "class out of the test images? Scores are computed once for the 2,000 gallery images.")
    with gr.Row():
        kind = raw(gr.Radio(list(actions.KINDS), value="likelihood (bits/dim)", label="Score"))
        percentile = raw(gr.Slider(50, 99.9, value=95, step=0.1,
                                   label="Flag images scoring above this percentile of normal images"))
    holdout_btn = gr.Button("Score the test images", variant="primary")
    holdout_md = gr.Markdown()
    with gr.Row():
        hist = gr.LinePlot(x="score", y="share", color="set", height=380,
                           color_map=dict(zip(actions.HOLDOUT_SETS, ("#1f77b4", "#ff7f0e"))),
                           label="Score histograms (right = more anomalous). Blue: the nine trained classes; "
                                 "orange: the held-out class")
        roc = gr.LinePlot(x="false positive rate", y="true positive rate", label="ROC curve", height=380)
    top = image_output("The 16 highest-scoring test images")
    gr.Markdown("**Score one image** (from the test set, an upload or a drawing):")
    a_source, a_index, a_upload, a_drawing, _ = _source_inputs("Image ", actions.HOLDOUT_ID) \
        if actions.HOLDOUT_ID in ids else _source_inputs("Image ", first)
    score_btn = gr.Button("Score this image")
    with gr.Row():
        a_shown = image_output("Image", height=200)
        a_heat = image_output(f"Bits per pixel under the decoder (black 0, yellow {actions.BITS_MAX}+)",
                              height=200)
        a_md = gr.Markdown()

    def on_holdout(k, p):
        text, histogram, roc_rows, most_anomalous = actions.anomaly_shown(k, p)
        return text, pd.DataFrame(histogram), pd.DataFrame(roc_rows), most_anomalous

    holdout_btn.click(model_event(on_holdout), [kind, percentile], [holdout_md, hist, roc, top],
                      api_name="anomaly")
    for trigger in (percentile.release, kind.change):  # scores are cached: moving the threshold is instant
        trigger(model_event(on_holdout), [kind, percentile], [holdout_md, hist, roc, top], api_name=False)

    def on_score(src, i, up, draw):  # the API's parameter names
        return actions.score_shown(src, i, up, draw)

    score_btn.click(model_event(on_score), [a_source, a_index, a_upload, a_drawing], [a_shown, a_heat, a_md],
                    api_name="score")


def build():
    ids = actions.vae_ids()
    recon_ids, needs_network = usable_now(actions.recon_ids())
    first = actions.OOD_ID if actions.OOD_ID in ids else (ids[0] if ids else None)
    with gr.Blocks() as tab:
        intro("An encoder squeezes an image into a few numbers, a decoder rebuilds it. Pick an image and "
              "click Reconstruct; then explore the latent space and see why likelihood is not an anomaly detector.",
              DETAILS)
        with gr.Tab("Reconstruct"):
            _reconstruct_view(ids, recon_ids, first, needs_network)
        with gr.Tab("Latent map"):
            _latent_map_view()
        with gr.Tab("Interpolate and sample"):
            _interpolate_view(ids, first)
        with gr.Tab("Anomaly: held-out class"):
            _holdout_view(ids, first)
        with gr.Tab("Anomaly: out of distribution"):
            ood_panel.build(actions.out_of_distribution, actions.OOD_ID, "-ELBO")
        with gr.Tab("Two temperatures"):
            two_settings.build("vae", "vae_two_settings", "vae-fashion")
    return tab


if __name__ == "__main__":
    launch_alone(build)
