"""The bar above the tabs: a link's note, "Copy link to this view", and the page-open event that reads the
URL (tabs/links.py says what a link holds). `bar()` makes the components before the tabs; `wire(...)`
connects them once every tab exists (app.build_app)."""
import json
from types import SimpleNamespace

import gradio as gr

from tabs import lesson_panel, links, restore
from tabs.controls import MAIN, controls, view_controls, views
from tabs.controls import _walk as walk

# After a link's settings arrive, go where the link points as a student would: click its tab, its sub-tab or
# accordion (each once it is on the page), then the view's own button (the real action, in its lane). A
# step that never appears is given up after 20 s. The server's gr.Tabs update does the same where it lands.
GO = """(target) => {
  if (!target) return;
  const t = JSON.parse(target);
  const shown = (e) => e && e.offsetParent !== null;
  const find = (selector, label) => [...document.querySelectorAll(selector)]
    .find(e => shown(e) && e.innerText.trim() === label);
  const steps = [
    () => !t.tab || ((b) => b && (b.getAttribute("aria-selected") === "true" || b.click() || true))(
      find("button[role=tab]", t.tab)),
    () => !t.view || ((b) => b && (b.getAttribute("aria-selected") === "true" || b.click() || true))(
      find("button[role=tab]", t.view)),
    () => !t.accordion || ((b) => b && (b.classList.contains("open") || b.click() || true) &&
      (b.scrollIntoView({block: "start", behavior: "smooth"}) || true))(find(".label-wrap", t.accordion)),
    () => !t.button || ((b) => shown(b) && (b.click() || true))(document.getElementById(t.button)),
    () => !t.point || ((e) => e && (point(e.closest(".block") || e) || true))(
      find("[data-testid=block-info], label > span, .label-wrap", t.point)),
  ];
  const point = (e) => {
    e.scrollIntoView({block: "center", behavior: "smooth"});
    e.classList.add("lesson-point");
    setTimeout(() => e.classList.remove("lesson-point"), 6000);
  };
  let i = 0, tries = 0;
  const go = () => {
    if (i >= steps.length) return;
    if (steps[i]()) { i++; tries = 0; setTimeout(go, 250); } else if (++tries < 80) setTimeout(go, 250);
  };
  setTimeout(go, 100);
}"""
# The link written by the server is a query; the page knows its own address.
SHOW_LINK = """(query) => {
  if (!query) return query;
  const link = window.location.origin + window.location.pathname + query;
  try { window.history.replaceState(null, "", query); } catch (e) {}
  try { navigator.clipboard.writeText(link); } catch (e) {}
  return link;
}"""


PRIVATE = {"api_visibility": "private", "queue": False}


def bar(also=None):
    """The note, and one row: Copy link and its box, then what also() makes (the lessons menu)."""
    c = SimpleNamespace()
    c.note = gr.Markdown(elem_id="link-note", visible=False)
    c.run = gr.Textbox(visible=False)
    c.where = gr.State({})  # {"tab": the tab the student is on, tab: its view}, for Copy link
    with gr.Row(equal_height=True):
        if also:
            also()
        c.restore = restore.button()
        c.copy = gr.Button("Copy link to this view", size="sm", scale=0, min_width=200)
        c.link = gr.Textbox(show_label=False, placeholder="The link to this view appears here", scale=3,
                            container=False, interactive=False, elem_id="link-box")
    return c


def navigation(demo):
    """{tab: Tab}, {(tab, view): Tab or Accordion} and each view's action button, ids set for selecting."""
    tops, containers = {}, {}
    for block, tab, view in walk(demo):
        if isinstance(block, gr.Tab) and view == MAIN and tab not in tops:
            tops[tab] = block
            block.id = tab
        elif isinstance(block, (gr.Tab, gr.Accordion)) and view != MAIN and (tab, view) not in containers:
            containers[(tab, view)] = block
            if isinstance(block, gr.Tab):
                block.id = view
    return tops, containers


