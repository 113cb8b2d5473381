"""The lesson panel above the tabs: `?lesson=<id>` (or the menu) opens a lesson of lessons/*.md on its view with
its settings, one step at a time; each step's settings are applied and the view's action runs, as if the
student had set them and clicked (tabs/link_bar.py does the selecting and the clicking)."""
from types import SimpleNamespace

import gradio as gr

from playground import lessons as library
from tabs.common import log
from tabs.controls import view_controls

LEVEL_WORDS = {"intro": "introduction", "core": "core", "deeper": "going deeper"}


def panel():
    """The lesson state, to fill with menu_into (the menu that opens a lesson) and box_into (the step panel)."""
    return SimpleNamespace(state=gr.State(None))  # {"id": lesson id, "step": index}


def menu_into(c):
    """One slim line (a projector shows the tabs' outputs above the fold under it): a word, the menu, a button."""
    gr.Markdown("**Lessons and tours:**", container=False, min_height=0, min_width=170, scale=0)
    c.pick = gr.Dropdown(menu(), value=None, show_label=False, container=False, scale=2, elem_id="lesson-pick")
    c.start = gr.Button("Open the lesson", size="sm", scale=0, min_width=140)


def box_into(c):
    """The step panel, hidden until a lesson opens."""
    with gr.Column(visible=False, variant="panel", elem_id="lesson-panel") as c.box:
        c.heading = gr.Markdown(elem_id="lesson-heading")
        c.step = gr.Markdown(elem_id="lesson-step")
        with gr.Accordion("What to notice", open=False) as c.notice_box:
            c.notice = gr.Markdown(elem_id="lesson-notice")
        with gr.Row():
            c.back = gr.Button("Back", size="sm", min_width=80)
            c.next = gr.Button("Next step", size="sm", variant="primary", min_width=80, elem_id="lesson-next")
            c.end = gr.Button("End the lesson", size="sm", min_width=80)


def menu():
    """(label, id) of every lesson that parses, by tab and level, for the menu (the files' fronts only: cheap)."""
    found = []
    for path in sorted(library.LESSONS_DIR.glob("*.md")):
        try:
            found.append(library.parse(path))
        except library.LessonError:
            log.exception("lesson %s left out of the menu", path.name)
    order = {level: i for i, level in enumerate(library.LEVELS)}
    found.sort(key=lambda lesson: (lesson.tab, order[lesson.level], lesson.title))
    return [(f"{lesson.title} ({lesson.tab.replace('_', ' ')}, {lesson.minutes} min)", lesson.id) for lesson in found]


def outputs(c):
    return [c.state, c.box, c.heading, c.step, c.notice_box, c.notice, c.back, c.next]


def load(table, views):
    """{id: Lesson} of lessons/*.md whose controls this app has; a lesson that does not parse or fit is logged and
    left out (tests/unit/test_lessons.py fails on it first), never a reason for the app not to start."""
    def known(tab, view):
        return view_controls(table, tab, view) if view in views.get(tab, ()) else None
    out = {}
    for path in sorted(library.LESSONS_DIR.glob("*.md")):
        try:
            lesson = library.check_controls(library.parse(path), known)
        except library.LessonError:
            log.exception("lesson %s left out", path.name)
            continue
        out[lesson.id] = lesson
    return out


def settings_at(lesson, step):
    """The lesson's settings with those of its steps up to and including step, in order."""
    merged = dict(lesson.settings)
    for s in lesson.steps[:step + 1]:
        merged.update(s.settings)
    return merged


def shown(lesson, step):
    """The panel's outputs for a lesson at one step (its index)."""
    n = len(lesson.steps)
    s = lesson.steps[step]
    heading = (f"### Lesson: {lesson.title}\n{LEVEL_WORDS[lesson.level].capitalize()} · about {lesson.minutes} "
               f"minutes · step {step + 1} of {n}")
    text = f"{s.text}\n\n**Ask yourself:** {s.question}"
    return [{"id": lesson.id, "step": step}, gr.Column(visible=True), heading, text,
            gr.Accordion(open=False), s.notice, gr.Button(interactive=step > 0), gr.Button(interactive=step < n - 1)]


def hidden():
    return [None, gr.Column(visible=False)] + [gr.skip()] * 6
