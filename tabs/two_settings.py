"""The "two settings" panel every generator tab shares: one model, one seed, two values of its
knob (truncation, temperature or steps), the grids side by side and the numbers with their difference."""
import gradio as gr

from playground import compare
from playground.actions.common import family_ids
from tabs.common import image_output, model_event, model_queue, raw

COLUMNS = ["setting", "FD", "precision", "recall", "density", "coverage", "memorisation rate", "seconds per image"]


def build(family, api_name, first=None):
    """The panel for one family's knob, with its own Model dropdown (first: the model it shows first)."""
    k = compare.knob(family)
    name, low, high, step, a_default, b_default = k.name, k.minimum, k.maximum, k.step, k.a, k.b
    ids = family_ids(family)
    first = first if first in ids else (ids[0] if ids else None)
    gr.Markdown(f"The same seed at two values of **{name.lower()}**: {compare.TWO_N} images each, scored against "
                "the same real test images as the Compare tab (the first three numbers: lower FD is closer to real; "
                "precision is fidelity, recall diversity).")
    with gr.Row():
        model = raw(gr.Dropdown(ids, value=first, label="Model"))
        a = raw(gr.Slider(low, high, value=a_default, step=step, label=f"First {name.lower()}"))
        b = raw(gr.Slider(low, high, value=b_default, step=step, label=f"Second {name.lower()}"))
        seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
    go = gr.Button("Compare the two settings", variant="primary")
    with gr.Row():
        grid_a = image_output("First setting", height=300)
        grid_b = image_output("Second setting", height=300)
    table = gr.Dataframe(headers=COLUMNS, interactive=False, label="Both settings and the difference")

    def run(model_id, first, second, s):
        rows, ga, gb = compare.two_settings(model_id, first, second, compare.TWO_N, s)
        return ga, gb, [[row.get(c, "") for c in COLUMNS] for row in rows]

    go.click(model_event(run), [model, a, b, seed], [grid_a, grid_b, table], api_name=api_name, **model_queue())
