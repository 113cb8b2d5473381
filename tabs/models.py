"""Models tab: every card, what is loaded where, and load/unload by hand."""
import re
import time

import gradio as gr

from playground import registry, validate
from tabs.common import guarded, intro, model_event, model_queue, raw

COLUMNS = ["id", "family", "dataset", "params", "metrics", "availability", "loaded", "device",
           "memory (MB)", "load (s)", "last used"]
LOADED = COLUMNS.index("loaded")


RUNG = re.compile(r"_(floor|blur[0-9.]+|noise[0-9.]+)$")  # the FD ladder's reference rows
WEIGHTS_IMAGE = re.compile(r"!\[[^\]]*\]\(\.\./weights/[^)]*\)")


def _metrics(card, most=None):
    items = [(k, v) for k, v in card.metrics.items() if most is None or not RUNG.search(k)]
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items[:most])
    return text + (", ..." if most is not None and len(items) > most else "")


def table():
    """Rows for the models table, and a line on memory in use against the budget."""
    reg = registry.default()
    cards = reg.cards()
    rows = []
    for s in reg.status():
        card = cards[s["id"]]
        last = time.strftime("%H:%M:%S", time.localtime(s["last_used"])) if s["last_used"] else ""
        rows.append([s["id"], card.family, card.dataset, f"{card.params:,}",
                     _metrics(card, most=3), s["availability"], "yes" if s["loaded"] else "no", s["device"],
                     round(s["bytes"] / 2**20, 2) if s["loaded"] else "",
                     s["load_seconds"] if s["loaded"] else "", last])
    memory = (f"**Memory in use:** {registry.format_bytes(reg.resident_bytes())} of a "
              f"{registry.format_bytes(reg.memory_budget)} budget on **{reg.device}**. Models load on first use; "
              "the least recently used idle model is freed when the budget would be passed.")
    return rows, memory


def card_text(model_id):
    """The card's key facts and its prose, as markdown."""
    reg = registry.default()
    model_id = validate.choice(model_id, sorted(reg.cards()), name="Model")
    card = reg.card(model_id)
    source = card.source + (f" @ `{card.revision[:12]}`" if card.revision else "")
    facts = (f"**{card.title}** (`{card.id}`, family {card.family}): {reg.availability(model_id)}, from {source}\n\n"
             f"- **Data:** {card.dataset}; **licence:** {card.license}\n"
             f"- **Parameters:** {card.params:,}; **resolution:** {card.resolution}\n"
             f"- **Metrics:** {_metrics(card) or 'none yet'}\n"
             f"- **Reproduce:** `{card.train_command or 'pretrained elsewhere'}`; **measure:** `{card.metrics_command}`\n\n"
             "---\n\n")
    # weights/ is never served to browsers: the sample grid the card links is not shown here
    body = WEIGHTS_IMAGE.sub("*(sample grid: weights/" + card.id + "/samples.png in the repository)*", card.body)
    return facts + body


def load(model_id):
    reg = registry.default()
    model_id = validate.choice(model_id, sorted(reg.cards()), name="Model")
    reg.get_model(model_id)
    return (*table(), card_text(model_id))


def unload(model_id):
    reg = registry.default()
    model_id = validate.choice(model_id, sorted(reg.cards()), name="Model")
    if not reg.unload(model_id) and any(s["id"] == model_id and s["loaded"] for s in reg.status()):
        raise gr.Error(f"{model_id} is in use right now; try again when its work has finished.")
    return (*table(), card_text(model_id))


def build():
    ids = sorted(registry.default().cards())
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
        models = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, label="Models")
        with gr.Row():
            choice = raw(gr.Dropdown(ids, value=ids[0] if ids else None, label="Model", scale=3))
            load_btn = gr.Button("Load", variant="primary", scale=1)
            unload_btn = gr.Button("Unload", scale=1)
            refresh_btn = gr.Button("Refresh", scale=1)
        card_md = gr.Markdown(card_text(ids[0]) if ids else "No model cards found in model_cards/.")
        outputs = [models, memory_md, card_md]
        choice.change(guarded(card_text), choice, card_md, api_name="model_card")
        load_btn.click(model_event(load), choice, outputs, api_name="load_model", **model_queue())
        unload_btn.click(guarded(unload), choice, outputs, api_name="unload_model")
        refresh_btn.click(guarded(table), None, [models, memory_md], api_name="models_status")
        tab.load(guarded(table), None, [models, memory_md])
    return tab


if __name__ == "__main__":
    from tabs.common import launch_alone
    launch_alone(build)
