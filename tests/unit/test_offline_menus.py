"""Issue 25: hub models are offered in menus only when they can run now (cached, or the hub is reachable);
offline they are left out with a note (VAE, text to image) or labelled (Models). Availability is monkeypatched."""
import gradio as gr
import pytest

from playground import registry
from playground.actions import common

HUB = {"sd-vae-ft-mse", "sd-turbo"}


@pytest.fixture(params=["needs network", "cached", "downloads on first use"])
def hub_state(request, monkeypatch):
    real = registry.Registry.availability
    monkeypatch.setattr(registry.Registry, "availability",
                        lambda self, i: request.param if i in HUB else real(self, i))
    return request.param


def _menus(tab):
    blocks = tab.blocks.values()
    menus = {b.label: [v for _, v in b.choices] for b in blocks if isinstance(b, gr.Dropdown)}
    labels = {b.label: [k for k, _ in b.choices] for b in blocks if isinstance(b, gr.Dropdown)}
    notes = " ".join(str(b.value) for b in blocks if isinstance(b, gr.Markdown))
    return menus, labels, notes


def test_menus_offer_hub_models_only_when_usable(hub_state):
    import tabs.diffusion
    import tabs.models
    import tabs.vae
    offline = hub_state == "needs network"
    menus, _, notes = _menus(tabs.vae.build())
    assert ("sd-vae-ft-mse" in menus["Model (hub autoencoders need the network)"]) is not offline
    assert ("`sd-vae-ft-mse` (from the Hugging Face hub" in notes) is offline
    menus, _, notes = _menus(tabs.diffusion.build())
    assert any("sd-turbo" in m for m in menus.values()) is not offline
    assert ("`sd-turbo` (from the Hugging Face hub" in notes) is offline
    menus, labels, _ = _menus(tabs.models.build())
    assert "sd-turbo" in menus["Model"]  # its card can always be read
    assert ("sd-turbo (needs network)" in labels["Model"]) is offline


def test_usable_now_splits_ids(hub_state):
    usable, needs = common.usable_now(["sd-turbo", "vae-fashion"])
    assert (usable, needs) == ((["vae-fashion"], ["sd-turbo"]) if hub_state == "needs network"
                               else (["sd-turbo", "vae-fashion"], []))
