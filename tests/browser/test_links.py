"""Links and lessons in the real page (headless Debian Chromium): a link sets every settable control of a tab and
Copy link writes it back; every lesson opens by its link on its view with its settings and its first output;
a bad link shows its one-line note; Next step applies the step and runs the view."""
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from playground import lessons as library
from tabs import controls as ctl
from tabs import link_bar, links
from tests.conftest import ARTIFACTS
from tests.unit.test_links import tab_links

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CONSOLE_ERRORS = False  # a refusal (Restore of a plain PNG) is logged to the console by Gradio itself
SHOTS = ARTIFACTS / "screenshots" / "lessons"
# An output of the selected view: a served image, a drawn chart or a table that is visible, once nothing is
# pending (the Models tab's outputs are its table and a card).
SHOWN = """() => ![...document.querySelectorAll('.pending, .generating')].some(e => e.offsetParent) &&
  [...document.querySelectorAll("img[src*='/file='], .vega-embed, table")].some(e => e.offsetParent && e.offsetHeight > 40)"""


@pytest.fixture(scope="module")
def app_page():
    import app
    return link_bar.page(ctl.built_app()[0], app.PUBLIC_API)


def _open(page, url, query):
    page.goto(url.rstrip("/") + "/" + query, wait_until="load")
    page.get_by_role("tab").first.wait_for(timeout=60000)
    page.wait_for_timeout(1500)  # the page-open event, then the selecting one


def _copied(page):
    """The query Copy link writes for what the page shows now."""
    page.get_by_role("button", name="Copy link to this view").click()
    box = page.locator("#link-box textarea, #link-box input").first
    page.wait_for_function("() => { const b = document.querySelector('#link-box textarea, #link-box input');"
                           " return b && b.value.includes('?'); }", timeout=20000)
    return dict(parse_qsl(urlsplit(box.input_value()).query))


def _selected_tabs(page):
    return page.evaluate("() => [...document.querySelectorAll('[role=tab][aria-selected=true]')]"
                         ".filter(e => e.offsetParent).map(e => e.innerText.trim())")


def _values(p, tab, params):
    plan = links.plan(p.table, p.views, {"tab": tab, **params}, uses=p.uses)
    return {c: links.text_value(v) for c, v in plan.values.items()}


@pytest.mark.parametrize("tab", ["gan", "vae", "diffusion", "pixelcnn", "style_transfer", "super_resolution",
                                 "compare", "data", "models"])
def test_a_link_sets_every_control_of_a_tab_and_copy_link_writes_it_back(page, fresh_app_url, app_page, tab):
    p = app_page
    for params in tab_links(p, tab):
        query = "?" + urlencode([("tab", tab), *params.items()], safe=",")
        _open(page, fresh_app_url, query)
        assert not page.locator("text=Part of this link was left out").count(), query
        copied = _copied(page)
        assert copied.pop("tab") == tab
        assert _values(p, tab, copied) == _values(p, tab, params), (tab, copied)
    assert p.tops[tab].label in _selected_tabs(page)
    assert not page.errors


@pytest.mark.parametrize("lesson_id", sorted(path.stem for path in library.LESSONS_DIR.glob("*.md")))
def test_a_lesson_opens_by_its_link_with_its_settings_and_first_output(page, fresh_app_url, app_page, lesson_id):
    p = app_page
    lesson = p.lessons[lesson_id]
    _open(page, fresh_app_url, f"?lesson={lesson_id}")
    page.wait_for_selector(f"#lesson-heading >> text={lesson.title}", timeout=90000)  # a busy server is slow
    labels = [p.tops[lesson.tab].label] + ([p.containers[(lesson.tab, lesson.view)].label]
                                           if (lesson.tab, lesson.view) in p.containers else [])
    page.wait_for_function(SHOWN, timeout=300000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lesson_id}.png"))
    selected = _selected_tabs(page)
    assert all(label in selected for label in labels if label not in ("How it works, in more detail",)) or \
        page.locator(".open").count(), (labels, selected)
    copied = _copied(page)
    assert (copied.get("tab"), copied.get("view", "main")) == (lesson.tab, lesson.view)
    expected = _values(p, lesson.tab, {"view": lesson.view, **{k: links.text_value(v) for k, v in
                                                               lesson.settings.items()},
                                       **{k: links.text_value(v) for k, v in lesson.steps[0].settings.items()}})
    defaults = {c.component: links.text_value(c.default) for c in p.table.values()}
    expected = {c: v for c, v in expected.items() if c in defaults and v != defaults[c]}  # what Copy link writes
    assert expected.items() <= _values(p, lesson.tab, {k: v for k, v in copied.items() if k != "tab"}).items()
    assert not page.locator(".toast-body.error").count()
    assert not page.errors


