"""The Models tab's text, from a registry of one tiny model in a temporary folder."""
from playground import registry
from playground.actions import models
from tests.conftest import TinyModel

TINY_MODELS = {"tiny-sr": TinyModel("superres", dict(arch="fast", scale=2, features=8, mid=4))}
TINY_REGISTRY_OPTIONS = dict(memory_budget="64MB", device="cpu")


def test_memory_line_fits_small_budgets(tiny_registry):
    """'46.3 KB of a 64 MB budget', not '0.0 MB of a 0.1 GB budget'."""
    reg = registry.default()
    reg.get_model("tiny-sr")
    _, memory = models.table()
    size = registry.format_bytes(reg.resident_bytes())
    assert size.endswith(" KB") and f"**Memory in use:** {size} of a 64 MB budget on **cpu**" in memory