def action_buttons(demo, public):
    """{(tab, view): (elem_id, api name)} of the first button of each view that starts a public action (its
    elem_id set here when it has none)."""
    out = {}
    starts = {target: fn.api_name for fn in demo.fns.values() if fn.api_name in public for target, _ in fn.targets}
    for button, tab, view in walk(demo):
        if isinstance(button, gr.Button) and button._id in starts and (tab, view) not in out:
            button.elem_id = button.elem_id or f"run-{tab}-{view}"
            out[(tab, view)] = (button.elem_id, starts[button._id])
    return out


def _view_updates(where, tops, containers):
    """Select where["tab"] and its view: a Tab by its parent Tabs, an Accordion by opening it."""
    out, tab = {}, where.get("tab")
    if tab in tops:
        out[tops[tab].parent] = gr.Tabs(selected=tab)
    view = where.get(tab, MAIN)
    box = containers.get((tab, view))
    if isinstance(box, gr.Tab):
        out[box.parent] = gr.Tabs(selected=view)
    elif isinstance(box, gr.Accordion):
        out[box] = gr.Accordion(open=True)
    return out


def target(p, plan, button, point=""):
    """What the page's GO script clicks: the labels of the plan's tab and view, and the button's elem_id; then
    the label of the control a lesson's step points at."""
    if not plan.tab:
        return ""
    box = p.containers.get((plan.tab, plan.view))
    shown = {**p.uses.get((plan.tab, plan.view), {}), **view_controls(p.table, plan.tab, plan.view)}
    return json.dumps({"tab": p.tops[plan.tab].label, "view": box.label if isinstance(box, gr.Tab) else None,
                       "accordion": box.label if isinstance(box, gr.Accordion) else None, "button": button,
                       "point": shown[point].label if point in shown else None})


def note_text(notes):
    return ("**Part of this link was left out:** " + "; ".join(notes) + ".") if notes else ""


def page(demo, public):
    """What the link events need to know about the built app."""
    p = SimpleNamespace(table=controls(demo), views=views(demo))
    p.tops, p.containers = navigation(demo)
    p.buttons = action_buttons(demo, public)
    p.nav = list(dict.fromkeys([t.parent for t in p.tops.values()] +
                               [b.parent if isinstance(b, gr.Tab) else b for b in p.containers.values()]))
    p.inputs = [control.component for control in p.table.values()]
    events = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name in public}
    p.uses = links.uses_of(p.table, {where: events[name].inputs for where, (_, name) in p.buttons.items()})
    p.lessons = lesson_panel.load(p.table, p.views)
    return p


def _lesson_plan(p, params, lesson, step):
    """A link's plan on a lesson at a step: the lesson's tab, view, settings so far, locked and hidden controls;
    the link's own settings after them."""
    merged = {k: v for k, v in params.items() if k not in ("lesson", "step", "tab", "view")}
    merged.update(tab=lesson.tab, view=lesson.view)
    for key, names in (("lock", lesson.locked), ("hide", lesson.hidden)):
        merged[key] = ",".join([*names, *filter(None, [params.get(key)])])
    return links.plan(p.table, p.views, merged, extra=lesson_panel.settings_at(lesson, step), uses=p.uses)


def _planned(p, params):
    """(plan, lesson, step) for a query: a lesson when it names one, else a plain link."""
    name = params.get("lesson")
    lesson = p.lessons.get(str(name or "").strip())
    if lesson is None:
        plan = links.plan(p.table, p.views, params, uses=p.uses)
        if name is not None:
            plan.notes.append(f"no lesson {name!r} (lessons: {', '.join(p.lessons)})")
        return plan, None, 0
    try:
        step = min(max(int(params.get("step", 1)) - 1, 0), len(lesson.steps) - 1)
    except ValueError:
        step = 0
    return _lesson_plan(p, params, lesson, step), lesson, step


