"""PixelCNN tab: an image written one pixel at a time; completion, likelihood maps and the blind spot."""
import gradio as gr

from playground.actions import pixelcnn as actions
from playground.actions.common import gallery_thumbnails
from tabs import links, ood_panel, two_settings
from tabs.common import (drawing_input, guarded, image_input, image_output, intro, launch_alone, model_event,
                         raw)
from tabs.stopping import stop_button, stoppable

DETAILS = """An **autoregressive model** writes an image the way you write a sentence: one pixel at a time,
each drawn from a distribution given all the pixels before it (left to right, top to bottom). The
probability of the whole image is the product of those 784 conditionals, so -log2 p(x) is an exact
code length: the **bits per dimension** shown here are not a bound, as the VAE's are, and the two
tabs use the same unit.

**PixelCNN** (van den Oord et al. 2016) computes all 784 conditionals in one pass during training
with convolutions *masked* so that no pixel sees itself or anything after it. Sampling cannot be
parallel: each pixel needs the ones before it. Run naively that is 784 passes of the whole network
for a 28x28 image; the fast sampler here computes only what changes (the rows above once per row,
then one new column of every layer per pixel, from the columns it cached: Ramachandran et al. 2017)
and writes exactly the same pixels for the same seed.

Stacking masked 3x3 convolutions leaves a **blind spot**: pixels above and to the right that the
model never sees however deep it is. The **gated PixelCNN** splits the network into a vertical
stack (rows above) and a horizontal stack (the row so far), which removes it: see Receptive field.

**Likelihood is not normality**: this model, trained on clothes, finds MNIST digits *more* likely
than its own test images (Nalisnick et al. 2019); subtracting a PNG's length (Serra et al. 2020)
corrects most of it. The VAE tab shows the same with the same code.

References: van den Oord et al. 2016, *Pixel Recurrent Neural Networks* and *Conditional Image
Generation with PixelCNN Decoders*; Salimans et al. 2017, *PixelCNN++*; Ramachandran et al. 2017,
*Fast Generation for Convolutional Autoregressive Models*."""


def _sources(label):
    with gr.Row():
        source = raw(gr.Radio(list(actions.SOURCES), value="test image", label=label))
        index = raw(gr.Slider(0, 1999, value=0, step=1, label="Test image"))
    gallery = gr.Gallery(gallery_thumbnails(), label="Click a test image to pick it", columns=12, height=150,
                         allow_preview=False, format="png")

    def on_pick(evt: gr.SelectData):
        return "test image", evt.index

    gallery.select(guarded(on_pick), None, [source, index])
    with gr.Row():
        upload = image_input("Upload (any size; made grey, light backgrounds inverted)", height=200)
        drawing = drawing_input("Drawing", source)
    return source, index, upload, drawing


def _controls(ids, first):
    """The settings every view shares: model, class, temperature and seed."""
    choices = actions.class_choices(first) if first else []
    with gr.Row():
        model = raw(gr.Dropdown(ids, value=first, label="Model"))
        label = raw(gr.Dropdown(choices, value=choices[0] if choices else None, label="Class",
                                visible=bool(choices)))
        temperature = raw(gr.Slider(0.1, 2, value=1, step=0.05,
                                    label="Temperature (below 1: smoother pixels, fainter garments)"))
        seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))

    def on_model(model_id):
        c = actions.class_choices(model_id)
        return gr.update(choices=c, visible=bool(c), value=c[0] if c else None)

    links.follows(model, on_model, [label])
    return model, label, temperature, seed


def _sample_view(model, label, temperature, seed):
    with gr.Row():
        side = raw(gr.Slider(1, actions.MAX_SIDE, value=4, step=1, label="Grid size (n x n)"))
        fast = raw(gr.Checkbox(value=True, label="Fast exact sampler (same pixels, far fewer passes)"))
    with gr.Row():
        go = gr.Button("Sample", variant="primary")
        stop_button("pixelcnn_sample")
    status = gr.Markdown()
    grid = image_output("Written so far, row by row")
    gif = gr.Image(label="Animated", type="filepath", interactive=False, height=260)
    go.click(model_event(stoppable("pixelcnn_sample", actions.sample)), [model, label, temperature, seed, side, fast],
             [grid, status, gif], api_name="pixelcnn_sample", show_progress="minimal")


