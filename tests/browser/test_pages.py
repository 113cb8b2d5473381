"""The real page in headless Debian Chromium: every tab opens, renders, and logs no console error."""
import re

import pytest

import app
from playground.cards import list_cards
from tests.browser.pages import assert_clean, served_images, shot
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _draw_box(page, scope, half_width, half_height):
    """Pick the brush of the sketchpad inside `scope` (a CSS selector) and draw a box round its middle."""
    page.locator(f"{scope} [aria-label='Brush']").first.click()
    page.wait_for_timeout(300)
    box = page.locator(f"{scope} canvas >> visible=true").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - half_width, cy - half_height)
    page.mouse.down()
    for dx, dy in ((half_width, -half_height), (half_width, half_height), (-half_width, half_height),
                   (-half_width, -half_height)):
        page.mouse.move(cx + dx, cy + dy, steps=10)
    page.mouse.up()


# The words of the visible elements matching a selector that are drawn across more than one line (a word cut
# mid-word by a narrow table column): each word's text range has rectangles on more than one line.
SPLIT_WORDS = """selector => [...document.querySelectorAll(selector)].filter(e => e.offsetParent).flatMap(e => {
    const split = [], walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode());) {
        for (const m of node.textContent.matchAll(/\\S+/g)) {
            const r = document.createRange();
            r.setStart(node, m.index);
            r.setEnd(node, m.index + m[0].length);
            if (new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1) split.push(m[0]);
        }
    }
    return split;
})"""


@pytest.mark.parametrize("label", [label for label, _ in app.TABS])
def test_every_tab_renders_without_console_errors(page, label):
    page.get_by_role("tab", name=label, exact=True).click()
    page.wait_for_timeout(800)
    out = ARTIFACTS / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"{re.sub(r'[^a-z0-9]+', '-', label.lower())}.png"), full_page=True)
    assert page.get_by_role("tab", name=label, exact=True).get_attribute("aria-selected") == "true"
    assert not page.errors, page.errors


@pytest.mark.parametrize("label", ["GAN", "VAE", "Diffusion", "PixelCNN"])
def test_tabs_open_with_a_result(page, label):
    """No click: the tab shows its default first result (app.OPEN_WITH runs when the page opens)."""
    page.get_by_role("tab", name=label, exact=True).click()
    served_images(page, 1, timeout=120000)
    shot(page, f"opened-{label.lower()}")
    assert_clean(page)


def test_models_tab_loads_a_model_from_the_browser(page):
    page.get_by_role("tab", name="Models", exact=True).click()
    page.get_by_role("button", name="Refresh", exact=True).click()
    page.wait_for_timeout(1000)
    memory = page.locator("p", has_text="Memory in use").first
    before = memory.inner_text()  # the tabs' first results have loaded their models when the page opened
    assert "of a 4 GB budget" in before
    page.get_by_role("button", name="Load", exact=True).click()
    page.wait_for_function("([before]) => [...document.querySelectorAll('p')].some("
                           "p => p.innerText.startsWith('Memory in use') && p.innerText !== before)", arg=[before],
                           timeout=60000)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "models-loaded.png"), full_page=True)
    assert not page.errors, page.errors


def test_gan_tab_end_to_end(page):
    """Generate, click a face, walk, and open the training timeline: images appear, no error shows."""
    page.get_by_role("tab", name="GAN", exact=True).click()
    page.get_by_role("button", name="Generate", exact=True).click()
    images = page.locator("img[src*='/file='] >> visible=true")  # served outputs, not icons
    images.first.wait_for(timeout=60000)  # the grid
    images.first.click(position={"x": 60, "y": 60})
    served_images(page, 4)  # grid, pick, neighbours
    page.get_by_text("Pixel space:").first.wait_for(timeout=60000)
    page.get_by_text("How it learned: fixed noise through training").click()
    page.get_by_role("button", name="Show the training timeline", exact=True).click()
    page.get_by_text("step 1,000", exact=False).first.wait_for(timeout=60000)
    shot(page, "gan-used")
    assert_clean(page)


