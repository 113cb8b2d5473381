"""Projector and phone (issue 25): at 1280x720 every tab's primary button and first output sit above the fold; at
390 px wide nothing scrolls sideways. For every tab in app.TABS."""
import json
import re
import urllib.request

import pytest

import app
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FOLD, PHONE = 720, 390
VIEWPORT = (1280, FOLD)  # the page of tests/browser/conftest.py
SHOWN = "(() => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })()"


def _walk(node, comps, skip_closed=True):
    """Component ids under a layout node in page order, as a fresh page shows them: closed accordions, hidden
    components and every tab of a Tabs but its first (or selected) one left out."""
    comp = comps.get(node["id"], {})
    props = comp.get("props", {})
    if props.get("visible") is False or (comp.get("type") == "accordion" and props.get("open") is False):
        return
    yield node["id"]
    children = node.get("children", [])
    if comp.get("type") == "tabs" and children:
        children = children[:1]
    for child in children:
        yield from _walk(child, comps)


def first_button_and_output(config, label):
    """(primary button text, label of the first labelled output of its click) of the tab `label`, from the app's
    config: the first primary button a fresh page shows in that tab, and the first of its outputs in page order."""
    comps = {c["id"]: c for c in config["components"]}
    outputs = {}
    for dep in config["dependencies"]:
        for target, event in dep["targets"]:
            if event == "click":
                outputs.setdefault(target, []).extend(dep["outputs"])

    def find(node):
        c = comps.get(node["id"], {})
        if c.get("type") == "tabitem" and c["props"].get("label") == label:
            return node
        return next((found for child in node.get("children", []) if (found := find(child))), None)

    order = list(_walk(find(config["layout"]), comps))
    button = next(i for i in order if comps[i].get("type") == "button" and comps[i]["props"].get("variant") == "primary")
    shown = [i for i in order if i in outputs[button] and comps[i]["props"].get("label")]
    return comps[button]["props"]["value"], comps[shown[0]]["props"]["label"]


@pytest.fixture(scope="module")
def config(fresh_app_url):
    with urllib.request.urlopen(f"{fresh_app_url}config", timeout=60) as r:
        return json.load(r)


def _top(locator):
    """Top of the element's block (its component) in page coordinates."""
    return locator.evaluate("e => (e.closest('.block') || e).getBoundingClientRect().top + window.scrollY")


@pytest.mark.parametrize("label", [label for label, _ in app.TABS])
def test_primary_button_and_first_output_above_the_fold_on_a_projector(page, config, label):
    page.set_viewport_size({"width": 1280, "height": FOLD})
    page.get_by_role("tab", name=label, exact=True).click()
    page.wait_for_timeout(800)
    page.evaluate("window.scrollTo(0, 0)")
    text, output = first_button_and_output(config, label)
    button = page.get_by_role("button", name=text, exact=True).locator("visible=true").first
    shown = page.get_by_text(output, exact=True).locator("visible=true").first
    name = re.sub(r"[^a-z0-9]+", "-", label.lower())
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"fold-1280-{name}.png"))
    assert _top(button) < FOLD, f"{label}: the {text!r} button starts at {_top(button):.0f} px"
    assert _top(shown) < FOLD, f"{label}: its first output {output!r} starts at {_top(shown):.0f} px"


@pytest.mark.parametrize("label", [label for label, _ in app.TABS])
def test_nothing_scrolls_sideways_on_a_phone(page, label):
    page.set_viewport_size({"width": 1280, "height": FOLD})  # the tab bar folds some tabs into a menu on a phone
    page.get_by_role("tab", name=label, exact=True).click()
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.wait_for_timeout(800)
    name = re.sub(r"[^a-z0-9]+", "-", label.lower())
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"phone-390-{name}.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE + 1, f"{label}: the page is {width} px wide at {PHONE} px"