def _complete_view(model, temperature, seed):
    source, index, upload, drawing = _sources("Image to complete")
    with gr.Row():
        hidden = raw(gr.Slider(1, 27, value=14, step=1, label="Rows hidden at the bottom"))
        k = raw(gr.Slider(1, actions.MAX_COMPLETIONS, value=4, step=1, label="Completions"))
    with gr.Row():
        complete_btn = gr.Button("Complete", variant="primary")
        stop_button("pixelcnn_complete")
    complete_md = gr.Markdown()
    strip = image_output("Original | what the model sees (grey: hidden) | completions")
    complete_btn.click(model_event(stoppable("pixelcnn_complete", actions.complete)),
                       [model, source, index, upload, drawing, hidden, k, seed, temperature],
                       [strip, complete_md], api_name="pixelcnn_complete", show_progress="minimal")


def _likelihood_view(model):
    l_source, l_index, l_upload, l_drawing = _sources("Image to score")
    score_btn = gr.Button("Score this image", variant="primary")
    with gr.Row():
        l_shown = image_output("Image, as the model sees it", height=220)
        l_heat = image_output(f"Bits per pixel, -log2 p(pixel | pixels before) (black 0, yellow "
                              f"{actions.BITS_MAX}+)", height=220)
        l_md = gr.Markdown()

    def on_score(model_id, src, i, up, draw):  # the API's parameter names
        return actions.likelihood_shown(model_id, src, i, up, draw)

    score_btn.click(model_event(on_score), [model, l_source, l_index, l_upload, l_drawing],
                    [l_shown, l_heat, l_md], api_name="pixelcnn_likelihood")
    gr.Markdown("---")
    ood_panel.build(actions.out_of_distribution, actions.MAIN_ID, "-log2 p(x) / 784",
                    api_name="pixelcnn_out_of_distribution")


def _receptive_field_view():
    gr.Markdown(f"Which earlier pixels can the model use to predict one pixel? Green: pixels whose value "
                f"changes its prediction (the gradient); red: earlier pixels within its reach that it can "
                f"never see; blue: the pixel. Left **{actions.MASKED_ID}** (masked convolutions), right "
                f"**{actions.MAIN_ID}** (gated, two stacks).")
    with gr.Row():
        row = raw(gr.Slider(0, 27, value=14, step=1, label="Row"))
        col = raw(gr.Slider(0, 27, value=14, step=1, label="Column"))
    field_btn = gr.Button("Show the receptive fields", variant="primary")
    with gr.Row():
        masked_img = image_output("Masked PixelCNN", height=260)
        gated_img = image_output("Gated PixelCNN", height=260)
    field_md = gr.Markdown()

    def on_field(r, c):  # the API's parameter names
        return actions.receptive_field_shown(r, c)

    for i, trigger in enumerate((field_btn.click, row.release, col.release)):
        trigger(model_event(on_field), [row, col], [masked_img, gated_img, field_md],
                api_name="receptive_field" if i == 0 else False)


def build():
    ids = actions.pixelcnn_ids()
    first = actions.MAIN_ID if actions.MAIN_ID in ids else (ids[0] if ids else None)
    with gr.Blocks() as tab:
        intro("A PixelCNN writes an image one pixel at a time, each from a distribution given the pixels before "
              "it. Watch it write, let it finish half-hidden images, and see where it is surprised.", DETAILS)
        model, label, temperature, seed = _controls(ids, first)
        with gr.Tab("Sample"):
            _sample_view(model, label, temperature, seed)
        with gr.Tab("Complete"):
            _complete_view(model, temperature, seed)
        with gr.Tab("Likelihood"):
            _likelihood_view(model)
        with gr.Tab("Two temperatures"):
            two_settings.build("pixelcnn", "pixelcnn_two_settings", actions.MAIN_ID)
        with gr.Tab("Receptive field"):
            _receptive_field_view()
    return tab


if __name__ == "__main__":
    launch_alone(build)
