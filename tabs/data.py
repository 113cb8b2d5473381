"""Data tab: what the models learn from, and what the playground makes of an uploaded image."""
import gradio as gr

from playground.actions import gallery, watermark_check
from tabs.common import guarded, image_input, image_output, intro, launch_alone, raw


def build():
    with gr.Blocks() as tab:
        intro("Every model here learned from one of these data sets: look at them first, because a "
              "generative model can only make what its data shows, including its gaps and biases.",
              "A generative model is fitted to a **data distribution**: the faces a GAN draws, the clothes a "
              "diffusion model makes, and the digits a PixelCNN finds likely are all shaped by these few "
              "thousand images. Small data sets are easy to memorise (the GAN tab checks whether its faces "
              "are new), and a data set of 40 people cannot represent everyone.\n\n"
              "Every upload in the playground passes through one normaliser first: it refuses images above "
              "16 megapixels before decoding them, takes the first frame of an animation, applies the camera's "
              "EXIF rotation, puts transparent pixels on white and scales 16-bit images to 8 bits. The "
              "inspector below shows what a model will actually receive.\n\n"
              "References: Xiao et al. 2017, *Fashion-MNIST*; Samaria and Harter 1994, *Parameterisation of a "
              "stochastic model for human face identification* (the ORL faces); Gebru et al. 2021, "
              "*Datasheets for Datasets*.")
        with gr.Row():
            with gr.Column(scale=1):
                name = raw(gr.Dropdown(gallery.names(), value=gallery.names()[0], label="Data set"))
                side = raw(gr.Slider(1, 10, value=6, step=1, label="Grid size (n x n)"))
                seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
                show = gr.Button("Show samples", variant="primary")
            with gr.Column(scale=2):
                grid = image_output("Samples")
        note = gr.Markdown()
        with gr.Accordion("Inspect an upload: what a model receives", open=False, elem_id="inspect_upload"):
            with gr.Row():
                upload = image_input("Any image")
                seen = image_output("After the normaliser")
            seen_note = gr.Markdown()
        show.click(guarded(gallery.sample), [name, side, seed], [grid, note], api_name="data_sample")
        upload.upload(guarded(gallery.inspect_upload), upload, [seen, seen_note], api_name="inspect_upload")
        tab.load(guarded(gallery.sample), [name, side, seed], [grid, note])
        _watermark_view()
    return tab


def _watermark_view():
    """Was this made here? An upload checked for the invisible watermark, its robustness table and its limits."""
    rows, about = watermark_check.robustness()
    with gr.Accordion("Was this made here? (invisible watermark)", open=False, elem_id="watermark"):
        gr.Markdown("The playground can hide an invisible mark in a picture it makes: a faint pattern in the "
                    "picture's broad brightness that survives JPEG, resizing and screenshots, which strip the "
                    "recipe a PNG carries in its text. Upload a picture to look for the mark.")
        with gr.Row():
            with gr.Column(scale=1):
                suspect = image_input("Picture to check")
                check = gr.Button("Check for the mark", variant="primary")
                stamp = gr.Button("Stamp the mark on it (anyone with the code can)")
            with gr.Column(scale=1):
                verdict = gr.Markdown()
                stamped = image_output("With the mark stamped on")
                stamp_note = gr.Markdown()
        gr.Dataframe(rows, headers=watermark_check.HEADERS, label="How often the mark survives", interactive=False,
                     max_height=900)
        gr.Markdown(about)
        gr.Markdown(watermark_check.CANNOT_PROVE)
    check.click(guarded(watermark_check.check), suspect, verdict, api_name="watermark_check")
    stamp.click(guarded(watermark_check.mark_upload), suspect, [stamped, stamp_note])


if __name__ == "__main__":
    launch_alone(build)
