"""Links: a view's whole setup in the URL query, and back (issue 26).

    ?tab=diffusion&view=generate&model=ddpm-fashion&sampler=DDIM&steps=20&seed=3

`tab` and `view` are slugs (tabs/controls.py); every other key names a control of that view or of its tab's
shared controls, or `<view>.<control>` for a control of another view of the tab. `lock=a,b` and `hide=a,b`
lock or hide controls of the view, `controls=locked` locks every control of the tab (classroom mode), and
`lesson=<id>` opens a lesson (tabs/lesson_panel.py). Whatever is not understood is left out and named in
one line; a link never breaks the page.

`plan(...)` turns a query into the updates the page gets; `query(...)` writes the current setup as a link.
"""
from dataclasses import dataclass, field, replace

import gradio as gr

from tabs.controls import MAIN, slug, view_controls
from tabs.common import guarded, log

RESERVED = ("tab", "view", "lesson", "step", "controls", "lock", "hide")
FOLLOWS = "_link_follows"  # a trigger's dependent menus: [(handler, outputs)], see follows()
MAX_QUERY = 4000  # characters; a longer query is not read at all


def follows(trigger, handler, outputs):
    """Wire handler on the user's changes of trigger (a model's class menu follows the model) and record it,
    so that a link setting trigger runs it too, before the link's own values of outputs. A .change event
    would instead fire after the link's values arrive and reset them."""
    trigger.input(guarded(handler), trigger, outputs, api_visibility="private")
    getattr(trigger, FOLLOWS, None) or setattr(trigger, FOLLOWS, [])
    getattr(trigger, FOLLOWS).append((handler, list(outputs)))


@dataclass
class Plan:
    tab: str | None = None
    view: str = MAIN
    values: dict = field(default_factory=dict)  # component -> value to show
    props: dict = field(default_factory=dict)  # component -> {prop: value} (choices, interactive, visible, ...)
    notes: list = field(default_factory=list)  # what was left out, one line each
    settings: dict = field(default_factory=dict)  # control slug (or view.slug) -> value, as understood

    def prop(self, component, **props):
        self.props.setdefault(component, {}).update(props)


def _note(plan, text):
    plan.notes.append(text)
    return None


def _target(plan, table, views, tab, view, uses):
    """The controls of the (tab, view) chosen: the tab must exist; an unknown view falls back to the tab's
    first. A view's controls are its own, its tab's shared ones and those of other views its action takes."""
    if tab not in views:
        return _note(plan, f"no tab {tab!r} (tabs: {', '.join(views)})")
    if view not in views[tab]:
        plan.notes.append(f"no view {view!r} in {tab} (views: {', '.join(views[tab])})")
        view = MAIN
    plan.tab, plan.view = tab, view
    return {**(uses or {}).get((tab, view), {}), **view_controls(table, tab, view)}


def _own_controls(table, tab, view):
    return {k[2]: c for k, c in table.items() if k[0] == tab and k[1] == view}


def _resolve_name(plan, table, views, name, shown):
    """The Control a query key names: a slug of the view (shown), or view.slug of another view of the tab."""
    view, dot, control = name.partition(".")
    if not dot:
        return shown.get(slug(name)), slug(name)
    own = _own_controls(table, plan.tab, slug(view)) if slug(view) in views[plan.tab] else {}
    return own.get(slug(control)), f"{slug(view)}.{slug(control)}"


def _follow(plan, control, value):
    """Run the dependent-menu handlers of a control the link sets; their updates become the plan's props."""
    for handler, outputs in getattr(control.component, FOLLOWS, ()):
        try:
            out = handler(value)
        except Exception:  # noqa: BLE001 - a menu that cannot follow: logged, the link goes on
            log.exception("a link's dependent menu failed")
            continue
        for component, update in zip(outputs, out if len(outputs) > 1 else (out,)):
            if isinstance(update, dict):
                props = {k: v for k, v in update.items() if k != "__type__"}
                if "value" in props:
                    plan.values[component] = props.pop("value")
                plan.prop(component, **props)
            else:
                plan.values[component] = update


