"""Links (tabs/links.py, tabs/link_bar.py): every settable control of every tab round-trips through the URL
query, lessons open with their settings at every step, and a bad query is left out with a note, never an error."""
from urllib.parse import parse_qsl, urlsplit

import pytest

from tabs import controls as ctl
from tabs import link_bar, links
from tabs.controls import MAIN


@pytest.fixture(scope="module")
def app_page():
    demo = ctl.built_app()[0]
    import app
    return link_bar.page(demo, app.PUBLIC_API)


def other_value(control, choices=None):
    """A legal value other than the control's default, or None when it has none."""
    choices = [v for _, v in (choices or control.choices)]
    if control.kind in ("dropdown", "radio"):
        return next((v for v in choices if str(v) != str(control.default)), None)
    if control.kind == "checkboxgroup":
        return choices[:1] if list(control.default or []) != choices[:1] else choices[-1:]
    if control.kind == "checkbox":
        return not control.default
    if control.kind in ("slider", "number"):
        step = control.step or 1
        low = control.minimum if control.minimum is not None else 0
        value = (control.default or 0) + step
        if control.maximum is not None and value > control.maximum:
            value = low
        return int(value) if float(step).is_integer() and float(low).is_integer() else round(value, 6)
    if control.kind == "textbox":
        return "a red fox & a \"quoted\" word, é"
    return None


def tab_links(p, tab):
    """Two queries ({key: value}) that between them set every settable control of a tab to another legal
    value: the controls that others follow (a model, whose classes a menu shows) in the first, every other
    control in the second, on the first model's menus."""
    leaders, others, single = {}, {}, []
    for key, control in p.table.items():
        value = other_value(control) if key[0] == tab and control.settable else None
        if value is not None:
            leading = getattr(control.component, links.FOLLOWS, None)
            (leaders if leading else others)[f"{key[1]}.{key[2]}"] = links.text_value(value)
        elif key[0] == tab and control.settable:
            single.append(control)
    followed = links.plan(p.table, p.views, {"tab": tab, **leaders}).props
    for control in single:  # a menu with one choice until its leader changes (gan-faces has no classes)
        choices = followed.get(control.component, {}).get("choices")
        value = other_value(control, [(str(c), c) for c in choices]) if choices else None
        if value is not None:
            leaders[f"{control.key[1]}.{control.key[2]}"] = links.text_value(value)
    return leaders, others


def _round_trip(p, tab, params):
    """The plan of a link, and the plan of the link written back from its values (Copy link)."""
    plan = links.plan(p.table, p.views, {"tab": tab, **params})
    values = {key: plan.values[c.component] for key, c in p.table.items() if c.component in plan.values
              and key[0] == tab}
    written = dict(parse_qsl(urlsplit(links.query(p.table, tab, MAIN, values)).query))
    assert written.pop("tab") == tab
    return plan, links.plan(p.table, p.views, {"tab": tab, **written}), values


def test_every_settable_control_of_every_tab_round_trips(app_page):
    p = app_page
    round_tripped, settable = set(), set()
    for tab in p.views:
        settable |= {k for k, c in p.table.items() if k[0] == tab and c.settable}
        for params in tab_links(p, tab):
            plan, reread, values = _round_trip(p, tab, params)
            assert not plan.notes and not reread.notes, (tab, plan.notes, reread.notes)
            assert len(plan.settings) == len(params)
            assert {k: links.text_value(v) for k, v in values.items()} == \
                {k: links.text_value(reread.values[p.table[k].component]) for k in values}, tab
            named = {f"{k[1]}.{k[2]}": k for k in values}
            round_tripped |= {named[name] for name in params}
    single = sorted(c.name for k, c in p.table.items() if k in settable - round_tripped)
    print(f"{len(round_tripped)} of {len(settable)} settable controls round-trip with a value other than their "
          f"default; the others have no other value: {single}")
    for name in single:  # a menu with one choice, as Class is for a model without classes
        control = next(c for c in p.table.values() if c.name == name)
        assert len(control.choices) < 2, name


def test_a_link_selects_its_view_and_borrows_controls_its_action_takes(app_page):
    p = app_page
    plan = links.plan(p.table, p.views, {"tab": "diffusion", "view": "compare_samplers", "model": "ddpm-faces",
                                         "seed": "3", "steps": "5,10"}, uses=p.uses)
    assert not plan.notes
    assert plan.settings == {"model": "ddpm-faces", "seed": 3, "steps": [5, 10]}
    # the Generate view's model takes the faces model's class menu with it (it has no classes)
    label = p.table[("diffusion", "generate", "class")].component
    assert plan.props[label]["visible"] is False
    values = {key: plan.values[c.component] for key, c in p.table.items() if c.component in plan.values}
    assert links.query(p.table, "diffusion", "compare_samplers", values, p.uses) == \
        "?tab=diffusion&view=compare_samplers&model=ddpm-faces&guidance_scale=1&generate.sampler=Euler+ancestral&seed=3" \
        "&steps=5,10"
    # (the faces model's own sampler came with it; the Compare samplers view does not take it, so it is qualified)


def test_a_class_of_another_model_is_accepted_after_the_model(app_page):
    p = app_page
    plan = links.plan(p.table, p.views, {"tab": "gan", "class": "Sneaker", "model": "gan-fashion"})
    assert not plan.notes and plan.settings["class"] == "Sneaker"
    plan = links.plan(p.table, p.views, {"tab": "gan", "class": "Sneaker"})  # faces have no classes
    assert plan.notes and "class" not in plan.settings


