"""Diffusion tab: watch noise become an image step by step; compare samplers; the forward process; SDEdit."""
import gradio as gr
import pandas as pd

from playground.actions import diffusion as actions
from playground.actions.common import gallery_thumbnails, network_note, usable_now
from tabs import links, two_settings
from tabs.common import (drawing_input, guarded, image_input, image_output, intro, launch_alone, model_event,
                         raw)
from tabs.stopping import stop_button, stoppable

MAIN_ID = "ddpm-fashion"  # the first model shown
DETAILS = """A **diffusion model** (Sohl-Dickstein et al. 2015; Ho et al. 2020) learns to undo noise. The
*forward process* blends an image x0 with Gaussian noise: x_t = sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise,
with alpha-bar falling from 1 at t = 0 to almost 0 at t = 1,000. A U-Net is trained to predict the noise in
x_t. Generating runs the process backwards from pure noise: at every step the network's noise estimate gives
a guess of the clean image (right) and a slightly less noisy x_t (left).

**Samplers** differ in how they take those steps: DDPM (Ho et al. 2020) adds fresh noise at every one of up
to 1,000 steps; DDIM (Song et al. 2021) is deterministic for eta = 0 and works with far fewer steps;
DPM-Solver++ (Lu et al. 2022) and Euler/Heun (Karras et al. 2022) treat it as an ODE and need 10 to 30.
**Classifier-free guidance** (Ho and Salimans 2022) pushes the prediction away from the model's
"no class" answer toward the chosen class: more typical images, less variety.

**SDEdit** (Meng et al. 2022) noises your image part of the way and denoises it: low strength stays close
to what you drew, high strength gives a realistic image that resembles it less."""


def _generate_view(ids, first):
    choices = actions.class_choices(first) if first else []
    default_sampler, default_steps = actions.default_sampler(first) if first else ("DPM-Solver++", 20)
    with gr.Row():
        model = raw(gr.Dropdown(ids, value=first, label="Model"))
        label = raw(gr.Dropdown(choices, value=choices[0] if choices else None, label="Class",
                                visible=bool(choices)))
        guidance = raw(gr.Slider(0, 10, value=actions.default_guidance(first) if first else 2,
                                 step=actions.GUIDANCE_STEP,
                                 label="Guidance scale (1 = none)"))
    with gr.Row():
        sampler = raw(gr.Dropdown(list(actions.SAMPLERS), value=default_sampler, label="Sampler"))
        steps = raw(gr.Slider(1, 1000, value=default_steps, step=1, label="Steps"))
        seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
        side = raw(gr.Slider(1, actions.MAX_SIDE, value=4, step=1, label="Grid size (n x n)"))
    with gr.Row():
        go = gr.Button("Generate", variant="primary")
        stop_button("diffusion_generate")
    status = gr.Markdown()
    with gr.Row():
        xt = image_output("x_t: the noisy image at this step")
        x0 = image_output("Predicted clean image x0 at this step")
    gif = gr.Image(label="The whole trajectory (left x_t, right x0)", type="filepath", interactive=False)

    def on_model(model_id):
        choices = actions.class_choices(model_id)
        name, count = actions.default_sampler(model_id)
        return (gr.update(choices=choices, visible=bool(choices), value=choices[0] if choices else None),
                name, count, actions.default_guidance(model_id))

    links.follows(model, on_model, [label, sampler, steps, guidance])
    go.click(model_event(stoppable("diffusion_generate", actions.generate)),
             [model, label, guidance, sampler, steps, seed, side], [xt, x0, status, gif], api_name="diffusion_generate",
             show_progress="minimal")
    return model, label, guidance, seed


def _compare_view(first, model, label, guidance, seed):
    gr.Markdown("The same seed and class (the Generate tab's; with every class in turn, the first) through "
                "each sampler at each step count: rows are samplers, columns step counts. Few steps are fast and rough. The "
                "table gives each cell's seconds per image and its kernel distance (KD: KID on the playground's own "
                "features, not comparable with published KID) over 100 images, lower is better, with its standard "
                "error: unlike FD it is unbiased at 100 images, so every cell can be measured. **Measure KD** "
                "measures the cells that are not known yet (about 10 s a cell on Fashion-MNIST, a minute on faces).")
    with gr.Row():
        chosen = raw(gr.CheckboxGroup(list(actions.SAMPLERS),
                                      value=["DDPM", "DDIM", "DPM-Solver++", "Euler ancestral"],
                                      label="Samplers"))
        counts = raw(gr.CheckboxGroup(list(actions.STEP_CHOICES), value=[5, 10, 20, 50], label="Steps"))
    versus = gr.Markdown(actions.against_gan(first) if first else "")
    model.change(guarded(actions.against_gan), model, versus)
    with gr.Row():
        compare_btn = gr.Button("Compare", variant="primary")
        stop_button("compare_samplers")
    compare_status = gr.Markdown()
    compare_grid = image_output("Rows: samplers; columns: step counts")
    with gr.Row():
        measure_btn = gr.Button("Measure KD of these cells")
        stop_button("measure_samplers")
    compare_table = gr.Dataframe(headers=["sampler", "steps", "seconds per image", "KD (N=100) ± s.e."],
                                 interactive=False)
    compare_btn.click(model_event(stoppable("compare_samplers", actions.compare_samplers)),
                      [model, label, guidance, seed, chosen, counts],
                      [compare_grid, compare_table, compare_status], api_name="compare_samplers",
                      show_progress="minimal")
    measure_btn.click(model_event(stoppable("measure_samplers", actions.measure_samplers)),
                      [model, guidance, chosen, counts], [compare_table, compare_status], api_name="measure_samplers",
                      show_progress="minimal")


