"""Style transfer tab: live optimisation, instant fast networks, colour baselines, and what "style" is to a network."""
import math
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from playground.actions import style as actions
from tabs.common import guarded, image_input, image_output, intro, launch_alone, model_event, raw
from tabs.stopping import stop_button, stoppable

DETAILS = """**Optimisation** (Gatys et al. 2016) starts from the photo (or noise) and changes its pixels with L-BFGS to
make three numbers small: the **style loss** (the difference between the Gram matrices of the picture's and the
painting's features: which feature channels fire together, wherever they fire), the **content loss** (the
difference between the picture's and the photo's coarser feature maps: where things are) and a **total
variation** term (neighbouring pixels should not jump). The weights set the balance. **Preserve colour**
transfers luminance only and keeps the photo's colours (Gatys et al. 2017).

**The loss network.** Gatys used VGG-19 trained on ImageNet: it is offered as style-loss-vgg19 when the
Hugging Face hub is reachable (a 575 MB download, slow on a CPU). Offline the features come from one layer of
random filters on an image pyramid: random filters already measure texture statistics (Ustyuzhaninov et al.
2017). style-loss-random's card says how it was chosen and measured; style-loss-random-wide has more pyramid
levels and larger filters, and the **Two methods** view sets the optimisation on one beside the other.

**Fast networks** (Johnson et al. 2016) are trained once per style to make the same kind of loss small in a
single pass, with extra terms that keep the photo's layout (each network's card gives its recipe and its
scores). Instant, but one style each: choosing a network sets the Style image to the style it paints.
**Reinhard colour transfer** and **histogram matching** copy colour statistics only: tinted photos, no strokes,
which is what the neural methods add.

References: Gatys, Ecker and Bethge 2016, *Image Style Transfer Using Convolutional Neural Networks*; Simonyan and
Zisserman 2014, *Very Deep Convolutional Networks for Large-Scale Image Recognition*; Gatys et al.
2017, *Controlling Perceptual Factors in Neural Style Transfer*; Johnson, Alahi and Fei-Fei 2016, *Perceptual
Losses for Real-Time Style Transfer*; Ulyanov et al. 2016, *Instance Normalization*; Ustyuzhaninov et al. 2017,
*What does it take to generate natural textures?*; Reinhard et al. 2001, *Color Transfer between Images*."""

LOSS_COLOURS = {"style": "#d62728", "content": "#1f77b4", "tv": "#2ca02c"}


def _frame(rows):
    """The loss rows as a table for the plot, with log10 of each weighted term (they span decades); None (an empty
    plot) before the first row. Never an empty table: gradio's LinePlot fixes its colour scale to the terms of the
    first table it draws, so lines drawn after an empty one had no colour and never showed (issue 25)."""
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["iteration", "seconds", "term", "weighted"])
    frame["log10 weighted loss"] = [math.log10(max(float(w), 1e-12)) for w in frame["weighted"]]
    # numeric columns: an object column would make the plot's axis categorical
    return frame.astype({"iteration": int, "seconds": float, "term": str, "weighted": float,
                         "log10 weighted loss": float})


def _pair_view():
    """The pair every view works on, its settings and the three pictures (rendered beside the views by
    _pair_pictures): made once, shared by the views. One row of settings and the uploads folded away, so
    that each view's button (first in its view) and the pictures are above the fold on a 1280x720 projector."""
    contents, styles, losses = actions.content_names(), actions.style_names(), actions.loss_networks()
    p = SimpleNamespace(result_state=gr.State(None))
    with gr.Row():
        p.content_name = raw(gr.Dropdown(contents, value=contents[0] if contents else None, label="Content photo"))
        p.style_name = raw(gr.Dropdown(styles, value=styles[0] if styles else None, label="Style image"))
        p.resolution = raw(gr.Dropdown(list(actions.RESOLUTIONS), value=256, label="Resolution (longer side, px)"))
        p.loss_net = raw(gr.Dropdown(losses, value=losses[0] if losses else None, label="Loss network"))
        p.keep = raw(gr.Checkbox(value=False, label="Preserve colour (luminance-only transfer)"))
    with gr.Accordion("...or use your own pictures", open=False, elem_id="own_pictures"):
        with gr.Row():
            p.content_up = image_input("...or upload a content image", height=160)
            p.style_up = image_input("...or upload a style image", height=160)
    p.content_view = image_output("Content", height=170, render=False)
    p.style_view = image_output("Style", height=170, render=False)
    p.result = image_output("Result", height=300, render=False)
    p.status = gr.Markdown(render=False)
    p.inputs = [p.content_up, p.content_name, p.style_up, p.style_name, p.resolution]
    return p


def _pair_pictures(p):
    """The pictures, beside the views (a column of their own; below them on a phone)."""
    with gr.Row():
        p.content_view.render()
        p.style_view.render()
    p.result.render()
    p.status.render()