@pytest.mark.parametrize("params, words", [
    ({"tab": "nope"}, "no tab 'nope'"),
    ({"tab": "gan", "view": "nope"}, "no view 'nope' in gan"),
    ({"tab": "gan", "psi": "0.5"}, "no control 'psi' in gan/main"),
    ({"tab": "gan", "truncation_psi": "2"}, "not legal for gan/main/truncation_psi"),
    ({"tab": "gan", "seed": "nan"}, "not legal for gan/main/seed"),
    ({"tab": "gan", "walk.nope": "1"}, "no control 'walk.nope'"),
    ({"tab": "vae", "view": "reconstruct", "upload": "/etc/passwd"}, "not settable"),
    ({"tab": "gan", "controls": "gone"}, "controls='gone' is not understood"),
    ({"tab": "gan", "lock": "nope"}, "lock: no control 'nope'"),
    ({"seed": "3"}, "need its tab"),
])
def test_a_bad_query_is_left_out_with_a_note(app_page, params, words):
    plan = links.plan(app_page.table, app_page.views, params)
    assert any(words in note for note in plan.notes), plan.notes
    assert link_bar.note_text(plan.notes).startswith("**Part of this link was left out:**")


def test_hostile_queries_never_raise(app_page):
    p = app_page
    hostile = ["", "\0", "%00", "../../etc/passwd", "<script>alert(1)</script>", "1e309", "-1", "9" * 400,
               "true", "[]", "{}", ",,,", "DDIM,PLMS", "é" * 50]
    for value in hostile:
        for key in ("tab", "view", "seed", "model", "samplers", "generate.steps", "lock", "hide", "controls",
                    value[:20] or "x"):
            for tab in ("gan", "diffusion", value):
                plan = links.plan(p.table, p.views, {"tab": tab, "view": "generate", key: value})
                assert isinstance(plan.notes, list)
                link_bar._planned(p, {"lesson": value, "step": value, "tab": tab})


def test_lock_hide_and_classroom_mode(app_page):
    p = app_page
    plan = links.plan(p.table, p.views, {"tab": "gan", "lock": "model,seed", "hide": "grid_size"})
    assert plan.props[p.table[("gan", "main", "model")].component] == {"interactive": False}
    assert plan.props[p.table[("gan", "main", "grid_size")].component] == {"visible": False}
    plan = links.plan(p.table, p.views, {"tab": "gan", "controls": "locked"})
    gan = [c for k, c in p.table.items() if k[0] == "gan"]
    assert all(plan.props[c.component]["interactive"] is False for c in gan)
    assert not any(k[0] != "gan" and c.component in plan.props for k, c in p.table.items())


def test_every_lesson_opens_by_its_link_at_every_step(app_page):
    p = app_page
    assert len(p.lessons) >= 10
    for lesson in p.lessons.values():
        for step in range(len(lesson.steps)):
            plan, opened, at = link_bar._planned(p, {"lesson": lesson.id, "step": str(step + 1)})
            assert opened is lesson and at == step
            assert not plan.notes, (lesson.id, step, plan.notes)
            assert (plan.tab, plan.view) == (lesson.tab, lesson.view)
            expected = {**lesson.settings, **{k: v for s in lesson.steps[:step + 1] for k, v in s.settings.items()}}
            assert {k: links.text_value(v) for k, v in plan.settings.items()} == \
                {k: links.text_value(v) for k, v in expected.items()}, lesson.id
            for name in lesson.locked:
                assert any(props.get("interactive") is False for props in plan.props.values())
    plan, lesson, _ = link_bar._planned(p, {"lesson": "nope"})
    assert lesson is None and "no lesson 'nope'" in plan.notes[0]


def test_a_broken_lesson_file_is_left_out_and_the_app_still_builds(app_page, tmp_path, monkeypatch):
    from playground import lessons as library
    from tabs import lesson_panel
    for name in ("truncation.md", "samplers.md"):
        (tmp_path / name).write_text((library.LESSONS_DIR / name).read_text())
    (tmp_path / "broken.md").write_text("---\nid: broken\ntitle: [unclosed\n---\n")
    (tmp_path / "wrong.md").write_text((library.LESSONS_DIR / "truncation.md").read_text()
                                       .replace("id: truncation", "id: wrong").replace("truncation_psi: 0.5", "psi: 0.5"))
    monkeypatch.setattr(library, "LESSONS_DIR", tmp_path)
    assert sorted(lesson_panel.load(app_page.table, app_page.views)) == ["samplers", "truncation"]
    assert sorted(v for _, v in lesson_panel.menu()) == ["samplers", "truncation", "wrong"]  # parses; its check fails


def test_ending_a_lesson_gives_back_the_controls_it_locked(app_page):
    p = app_page
    plan, lesson, _ = link_bar._planned(p, {"lesson": "truncation"})
    model = p.table[("gan", "main", "model")].component
    assert lesson.locked == ("model",) and plan.props[model] == {"interactive": False}


@pytest.mark.parametrize("view", ["two_temperatures", "sample", "main"])
def test_a_views_own_control_and_the_shared_one_of_the_same_name_both_round_trip(app_page, view):
    p = app_page  # PixelCNN's shared Model and Seed, and its Two temperatures view's own Model and Seed
    params = {"tab": "pixelcnn", "view": view, "main.model": "pixelcnn-masked-small", "main.seed": "4",
              "two_temperatures.model": "pixelcnn-masked-small", "two_temperatures.seed": "5"}
    plan = links.plan(p.table, p.views, params, uses=p.uses)
    assert not plan.notes
    values = {key: plan.values[c.component] for key, c in p.table.items() if c.component in plan.values}
    written = dict(parse_qsl(urlsplit(links.query(p.table, "pixelcnn", view, values, p.uses)).query))
    reread = links.plan(p.table, p.views, written, uses=p.uses)
    assert {c: links.text_value(v) for c, v in reread.values.items()} == \
        {c: links.text_value(v) for c, v in plan.values.items()}, written
