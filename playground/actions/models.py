"""What the Models tab does: every card with what is loaded where, a card as markdown, load and unload."""
import re
import time

from .. import registry, validate
from ..errors import PlaygroundError

COLUMNS = ["id", "family", "dataset", "params", "metrics", "availability", "loaded", "device",
           "memory (MB)", "load (s)", "last used"]
LOADED = COLUMNS.index("loaded")
RUNG = re.compile(r"_(floor|blur[0-9.]+|noise[0-9.]+)$")  # the FD ladder's reference rows
WEIGHTS_IMAGE = re.compile(r"!\[[^\]]*\]\(\.\./weights/[^)]*\)")


def model_ids():
    """Every card's id, sorted (reads the cards, loads no weights)."""
    return sorted(registry.default().cards())


def _metrics(card, most=None):
    items = [(k, v) for k, v in card.metrics.items() if most is None or not RUNG.search(k)]
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items[:most])
    return text + (", ..." if most is not None and len(items) > most else "")


def table():
    """Rows for the models table (COLUMNS), and a line on memory in use against the budget."""
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


def needs_network(model_id):
    """The sentence for a model that cannot load now (a hub model not in the cache while the hub is unreachable),
    else None: the tab says it and keeps what it shows."""
    reg = registry.default()
    model_id = validate.choice(model_id, sorted(reg.cards()), name="Model")
    if reg.availability(model_id) != registry.NEEDS_NETWORK:
        return None
    return (f"**{model_id} {registry.NEEDS_NETWORK}**: it comes from the Hugging Face hub and is not in this "
            "machine's cache, so nothing was loaded. Every model without that label runs offline.")


def load(model_id):
    """Load a model now: (table rows, memory line, its card)."""
    reg = registry.default()
    model_id = validate.choice(model_id, sorted(reg.cards()), name="Model")
    reg.get_model(model_id)
    return (*table(), card_text(model_id))


def unload(model_id):
    """Free a model now (refused while it is in use): (table rows, memory line, its card)."""
    reg = registry.default()
    model_id = validate.choice(model_id, sorted(reg.cards()), name="Model")
    if not reg.unload(model_id) and any(s["id"] == model_id and s["loaded"] for s in reg.status()):
        raise PlaygroundError(f"{model_id} is in use right now; try again when its work has finished.")
    return (*table(), card_text(model_id))