def test_vae_tab_end_to_end(page):
    """Reconstruct a test image, draw the latent map, and run the out-of-distribution view."""
    page.get_by_role("tab", name="VAE", exact=True).click()
    page.locator(".thumbnail-item >> visible=true").nth(5).click()  # pick test image 5 from the gallery
    page.wait_for_function("() => [...document.querySelectorAll('input[type=number]')]"
                           ".some(i => i.offsetParent && i.value === '5')", timeout=30000)
    page.get_by_role("button", name="Reconstruct", exact=True).click()
    page.get_by_text("test image 5 (", exact=False).first.wait_for(timeout=60000)
    page.get_by_label("drawing").first.check()  # draw a box on the sketchpad and reconstruct it
    _draw_box(page, "body", 40, 60)
    page.get_by_role("button", name="Reconstruct", exact=True).click()
    page.get_by_text("your drawing", exact=False).first.wait_for(timeout=60000)
    page.get_by_role("tab", name="Latent map", exact=True).click()
    page.get_by_role("button", name="Draw the latent map", exact=True).click()
    served_images(page, 1)
    shot(page, "vae-latent-map", settle_ms=1500)
    page.get_by_role("tab", name="Anomaly: out of distribution", exact=True).click()
    page.get_by_role("button", name="Score clothes and digits", exact=True).click()
    page.get_by_text("AUROC, digits as anomalies", exact=False).first.wait_for(timeout=120000)
    shot(page, "vae-ood", settle_ms=1000)
    assert_clean(page)


@pytest.mark.skipif("ddpm-fashion" not in {c.id for c in list_cards()},
                    reason="no diffusion model card yet")
def test_diffusion_tab_end_to_end(page):
    """Generate (streamed, with its GIF), compare two samplers, open the forward process and SDEdit a drawing."""
    page.get_by_role("tab", name="Diffusion", exact=True).click()
    page.get_by_role("button", name="Generate", exact=True).last.click()
    page.get_by_text("s per image", exact=False).first.wait_for(timeout=120000)
    served_images(page, 3)  # x_t, x0 and the trajectory GIF
    shot(page, "diffusion", settle_ms=1000)
    page.get_by_role("tab", name="Compare samplers", exact=True).click()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("Done: 16 cells in", exact=False).first.wait_for(timeout=240000)
    shot(page, "diffusion-compare", settle_ms=1500)
    page.get_by_role("tab", name="Forward process", exact=True).click()
    page.get_by_text("alpha-bar", exact=False).first.wait_for(timeout=30000)
    page.get_by_text("At t = 300 (linear)", exact=False).first.wait_for(timeout=60000)
    shot(page, "diffusion-forward", settle_ms=1500)
    page.get_by_role("tab", name="Edit (SDEdit)", exact=True).click()
    page.wait_for_timeout(1000)  # the sketchpad sizes its canvas once visible
    _draw_box(page, "#sdedit-sketch", 30, 70)
    page.get_by_role("button", name="Noise and denoise", exact=True).click()
    served_images(page, 2, timeout=120000)  # your image as the model sees it, and the edit
    shot(page, "diffusion-sdedit", settle_ms=1000)
    assert_clean(page)


@pytest.mark.skipif(not {"pixelcnn-fashion", "pixelcnn-masked-small"} <= {c.id for c in list_cards()},
                    reason="no PixelCNN model cards yet")
def test_pixelcnn_tab_end_to_end(page):
    """Sample (streamed, with its GIF), complete a test image, score one, and show both receptive fields."""
    page.get_by_role("tab", name="PixelCNN", exact=True).click()
    page.get_by_role("button", name="Sample", exact=True).click()
    page.get_by_text("fast exact sampler, temperature", exact=False).first.wait_for(timeout=120000)
    served_images(page, 2)  # the grid and the GIF
    shot(page, "pixelcnn", settle_ms=1000)
    page.get_by_role("tab", name="Complete", exact=True).click()
    page.get_by_role("button", name="Complete", exact=True).click()
    page.get_by_text("Each completion's class was drawn", exact=False).first.wait_for(timeout=120000)
    shot(page, "pixelcnn-complete", settle_ms=1000)
    page.get_by_role("tab", name="Likelihood", exact=True).click()
    page.get_by_role("button", name="Score this image", exact=True).click()
    page.get_by_text("bits/dim under the model's own p(x)", exact=False).first.wait_for(timeout=180000)
    shot(page, "pixelcnn-likelihood", settle_ms=1000)
    page.get_by_role("tab", name="Receptive field", exact=True).click()
    page.get_by_role("button", name="Show the receptive fields", exact=True).click()
    page.get_by_text("no blind spot", exact=False).first.wait_for(timeout=60000)
    shot(page, "pixelcnn-field", settle_ms=1000)
    assert_clean(page)


@pytest.mark.skipif(not {"gan-fashion", "vae-fashion"} <= {c.id for c in list_cards()},
                    reason="no Fashion-MNIST generators yet")
