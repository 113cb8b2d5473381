"""The names of the app's input controls, for links and lessons (issue 26).

Every input control of the built app (`app.build_app()`) gets a stable key (tab, view, control): the slugs of
the top-level Tab it sits in, of the innermost sub-Tab or Accordion inside that tab ("main" when it sits in
none) and of its label (its elem_id when set). `controls(demo)` lists them with their kind, default and legal
values; `check(key, value)` says whether a value is legal and converts it to the control's type, so that
`?tab=diffusion&view=generate&sampler=DDIM` or a lesson's settings can be checked before they touch the UI.

    python -m tabs.controls        # every key, its kind, default and legal values
"""
import functools
import math
import re
from dataclasses import dataclass

import gradio as gr

MAIN = "main"  # the view of the controls that sit in no sub-tab or accordion of their tab (shared by its views)
KINDS = (gr.Sketchpad, gr.Slider, gr.Dropdown, gr.Radio, gr.CheckboxGroup, gr.Checkbox, gr.Number, gr.Textbox,
         gr.Image)
NOT_SETTABLE = ("image", "sketchpad")
CHOICE_KINDS = ("dropdown", "radio", "checkboxgroup")  # an image cannot come from a link or a lesson
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def slug(text):
    """'Truncation psi (1 = none)' -> 'truncation_psi'; "Latent walk: from one seed's face" ->
    'latent_walk_from_one_seeds_face'; elem ids ('sdedit-sketch') -> 'sdedit_sketch'."""
    text = re.sub(r"\([^)]*\)", " ", str(text or "")).lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    value: object = None  # the value converted to the control's type, when ok
    reason: str = ""  # why not, when not ok


@dataclass(frozen=True)
class Control:
    key: tuple  # (tab, view, control) slugs
    kind: str  # slider, dropdown, radio, checkbox, checkboxgroup, number, textbox, image, sketchpad
    label: str
    default: object
    choices: tuple = ()  # (label, value) pairs of dropdowns, radios and checkbox groups
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None  # sliders' step; 1 for a Number with precision 0
    max_length: int | None = None
    component: object = None

    @property
    def name(self):
        return "/".join(self.key)

    @property
    def settable(self):
        """Images and sketchpads are not, nor a menu the app fills itself (no choices when it is built)."""
        return self.kind not in NOT_SETTABLE and (bool(self.choices) or self.kind not in CHOICE_KINDS)

    @property
    def legal(self):
        """The legal values, in words: choices, a range with its step, or why none can be set."""
        if not self.settable:
            return "not settable from a link or a lesson" + ("" if self.kind in NOT_SETTABLE else
                                                             ": the app fills its choices")
        if self.choices:
            return "one of " + ", ".join(repr(v) for _, v in self.choices) if self.kind != "checkboxgroup" \
                else "any of " + ", ".join(repr(v) for _, v in self.choices)
        if self.kind == "checkbox":
            return "true or false"
        if self.kind in ("slider", "number"):
            low = "-inf" if self.minimum is None else _plain(self.minimum)
            high = "inf" if self.maximum is None else _plain(self.maximum)
            return f"{low} to {high}" + (f" in steps of {_plain(self.step)}" if self.step else "")
        return "any text" + (f" of at most {self.max_length} characters" if self.max_length else "")

    def check(self, value):
        """Verdict(ok, the value converted to this control's type, reason)."""
        if not self.settable:
            return Verdict(False, reason=f"{self.name} is {self.legal}")
        try:
            return Verdict(True, _CONVERT[self.kind](self, value))
        except (TypeError, ValueError) as error:
            return Verdict(False, reason=f"{value!r} is not legal for {self.name} ({self.legal}): {error}")


def _plain(x):
    return int(x) if float(x).is_integer() else x


def _choice(control, value):
    for label, v in control.choices:
        if value == v or str(value) == str(v) or (isinstance(value, str) and value == label):
            return v
    raise ValueError("not a choice")


def _choices(control, value):
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError("a list of choices (or comma-separated text) is needed")
    return [_choice(control, item.strip() if isinstance(item, str) else item) for item in items if item != ""]