def test_a_bad_link_says_what_it_left_out_and_the_page_works(page, fresh_app_url):
    _open(page, fresh_app_url, "?tab=gan&truncation_psi=7&nope=1&seed=5")
    note = page.locator("#link-note").inner_text()
    assert "Part of this link was left out" in note and "'nope'" in note and "truncation_psi" in note
    assert _copied(page) == {"tab": "gan", "seed": "5"}
    assert not page.errors


def test_next_step_applies_the_step_and_runs_the_view(page, fresh_app_url):
    _open(page, fresh_app_url, "?lesson=truncation")
    page.wait_for_function(SHOWN, timeout=120000)
    first = page.locator("img[src*='/file=']").first.get_attribute("src")
    page.locator("#lesson-next").click()
    page.wait_for_selector("#lesson-heading >> text=step 2 of", timeout=20000)
    page.wait_for_function(f"() => {{ const i = document.querySelector(\"img[src*='/file=']\");"
                           f" return i && i.getAttribute('src') !== {first!r}; }}", timeout=120000)
    assert _copied(page).get("truncation_psi") == "0.5"
    assert _model_menu_disabled(page)  # the lesson locks it
    page.get_by_role("button", name="End the lesson").click()
    page.wait_for_selector("#lesson-panel", state="hidden", timeout=10000)
    page.wait_for_function(f"() => !({MODEL_MENU_DISABLED})()", timeout=10000)  # and gives it back


MODEL_MENU_DISABLED = """() => {
  const label = [...document.querySelectorAll("[data-testid=block-info], label span")]
    .find(e => e.offsetParent && e.innerText.trim() === "Model");
  const input = label && label.closest(".block").querySelector("input");
  return !!input && input.disabled;
}"""


def _model_menu_disabled(page):
    return page.evaluate(MODEL_MENU_DISABLED)


def _served(page, timeout=120000):
    """The bytes of the first visible served image, once one is shown."""
    page.wait_for_function(SHOWN, timeout=timeout)
    src = page.evaluate("() => [...document.querySelectorAll(\"img[src*='/file=']\")].find(i => i.offsetParent).src")
    return src, page.request.get(src).body()


def test_restore_from_image_makes_the_same_png_again(page, fresh_app_url, tmp_path):
    _open(page, fresh_app_url, "?tab=gan&seed=7&grid_size=2&truncation_psi=0.7")
    first_src, first = _served(page)
    assert first.startswith(b"\x89PNG") and b"generative-playground" in first
    made = tmp_path / first_src.rsplit("/", 1)[-1]
    made.write_bytes(first)
    _open(page, fresh_app_url, "")  # a fresh page, on the defaults
    _served(page)
    page.locator("#restore input[type=file], input[type=file]").first.set_input_files(str(made))
    page.wait_for_selector("#link-note >> text=Restored from the image's recipe", timeout=30000)
    page.wait_for_function("(src) => [...document.querySelectorAll(\"img[src*='/file=']\")]"
                           ".some(i => i.offsetParent && i.src.endsWith(src))", arg=first_src.rsplit("/", 2)[-1],
                           timeout=120000)
    _, again = _served(page)
    assert again == first  # the same file, byte for byte: pixels, mark and recipe
    assert _copied(page) == {"tab": "gan", "seed": "7", "grid_size": "2", "truncation_psi": "0.7"}


def test_restore_refuses_a_png_without_a_recipe(page, fresh_app_url, tmp_path):
    from PIL import Image
    plain = tmp_path / "plain.png"
    Image.new("RGB", (32, 32), "white").save(plain)
    _open(page, fresh_app_url, "")
    page.locator("#restore input[type=file], input[type=file]").first.set_input_files(str(plain))
    page.wait_for_selector("text=carries no Generative Playground recipe", timeout=30000)
    assert not page.errors
