"""The Models tab's text, from a registry of one tiny model in a temporary folder."""
from playground import registry
from playground.actions import models
from playground.families import superres
from tests.conftest import write_tiny_card


def test_memory_line_fits_small_budgets(tmp_path, monkeypatch):
    """'46.3 KB of a 64 MB budget', not '0.0 MB of a 0.1 GB budget'."""
    (tmp_path / "model_cards").mkdir()
    config = dict(arch="fast", scale=2, features=8, mid=4)
    model = superres.build(config)
    registry.save_weights(tmp_path / "weights" / "tiny-sr", model, config)
    write_tiny_card(tmp_path / "model_cards", "tiny-sr", "superres", model)
    reg = registry.Registry(cards_dir=tmp_path / "model_cards", root=tmp_path, memory_budget="64MB", device="cpu")
    monkeypatch.setattr(registry, "_default", reg)
    reg.get_model("tiny-sr")
    _, memory = models.table()
    size = registry.format_bytes(reg.resident_bytes())
    assert size.endswith(" KB") and f"**Memory in use:** {size} of a 64 MB budget on **cpu**" in memory
