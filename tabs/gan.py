"""GAN tab: faces from a generator, latent walks, truncation, the discriminator, and "is it new?"."""
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from playground.actions import gan as actions
from tabs import links, two_settings
from tabs.common import guarded, image_input, image_output, intro, launch_alone, model_event, raw

ETHICS = """**Faces of real people.** The 400 training photos show 40 people who sat for a research data set
in 1992-1994 (credit: AT&T Laboratories Cambridge). They agreed to a face-recognition study, not to
having new faces made from theirs. With 400 images a generator can copy its training data: the
"Is it new?" check above looks for that, and it can flag copies but cannot prove novelty.

**Deepfakes.** The same technique at scale makes photographs of people who never existed and puts
real people in pictures they never posed for. Synthetic faces are used for fake profiles and fraud;
detectors exist but lag behind generators.

**Bias.** A generator reproduces its data: these 40 people are mostly young, white and male, so
that is what it draws. Nothing here should be used to make claims about real people."""


SENTENCE = ("A generator turns random noise into a face; a discriminator learns to tell its faces from real "
            "ones; each improves against the other. Click Generate, then click a face.")
DETAILS = ("A **GAN** (Goodfellow et al. 2014) trains two networks against each other. The generator maps a "
           "random latent vector z (128 numbers drawn from a normal distribution) to an image; the "
           "discriminator scores images as real or generated. Here the discriminator uses spectral "
           "normalisation and the hinge loss, and because 400 photos are very few, both real and generated "
           "images are randomly shifted, cut out and re-lit before it sees them (DiffAugment, Zhao et al. "
           "2020), so it cannot simply memorise the training set. The faces shown come from an exponential "
           "moving average of the generator's weights, which is smoother than the latest weights.\n\n"
           "**Truncation** (Brock et al. 2019) pulls each latent toward the mean: faces get more typical and "
           "less varied. **Precision and recall** (Kynkaanniemi et al. 2019) measure exactly that trade: "
           "fidelity against diversity. A **latent walk** moves along a great circle between two latents "
           "(spherical interpolation), so each frame is a plausible latent.\n\n"
           "References: Goodfellow et al. 2014, *Generative Adversarial Nets*; Radford et al. 2016, *DCGAN*; "
           "Miyato et al. 2018, *Spectral Normalization*; Zhao et al. 2020, *Differentiable Augmentation "
           "for Data-Efficient GAN Training*; Karras et al. 2019, *StyleGAN* (the truncation trick).")


LOSS_COLOURS = {"generator": "#ff7f0e", "discriminator": "#1f77b4"}


# Each view makes its components and returns them; build() wires the events after every view exists, in the
# order they have always had (their ids, so fn_index and the API listing, stay as they were).

def _grid_view(ids):
    c = SimpleNamespace(faces=gr.State(None), side_state=gr.State(4))
    first_classes = actions.classes(ids[0]) if ids else []
    with gr.Row():
        c.model = raw(gr.Dropdown(ids, value=ids[0] if ids else None, label="Model"))
        c.label = raw(gr.Dropdown([actions.ALL] + first_classes, value=actions.ALL, label="Class",
                                  visible=bool(first_classes)))
        c.seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
        c.side = raw(gr.Slider(1, actions.MAX_SIDE, value=4, step=1, label="Grid size (n x n)"))
        c.psi = raw(gr.Slider(0, 1, value=1, step=0.05, label="Truncation psi (1 = none)"))
    with gr.Row():
        c.go = gr.Button("Generate", variant="primary")
        c.pr_btn = gr.Button("Measure fidelity and diversity at this psi")
    with gr.Row():
        with gr.Column(scale=3):
            c.grid = image_output("Generated faces (click one)")
        with gr.Column(scale=2):
            c.pr_md = gr.Markdown()
            c.picked = image_output("Selected face", height=160)
            c.near_px = image_output("Nearest training faces: pixel space", height=140)
            c.near_ft = image_output("Nearest training faces: feature space", height=140)
            c.verdict = gr.Markdown("**Is it new?** Click a face in the grid.")
    return c


def _walk_view():
    c = SimpleNamespace()
    with gr.Accordion("Latent walk: from one seed's face to another's", open=False, elem_id="walk"):
        with gr.Row():
            c.seed_a = raw(gr.Number(value=0, precision=0, minimum=0, label="First seed"))
            c.seed_b = raw(gr.Number(value=1, precision=0, minimum=0, label="Second seed"))
            c.steps = raw(gr.Slider(2, 32, value=10, step=1, label="Steps"))
            c.walk_btn = gr.Button("Walk")
        c.strip = image_output("Interpolation: the first seed top left, the second bottom right, read row by row")
        c.gif = gr.Image(label="Animated", type="filepath", interactive=False, height=240)
    return c


