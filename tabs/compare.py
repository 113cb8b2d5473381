"""Compare tab: every generator of one data set from the same seed, with one table of metrics."""
import gradio as gr

from playground.actions import compare as actions
from tabs import cas, links
from tabs.common import intro, launch_alone, model_event, raw
from tabs.stopping import stop_button, stoppable

DETAILS = actions.EXPLAIN + """

References: Heusel et al. 2017 (the Frechet distance, here on our own features); Kynkaanniemi et al.
2019, *Improved Precision and Recall*; Naeem et al. 2020, *Reliable Fidelity and Diversity Metrics*;
Theis et al. 2016, *A note on the evaluation of generative models*."""


def build():
    first = list(actions.DATASETS)[0]
    choices, ticked = actions.dataset_models(first)
    with gr.Blocks() as tab:
        intro("The same data, the same seed, every kind of model: a GAN, a VAE, a diffusion model and a "
              "PixelCNN side by side, with the numbers that say how close each comes to real images.", DETAILS)
        with gr.Row():
            dataset = raw(gr.Radio(list(actions.DATASETS), value=first, label="Data set"))
            models = raw(gr.CheckboxGroup(choices, value=ticked, label="Models"))
        with gr.Row():
            n = raw(gr.Slider(actions.MIN_N, 500, value=100, step=actions.N_STEP,
                              label="Images per model (ORL faces: at most 200)", elem_id="compare-n"))
            seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
            sampler = raw(gr.Dropdown(actions.sampler_choices(), value=actions.MODEL_DEFAULT,
                                      label="Diffusion sampler"))
            steps = raw(gr.Slider(1, 1000, value=20, step=1, label="Diffusion steps (with a chosen sampler)"))
        with gr.Row():
            go = gr.Button("Compare", variant="primary")
            stop_button("compare")
        status = gr.Markdown()
        table = gr.Dataframe(headers=list(actions.COLUMNS), label="Metrics (first five rows: real images, for "
                             "scale)", interactive=False, wrap=True, elem_id="compare-table")
        grids = gr.Gallery(label="The first 36 images of each", columns=4, height=420, format="png",
                           object_fit="contain")
        export = gr.File(label="Export: grids (PNG), table (CSV), record.json", interactive=False)
        gr.Markdown(actions.EXPLAIN)

        def on_dataset(name):
            c, t = actions.dataset_models(name)
            return gr.update(choices=c, value=t)

        links.follows(dataset, on_dataset, [models])
        go.click(model_event(stoppable("compare", actions.run)), [dataset, models, n, seed, sampler, steps],
                 [grids, table, status, export], api_name="compare", show_progress="minimal")
        cas.panel()
    return tab


if __name__ == "__main__":
    launch_alone(build)