def _forward_view(forward_tab):
    picks = gr.Gallery(gallery_thumbnails(), label="Click a test image to use it, or upload your own",
                       columns=12, height=130, allow_preview=False, format="png")
    with gr.Row():
        source = image_input("Image (any size; made grey)", height=220)
        t = raw(gr.Slider(0, 999, value=300, step=1, label="t"))
        schedule = raw(gr.Radio(["linear", "cosine"], value="linear", label="Schedule"))
        noise_seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Noise seed"))
    noisy = image_output("x_t ~ q(x_t | x_0)", height=240)
    numbers = gr.Markdown()
    with gr.Row():
        legend = "Blue: linear schedule; orange: cosine; red: the chosen t."
        abar_plot = gr.LinePlot(x="t", y="value", color="curve", label=f"alpha-bar(t). {legend}", height=300,
                                color_map=actions.CURVE_COLOURS)
        snr_plot = gr.LinePlot(x="t", y="value", color="curve", label=f"log10 signal-to-noise ratio. {legend}",
                               height=300, color_map=actions.CURVE_COLOURS)

    def on_forward(image, t_value, kind, s):  # the API's parameter names
        shown, text, rows, snr = actions.forward_shown(image, t_value, kind, s)
        return shown, text, pd.DataFrame(rows), pd.DataFrame(snr)

    def on_pick(evt: gr.SelectData):
        return actions.gallery_image(evt.index)

    picks.select(guarded(on_pick), None, source)
    for i, trigger in enumerate((t.release, schedule.change, source.change, forward_tab.select)):
        trigger(guarded(on_forward), [source, t, schedule, noise_seed], [noisy, numbers, abar_plot, snr_plot],
                api_name="forward_process" if i == 0 else False)
    return source


def _edit_view(model, label, guidance, source):
    # The sketchpad has a row of its own: beside other components in a row its canvas was sized to
    # the whole row when the tab opened after another one, and strokes landed outside the view.
    gr.Markdown("Draw here, or leave the page blank to edit the Forward process tab's upload.")
    sketch = drawing_input("Drawing", elem_id="sdedit-sketch")
    with gr.Row():
        strength = raw(gr.Slider(0.05, 1, value=0.6, step=0.05, label="Strength (0 keep, 1 new)"))
        edit_seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
    edit_btn = gr.Button("Noise and denoise")
    with gr.Row():
        before = image_output("Your image, as the model sees it", height=240)
        after = image_output("After SDEdit", height=240)

    def on_edit(model_id, composite, upload, s, class_label, w, seed_value):  # the API's parameter names
        return actions.edit_drawing_or_upload(model_id, composite, upload, s, class_label, w, seed_value)

    edit_btn.click(model_event(on_edit), [model, sketch, source, strength, label, guidance, edit_seed],
                   [before, after], api_name="diffusion_edit")


def _text_to_image_view():
    t2i_ids, needs_network = usable_now(actions.text_to_image_ids())
    gr.Markdown("A large text-to-image model from the Hugging Face hub, for contrast with the small models "
                "above: the same denoising idea, trained on billions of captioned web images. It needs the "
                "network the first time (about 5 GB) and then runs from the cache; offline it says so. "
                "Read its card (Models tab) for its data, licence and limits.")
    with gr.Row():
        t2i_model = raw(gr.Dropdown(t2i_ids, value=t2i_ids[0] if t2i_ids else None, label="Model"))
        prompt = raw(gr.Textbox(value="a photograph of a red fox in the snow", label="Prompt", max_lines=2))
    with gr.Row():
        t2i_steps = raw(gr.Slider(1, 4, value=1, step=1, label="Steps"))
        t2i_size = raw(gr.Radio([256, 384, 512], value=512, label="Size"))
        t2i_seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
    t2i_btn = gr.Button("Draw", variant="primary")
    t2i_md = gr.Markdown()
    if needs_network:
        gr.Markdown(network_note(needs_network), elem_id="t2i-needs-network")
    picture = image_output("Picture", height=420)
    t2i_btn.click(model_event(actions.text_to_image), [t2i_model, prompt, t2i_steps, t2i_size, t2i_seed],
                  [picture, t2i_md], api_name="text_to_image")


def build():
    ids = actions.diffusion_ids()
    first = MAIN_ID if MAIN_ID in ids else (ids[0] if ids else None)
    with gr.Blocks() as tab:
        intro("A network learns to remove noise; run backwards from pure noise, it draws. Choose a sampler and "
              "watch each step.", DETAILS)
        with gr.Tab("Generate"):
            model, label, guidance, seed = _generate_view(ids, first)
        with gr.Tab("Compare samplers"):
            _compare_view(first, model, label, guidance, seed)
        with gr.Tab("Forward process") as forward_tab:
            source = _forward_view(forward_tab)
        with gr.Tab("Edit (SDEdit)"):
            _edit_view(model, label, guidance, source)
        with gr.Tab("Two step counts"):
            two_settings.build("diffusion", "diffusion_two_settings", first)
        with gr.Tab("Text to image (hub)"):
            _text_to_image_view()
    return tab


if __name__ == "__main__":
    launch_alone(build)