def _checkbox(control, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise ValueError("true or false is needed")


def _number(control, value):
    if isinstance(value, bool) or value is None:
        raise TypeError("a number is needed")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError("a finite number is needed")
    if control.minimum is not None and x < control.minimum or control.maximum is not None and x > control.maximum:
        raise ValueError("out of range")
    if control.step:
        base = control.minimum or 0
        steps = (x - base) / control.step
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError("off the step")
        x = base + round(steps) * control.step
        x = round(x, 10)
    integral = control.step and float(control.step).is_integer() and float(control.minimum or 0).is_integer()
    return int(round(x)) if integral else x


def _text(control, value):
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise TypeError("text is needed")
    if control.max_length and len(str(value)) > control.max_length:
        raise ValueError("too long")
    return str(value)


_CONVERT = {"dropdown": _choice, "radio": _choice, "checkboxgroup": _choices, "checkbox": _checkbox,
            "slider": _number, "number": _number, "textbox": _text}


def _describe(component, key):
    kind = next(k.__name__.lower() for k in KINDS if isinstance(component, k))  # a subclass by its Gradio kind
    choices = tuple((str(c[0]), c[1]) if isinstance(c, (list, tuple)) else (str(c), c)
                    for c in (getattr(component, "choices", None) or ()))
    step = getattr(component, "step", None)
    if kind == "number":
        step = 1 if component.precision == 0 else None
    return Control(key=key, kind=kind, label=str(component.label or ""), default=component.value, choices=choices,
                   minimum=getattr(component, "minimum", None), maximum=getattr(component, "maximum", None),
                   step=step, max_length=getattr(component, "max_length", None), component=component)


def _is_input(block):
    return isinstance(block, KINDS) and getattr(block, "interactive", None) is not False


def _walk(block, tab=None, view=None):
    """(block, tab slug, view slug) for every block below block inside a top-level Tab, views included."""
    for child in getattr(block, "children", None) or ():
        if isinstance(child, gr.Tab) and tab is None:
            inner = (slug(child.elem_id or child.label), MAIN)
        elif isinstance(child, (gr.Tab, gr.Accordion)) and tab is not None:
            inner = (tab, slug(child.elem_id or child.label))
        else:
            inner = (tab, view)
        if inner[0] is not None:
            yield child, *inner
        yield from _walk(child, *inner)


def controls(demo):
    """{(tab, view, control): Control} for every input control of every tab of demo (app.build_app()).
    Two controls with one key are an error that names both: give one of them an elem_id."""
    table = {}
    for block, tab, view in _walk(demo):
        if not _is_input(block):
            continue
        key = (tab, view, slug(block.elem_id or block.label))
        if key in table:
            raise ValueError(f"two controls are named {'/'.join(key)}: {table[key].label!r} and "
                             f"{block.label!r}; give one of them an elem_id")
        table[key] = _describe(block, key)
    return table


def views(demo):
    """{tab: [view, ...]} in the app's order: MAIN first, then every sub-tab and accordion, with controls or not."""
    out = {}
    for block, tab, view in _walk(demo):
        out.setdefault(tab, [MAIN])
        if view not in out[tab]:
            out[tab].append(view)
    return out


def action(demo, tab, view, public):
    """(api name, input components) of a view's default action: the first event named in public that a button
    of the view starts (else any block of the view: a slider's release); None when there is none."""
    blocks = [block for block, t, v in _walk(demo) if (t, v) == (tab, view)]
    buttons = {block._id for block in blocks if isinstance(block, gr.Button)}
    for ids in (buttons, {block._id for block in blocks}):
        for fn in demo.fns.values():
            if fn.api_name in public and any(target in ids for target, _ in fn.targets):
                return fn.api_name, list(fn.inputs)
    return None


@functools.cache
def built_app():
    """(demo, controls, views) of the app as app.build_app() makes it (built once per process: a few seconds)."""
    import app  # the app's module at the repository root; it imports tabs, so it is imported here, late
    demo = app.build_app()
    return demo, controls(demo), views(demo)


def app_controls():
    return built_app()[1]


def view_controls(table, tab, view):
    """{control slug: Control} a view shows: its own and its tab's shared (MAIN) ones; its own win."""
    shared = {k[2]: c for k, c in table.items() if k[0] == tab and k[1] == MAIN}
    own = {k[2]: c for k, c in table.items() if k[0] == tab and k[1] == view}
    return {**shared, **own}


def lesson_controls(tab, view):
    """For playground.lessons: {control slug: Control} of an app's view, None when the tab has no such view."""
    _, table, all_views = built_app()
    if view not in all_views.get(tab, ()):
        return None
    return view_controls(table, tab, view)


def check(key, value, table=None):
    """Verdict for value on the control key = (tab, view, control) (a view's key may name its tab's shared
    controls too); table defaults to the app's own controls."""
    table = app_controls() if table is None else table
    tab, view, name = key
    control = view_controls(table, tab, view).get(name)
    if control is None:
        return Verdict(False, reason=f"no control {name!r} in {tab}/{view}")
    return control.check(value)


if __name__ == "__main__":
    for c in app_controls().values():
        print(f"{c.name:60} {c.kind:13} default {str(c.default)[:40]!r:42} {c.legal}")
    print(len(app_controls()), "controls")