def _with_new_choices(plan, control):
    choices = plan.props.get(control.component, {}).get("choices")
    if choices is None:
        return control
    pairs = tuple((str(c[0]), c[1]) if isinstance(c, (list, tuple)) else (str(c), c) for c in choices)
    limits = {k: plan.props[control.component][k] for k in ("maximum", "minimum")
              if k in plan.props[control.component]}
    return replace(control, choices=pairs, **limits)


def plan(table, views, params, extra=None, uses=None):
    """Plan for a query (params: {key: text}); extra = {slug: value} of a lesson, applied first; uses =
    {(tab, view): {slug: Control}} of controls of other views that a view's action takes (uses_of)."""
    params = dict(params)
    out = Plan()
    tab = slug(params.get("tab", "")) or None
    if tab is None:
        if any(k not in RESERVED for k in params):
            out.notes.append("a link's settings need its tab (for example ?tab=gan)")
        return out
    shown = _target(out, table, views, tab, slug(params.get("view", "")) or MAIN, uses)
    if shown is None:
        return out
    wanted = [(k, v) for k, v in (extra or {}).items()] + [(k, v) for k, v in params.items() if k not in RESERVED]
    resolved = []
    for name, value in wanted:
        control, key = _resolve_name(out, table, views, name, shown)
        if control is None:
            out.notes.append(f"no control {name!r} in {out.tab}/{out.view}")
        else:
            resolved.append((control, key, value))
    # triggers first: their menus change the choices the others are checked against
    resolved.sort(key=lambda item: not getattr(item[0].component, FOLLOWS, None))
    for control, key, value in resolved:
        verdict = _with_new_choices(out, control).check(value)
        if not verdict.ok:
            out.notes.append(verdict.reason)
            continue
        out.values[control.component] = out.settings[key] = verdict.value
        _follow(out, control, verdict.value)
    _lock_and_hide(out, table, params, shown)
    return out


def _names(text):
    return [slug(part) for part in str(text or "").split(",") if part.strip()]


def _lock_and_hide(out, table, params, shown):
    if params.get("controls") not in (None, "locked"):
        out.notes.append(f"controls={params['controls']!r} is not understood (controls=locked is)")
    if params.get("controls") == "locked":
        for key, control in table.items():
            if key[0] == out.tab:
                out.prop(control.component, interactive=False)
    for key, prop in (("lock", {"interactive": False}), ("hide", {"visible": False})):
        for name in _names(params.get(key)):
            if name in shown:
                out.prop(shown[name].component, **prop)
            else:
                out.notes.append(f"{key}: no control {name!r} in {out.tab}/{out.view}")


def text_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(text_value(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def uses_of(table, actions):
    """{(tab, view): {slug: Control}} of the controls of other views of the same tab that each view's action
    takes as inputs (Compare samplers runs on the Generate view's model and seed). actions: {(tab, view):
    input components}."""
    by_id = {control.component._id: control for control in table.values()}
    out = {}
    for (tab, view), inputs in actions.items():
        own = view_controls(table, tab, view)
        for component in inputs:
            control = by_id.get(component._id)
            if control and control.key[0] == tab and control.key[2] not in own:
                out.setdefault((tab, view), {}).setdefault(control.key[2], control)
    return out


def query(table, tab, view, values, uses=None):
    """The link's query for a tab's current values ({key: value}); only what differs from the defaults."""
    from urllib.parse import urlencode
    pairs = [("tab", tab)] + ([("view", view)] if view != MAIN else [])
    borrowed = {c.key for c in (uses or {}).get((tab, view), {}).values()}
    own = {k[2] for k in table if k[:2] == (tab, view)}
    for key, control in table.items():
        if key[0] != tab or not control.settable or key not in values:
            continue
        value = values[key]
        if text_value(value) == text_value(control.default) or value is None:
            continue
        name = key[2] if (key[1] == view or (key[1] == MAIN or key in borrowed) and key[2] not in own) \
            else f"{key[1]}.{key[2]}"  # the view's own control wins a shared name (as plan reads it)
        pairs.append((name, text_value(value)))
    return "?" + urlencode(pairs, safe=",")


def updates(out, components):
    """One output per component: gr.update with the planned value and props, or gr.skip() when none."""
    result = []
    for component in components:
        props = dict(out.props.get(component, {}))
        if component in out.values:
            props["value"] = out.values[component]
        result.append(gr.update(**props) if props else gr.skip())
    return result