def test_compare_tab_end_to_end(page):
    """Compare every Fashion-MNIST model on 20 images each: the table, the grids and the export appear."""
    page.get_by_role("tab", name="Compare", exact=True).click()
    n = page.locator("#compare-n input[type=number]")
    n.fill("20")
    n.press("Enter")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("The zip holds the grids", exact=False).first.wait_for(timeout=300000)
    page.locator("a[download='compare.zip'] >> visible=true").first.wait_for(timeout=30000)  # the export's link
    page.locator("text=noisy sigma=0.1 >> visible=true").first.wait_for(timeout=30000)  # a reference row
    served_images(page, 4)  # the real images' grid and three models'
    shot(page, "compare", settle_ms=1500)
    assert not page.evaluate(SPLIT_WORDS, "#compare-table th"), "a Compare header breaks a word across lines"
    assert_clean(page)


def test_superres_tab_end_to_end(page):
    """Pick an example, upscale it with every method in ground-truth mode, move the zoom: the table,
    the side-by-side gallery, the before/after slider and the zoomed crops appear, no error shows."""
    page.get_by_role("tab", name="Super-resolution", exact=True).click()
    page.get_by_label("...or pick an example").click()
    page.get_by_role("option", name="chelsea", exact=True).click()
    served_images(page, 1)  # the picked image in the upload box
    page.locator("#superres-go").click()
    page.locator("#superres-table").get_by_text("lanczos", exact=True).wait_for(timeout=120000)
    served_images(page, 10, timeout=120000)  # gallery, slider and crops
    page.locator("#superres-slider img >> visible=true").first.wait_for(timeout=60000)  # the before/after slider
    crops = page.locator("#superres-crops img >> visible=true")
    first = crops.first.get_attribute("src")
    slider = page.get_by_role("slider", name="range slider for Zoom centre: x (fraction of the width)")
    slider.fill("0.1")
    slider.dispatch_event("pointerup")
    page.wait_for_function("(src) => { const i = document.querySelector('#superres-crops img');"
                           " return i && i.src !== src; }", arg=first, timeout=60000)
    shot(page, "superres-used", settle_ms=1000)
    assert_clean(page)


def test_denoise_tab_end_to_end(page):
    """The sweep chart is there on opening; a click fills the table method by method and the gallery."""
    page.get_by_role("tab", name="Denoising", exact=True).click()
    served_images(page, 1)  # the sweep chart
    page.locator("#denoise-go").click()
    page.locator("#denoise-table").get_by_text("non-local means", exact=True).wait_for(timeout=60000)
    served_images(page, 9, timeout=60000)  # the chart, the clean and noisy photos and six outputs
    shot(page, "denoise-used", settle_ms=1000)
    assert_clean(page)


@pytest.mark.skipif("style-loss-random" not in {c.id for c in list_cards()}, reason="no style loss network card yet")
def test_style_tab_end_to_end(page):
    """Optimise (streamed, few iterations), a colour baseline, the Gram view, a comparison and a fast network."""
    page.get_by_role("tab", name="Style transfer", exact=True).click()
    page.get_by_label("number input for Iterations").fill("10")
    page.get_by_label("number input for Iterations").press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text("Done. Iteration 10 of 10", exact=False).first.wait_for(timeout=300000)
    served_images(page, 3)  # content, style, result
    shot(page, "style", settle_ms=1000)
    page.get_by_role("tab", name="What style is to the network", exact=True).click()
    page.get_by_role("button", name="Show the Gram matrices", exact=True).click()
    served_images(page, 9, timeout=120000)  # three pictures and six heatmaps
    shot(page, "style-grams", settle_ms=1000)
    page.get_by_role("tab", name="Colour baselines", exact=True).click()
    page.get_by_role("button", name="Transfer colours", exact=True).click()
    page.get_by_text("colour statistics only", exact=False).first.wait_for(timeout=60000)
    page.get_by_role("tab", name="Two methods", exact=True).click()
    page.get_by_role("button", name="Compare", exact=True).last.click()
    page.locator("p:visible", has_text="Right:").first.wait_for(timeout=300000)  # a hidden paragraph elsewhere also matches
    shot(page, "style-compare", settle_ms=1000)
    page.get_by_role("tab", name="Fast network", exact=True).click()  # a network for another style sets the style
    page.get_by_label("Fast network (one style each)").click()
    page.get_by_role("option", name="style-fast-grass", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('input')].some(i => i.value === 'grass')", timeout=60000)
    page.get_by_role("button", name="Stylise", exact=True).click()
    page.get_by_text("It paints the style it was trained on: grass", exact=False).first.wait_for(timeout=120000)
    shot(page, "style-fast", settle_ms=1000)
    assert_clean(page)