def _discriminator_view(ids):
    c = SimpleNamespace()
    with gr.Accordion("Discriminator view: what does the critic think?", open=False, elem_id="critic"):
        with gr.Row():
            c.real_index = raw(gr.Slider(0, (actions.training_size(ids[0]) if ids else 400) - 1, value=0, step=1,
                                         label="Training image to compare"))
            c.real_upload = image_input("...or upload a face (any size; made grey)")
        c.judge_btn = gr.Button("Score the grid and the real face")
        with gr.Row():
            c.real_img = image_output("Real face", height=200)
            c.scores_md = gr.Markdown()
    return c


def _timeline_view():
    c = SimpleNamespace()
    with gr.Accordion("How it learned: fixed noise through training", open=False, elem_id="timeline"):
        gr.Markdown("The same 64 latents drawn at evenly spaced steps of training, and the losses. Watch blobs "
                    "turn into faces; a collapsing GAN would show the same face everywhere.")
        c.load_tl = gr.Button("Show the training timeline")
        c.timeline = gr.Gallery(label="Samples along training", columns=4, height=420, format="png")
        c.losses = gr.LinePlot(x="step", y="loss", color="network", color_map=LOSS_COLOURS, height=300,
                               label="Losses (orange: generator, blue: discriminator)")
    return c


def _wire_grid(g, real_index):
    def on_model(model_id):
        names = actions.classes(model_id)
        return (gr.update(choices=[actions.ALL] + names, value=actions.ALL, visible=bool(names)),
                gr.update(maximum=actions.training_size(model_id) - 1, value=0))

    links.follows(g.model, on_model, [g.label, real_index])

    def on_generate(model_id, label_value, seed_value, side_value, psi_value):  # the API's parameter names
        image, made, side, summary = actions.generate_shown(model_id, label_value, seed_value, side_value, psi_value)
        return image, made, side, None, None, None, summary

    g.go.click(model_event(on_generate), [g.model, g.label, g.seed, g.side, g.psi],
               [g.grid, g.faces, g.side_state, g.picked, g.near_px, g.near_ft, g.verdict], api_name="generate")

    def on_pr(model_id, label_value, seed_value, psi_value):
        return actions.precision_recall_shown(model_id, label_value, seed_value, psi_value)

    g.pr_btn.click(model_event(on_pr), [g.model, g.label, g.seed, g.psi], g.pr_md, api_name="precision_recall")
    for setting in (g.model, g.label, g.seed, g.psi):  # the numbers were for other settings: they go
        setting.change(lambda: "", None, g.pr_md, queue=False)

    def on_select(model_id, made, side_value, evt: gr.SelectData):
        return actions.selected_shown(model_id, made, side_value, evt.index[0], evt.index[1])

    g.grid.select(model_event(on_select), [g.model, g.faces, g.side_state],
                  [g.picked, g.near_px, g.near_ft, g.verdict])


def _wire_walk(g, w):
    def on_walk(model_id, label_value, a, b, n):
        return actions.walk(model_id, a, b, n, label_value)

    w.walk_btn.click(model_event(on_walk), [g.model, g.label, w.seed_a, w.seed_b, w.steps], [w.strip, w.gif],
                     api_name="walk")


def _wire_discriminator(g, d):
    def on_judge(model_id, made, index, upload):
        return actions.judge_shown(model_id, made, index, upload)

    d.judge_btn.click(model_event(on_judge), [g.model, g.faces, d.real_index, d.real_upload],
                      [d.real_img, d.scores_md], api_name="discriminate")


def _wire_timeline(g, t):
    def on_timeline(model_id):
        grids, rows = actions.timeline_shown(model_id)
        return grids, pd.DataFrame(rows)

    t.load_tl.click(guarded(on_timeline), g.model, [t.timeline, t.losses], api_name="timeline")


def build():
    ids = actions.gan_ids()
    with gr.Blocks() as tab:
        intro(SENTENCE, DETAILS)
        grid = _grid_view(ids)
        walk = _walk_view()
        critic = _discriminator_view(ids)
        with gr.Accordion("Two truncations side by side, with the numbers", open=False, elem_id="two_truncations"):
            two_settings.build("gan", "gan_two_settings")
        timeline = _timeline_view()
        with gr.Accordion("Risks: deepfakes, consent, memorisation, bias", open=False, elem_id="risks"):
            gr.Markdown(ETHICS)
        _wire_grid(grid, critic.real_index)
        _wire_walk(grid, walk)
        _wire_discriminator(grid, critic)
        _wire_timeline(grid, timeline)
    return tab


if __name__ == "__main__":
    launch_alone(build)
