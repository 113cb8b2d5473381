"""The Compare tab's "Generated images as training data" view: the CAS table and augmentation curves the bench
measured, and one small case run live (playground.actions.cas does the work)."""
import gradio as gr

from playground.actions import cas as actions
from tabs.common import model_event, raw
from tabs.stopping import stop_button, stoppable

VIEW = "train_on_generated"
EXPLAIN = (
    "Can a generator's images stand in for real ones? Train one fixed small classifier on images a conditional "
    "generator drew for each class, test it on real test images: the **Classification Accuracy Score** (CAS; "
    "Ravuri and Vinyals 2019). A generator whose classes look right and vary as real ones do scores near the same "
    "classifier trained on real images; FD alone cannot say that. The curves ask whether generated images help when "
    "real ones are few, and whether they beat **classical augmentation** (flips and small shifts), which costs "
    "nothing. The same recipe everywhere: only the training images change.")


def panel():
    """The accordion, under the Compare tab's table."""
    result = actions.read()
    ids = actions.generator_ids()
    with gr.Accordion("Generated images as training data", open=False, elem_id="generated_data"):
        gr.Markdown(EXPLAIN)
        gr.Dataframe(actions.cas_rows(result), headers=actions.CAS_HEADERS, interactive=False, wrap=True,
                     label="Classification Accuracy Score: trained on generated images only, tested on real ones")
        gr.Image(actions.curve_chart(result), format="png", interactive=False, show_label=True,
                 label="Mean test accuracy against real images per class, one line per method; bars: one standard "
                       "deviation over seeds")
        gr.Dataframe(actions.curve_rows(result), headers=actions.curve_headers(result), interactive=False, wrap=True,
                     label="Test accuracy (%), mean ± standard deviation over seeds")
        gr.Markdown(actions.about(result))
        gr.Markdown("**Run one case live** (one seed; about 20 s of one core with gan-fashion): the classifier on a few real "
                    "images per class, with classical augmentation, and with generated images added.")
        with gr.Row():
            model = raw(gr.Dropdown(ids, value=ids[0] if ids else None, label="Generator"))
            per_class = raw(gr.Radio(list(actions.PER_CLASS), value=actions.PER_CLASS[0],
                                     label="Real images per class"))
            multiple = raw(gr.Radio(list(actions.MULTIPLES), value=actions.MULTIPLES[-1],
                                    label="Generated images added per real image"))
            seed = raw(gr.Number(value=0, precision=0, minimum=0, label="Seed"))
        with gr.Row():
            go = gr.Button("Train the three classifiers", variant="primary")
            stop_button(VIEW)
        status = gr.Markdown()
        table = gr.Dataframe(headers=actions.LIVE_HEADERS, interactive=False, label="This run")
    go.click(model_event(stoppable(VIEW, actions.live)), [model, per_class, multiple, seed], [table, status],
             api_name=VIEW, show_progress="minimal")
