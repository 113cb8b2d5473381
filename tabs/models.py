"""Models tab: every card, what is loaded where, and load/unload by hand."""
import gradio as gr

from playground.actions import models as actions
from playground.actions.common import menu_choices
from tabs.common import guarded, intro, launch_alone, model_event, raw


def build():
    ids = actions.model_ids()
    with gr.Blocks() as tab:
        intro("Every model the playground knows, where its weights come from, what it was measured to do, "
              "and what is in memory right now.",
              "Each model has a **model card** (`model_cards/<id>.md`): its source (files in `weights/` "
              "trained by this project, or a Hugging Face hub repository pinned to a commit), the data it "
              "learned from, its licence, its size and its measured metrics, written by the command shown "
              "in the card. Weights are loaded only from safetensors files, never from pickles.\n\n"
              "Models load lazily on first use onto the best device (a CUDA GPU, Apple's MPS, else the CPU) "
              "and share a memory budget (`--memory-budget`, default 4 GB); when a new model would pass it, "
              "the least recently used idle model is freed. Hub models need a network the first time; "
              "offline they show as *needs network* and everything else keeps working.")
        memory_md = gr.Markdown()
        with gr.Row():  # above the table, which is long: on a projector the buttons stay in view
            choice = raw(gr.Dropdown(menu_choices(ids), value=ids[0] if ids else None, label="Model", scale=3))
            load_btn = gr.Button("Load", variant="primary", scale=1)
            unload_btn = gr.Button("Unload", scale=1)
            refresh_btn = gr.Button("Refresh", scale=1)
        # widths that add up to a 1280 px screen, so every column shows (left to themselves, the data set and metrics
        # columns took the width of three screens); narrower screens scroll the table sideways, not the page
        models = gr.Dataframe(headers=actions.COLUMNS, interactive=False, wrap=True, label="Models", max_height=420,
                              column_widths=["150px", "90px", "130px", "90px", "260px", "100px", "70px", "70px",
                                             "90px", "70px", "90px"])
        card_md = gr.Markdown(actions.card_text(ids[0]) if ids else "No model cards found in model_cards/.")
        outputs = [models, memory_md, card_md]
        choice.change(guarded(actions.card_text), choice, card_md, api_name="model_card")
        def on_load(model_id):  # the API's parameter name
            offline = actions.needs_network(model_id)
            if offline:  # a sentence, and the table stays (an error would blank every output)
                gr.Warning(offline.replace("**", ""))
                return gr.skip(), gr.skip(), offline + "\n\n" + actions.card_text(model_id)
            return actions.load(model_id)

        load_btn.click(model_event(on_load), choice, outputs, api_name="load_model")
        unload_btn.click(guarded(actions.unload), choice, outputs, api_name="unload_model")
        refresh_btn.click(guarded(actions.table), None, [models, memory_md], api_name="models_status")
        tab.load(guarded(actions.table), None, [models, memory_md])
    return tab


if __name__ == "__main__":
    launch_alone(build)
