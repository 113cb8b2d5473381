"""Offline (the tests' HF_HUB_OFFLINE=1), hub models are not offered as if usable (issue 25): the VAE and
text-to-image menus leave them out and say which need the network; Models -> Load labels them, and loading
one answers a sentence and keeps the table (an error blanked every output)."""
import pytest

from playground.cards import list_cards
from tests.browser.pages import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HUB = sorted(c.id for c in list_cards() if c.is_hub)


def _options(page, label):
    page.locator(f"input[aria-label='{label}'] >> visible=true").first.click()
    page.wait_for_timeout(400)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return [o.split("\n")[-1].strip() for o in options]  # the chosen one starts with a tick


@pytest.mark.skipif("sd-vae-ft-mse" not in HUB, reason="no hub autoencoder card")
def test_vae_menu_leaves_out_hub_autoencoders_and_says_so(page):
    page.get_by_role("tab", name="VAE", exact=True).click()
    options = _options(page, "Model (hub autoencoders need the network)")
    shot(page, "offline-vae-menu")
    assert "sd-vae-ft-mse" not in options and "vae-fashion" in options, options
    assert page.locator("#vae-needs-network").get_by_text("sd-vae-ft-mse").is_visible()


@pytest.mark.skipif("sd-turbo" not in HUB, reason="no hub text-to-image card")
def test_text_to_image_menu_leaves_out_hub_models_and_says_so(page):
    page.get_by_role("tab", name="Diffusion", exact=True).click()
    page.get_by_role("tab", name="Text to image (hub)", exact=True).click()
    page.wait_for_timeout(500)
    shot(page, "offline-text-to-image")
    assert page.locator("#t2i-needs-network").get_by_text("sd-turbo").is_visible()
    assert "sd-turbo" not in _options(page, "Model")


@pytest.mark.skipif("sd-turbo" not in HUB, reason="no hub text-to-image card")
def test_models_load_labels_hub_models_and_keeps_the_table_when_one_is_asked_for(page):
    page.get_by_role("tab", name="Models", exact=True).click()
    page.get_by_role("button", name="Refresh", exact=True).click()
    memory = page.locator("p:visible", has_text="Memory in use").first  # Load's outputs: table, this line, card
    memory.wait_for(timeout=30000)
    cell = page.locator("text=pixelcnn-masked-small >> visible=true")  # a row of the table
    cell.first.wait_for(timeout=30000)
    page.locator("input[aria-label='Model'] >> visible=true").first.click()
    page.get_by_role("option", name="sd-turbo (needs network)", exact=True).click()
    shot(page, "offline-models-menu")
    page.get_by_role("button", name="Load", exact=True).click()
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=60000)
    assert "needs network" in toast.inner_text() and "Hugging Face hub" in toast.inner_text()  # a warning
    page.wait_for_timeout(1000)
    shot(page, "offline-models-load")
    assert memory.is_visible() and cell.count() >= 1  # the outputs are still there (an error blanked them)
    assert page.get_by_text("sd-turbo needs network", exact=False).first.is_visible()  # and the card says why