def wire(demo, c, lessons_ui, public, opened_with=()):
    """The page-open event (returned, so the tabs' own page-open events can follow it), Copy link, and the
    lesson panel's steps."""
    p = page(demo, public)
    shown = [c.note, c.run, c.where] + lesson_panel.outputs(lessons_ui) + p.inputs

    def outcome(plan, run, lesson=None, step=0, said=""):
        where = {"tab": plan.tab, plan.tab: plan.view} if plan.tab else gr.skip()
        panel = lesson_panel.shown(lesson, step) if lesson else lesson_panel.hidden()
        point = lesson.steps[step].point if lesson else ""
        note = "\n\n".join(filter(None, [said, note_text(plan.notes)]))
        return ([gr.update(value=note, visible=bool(note)), target(p, plan, run, point), where] + panel
                + links.updates(plan, p.inputs))

    def on_open(request: gr.Request):
        params = dict(getattr(request, "query_params", None) or {})
        if sum(len(k) + len(str(v)) for k, v in params.items()) > links.MAX_QUERY:
            return outcome(links.Plan(notes=["the link is too long to read"]), "")
        plan, lesson, step = _planned(p, params)
        run, api_name = p.buttons.get((plan.tab, plan.view), ("", None))
        return outcome(plan, "" if api_name in opened_with else run, lesson, step)  # those run on page open

    def on_start(lesson_id):
        return on_step({"id": lesson_id, "step": 0}, 0)

    def on_step(state, move):
        lesson = p.lessons.get((state or {}).get("id"))
        if lesson is None:
            return outcome(links.Plan(), "")
        step = min(max(state["step"] + move, 0), len(lesson.steps) - 1)
        plan = _lesson_plan(p, {}, lesson, step)
        return outcome(plan, p.buttons.get((plan.tab, plan.view), ("", None))[0], lesson, step)

    def select(where):  # a second event: an update in the page's very first answer comes before the tabs exist
        chosen = _view_updates(where or {}, p.tops, p.containers)
        return [chosen.get(block, gr.skip()) for block in p.nav]

    def then_select(event):
        event.then(select, c.where, p.nav, **PRIVATE).then(None, c.run, None, js=GO)

    opened = demo.load(on_open, None, shown, **PRIVATE)
    then_select(opened)
    for button, move in ((lessons_ui.back, -1), (lessons_ui.next, 1)):
        then_select(button.click(lambda state, m=move: on_step(state, m), lessons_ui.state, shown, **PRIVATE))
    then_select(lessons_ui.start.click(on_start, lessons_ui.pick, shown, **PRIVATE))
    def on_end(state):  # the panel goes, and the controls the lesson locked or hid come back
        lesson, plan = p.lessons.get((state or {}).get("id")), links.Plan()
        shown_view = view_controls(p.table, lesson.tab, lesson.view) if lesson else {}
        for names, prop in ((lesson.locked, "interactive"), (lesson.hidden, "visible")) if lesson else ():
            for name in names:
                plan.prop(shown_view[name].component, **{prop: True})
        return outcome(plan, "")

    lessons_ui.end.click(on_end, lessons_ui.state, shown, **PRIVATE)

    def on_restore(path):
        params, said, again = restore.read(path)
        plan = links.plan(p.table, p.views, params, uses=p.uses)
        return outcome(plan, p.buttons.get((plan.tab, plan.view), ("", None))[0] if again else "", said=said)

    then_select(c.restore.upload(on_restore, c.restore, shown, api_visibility="private"))
    _wire_copy(p, c)
    return opened


def _wire_copy(p, c):
    first_views = _track_views(p.tops, p.containers, c.where)

    def on_copy(where, *values):
        where = where or {}
        tab = where.get("tab") or next(iter(p.tops))
        view = where.get(tab, first_views.get(tab, MAIN))
        return links.query(p.table, tab, view, dict(zip(p.table, values)), p.uses)

    c.copy.click(on_copy, [c.where] + p.inputs, c.link, **PRIVATE).then(None, c.link, c.link, js=SHOW_LINK)


def _track_views(tops, containers, where):
    """Keep what the student looks at: the selected tab, and per tab its selected sub-tab or last opened
    accordion. Returns each tab's first view (its first sub-tab, shown when nothing was picked)."""
    first = {}
    for (tab, view), block in containers.items():
        if isinstance(block, gr.Tab):
            first.setdefault(tab, view)
        event = block.select if isinstance(block, gr.Tab) else block.expand
        event(lambda now, t=tab, v=view: {**(now or {}), "tab": t, t: v}, where, where, **PRIVATE)
    for tab, block in tops.items():
        block.select(lambda now, t=tab: {**(now or {}), "tab": t}, where, where, **PRIVATE)
    return first

