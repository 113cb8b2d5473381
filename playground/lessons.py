"""Lessons: lessons/<id>.md, YAML front matter (where a lesson opens, what it sets, its steps) and a Markdown
body for the teacher (a plain explanation, then a "## Deeper" section).

    id: truncation              # equals the file name
    title: Truncation trades diversity for fidelity
    tab: gan                    # a tab's slug (tabs/controls.py)
    view: main                  # a view's slug in that tab
    level: intro                # intro, core or deeper
    minutes: 10
    settings: {truncation_psi: 1}   # control slug -> value, what the view opens with
    locked: [model]             # control slugs the student cannot change
    hidden: []                  # control slugs not shown
    steps:
      - text: One or two short sentences.
        settings: {truncation_psi: 0.5}   # optional: what this step changes
        question: What should the student ask themselves?
        notice: What they should see.
        point: truncation_psi   # optional: the control the page points at (scrolled to and outlined)

The library reads the files only; whether a control slug names a real control of the view, with a legal value, is
the UI's to say: `load_all(controls=...)` takes a function (tab, view) -> {slug: control with .check(value)}, as
`tabs.controls.lesson_controls` is.
"""
from dataclasses import dataclass, field, replace
from pathlib import Path

from playground.cards import CardError, split_front_matter

REPO_ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = REPO_ROOT / "lessons"
LEVELS = ("intro", "core", "deeper")
KEYS = ("id", "title", "tab", "view", "level", "minutes", "settings", "locked", "hidden", "steps")
OPTIONAL = {"settings": dict, "locked": list, "hidden": list}
STEP_KEYS = ("text", "settings", "question", "notice", "point")
DEEPER = "## Deeper"


class LessonError(ValueError):
    """A lesson that does not follow the format; the message names the file and the field."""


@dataclass(frozen=True)
class Step:
    text: str
    question: str
    notice: str
    settings: dict = field(default_factory=dict)
    point: str = ""  # a control slug of the view, or ""


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    tab: str
    view: str
    level: str
    minutes: int
    steps: tuple
    settings: dict = field(default_factory=dict)
    locked: tuple = ()
    hidden: tuple = ()
    explanation: str = ""  # the body's plain part, for the teacher
    deeper: str = ""  # the body's "## Deeper" part
    path: Path | None = None


def _text(value, where):
    if not isinstance(value, str) or not value.strip():
        raise LessonError(f"{where}: must be non-empty text")
    return value.strip()


def _mapping(value, where):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise LessonError(f"{where}: must be a mapping of control names to values")
    return dict(value)


def _names(value, where):
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise LessonError(f"{where}: must be a list of control names")
    return tuple(value)


def _step(i, raw, where):
    field_ = f"{where}: field 'steps[{i}]"
    if not isinstance(raw, dict):
        raise LessonError(f"{field_}': must be a mapping with text, question and notice")
    for key in raw:
        if key not in STEP_KEYS:
            raise LessonError(f"{field_}.{key}': unknown (allowed: {', '.join(STEP_KEYS)})")
    for key in ("text", "question", "notice"):
        if key not in raw:
            raise LessonError(f"{field_}.{key}': missing")
    return Step(text=_text(raw["text"], f"{field_}.text'"), question=_text(raw["question"], f"{field_}.question'"),
                notice=_text(raw["notice"], f"{field_}.notice'"),
                settings=_mapping(raw.get("settings", {}), f"{field_}.settings'"),
                point=_text(raw["point"], f"{field_}.point'") if "point" in raw else "")


def _body(body, where):
    plain, sep, deeper = body.partition(DEEPER)
    if not plain.strip() or not sep or not deeper.strip():
        raise LessonError(f"{where}: field 'body': needs a plain explanation, then a '{DEEPER}' section")
    return plain.strip(), deeper.strip()


def parse(path):
    """The Lesson in one file, its structure checked (not its controls: see check_controls)."""
    path = Path(path)
    where = path.name
    try:
        meta, body = split_front_matter(path.read_text(encoding="utf-8"), where)
    except CardError as error:
        raise LessonError(str(error)) from None
    for key in meta:
        if key not in KEYS:
            raise LessonError(f"{where}: field {key!r}: unknown (allowed: {', '.join(KEYS)})")
    for key in KEYS:
        if key not in meta and key not in OPTIONAL:
            raise LessonError(f"{where}: field {key!r}: missing")
    if meta["id"] != path.stem:
        raise LessonError(f"{where}: field 'id': {meta['id']!r} must equal the file name {path.stem!r}")
    if meta["level"] not in LEVELS:
        raise LessonError(f"{where}: field 'level': {meta['level']!r} is not one of {', '.join(LEVELS)}")
    minutes = meta["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 120:
        raise LessonError(f"{where}: field 'minutes': must be a whole number from 1 to 120")
    steps = meta["steps"]
    if not isinstance(steps, list) or not steps:
        raise LessonError(f"{where}: field 'steps': must be a non-empty list")
    explanation, deeper = _body(body, where)
    return Lesson(id=_text(meta["id"], f"{where}: field 'id'"), title=_text(meta["title"], f"{where}: field 'title'"),
                  tab=_text(meta["tab"], f"{where}: field 'tab'"), view=_text(meta["view"], f"{where}: field 'view'"),
                  level=meta["level"], minutes=minutes, steps=tuple(_step(i, s, where) for i, s in enumerate(steps)),
                  settings=_mapping(meta.get("settings", {}), f"{where}: field 'settings'"),
                  locked=_names(meta.get("locked", []), f"{where}: field 'locked'"),
                  hidden=_names(meta.get("hidden", []), f"{where}: field 'hidden'"),
                  explanation=explanation, deeper=deeper, path=path)


def _checked(settings, known, where, prefix):
    out = {}
    for name, value in settings.items():
        if name not in known:
            raise LessonError(f"{where}: field '{prefix}.{name}': no such control in this view (it has: "
                              f"{', '.join(known)})")
        verdict = known[name].check(value)
        if not verdict.ok:
            raise LessonError(f"{where}: field '{prefix}.{name}': {verdict.reason}")
        out[name] = verdict.value
    return out


def check_controls(lesson, controls):
    """The lesson with its settings converted to each control's type; LessonError naming the file and field when
    its view, a control it names or a value is not the app's. controls(tab, view) -> {slug: control} or None."""
    where = lesson.path.name if lesson.path else lesson.id
    known = controls(lesson.tab, lesson.view)
    if known is None:
        raise LessonError(f"{where}: field 'view': the app has no view {lesson.tab}/{lesson.view}")
    for key in ("locked", "hidden"):
        for name in getattr(lesson, key):
            if name not in known:
                raise LessonError(f"{where}: field '{key}': no control {name!r} in {lesson.tab}/{lesson.view}")
    for i, step in enumerate(lesson.steps):
        if step.point and step.point not in known:
            raise LessonError(f"{where}: field 'steps[{i}].point': no control {step.point!r} in {lesson.tab}/{lesson.view}")
    settings = _checked(lesson.settings, known, where, "settings")
    steps = tuple(replace(step, settings=_checked(step.settings, known, where, f"steps[{i}].settings"))
                  for i, step in enumerate(lesson.steps))
    return replace(lesson, settings=settings, steps=steps)


def load_all(folder=LESSONS_DIR, controls=None):
    """Every lessons/*.md, by file name, each parsed (and checked against controls when given); ids are unique
    because they equal the file names."""
    lessons = [parse(path) for path in sorted(Path(folder).glob("*.md"))]
    return [check_controls(lesson, controls) for lesson in lessons] if controls else lessons
