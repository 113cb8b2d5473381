"""The "two settings" panel every generator tab shares: one model, one seed, two values of its
knob (truncation, temperature or steps), the grids side by side and the numbers with their difference."""
import gradio as gr

from playground.actions import compare as actions
from playground.actions.common import family_ids
from tabs.common import image_output, model_event, raw
from tabs.stopping import stop_button, stoppable


def build(family, api_name, first=None):
    """The panel for one family's knob, with its own Model dropdown (first: the model it shows first)."""
    name, low, high, step, a_default, b_default = actions.knob(family)
    ids = family_ids(family)
    first = first if first in ids else (ids[0] if ids else None)
    gr.Markdown(f"The same seed at two values of **{name.lower()}**: {actions.TWO_N} images each, scored against "
                "real images: held-out test images where the data set has them, every training face for ORL faces, "
                "which the GANs learn whole (the first three numbers: lower FD is closer to real; precision is "
                "fidelity, recall diversity).")
    with gr.Row():
        model = raw(gr.Dropdown(ids, value=first, label="Model"))
        a = raw(gr.Slider(low, high, value=a_default, step=step, label=f"First {name.lower()}"))
        b = raw(gr.Slider(low, high, value=b_default, step=step, label=f"Second {name.lower()}"))
        seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
    with gr.Row():
        go = gr.Button("Compare the two settings", variant="primary")
        stop_button(api_name)
    status = gr.Markdown()
    with gr.Row():
        grid_a = image_output("First setting", height=300)
        grid_b = image_output("Second setting", height=300)
    table = gr.Dataframe(headers=actions.TWO_COLUMNS, interactive=False, label="Both settings and the difference")

    def run(model_id, first, second, s, should_stop=None):  # the API's parameter names
        yield from actions.two_settings(model_id, first, second, s, should_stop=should_stop)

    go.click(model_event(stoppable(api_name, run)), [model, a, b, seed], [grid_a, grid_b, table, status],
             api_name=api_name, show_progress="minimal")