def _optimisation_view(p):
    o = SimpleNamespace()
    with gr.Row():
        go = gr.Button("Start", variant="primary")
        stop_button("style_optimise")
        o.iterations = raw(gr.Slider(1, actions.MAX_ITERATIONS, value=100, step=1, label="Iterations"))
    plot = gr.LinePlot(x="iteration", y="log10 weighted loss", color="term", color_map=LOSS_COLOURS,
                       height=240, label="log10 of the weighted losses (red style, blue content, green TV)")
    with gr.Row():
        o.style_w = raw(gr.Number(value=1000, minimum=0, maximum=1e5, label="Style weight"))
        o.content_w = raw(gr.Number(value=1, minimum=0, maximum=100, label="Content weight"))
        o.tv_w = raw(gr.Number(value=0.01, minimum=0, maximum=10, label="Total variation weight"))
        o.init = raw(gr.Dropdown(list(actions.INITS), value="content", label="Start from"))
        o.seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed (for noise)"))

    def on_optimise(cu, cn, su, sn, res, loss_id, keep_colour, sw, cw, tw, iters, init_value, seed_value,
                    should_stop=None):
        for content, style, image, rows, text in actions.optimise_shown(
                cu, cn, su, sn, res, loss_id, keep_colour, sw, cw, tw, iters, init_value, seed_value, should_stop):
            yield content, style, image, _frame(rows), text, image

    go.click(model_event(stoppable("style_optimise", on_optimise)),
             p.inputs + [p.loss_net, p.keep, o.style_w, o.content_w, o.tv_w, o.iterations, o.init, o.seed],
             [p.content_view, p.style_view, p.result, plot, p.status, p.result_state],
             api_name="style_optimise", show_progress="minimal")
    return o


def _fast_view(p):
    with gr.Row():
        fast_id = raw(gr.Dropdown(actions.fast_networks(), value=actions.first_fast(),
                                  label="Fast network (one style each)"))
        strength = raw(gr.Slider(0, 1, value=1, step=0.05, label="Strength (0 = photo, 1 = network)"))
        fast_go = gr.Button("Stylise", variant="primary")

    def on_fast(cu, cn, su, sn, res, keep_colour, model_id, strength_value):  # the API's parameter names
        return actions.fast_shown(cu, cn, su, sn, res, keep_colour, model_id, strength_value)

    def on_network(model_id):  # the Style image list follows the network: it paints one style only
        name = actions.network_style_name(model_id)
        return gr.update(value=name) if name else gr.update()

    fast_id.change(model_event(on_network), fast_id, p.style_name)  # it loads the network
    fast_go.click(model_event(on_fast), p.inputs + [p.keep, fast_id, strength],
                  [p.content_view, p.style_view, p.result, p.status, p.result_state], api_name="style_fast")


def _baseline_view(p):
    with gr.Row():
        base = raw(gr.Dropdown(list(actions.BASELINES), value=actions.BASELINES[0], label="Baseline"))
        base_go = gr.Button("Transfer colours", variant="primary")

    def on_baseline(cu, cn, su, sn, res, method):  # the API's parameter names
        return actions.baseline_shown(cu, cn, su, sn, res, method)

    base_go.click(guarded(on_baseline), p.inputs + [base], [p.content_view, p.style_view, p.result, p.status,
                                                            p.result_state], api_name="style_baseline")


def _two_methods_view(p, o):
    methods = actions.methods()
    gr.Markdown("Two methods, or the optimisation on two loss networks (for example style-loss-random "
                "against style-loss-random-wide), on the same pair; the optimisation uses the settings of its "
                "tab. Both results are scored alike on an evaluation network that neither optimisation sees: "
                "its style loss and the SSIM to the photo show beside them, with their difference.")
    with gr.Row():
        method_a = raw(gr.Dropdown(methods, value=methods[0] if methods else None, label="Left"))
        method_b = raw(gr.Dropdown(methods, value=methods[-2] if len(methods) > 1 else None, label="Right"))
        compare_go = gr.Button("Compare", variant="primary")
    with gr.Row():
        left, right = image_output("Left"), image_output("Right")
    compare_md = gr.Markdown()

    def on_compare(cu, cn, su, sn, res, a, b, keep_colour, sw, cw, tw, iters, init_value, seed_value):
        return actions.compare_shown(cu, cn, su, sn, res, a, b, keep_colour, sw, cw, tw, iters, init_value,
                                     seed_value)

    compare_go.click(model_event(on_compare), p.inputs + [method_a, method_b, p.keep, o.style_w, o.content_w, o.tv_w,
                                                          o.iterations, o.init, o.seed],
                     [p.content_view, p.style_view, left, right, compare_md], api_name="style_compare")


def _grams_view(p):
    gr.Markdown("The Gram matrices of the loss network's channels (which channels fire together) for the "
                "style, the content and the last result, at the finest and the coarsest style branch (layer), "
                "on one colour scale per branch. The colour shows the **signed square root** of each entry "
                "(black 0, yellow the largest): on a linear scale a few large entries hide the rest. The "
                "optimisation makes the result's matrices match the style's.")
    gram_go = gr.Button("Show the Gram matrices")
    grams = gr.Gallery(label="Gram matrices", columns=3, height=520, format="png")

    def on_grams(cu, cn, su, sn, res, loss_id, last):  # the API's parameter names
        return actions.grams_shown(cu, cn, su, sn, res, loss_id, last)

    gram_go.click(model_event(on_grams), p.inputs + [p.loss_net, p.result_state], grams, api_name="style_grams")


def build():
    with gr.Blocks() as tab:
        intro("Repaint a photo in the style of a painting or texture: watch an optimisation change it step by step, "
              "get the same look instantly from a network trained for one style, and see what the network measures "
              "as \"style\".", DETAILS)
        pair = _pair_view()
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Tab("Optimisation"):
                    settings = _optimisation_view(pair)
                with gr.Tab("Fast network"):
                    _fast_view(pair)
                with gr.Tab("Colour baselines"):
                    _baseline_view(pair)
                with gr.Tab("Two methods"):
                    _two_methods_view(pair, settings)
                with gr.Tab("What style is to the network", elem_id="grams"):
                    _grams_view(pair)
            with gr.Column(scale=2):
                _pair_pictures(pair)
    return tab


if __name__ == "__main__":
    launch_alone(build)
